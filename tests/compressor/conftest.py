"""Real HTTP servers on 127.0.0.1 for the client tests: the project's own server and a fault server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

NESTED_OK = {
    "results": {"compressed_prompt": "short context\n\nQ?", "original_prompt_tokens": 120,
                "compressed_prompt_tokens": 30, "successful": True, "compression_ratio": 4.0},
    "total_original_tokens": 999, "total_compressed_tokens": 999, "successful": True,
    "latency_ms": 12.5, "model_used": "gpt-4o",
    "request_metadata": {"compression_time_ms": 10.0, "compression_rate": 0.25, "prompt_length": 100,
                         "compressed_prompt_length": 20, "timestamp": "2025-01-01T00:00:00Z"},
}


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: NESTED_OK)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class FaultServer:
    """A scripted HTTP server: each request pops the next ``Reply`` (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                with owner.lock:
                    owner.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                                           json.loads(raw) if raw else None))
                    reply = owner.replies.popleft() if len(owner.replies) > 1 else owner.replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self.replies = deque(replies)
            self.seen = []

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The project's own server under uvicorn in a thread on an ephemeral port; key ``live-key``."""
    import uvicorn

    from scaledown_core.server import create_app

    port = free_port()
    config = uvicorn.Config(create_app(["live-key"]), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
