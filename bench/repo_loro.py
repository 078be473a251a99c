"""``python -m bench repo-loro``: the repo suite's ranking in-process, on dev as a whole and
leave-one-repository-out (LORO).

Every setting of the file ranking's few constants (``GRID``) is run on the dev trees once; for each of
the five repositories the setting best on the other four is chosen and measured on the fifth. The
held-out figures, pooled over the five folds, say how the ranking does on a repository it was not
tuned on; the dev figures of the shipped defaults sit beside them. Scored with score.py's own probes.
"""

from __future__ import annotations

import gzip
import itertools
import json
import statistics
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from bench import data
from bench.suites import REPO_BUDGETS, RESULTS_DIR

# The file ranking's constants and the values LORO chooses among (the shipped default is in each list).
GRID: dict[str, tuple[float, ...]] = {
    "W_FILE_MENTION": (0.5, 1.0),
    "W_FILE_DEEPEST": (0.0, 0.5),
    "FILE_SECOND_WEIGHT": (0.3, 0.6),
    "W_FILE_PRIOR": (0.5, 1.0),
}
METRICS = ("file_acc@1", "file_acc@5", *(f"edit_coverage@{b}" for b in REPO_BUDGETS))


def _settings() -> Iterator[dict[str, float]]:
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        yield dict(zip(names, values))


def _apply(setting: dict[str, float]) -> dict[str, float]:
    """Set the ranking's constants in-process; the previous values."""
    from scaledown_core.optimizer import _files as _rank

    old = {k: getattr(_rank, k) for k in setting}
    for k, v in setting.items():
        setattr(_rank, k, v)
    return old


def _instances(data_dir: Path) -> list[dict[str, Any]]:
    items = {it["key"]: it for it in data.materialize_trees(data_dir, None)}
    recs = {r["instance_id"]: r for r in data._jsonl(data.fixture(data_dir, "selection")) if r["gold_units"]}
    with gzip.open(data.fixture(data_dir, "manifests"), "rt", encoding="utf-8") as f:
        mans = [json.loads(line) for line in f]
    return [{**items[m["instance_id"]], "repo": m["repo"], "gold": set(m["gold_files"]),
             "rec": recs[m["instance_id"]]} for m in mans if m["instance_id"] in items]


def _score(inst: dict[str, Any], setting: dict[str, float], scorer: ModuleType) -> dict[str, float]:
    """One tree's four figures (0/1) under ``setting``, and its seconds at each budget (the first call
    rebuilds the tree's tables from the persistent index, the second finds them in memory)."""
    from bench.adapters.ours import _relative
    from scaledown_core import HasteOptimizer

    old = _apply(setting)
    try:
        opt = HasteOptimizer()
        row: dict[str, float] = {}
        for b in REPO_BUDGETS:
            started = time.perf_counter()
            res = opt.optimize(query=inst["query"], file_path=inst["root"], max_tokens=b)
            row[f"seconds@{b}"] = time.perf_counter() - started
            files = [_relative(f, inst["root"]) for f in res.metrics.extra.get("ranked_files", [])]
            row["file_acc@1"] = float(bool(files[:1]) and set(files[:1]) <= inst["gold"])
            row["file_acc@5"] = float(inst["gold"] <= set(files[:5]))
            lines = scorer._lines(res.content)
            fits = scorer.count_tokens(res.content) <= b
            hits = [scorer.unit_covered(lines, *scorer.unit_probe(inst["rec"], u)) for u in inst["rec"]["gold_units"]]
            row[f"edit_coverage@{b}"] = float(fits and all(hits))
        return row
    finally:
        _apply(old)


def _cold_seconds(inst: dict[str, Any]) -> float:
    """One tree read, parsed, indexed and ranked from nothing (no persistent index, caches cleared)."""
    from scaledown_core import HasteOptimizer
    from scaledown_core.code import clear_cache
    from scaledown_core.optimizer import _units

    clear_cache()
    _units._index_cache.clear()
    started = time.perf_counter()
    HasteOptimizer(use_index=False).optimize(query=inst["query"], file_path=inst["root"], max_tokens=REPO_BUDGETS[0])
    return time.perf_counter() - started


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: round(100 * statistics.fmean(r[m] for r in rows), 1) for m in METRICS}


def _objective(rows: list[dict[str, float]]) -> float:
    return statistics.fmean(statistics.fmean(r[m] for m in METRICS) for r in rows)


def leave_one_repo_out(table: list[list[dict[str, float]]], repos: list[str],
                       settings: list[dict[str, float]]) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Per repository: the setting best on the others (``table[setting][instance]``), measured on it.
    The held-out rows of every fold, and each fold's choice and figures."""
    held: list[dict[str, float]] = []
    folds: dict[str, Any] = {}
    for repo in sorted(set(repos)):
        train = [k for k, r in enumerate(repos) if r != repo]
        test = [k for k, r in enumerate(repos) if r == repo]
        best = max(range(len(settings)), key=lambda s: _objective([table[s][k] for k in train]))
        held += [table[best][k] for k in test]
        folds[repo] = {"n": len(test), "setting": settings[best], **_mean([table[best][k] for k in test])}
    return held, folds


def run(data_dir: Path, out_dir: Path = RESULTS_DIR, grid: bool = True) -> dict[str, Any]:
    """Dev and LORO figures of the file ranking; written to ``out_dir/repo-loro.json``."""
    scorer = data.load_scorer(str(data.default_scorer(data_dir)))
    insts = _instances(data_dir)
    settings = list(_settings()) if grid else [{}]
    table: list[list[dict[str, float]]] = [[_score(i, s, scorer) for i in insts] for s in settings]
    default = [_score(i, {}, scorer) for i in insts]
    held, folds = leave_one_repo_out(table, [i["repo"] for i in insts], settings)
    result = {
        "n": len(insts),
        "dev": _mean(default),
        "loro": _mean(held),
        "folds": folds,
        "warm_median_seconds": round(statistics.median(r[f"seconds@{REPO_BUDGETS[0]}"] for r in default), 4),
        "hot_median_seconds": round(statistics.median(r[f"seconds@{REPO_BUDGETS[1]}"] for r in default), 4),
        "cold_median_seconds": round(statistics.median(_cold_seconds(i) for i in insts), 4),
        "grid": {k: list(v) for k, v in GRID.items()},
        "by_setting": [{"setting": s, **_mean(rows)} for s, rows in zip(settings, table)],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "repo-loro.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


# Figures at HEAD before this ranking and of the peers, from the repo suite (``python -m bench run --suite
# repo``): the peers have no constants tuned to the dev trees, so their LORO figures are their dev ones.
REFERENCE = {
    "previous HasteOptimizer ranking (dev)": (62.5, 90.0, 57.5, 70.0),
    "BM25 over AST units": (20.0, 60.0, 30.0, 40.0),
    "upstream HASTE 0.2.4": (30.0, 75.0, 7.5, 15.0),
}

SECTION_TEXT = """
### Leave-one-repository-out (`python -m bench repo-loro`)

The file ranking's few weights (`scaledown_core/optimizer/_files.py`) are chosen from a small grid. For
each of the five repositories the grid point best on the other four is measured on the fifth; the LORO
row pools those five held-out folds (40 trees). The dev row is the shipped defaults on all 40 trees.
"""


def render_section(results: Path = RESULTS_DIR) -> str:
    """The LORO section of BENCHMARKS.md, from ``repo-loro.json``."""
    path = results / "repo-loro.json"
    if not path.exists():
        return SECTION_TEXT + "\n_no results yet_\n"
    r = json.loads(path.read_text(encoding="utf-8"))
    head = "| ranking | trees | " + " | ".join(METRICS) + " |\n|---|---|" + "---|" * len(METRICS) + "\n"
    rows = [f"| **HasteOptimizer, dev** | {r['n']} | " + " | ".join(f"{r['dev'][m]:.1f}" for m in METRICS) + " |",
            f"| **HasteOptimizer, LORO** | {r['n']} | " + " | ".join(f"{r['loro'][m]:.1f}" for m in METRICS) + " |"]
    rows += [f"| {name} | {r['n']} | " + " | ".join(f"{v:.1f}" for v in vals) + " |" for name, vals in REFERENCE.items()]
    folds = "\n".join(f"- {repo} (n={f['n']}): " + ", ".join(f"{m} {f[m]:.1f}" for m in METRICS)
                      + f"; chosen on the other four: {f['setting']}" for repo, f in r["folds"].items())
    return (SECTION_TEXT + "\n" + head + "\n".join(rows) + "\n\nPer held-out repository:\n\n" + folds
            + f"\n\nMedian seconds per tree at B={REPO_BUDGETS[0]}: cold (no persistent index, caches cleared) "
            f"{r['cold_median_seconds']:.3f}; warm, from the persistent index (the tree's in-memory tables rebuilt "
            f"from it) {r['warm_median_seconds']:.3f}; a second query on the same tree (tables in memory, at "
            f"B={REPO_BUDGETS[1]}) {r['hot_median_seconds']:.3f}.\n")
