"""Drive the real ``scaledown`` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

CLI_TIMEOUT_S = 120  # a cold start loads tree-sitter and the token ranks; the packaged model takes longer


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def scaledown_executable() -> str:
    """The console script installed next to the interpreter running the tests (.venv/bin/scaledown)."""
    candidate = Path(sys.executable).parent / "scaledown"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("scaledown")
    if found is None:
        pytest.fail("the scaledown console script is not installed (pip install -e .)")
    return found


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's (already cleaned) environment, offline, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_") and k != "OPENAI_API_KEY"}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    env.update(extra)
    return env


RunCli = Callable[..., Completed]


@pytest.fixture(scope="session")
def scaledown_exe() -> str:
    return scaledown_executable()


@pytest.fixture(scope="session")
def make_cli_env() -> Callable[..., dict[str, str]]:
    """``make_cli_env(**extra)``: a clean offline environment for a ``scaledown`` subprocess."""
    return cli_env


@pytest.fixture
def run_cli() -> RunCli:
    """``run_cli(*args, stdin=None, cwd=None, env=None)`` runs ``scaledown`` and returns its outputs."""
    exe = scaledown_executable()

    def run(*args: str, stdin: str | bytes | None = None, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Completed:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [exe, *args], input=data, capture_output=True, cwd=cwd, env=env or cli_env(),
            timeout=CLI_TIMEOUT_S, check=False,
        )
        return Completed(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    return run


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
