"""A real ``scaledown serve`` sheds slow clients: headers and bodies have a time limit, a client that
leaves mid-body costs one log line, and the file descriptors come back."""

from __future__ import annotations

import json
import os
import socket
import time
import httpx
from .conftest import READ_TIMEOUT_S, Served

HEAD = b"POST /compress/raw/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
BODY = json.dumps({"context": "Paris is in France. Bananas are yellow.", "prompt": "Where is Paris?",
                   "scaledown": {"rate": 0.5}}).encode()


def connect(served: Served) -> socket.socket:
    port = int(served.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_the_server_answers_while_healthy(served: Served) -> None:
    r = httpx.post(served.url + "/compress/raw/", content=BODY, headers={"content-type": "application/json"})
    assert r.status_code == 200 and "Paris is in France." in r.json()["results"]["compressed_prompt"]


def test_connections_that_never_finish_their_headers_are_closed(served: Served) -> None:
    # before: 200 such connections stayed open for 60 s (file descriptors 9 -> 209)
    baseline = open_fds(served.proc.pid)
    socks = [connect(served) for _ in range(40)]
    for sock in socks:
        sock.sendall(HEAD[:20])  # a request line, never finished
    time.sleep(0.3)
    assert open_fds(served.proc.pid) >= baseline + 30
    started = time.monotonic()
    for sock in socks:
        sock.settimeout(READ_TIMEOUT_S + 5)
        assert sock.recv(1024) == b""  # closed by the server, nothing sent
        sock.close()
    assert time.monotonic() - started < READ_TIMEOUT_S + 4
    time.sleep(0.3)
    assert open_fds(served.proc.pid) <= baseline + 2


def test_a_trickled_body_gets_408_at_the_read_timeout(served: Served) -> None:
    sock = connect(served)
    sock.sendall(HEAD + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:10])
    started = time.monotonic()
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < READ_TIMEOUT_S + 3


def test_clients_that_leave_mid_body_cost_one_log_line_each(served: Served) -> None:
    before = served.log()
    for _ in range(10):
        sock = connect(served)
        sock.sendall(HEAD + b"Content-Length: 100000\r\n\r\n" + b'{"context": "')
        time.sleep(0.05)
        sock.close()
    time.sleep(0.5)
    added = served.log()[len(before):]
    assert "Traceback" not in added  # before: 28 lines of traceback per client
    assert added.count("client disconnected after") == 10
    assert len([ln for ln in added.splitlines() if ln.strip()]) <= 12
    test_the_server_answers_while_healthy(served)
