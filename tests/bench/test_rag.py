"""The rag suite end to end on two records (ours and the reference), and its report section."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.rag import SETTINGS, rag_items, rag_section
from bench.report import load_scores

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_items_are_the_records_passages_as_documents(bench_data: Path) -> None:
    from bench import data

    scorer = data.load_scorer(str(data.default_scorer(bench_data)))
    items = rag_items(bench_data, "nq20", 2, scorer)
    rec = json.loads((bench_data / "compression_nq20_dev.jsonl").open().readline())
    assert len(items) == 2 and items[0]["query"] == rec["question"]
    assert [d["text"] for d in items[0]["documents"]] == [f"{d['title']}\n{d['text']}" for d in rec["documents"]]
    kv = rag_items(bench_data, "kv75", 1, scorer)[0]
    assert len(kv["documents"]) == 75 and kv["documents"][0]["text"].startswith('"')


@pytest.mark.slow
def test_rag_quick_through_the_adapters(bench_data: Path, tmp_path: Path) -> None:
    systems = ["rag-langchain", "rag-joined"]
    cmd = [sys.executable, "-m", "bench", "run", "--data", str(bench_data), "--suite", "rag", "--systems",
           ",".join(systems), "--quick", "2", "--results", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    scores = load_scores(tmp_path, "rag")
    assert set(scores) == set(systems)
    for name in systems:
        for task, rows in scores[name]["scores"].items():
            assert set(rows) == {str(s) for s in SETTINGS}
            for setting, row in rows.items():
                assert row["n"] == 2 and row["over_budget"] == 0.0, (name, task, setting)
    section = rag_section(scores, None)
    assert "ScaleDownDocumentCompressor (LangChain)** (quick 2)" in section and "#### rag: kv75" in section
