"""The harness's own parts, on small inputs made here: units, budget cuts, metrics, systems, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.adapters.common import ast_units, count, cut_lines, pack, rank_by, render
from bench.adapters.compress_peers import fill, sentences
from bench.report import write_report
from bench.runner import codesearch_metrics
from bench.systems import BY_NAME, resolve

SOURCE = '''import os

LIMIT = 3


@decorated
def top(a):
    """Top level."""
    return os.path.join(a, "x")


class Box:
    """A box."""

    size = 2

    def open(self):
        return self.size

    async def close(self):
        return None
'''


def test_ast_units_cover_functions_methods_class_header_and_module_blocks() -> None:
    units = ast_units(SOURCE, "m.py")
    spans = [(u.start, u.end) for u in units]
    assert spans == [(1, 3), (6, 9), (12, 16), (17, 18), (20, 21)]
    assert units[1].text.startswith("@decorated")
    assert units[2].text.splitlines()[0] == "class Box:"
    assert all(u.path == "m.py" for u in units)


def test_ast_units_fall_back_to_line_windows_on_syntax_errors() -> None:
    broken = "def f(:\n" + "x = 1\n" * 90
    units = ast_units(broken)
    assert [(u.start, u.end) for u in units] == [(1, 40), (41, 80), (81, 91)]


def test_cut_lines_keeps_whole_leading_lines_within_the_budget() -> None:
    text = "\n".join(f"line number {i} with some words" for i in range(200))
    cut = cut_lines(text, 50)
    assert count(cut) <= 50
    assert text.startswith(cut)
    assert cut.split("\n")[-1] == text.split("\n")[len(cut.split("\n")) - 1]
    assert count("\n".join(text.split("\n")[: len(cut.split("\n")) + 1])) > 50
    assert cut_lines("short", 50) == "short"


def test_pack_fills_best_first_and_renders_in_source_order() -> None:
    units = ast_units(SOURCE)
    ranked = rank_by(units, [0.0, 1.0, 0.0, 5.0, 0.0])  # open() best, then top()
    budget = count(units[3].text) + count(units[1].text) + 4
    kept = pack(ranked, budget)
    assert {u.start for u in kept} == {6, 17}
    assert render(kept).index("def top") < render(kept).index("def open")
    assert count(render(kept)) <= budget


def test_sentence_fill_respects_budget_and_keeps_original_order() -> None:
    context = "Alpha is first. Beta is second.\nGamma is third. Delta is fourth."
    pieces = sentences(context)
    assert pieces == ["Alpha is first.", "Beta is second.", "Gamma is third.", "Delta is fourth."]
    out = fill(pieces, [3, 0, 1, 2], count("Alpha is first.") + count("Delta is fourth.") + 2)
    assert out == "Alpha is first.\nDelta is fourth."


def test_codesearch_metrics_reciprocal_rank_and_accuracy() -> None:
    rows = [{"rank": 1, "seconds": 0.1}, {"rank": 4, "seconds": 0.3}, {"rank": None, "seconds": 0.2}]
    m = codesearch_metrics(rows, 10, 1.5)
    assert m["MRR"] == pytest.approx(round(100 * (1 + 0.25) / 3, 1))
    assert (m["Acc@1"], m["Acc@5"], m["Acc@10"]) == (pytest.approx(33.3), pytest.approx(66.7), pytest.approx(66.7))
    assert m["median_seconds"] == 0.2 and m["index_seconds"] == 1.5


def test_resolve_groups_and_rejects_unknown_names() -> None:
    ours = resolve("ours", "compression")
    assert ours and all(s.ours for s in ours)
    peers = resolve("peers", "selection")
    assert {"upstream-haste", "aider-repomap", "bm25-units", "prefix"} <= {s.name for s in peers}
    assert [s.name for s in resolve("prefix,bm25-units", "selection")] == ["prefix", "bm25-units"]
    assert resolve("bm25-sentences", "selection") == []  # runs compression only
    with pytest.raises(ValueError, match="unknown system 'nope'"):
        resolve("nope", "selection")


def test_report_writes_tables_and_plots_from_score_files(tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "selection").mkdir(parents=True)
    for name, cov in (("haste", [70.0, 88.0, 95.0]), ("upstream-haste", [36.0, 49.0, 63.0])):
        scores = {f"B={b}": {"edit_coverage": c, "unit_recall": c, "within_budget": 100.0, "median_seconds": 0.05,
                             "cut_by_harness": 0.0 if name == "haste" else 80.0}
                  for b, c in zip((1000, 2000, 4000), cov)}
        meta = {"ours": BY_NAME[name].ours, "command": "python -m bench run --suite selection", "quick": None}
        (results / "selection" / f"{name}.score.json").write_text(json.dumps({"scores": scores, "meta": meta}))
    out = tmp_path / "BENCHMARKS.md"
    write_report(results, out, tmp_path / "plots")
    text = out.read_text()
    assert "| **HasteOptimizer** | own knob | 70.0 | 88.0 | 95.0 |" in text
    assert "| upstream HASTE 0.2.4 | none: cut by harness (80%) | 36.0 | 49.0 | 63.0 |" in text
    assert "python -m bench run --suite selection" in text
    assert "LLMLingua" in text
    png = tmp_path / "plots" / "selection_coverage.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
