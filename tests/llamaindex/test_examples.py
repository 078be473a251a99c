"""The copy-paste examples of docs/readme/llamaindex.md run offline and show what they promise."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.slow
def test_compressor_postprocessor_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("llamaindex_compressor_postprocessor.py", capsys)

    assert "within 45 days of the purchase date" in out
    assert "billing: score" in out
    assert "single sign-on" not in out  # an irrelevant sentence was compressed away


@pytest.mark.slow
def test_code_postprocessor_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("llamaindex_code_postprocessor.py", capsys)

    assert "Query: How long does the client wait before retrying after HTTP 429?" in out
    assert "retry" in out.split("Query:")[0]
    assert " -> " in out and "tokens" in out


def test_code_retriever_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("llamaindex_code_retriever.py", capsys)

    assert "retry_delay" in out or "retry_after" in out
    assert "file_path: " in out and "start_line: " in out
