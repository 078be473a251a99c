"""Shared parts of the agent-tool tests: the shopfront fixture tree and a live ScaleDown server."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

SHOPFRONT = Path(__file__).resolve().parent / "data" / "shopfront"


@pytest.fixture(scope="session")
def shopfront() -> Path:
    """A small shop back end (catalog, cart, billing) and a policies document."""
    return SHOPFRONT


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """``scaledown serve``'s app under uvicorn in a thread on an ephemeral loopback port; key ``live-key``."""
    import uvicorn

    from scaledown_core.server import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(["live-key"]), host="127.0.0.1", port=port,
                                           log_level="warning"))
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
