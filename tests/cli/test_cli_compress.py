"""`scaledown compress`: files, stdin, JSON, budgets and errors, against the library's own result."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from scaledown_core import LocalCompressor
from scaledown_core.tokens import get_counter

PROMPT = "What is the cache TTL for session tokens?"
FILLER = [
    "The team met on Tuesday to review the quarterly roadmap and the hiring plan.",
    "Lunch options near the office include a noodle bar and a salad place.",
    "The design review for the new onboarding flow was moved to next week.",
    "Several people asked for a quieter meeting room on the third floor.",
]
TEXT = "\n\n".join(
    [" ".join(FILLER * 2), "Session tokens are cached for 300 seconds; the cache TTL is set in settings.py.",
     " ".join(reversed(FILLER * 2)), " ".join(FILLER)]
)
SUMMARY = re.compile(r"^scaledown: (\d+) -> (\d+) tokens \(gpt-4o\), saved -?[\d.]+%(, rate [\d.]+)?, [^,]+, \d+ ms$")


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text(TEXT)
    return path


def expected(rate: float | str = 0.25, max_tokens: int | None = None) -> str:
    return LocalCompressor(rate=rate).compress(TEXT, PROMPT, max_tokens=max_tokens).content


def test_compress_a_file_prints_the_library_result(run_cli, text_file: Path) -> None:
    out = run_cli("compress", str(text_file), "-p", PROMPT, "--rate", "0.25")
    assert out.returncode == 0, out.stderr
    content = expected(0.25)
    assert out.stdout.rstrip("\n") == content.rstrip("\n")
    assert "300 seconds" in out.stdout
    (summary,) = out.stderr_lines
    match = SUMMARY.match(summary)
    assert match, summary
    counter = get_counter("gpt-4o")
    assert int(match.group(1)) == counter.count(TEXT)
    assert int(match.group(2)) == counter.count(content) < counter.count(TEXT) * 0.3


@pytest.mark.parametrize("file_args", [(), ("-",)])
def test_compress_reads_stdin(run_cli, file_args: tuple[str, ...]) -> None:
    out = run_cli("compress", *file_args, "-p", PROMPT, "--rate", "0.25", stdin=TEXT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n") == expected(0.25).rstrip("\n")


def test_compress_json_has_content_and_metrics(run_cli, text_file: Path) -> None:
    out = run_cli("compress", str(text_file), "-p", PROMPT, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["content"] == expected("auto")
    assert data["metrics"]["original_prompt_tokens"] == get_counter("gpt-4o").count(TEXT)
    assert 0 < data["metrics"]["rate"] <= 1  # the rate "auto" chose
    assert data["savings_percent"] > 0 and data["compression_ratio"] > 1


def test_compress_max_tokens_is_a_ceiling(run_cli, text_file: Path) -> None:
    out = run_cli("compress", str(text_file), "-p", PROMPT, "--rate", "1", "--max-tokens", "40")
    assert out.returncode == 0, out.stderr
    assert get_counter("gpt-4o").count(out.stdout.rstrip("\n")) <= 40
    assert out.stdout.rstrip("\n") == expected(1.0, 40).rstrip("\n")


def test_undecodable_bytes_are_replaced_and_reported(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(TEXT.encode() + b"\n\nCaf\xe9 au lait is served at ten.")
    out = run_cli("compress", str(path), "-p", PROMPT)
    assert out.returncode == 0, out.stderr
    assert out.stderr_lines[0] == (
        f"scaledown: warning: {path} is not valid UTF-8 (first bad byte at offset {len(TEXT.encode()) + 5}); "
        "undecodable bytes were replaced"
    )
    assert SUMMARY.match(out.stderr_lines[-1])


def test_a_bad_rate_from_the_library_is_one_line(run_cli, text_file: Path) -> None:
    out = run_cli("compress", str(text_file), "-p", PROMPT, "--rate", "1.5")
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and "rate" in line and "1.5" in line
    assert out.stdout == ""


def test_api_without_a_key_fails_before_any_request(run_cli, text_file: Path) -> None:
    # The URL points at a closed port: a request would fail differently (connection refused).
    out = run_cli("compress", str(text_file), "-p", PROMPT, "--api", "--api-url", "http://127.0.0.1:9")
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and "key" in line.lower()
    assert "Traceback" not in out.stderr


def test_a_pipe_given_as_the_file_is_refused_not_read(run_cli, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    out = run_cli("compress", str(fifo), "-p", PROMPT)  # run_cli's timeout ends a hang as a failure
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and "not a regular file" in line
