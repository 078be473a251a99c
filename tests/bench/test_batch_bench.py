"""``python -m bench batch`` end to end on a few records, local engine only, and its BENCHMARKS.md section."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.batch import batch_section

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_batch_bench_quick(bench_data: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench", "batch", "--data", str(bench_data), "--n", "12", "--engines", "local",
           "--workers", "1", "--results", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "batch" / "batch.json").read_text())
    (run,) = result["runs"]
    assert (run["engine"], run["workers"], run["records"], run["failed"], run["identical"]) == ("local", 1, 12, 0, 12)
    assert result["driver_s"] > 0 and result["baseline_records"] == 12
    section = batch_section(tmp_path)
    assert "| local | 1 | " in section and "| 12/12 |" in section
