"""The README's agent example runs offline as written and prints what it promises."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

pytest.importorskip("mcp")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_mcp_stdio_client_example(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "mcp_stdio_client.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "tools: select_code, compress_text, read_file_for, index_repository" in out
    kept, total = map(int, re.search(r"select_code: (\d+) of (\d+) tokens", out).groups())
    assert 0 < kept <= 600 < total
    # where a Retry-After header becomes a delay: the parser, or the function that applies it
    assert re.search(r"^  scaledown_core/compressor/_core\.py:\d+-\d+ (retry_after_seconds|retry_delay)$", out, flags=re.M)
    assert re.search(r"^  progress \d+/", out, flags=re.M)
    assert "def encoding_name_for(" in out and "[scaledown: scaledown_core/tokens.py" in out
    assert "outside the root: Error executing tool read_file_for: PathNotAllowedError" in out
