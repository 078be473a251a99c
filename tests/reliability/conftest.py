"""Real servers on 127.0.0.1 that misbehave on purpose: a raw-socket server whose every connection is
handled by a script (trickle, flood, echo), and the project's own ``scaledown serve`` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

Script = Callable[[socket.socket, bytes], None]
READ_TIMEOUT_S = 1.0  # the served server's limit on receiving headers, and again a body


class RawServer:
    """Accepts connections on 127.0.0.1; each one reads the request head (and its body when a
    Content-Length is given) and hands the socket to ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_request(conn)
                self.requests.append(request)
                self.script(conn, request)
            except OSError:
                pass  # the client gave up: what these tests provoke

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture()
def raw_server() -> Iterator[Callable[[Script], RawServer]]:
    made: list[RawServer] = []

    def start(script: Script) -> RawServer:
        server = RawServer(script)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A ``scaledown serve`` subprocess: its URL and, after ``stop()``, its log."""

    def __init__(self, url: str, proc: subprocess.Popen[str], log: Path) -> None:
        self.url, self.proc, self.log_path = url, proc, log

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``scaledown serve --no-auth`` on a free loopback port with short slow-client limits."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scaledown_core.cli", "serve", "--no-auth", "--port", str(port),
             "--log-level", "info", "--read-timeout", str(READ_TIMEOUT_S)],
            stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"scaledown serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
    yield Served(url, proc, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
