"""Shared parts of the agent-tool tests: the shopfront fixture tree, a live ScaleDown server, MCP servers
started as subprocesses of the real ``scaledown`` command."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

SHOPFRONT = Path(__file__).resolve().parent / "data" / "shopfront"
STARTUP_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def shopfront() -> Path:
    """A small shop back end (catalog, cart, billing) and a policies document."""
    return SHOPFRONT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scaledown_exe() -> str:
    exe = shutil.which("scaledown", path=str(Path(sys.executable).parent)) or shutil.which("scaledown")
    assert exe, "the scaledown command is not installed"
    return exe


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server subprocess: offline, no ScaleDown settings but those given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_") and k != "OPENAI_API_KEY"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """``scaledown serve``'s app under uvicorn in a thread on an ephemeral loopback port; key ``live-key``."""
    import uvicorn

    from scaledown_core.server import create_app

    port = free_port()
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


def wait_for_port(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the MCP server did not start listening")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
