"""Bounded time and memory on every input: a size limit with a clear error (the CLI's stdin included),
minified one-line code in linear time, lone surrogates refused alike everywhere, clear path errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scaledown_core import LocalCompressor
from scaledown_core.cli import main
from scaledown_core.exceptions import InputTooLargeError, OptimizerError
from scaledown_core.limits import DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_BYTES_ENV, max_input_bytes
from scaledown_core.optimizer import HasteOptimizer, SemanticOptimizer

SMALL_LIMIT = 20_000
SOURCE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.fixture()
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(MAX_INPUT_BYTES_ENV, str(SMALL_LIMIT))
    return SMALL_LIMIT


def cli(*args: str, stdin: str | bytes = b"", env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real ``scaledown`` command in a subprocess, stdin from a file name or bytes."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    command = [sys.executable, "-m", "scaledown_core.cli", *args]
    if isinstance(stdin, str):
        with open(stdin, "rb") as source:
            return subprocess.run(command, stdin=source, capture_output=True, text=True, env=full_env,
                                  timeout=timeout, check=False)
    return subprocess.run(command, input=stdin.decode(), capture_output=True, text=True, env=full_env,
                          timeout=timeout, check=False)


# --------------------------------------------------------------------------- the size limit


def test_the_limit_defaults_and_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_input_bytes() == DEFAULT_MAX_INPUT_BYTES
    monkeypatch.setenv(MAX_INPUT_BYTES_ENV, "lots")
    with pytest.raises(ValueError, match=MAX_INPUT_BYTES_ENV):
        max_input_bytes()


@pytest.mark.parametrize("command", [["select", "-", "-q", "x"], ["compress", "-p", "x"]])
def test_cli_stdin_from_an_endless_device_stops_at_the_limit(command: list[str]) -> None:
    # before: `< /dev/zero` grew to 8 GB in 13-22 s
    started = time.monotonic()
    done = cli(*command, stdin="/dev/zero", env={MAX_INPUT_BYTES_ENV: "2000000"})
    assert done.returncode == 1
    assert "stdin is too large: at least 2,000,001 bytes" in done.stderr and "SCALEDOWN_MAX_INPUT_BYTES" in done.stderr
    assert time.monotonic() - started < 30


def test_optimizer_context_over_the_limit(small_limit: int) -> None:
    text = SOURCE * (small_limit // len(SOURCE) + 1)
    with pytest.raises(InputTooLargeError) as info:
        HasteOptimizer().optimize(context=text, query="add", max_tokens=100)
    assert info.value.limit == small_limit and info.value.size == len(text)
    assert isinstance(info.value, ValueError)
    assert HasteOptimizer().optimize(context=SOURCE, query="add", max_tokens=100).content  # under it: works


def test_semantic_optimizer_folder_over_the_limit_is_refused_before_reading(small_limit: int, tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text(SOURCE * (small_limit // len(SOURCE) // 3))
    with pytest.raises(InputTooLargeError, match="the source under file_path is too large: at least"):
        SemanticOptimizer().optimize(query="add", file_path=str(tmp_path), max_tokens=100)


def test_local_compressor_context_over_the_limit(small_limit: int) -> None:
    text = "Paris is in France. " * (small_limit // 20 + 1)
    with pytest.raises(InputTooLargeError):
        LocalCompressor().compress(text, "Where is Paris?")
    results = LocalCompressor().compress([text, "Paris is in France."], "Where is Paris?", return_exceptions=True)
    assert isinstance(results[0], InputTooLargeError) and "Paris" in results[1].content


def test_cli_file_over_the_limit(small_limit: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * small_limit)
    assert main(["compress", str(big), "-p", "word"]) == 1
    assert f"{big} is too large" in capsys.readouterr().err


# --------------------------------------------------------------------------- one long line


def test_a_long_line_of_statements_is_parsed_in_linear_time() -> None:
    # before: 50 KB of `f(a);` on one line gave no result in 20 s (one block per statement, each
    # scored on the whole line); now well under a second for 95 KB
    line = "f(a);" * 19_000 + "\n"
    started = time.monotonic()
    result = HasteOptimizer().optimize(context=line, query="where is f called with a", max_tokens=200)
    assert time.monotonic() - started < 30
    assert result.metrics.optimized_tokens <= 200
    assert not any("minified" in w for w in result.metrics.warnings)  # still parsed


def test_a_minified_megabyte_line_is_kept_as_text_quickly() -> None:
    # before: 1 MB on one line gave no result in 240 s (2.2 GB at 10 MB); now ~2 s and ~150 MB for 2 MB
    line = "f(a);" * 400_000 + "\n"
    started = time.monotonic()
    result = HasteOptimizer().optimize(context=line + SOURCE, query="area of a rectangle", max_tokens=200)
    assert time.monotonic() - started < 30
    assert any("a line of 2,000,000 characters (minified or generated code?)" in w
               for w in result.metrics.warnings)
    assert result.metrics.optimized_tokens <= 200


def test_statements_sharing_a_line_are_one_block() -> None:
    from scaledown_core.code import parse_source

    sf = parse_source("def f(x):\n    '''doc'''\n    a = 1; b = 2; c = 3\n    return a\n")
    unit = sf.units[0]
    assert [(b.start_line, b.end_line) for b in sf.blocks(unit)] == [(3, 3), (4, 4)]


# --------------------------------------------------------------------------- lone surrogates, paths, flags


@pytest.mark.parametrize("call", [
    lambda: HasteOptimizer().optimize(context="def f():\n    return '\ud800'\n", query="f", max_tokens=50),
    lambda: HasteOptimizer().optimize(context=SOURCE, query="add \udc80", max_tokens=50),
    lambda: LocalCompressor().compress("Paris \ud800 is in France.", "Where is Paris?"),
    lambda: LocalCompressor().compress("Paris is in France.", "Where \udfff is Paris?"),
    lambda: LocalCompressor().compress(["ok", "bad \ud800"], "q"),
], ids=["haste-context", "haste-query", "local-context", "local-prompt", "local-batch"])
def test_a_lone_surrogate_is_refused_as_the_client_and_server_do(call) -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        call()


def test_a_symlink_loop_named_directly_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop.py"
    loop.symlink_to(loop)
    with pytest.raises(OptimizerError, match="symbolic link to nothing"):
        HasteOptimizer().optimize(query="x", file_path=str(loop))
    assert main(["compress", str(loop), "-p", "x"]) == 1
    assert "symbolic link to nothing" in capsys.readouterr().err


def test_cli_rate_is_case_insensitive_like_the_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("Paris is in France. Bananas are yellow.")
    assert main(["compress", str(doc), "-p", "Where is Paris?", "--rate", "AUTO"]) == 0


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc: a file whose read fails")
def test_an_io_error_names_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", "/proc/self/mem", "-p", "x"]) == 1
    assert "/proc/self/mem" in capsys.readouterr().err
