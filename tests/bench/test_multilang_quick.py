"""The selection-multilang suite end to end on the first record of each fixture: every output scored by
language, by ``all`` and by the TypeScript proxy, budgets met, and its section in the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_selection_multilang_quick(bench_data: Path, tmp_path: Path) -> None:
    if not (bench_data / "code_selection_multilang_dev.jsonl").exists():
        pytest.skip("this bench-data folder has no multilingual fixture")
    systems = ["haste", "bm25-ts-units"]  # each system is 3 fresh processes: kept to two
    cmd = [sys.executable, "-m", "bench", "run", "--data", str(bench_data), "--suite", "selection-multilang",
           "--systems", ",".join(systems), "--quick", "1", "--results", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    first = json.loads((bench_data / "code_selection_multilang_dev.jsonl").open().readline())
    for name in systems:
        scores = json.loads((tmp_path / "selection-multilang" / f"{name}.score.json").read_text())["scores"]
        assert set(scores) == {first["language"], "all", "typescript-proxy"}
        for group in scores.values():
            assert set(group) == {"B=1000", "B=2000", "B=4000"}
            assert all(row["n"] == 1 and row["within_budget"] == 100.0 for row in group.values())
    report = subprocess.run([sys.executable, "-m", "bench", "report", "--results", str(tmp_path),
                             "--out", str(tmp_path / "B.md"), "--plots", str(tmp_path / "plots")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "B.md").read_text()
    assert "## Code selection beyond Python" in text and "| **HasteOptimizer** (quick 1) |" in text
