"""The harness end to end on a few records of the real fixtures, so it cannot rot.

Peers whose venvs are missing (bench/setup_peers.sh not run) are skipped by the runner itself; our
systems are included once they are importable. Scores here are of 2-3 records: only the plumbing is
asserted (every output scored, budgets met where a system promises them), not quality.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.systems import BY_NAME

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _importable(name: str) -> bool:
    """Whether our system ``name`` has landed in the public API yet."""
    import scaledown_core

    try:
        getattr(scaledown_core, name)
    except (AttributeError, ImportError):
        return False
    return True


def _run(bench_data: Path, results: Path, suite: str, systems: list[str], quick: int) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "bench", "run", "--data", str(bench_data), "--suite", suite,
           "--systems", ",".join(systems), "--quick", str(quick), "--results", str(results)]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def _scores(results: Path, suite: str, name: str) -> dict:
    return json.loads((results / suite / f"{name}.score.json").read_text())["scores"]


def _expected(names: list[str]) -> list[str]:
    return [n for n in names if BY_NAME[n].available()]


def test_selection_and_repo_quick(bench_data: Path, tmp_path: Path) -> None:
    systems = ["bm25-units", "prefix", "upstream-haste", "aider-repomap"]
    if _importable("HasteOptimizer"):
        systems.append("haste")
    proc = _run(bench_data, tmp_path, "selection", systems, 2)
    assert proc.returncode == 0, proc.stderr
    for name in _expected(systems):
        scores = _scores(tmp_path, "selection", name)
        assert set(scores) == {"B=1000", "B=2000", "B=4000"}
        for row in scores.values():
            assert row["n"] == 2 and row["within_budget"] == 100.0  # peers are cut; ours must fit
            assert row["median_seconds"] is not None
        assert "warm_median_seconds" in scores["B=2000"]
        lines = (tmp_path / "selection" / f"{name}.jsonl").read_text().splitlines()
        assert len(lines) == 6 and all("seconds" in json.loads(line) for line in lines)
    proc = _run(bench_data, tmp_path, "repo", ["bm25-units", "upstream-haste"], 1)
    assert proc.returncode == 0, proc.stderr
    for name in _expected(["bm25-units", "upstream-haste"]):
        scores = _scores(tmp_path, "repo", name)
        assert set(scores) == {"B=4000", "B=8000"} and all(r["n"] == 1 for r in scores.values())
    # a second run reuses the cached results
    proc = _run(bench_data, tmp_path, "repo", ["bm25-units"], 1)
    assert proc.returncode == 0 and "bm25-units: cached" in proc.stderr


def test_compression_and_codesearch_quick(bench_data: Path, tmp_path: Path) -> None:
    systems = ["bm25-sentences", "prefix"] + (["local"] if _importable("LocalCompressor") else [])
    proc = _run(bench_data, tmp_path, "compression", systems, 2)
    assert proc.returncode == 0, proc.stderr
    for name in systems:
        scores = _scores(tmp_path, "compression", name)
        assert set(scores) == {"hotpotqa", "nq20", "kv75"}
        for task, rows in scores.items():
            for rate in ("rate=0.5", "rate=0.25", "rate=0.1"):
                assert rows[rate]["n"] == 2 and rows[rate]["meets_rate"] == 100.0, (name, task, rate)
        if BY_NAME[name].ours:
            assert scores["kv75"]["rate=auto"]["n"] == 2
    proc = _run(bench_data, tmp_path, "codesearch", ["bm25-units"], 3)
    assert proc.returncode == 0, proc.stderr
    m = _scores(tmp_path, "codesearch", "bm25-units")["all"]
    assert m["n"] == 3 and 0 <= m["MRR"] <= 100 and m["candidates"] >= 3
    report = subprocess.run([sys.executable, "-m", "bench", "report", "--results", str(tmp_path),
                             "--out", str(tmp_path / "B.md"), "--plots", str(tmp_path / "plots")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "B.md").read_text()
    assert "BM25 sentences (quick 2)" in text and (tmp_path / "plots" / "compression_answer_kept.png").exists()


def test_throughput_against_a_real_server(bench_data: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench", "throughput", "--data", str(bench_data), "--n", "6",
           "--concurrency", "1,3", "--results", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    t = json.loads((tmp_path / "throughput" / "throughput.json").read_text())
    assert [r["max_concurrency"] for r in t["rows"]] == [1, 3]
    assert all(r["identical"] == 6 and r["client_s"] > 0 for r in t["rows"])
    report = subprocess.run([sys.executable, "-m", "bench", "report", "--results", str(tmp_path),
                             "--out", str(tmp_path / "B.md"), "--plots", str(tmp_path / "plots")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert "| 3 |" in (tmp_path / "B.md").read_text()
