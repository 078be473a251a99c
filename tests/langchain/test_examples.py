"""The README's LangChain examples run offline as written and print what they promise."""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_code_retriever_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("langchain_code_retriever.py", capsys)
    lines = out.splitlines()
    hits = [line for line in lines if re.match(r"^\d+\.\d{3}  \S+  \S+:\d+-\d+$", line)]
    assert len(hits) == 4
    scores = [float(line.split()[0]) for line in hits]
    assert scores == sorted(scores, reverse=True)
    assert "2 documents" in lines
    assert "def resolve_api_key(" in out


def test_document_compressor_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("langchain_document_compressor.py", capsys)
    figures = re.findall(r"^(\w+) (\d+) -> (\d+) tokens$", out, flags=re.M)
    assert sorted(f[0] for f in figures) == ["hubble", "telescope"]
    assert sum(int(f[2]) for f in figures) <= 60
    assert all(int(f[2]) < int(f[1]) for f in figures)
    assert "A flaw in its primary mirror blurred the first images and was corrected in 1993." in out


def test_agent_middleware_example(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run("langchain_agent_middleware.py", capsys)
    first, _, rest = out.partition("\n")
    figures = ast.literal_eval(first)
    assert figures["compressed_tokens"] <= 200 < figures["original_tokens"]
    assert "ERROR billing invoice=INV-4471 card declined: insufficient funds" in rest
