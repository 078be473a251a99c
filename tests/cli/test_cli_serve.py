"""`scaledown serve` in a subprocess on 127.0.0.1, called with ScaleDownCompressor and `scaledown compress --api`."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from scaledown_core import AuthenticationError, LocalCompressor, Pipeline, ScaleDownCompressor
from scaledown_core.optimizer import HasteOptimizer

KEY = "test-key-1"
STARTUP_TIMEOUT_S = 90
PROMPT = "What is the cache TTL for session tokens?"
TEXT = "\n\n".join(
    ["The team met on Tuesday to review the roadmap. " * 6,
     "Session tokens are cached for 300 seconds; the cache TTL is set in settings.py.",
     "Lunch options near the office include a noodle bar and a salad place. " * 6]
)


def wait_for_health(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"scaledown serve exited with {server.returncode}: {server.stderr.read().decode()}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    pytest.fail("scaledown serve did not answer /health in time")


def start(exe: str, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def stop(server: subprocess.Popen) -> tuple[int, str]:
    server.send_signal(signal.SIGINT)
    try:
        _, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        _, err = server.communicate()
    return server.returncode, err.decode()


def pick_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(scaledown_exe: str, make_cli_env) -> Iterator[str]:
    """One keyed server for the module (a start costs seconds on this machine)."""
    port = pick_port()
    server = start(scaledown_exe, port, make_cli_env(SCALEDOWN_SERVER_KEYS=KEY))
    base = f"http://127.0.0.1:{port}"
    wait_for_health(base, server)
    yield base
    code, err = stop(server)
    assert "Traceback" not in err, err


def test_the_client_gets_what_the_local_engine_gives(server_url: str) -> None:
    remote = ScaleDownCompressor(api_key=KEY, api_url=server_url).compress(TEXT, PROMPT)
    assert "300 seconds" in remote.content
    assert remote.metrics.compressed_prompt_tokens < remote.metrics.original_prompt_tokens
    local = LocalCompressor().compress(TEXT, PROMPT)
    assert local.content.strip() in remote.content  # the hosted shape may append the prompt


def test_a_wrong_key_is_an_authentication_error(server_url: str) -> None:
    with pytest.raises(AuthenticationError):
        ScaleDownCompressor(api_key="wrong", api_url=server_url, max_retries=0).compress(TEXT, PROMPT)


def test_compress_api_through_the_cli(run_cli, make_cli_env, server_url: str, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(TEXT)
    env = make_cli_env(SCALEDOWN_API_URL=server_url, SCALEDOWN_API_KEY=KEY)
    out = run_cli("compress", str(path), "-p", PROMPT, "--api", env=env)
    assert out.returncode == 0, out.stderr
    assert "300 seconds" in out.stdout
    bad = run_cli("compress", str(path), "-p", PROMPT, "--api",
                  env=make_cli_env(SCALEDOWN_API_URL=server_url, SCALEDOWN_API_KEY="wrong"))
    assert bad.returncode == 1
    (line,) = bad.stderr_lines
    assert line.startswith("scaledown: error: ") and "wrong" not in line  # the key is never echoed


def test_a_pipeline_against_the_server(server_url: str, repo_root: Path) -> None:
    source = repo_root / "scaledown_core" / "pipeline" / "_pipeline.py"
    pipeline = Pipeline([
        ("haste", HasteOptimizer(top_k=5)),
        ("compressor", ScaleDownCompressor(api_key=KEY, api_url=server_url)),
    ])
    result = pipeline.run(query="how is a failing stage reported?", file_path=str(source),
                          prompt="How does the pipeline report a stage that raised?")
    haste, remote = result.history
    assert remote.input_tokens == haste.output_tokens
    assert result.metrics.original_tokens == result.stage_results[0].metrics.original_tokens
    assert result.savings_percent > 50


def test_serve_without_keys_off_loopback_refuses_to_start(scaledown_exe: str, make_cli_env) -> None:
    proc = subprocess.run(
        [scaledown_exe, "serve", "--host", "0.0.0.0", "--port", str(pick_port())],
        env=make_cli_env(), capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines[-1].startswith("scaledown: error: ") and "Traceback" not in proc.stderr.decode()


def test_serve_no_auth_on_loopback_and_a_clean_stop(scaledown_exe: str, make_cli_env) -> None:
    port = pick_port()
    server = start(scaledown_exe, port, make_cli_env(), "--no-auth")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, server)
        result = ScaleDownCompressor(api_key="unused", api_url=base).compress(TEXT, PROMPT)
        assert "300 seconds" in result.content
    finally:
        code, err = stop(server)
    assert code in (0, 130) and "Traceback" not in err, err
