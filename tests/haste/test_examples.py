"""The HasteOptimizer examples of the README run offline and find what they promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def _run(repo_root: Path, name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(repo_root / "examples" / name)],
        capture_output=True, text=True, timeout=120, cwd=repo_root, check=True,
    )
    return done.stdout


def test_quickstart_finds_where_the_encoding_is_chosen(repo_root: Path) -> None:
    out = _run(repo_root, "haste_quickstart.py")
    assert "def encoding_name_for(model: str) -> str:" in out
    summary = re.search(r"(\d+) -> (\d+) tokens", out)
    assert summary is not None
    original, kept = int(summary.group(1)), int(summary.group(2))
    assert kept <= 600 < original  # the example's max_tokens, on a file larger than it


def test_issue_report_ranks_the_raising_file_first(repo_root: Path) -> None:
    out = _run(repo_root, "haste_issue_report.py")
    assert "files, best first: ['loader.py'" in out
    units = out.split("units, best first:")[1].splitlines()[0]
    assert "_read" in units and "load_sources" in units
    assert "def _read(" in out
    assert "warnings: []" in out
