"""``bench repo-loro``: a fold never sees its own repository when it chooses a setting."""

from __future__ import annotations

import json
from pathlib import Path

from bench.repo_loro import METRICS, leave_one_repo_out, render_section


def _row(v: float) -> dict[str, float]:
    return {m: v for m in METRICS}


def test_each_fold_chooses_on_the_other_repositories() -> None:
    repos = ["a", "a", "b", "c"]
    settings = [{"W": 0.0}, {"W": 1.0}]
    # setting 0 is right on a and b, wrong on c; setting 1 is right only on c
    table = [[_row(1), _row(1), _row(1), _row(0)], [_row(0), _row(0), _row(0), _row(1)]]
    held, folds = leave_one_repo_out(table, repos, settings)
    assert folds["c"]["setting"] == {"W": 0.0}  # chosen on a and b, so c's held-out score is 0
    assert folds["c"]["file_acc@1"] == 0.0
    assert folds["a"]["setting"] == {"W": 0.0} and folds["a"]["file_acc@1"] == 100.0
    assert len(held) == len(repos)


def test_section_renders_dev_and_loro(tmp_path: Path) -> None:
    figures = {m: 50.0 for m in METRICS}
    result = {"n": 4, "dev": figures, "loro": {**figures, "file_acc@1": 25.0},
              "folds": {"a": {"n": 4, "setting": {"W": 0.5}, **figures}},
              "cold_median_seconds": 0.5, "warm_median_seconds": 0.2, "hot_median_seconds": 0.05}
    (tmp_path / "repo-loro.json").write_text(json.dumps(result), encoding="utf-8")
    text = render_section(tmp_path)
    assert "| **HasteOptimizer, LORO** | 4 | 25.0 | 50.0 | 50.0 | 50.0 |" in text
    assert "chosen on the other four: {'W': 0.5}" in text
    assert "no results yet" in render_section(tmp_path / "missing")
