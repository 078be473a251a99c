"""The ``selection-multilang`` suite: code selection in JavaScript, TypeScript, Go, Java and Rust files.

Records come from ``code_selection_multilang_dev.jsonl`` (real issues; the selection fixture's format plus
``language``) and ``code_selection_multilang_ts_proxy_dev.jsonl`` (TypeScript, a doc comment as the query:
a proxy, scored apart as ``typescript-proxy``). Each system runs once per budget on every record, in a fresh
process (cold), with warm time at ``WARM_BUDGET``; score.py scores each language's outputs and all of the
real records together (``all``; the proxy is not in it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import data
from bench.suites import SELECTION_BUDGETS, WARM_BUDGET
from bench.systems import System

MULTILANG = "multilang"
TS_PROXY = "multilang_ts_proxy"
PROXY_GROUP = "typescript-proxy"


def multilang_items(data_dir: Path, quick: int | None) -> list[dict[str, Any]]:
    """Scorable records of both fixtures, each with its ``group`` (language, or the proxy) and file name."""
    items: list[dict[str, Any]] = []
    for name in (MULTILANG, TS_PROXY):
        recs = [r for r in data._jsonl(data.fixture(data_dir, name)) if r["gold_units"]]
        if quick:
            recs = recs[:quick]
        for i, r in enumerate(recs):
            items.append({
                "key": r["instance_id"], "query": r["query"], "source": r["file_text"],
                "filename": os.path.basename(r["file_path"]),
                "alt_query": recs[(i + 1) % len(recs)]["query"],
                "group": PROXY_GROUP if name == TS_PROXY else r["language"], "fixture": name,
            })
    return items


def run_selection_multilang(system: System, cfg: Any, suite_dir: Path) -> dict[str, Any]:
    """Runs ``system`` at every budget; scores by language, ``all`` (real records) and the TS proxy."""
    from bench.runner import _cut, _median, _pct, _write_jsonl, run_worker

    items = multilang_items(cfg.data_dir, cfg.quick)
    meta = {i["key"]: i for i in items}
    rows: list[dict[str, Any]] = []
    for budget in SELECTION_BUDGETS:
        raw = run_worker(system, {"suite": "selection", "budget": budget, "warm": budget == WARM_BUDGET},
                         [{k: v for k, v in i.items() if k not in ("group", "fixture")} for i in items], cfg,
                         f"selection-multilang-{system.name}-{budget}")
        for r in raw:
            output, cut = _cut(system, r["output"], budget)
            rows.append({"instance_id": r["key"], "budget": budget, "output": output, "seconds": r["seconds"],
                         **({"warm_seconds": r["warm_seconds"]} if "warm_seconds" in r else {}),
                         "cut": cut, "info": r.get("info", {})})
    _write_jsonl(suite_dir / f"{system.name}.jsonl", rows)
    scorer = data.load_scorer(str(cfg.scorer_path))
    groups = sorted({i["group"] for i in items if i["group"] != PROXY_GROUP}) + ["all", PROXY_GROUP]
    scores: dict[str, Any] = {}
    for group in groups:
        mine = [r for r in rows if group == "all" and meta[r["instance_id"]]["fixture"] == MULTILANG
                or meta[r["instance_id"]]["group"] == group]
        if not mine:
            continue
        fixture = TS_PROXY if group == PROXY_GROUP else MULTILANG
        path = suite_dir / "by-group" / f"{system.name}.{group}.jsonl"
        _write_jsonl(path, mine)
        got = scorer.score_selection(str(data.fixture(cfg.data_dir, fixture)), str(path))
        for budget in SELECTION_BUDGETS:
            at = [r for r in mine if r["budget"] == budget]
            row = got.setdefault(f"B={budget}", {})
            row["n"] = len(at)
            row["cut_by_harness"] = _pct([r["cut"] for r in at])
            warm = [r["warm_seconds"] for r in at if "warm_seconds" in r]
            if warm:
                row["warm_median_seconds"] = _median(warm)
        scores[group] = got
    return scores


# --------------------------------------------------------------------------- report

SECTION_TEXT = """
## Code selection beyond Python (`code_selection_multilang_dev.jsonl`, 92 files; TS proxy, 20)

Query = the issue text (SWE-bench Multilingual, Multi-SWE-bench), source = the edited Go, Java,
JavaScript, Rust or TypeScript file at the base commit, budget B in tokens; scored by score.py as the
Python suite is. `all` is the 92 real records; TypeScript has only 5 real records, so it is also
reported on the **proxy** file (20 babel/darkreader functions whose doc comment, removed from the
file, is the query: not issue data). Peers read the language from the file name: BM25 and MiniLM over
tree-sitter units (functions, methods, class headers, module runs as `scaledown_core.code` cuts them),
LlamaIndex `CodeSplitter` given the official grammar wheel's parser (offline; its default looks the
grammar up in tree-sitter-language-pack), and the file from the top.
"""


def _cell(group: dict[str, Any], key: str = "edit_coverage") -> str:
    from bench.report import _fmt

    return " / ".join(_fmt(group.get(f"B={b}", {}).get(key)) for b in SELECTION_BUDGETS)


def render_section(results: Path) -> str:
    """The suite's section of BENCHMARKS.md: overall coverage and timing, then coverage by language."""
    from bench.report import _budget_note, _fmt, _label, _ms, _table, load_scores, missing

    scores = load_scores(results, "selection-multilang")
    if not scores:
        return SECTION_TEXT + "\n_no results yet_\n" + missing("selection-multilang", scores)
    budgets = " / ".join(str(b) for b in SELECTION_BUDGETS)
    head = ["system", "budget", f"edit_coverage all @{budgets}", f"unit_recall all @{budgets}",
            "within_budget (min %)", f"median ms cold @{budgets}", f"median ms warm @{WARM_BUDGET}"]
    rows = []
    for name, rec in scores.items():
        s = rec["scores"].get("all", {})
        groups = rec["scores"].values()
        cut = [g.get(f"B={b}", {}).get("cut_by_harness", 0.0) for g in groups for b in SELECTION_BUDGETS]
        within = [g.get(f"B={b}", {}).get("within_budget") for g in groups for b in SELECTION_BUDGETS]
        rows.append([_label(name, rec), _budget_note(name, cut), _cell(s), _cell(s, "unit_recall"),
                     _fmt(min((w for w in within if w is not None), default=None)),
                     " / ".join(_ms(s.get(f"B={b}", {}).get("median_seconds")) for b in SELECTION_BUDGETS),
                     _ms(s.get(f"B={WARM_BUDGET}", {}).get("warm_median_seconds"))])
    langs = [g for g in ("go", "java", "javascript", "rust", "typescript", PROXY_GROUP)
             if any(g in rec["scores"] for rec in scores.values())]
    n = {g: next((rec["scores"][g].get(f"B={SELECTION_BUDGETS[0]}", {}).get("n") for rec in scores.values()
                  if g in rec["scores"]), None) for g in langs}
    lang_head = ["system"] + [f"{g} (n={n[g]})" for g in langs]
    lang_rows = [[_label(name, rec)] + [_cell(rec["scores"].get(g, {})) for g in langs] for name, rec in scores.items()]
    return (SECTION_TEXT + "\n" + _table(head, rows) + "\n\nedit_coverage by language, at "
            + budgets + " tokens:\n\n" + _table(lang_head, lang_rows) + "\n"
            + missing("selection-multilang", scores))
