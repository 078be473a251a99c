"""Runs suites: prepares items, runs each system's worker in its own process and venv, post-processes
(budget cut for systems without a knob), writes score.py-format outputs and scores them."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench import data
from bench.suites import (
    AUTO_RATE_KEY,
    BENCH_DIR,
    CODESEARCH_KS,
    COMPRESSION_RATES,
    COMPRESSION_TASKS,
    REPO_BUDGETS,
    REPO_ROOT,
    SELECTION_BUDGETS,
    WARM_BUDGET,
)
from bench.systems import System


@dataclass
class RunConfig:
    data_dir: Path
    results_dir: Path
    scorer_path: Path
    quick: int | None = None
    force: bool = False
    command: str = ""
    failures: list[str] = field(default_factory=list)
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))


# --------------------------------------------------------------------------- fingerprints


def _tree_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def system_fingerprint(system: System, suite: str, cfg: RunConfig) -> str:
    """Changes when the data, the quick size, the system's options or code, or the harness change."""
    module = system.adapter.split(":")[0].replace(".", "/") + ".py"
    code = [REPO_ROOT / module, BENCH_DIR / "worker.py", BENCH_DIR / "adapters" / "common.py"]
    if system.ours:
        code += list((REPO_ROOT / "scaledown_core").rglob("*.py"))
    venv_stamp = Path(system.python).parent.parent / ".installed"
    parts = [suite, str(cfg.quick), repr(system), data.fingerprint(data.suite_fixtures(cfg.data_dir, suite)),
             _tree_hash(code), venv_stamp.read_text() if venv_stamp.exists() else ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- worker


def _worker_env(system: System, scorer: Any, home: str) -> dict[str, str]:
    # No user settings leak in: the local model, not an OpenAI key, serves semantic=True, and every
    # worker gets an empty ScaleDown cache folder, so each process starts cold.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_") and k != "OPENAI_API_KEY"}
    env["SCALEDOWN_CACHE_DIR"] = str(Path(home) / "scaledown-cache")
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(REPO_ROOT), PYTHONHASHSEED="0")
    cache = scorer._offline_tiktoken_cache()
    if cache and "TIKTOKEN_CACHE_DIR" not in env:
        env["TIKTOKEN_CACHE_DIR"] = cache  # peers' tiktoken would otherwise download the rank files
    if system.venv == "aider":
        env["HOME"] = home  # Aider reads and writes settings under HOME; keep the user's untouched
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def run_worker(system: System, params: dict[str, Any], items: list[dict[str, Any]], cfg: RunConfig,
               tag: str) -> list[dict[str, Any]]:
    scorer = data.load_scorer(str(cfg.scorer_path))
    logs = cfg.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        params_path, items_path, out_path = (Path(tmp) / n for n in ("params.json", "items.jsonl", "out.jsonl"))
        params_path.write_text(json.dumps({**params, "options": dict(system.options)}))
        items_path.write_text("".join(json.dumps(i) + "\n" for i in items))
        home = Path(tmp) / "home"
        home.mkdir()
        log_path = logs / f"{tag}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.run(
                [system.python, "-m", "bench.worker", system.adapter, str(params_path), str(items_path),
                 str(out_path)],
                cwd=REPO_ROOT, env=_worker_env(system, scorer, str(home)), stdout=log, stderr=subprocess.STDOUT,
            )
        if proc.returncode != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{system.name} failed on {tag} (exit {proc.returncode}); log {log_path}:\n{tail}")
        return [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- suites


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _cut(system: System, output: str, budget: int) -> tuple[str, bool]:
    """Peers' outputs over the budget are cut at a line boundary; ours are never touched."""
    from bench.adapters.common import count, cut_lines

    if system.ours or count(output) <= budget:
        return output, False
    return cut_lines(output, budget), True


def _pct(flags: list[bool]) -> float:
    return round(100.0 * sum(flags) / len(flags), 1) if flags else 0.0


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def run_selection(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    items = data.selection_items(cfg.data_dir, cfg.quick)
    rows: list[dict[str, Any]] = []
    for budget in SELECTION_BUDGETS:  # one process per budget: every file is new to it (cold)
        raw = run_worker(system, {"suite": "selection", "budget": budget, "warm": budget == WARM_BUDGET},
                         items, cfg, f"selection-{system.name}-{budget}")
        for r in raw:
            output, cut = _cut(system, r["output"], budget)
            rows.append({"instance_id": r["key"], "budget": budget, "output": output, "seconds": r["seconds"],
                         **({"warm_seconds": r["warm_seconds"]} if "warm_seconds" in r else {}),
                         "cut": cut, "info": r.get("info", {})})
    out_path = suite_dir / f"{system.name}.jsonl"
    _write_jsonl(out_path, rows)
    scorer = data.load_scorer(str(cfg.scorer_path))
    scores = scorer.score_selection(str(data.fixture(cfg.data_dir, "selection")), str(out_path))
    for budget in SELECTION_BUDGETS:
        mine = [r for r in rows if r["budget"] == budget]
        row = scores.setdefault(f"B={budget}", {})
        row["cut_by_harness"] = _pct([r["cut"] for r in mine])
        warm = [r["warm_seconds"] for r in mine if "warm_seconds" in r]
        if warm:
            row["warm_median_seconds"] = _median(warm)
    return scores


def run_repo(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    items = data.materialize_trees(cfg.data_dir, cfg.quick)
    rows: list[dict[str, Any]] = []
    for budget in REPO_BUDGETS:
        raw = run_worker(system, {"suite": "repo", "budget": budget}, items, cfg, f"repo-{system.name}-{budget}")
        for r in raw:
            output, cut = _cut(system, r["output"], budget)
            rows.append({"instance_id": r["key"], "budget": budget, "output": output, "files": r.get("files", []),
                         "seconds": r["seconds"], "cut": cut, "info": r.get("info", {})})
    out_path = suite_dir / f"{system.name}.jsonl"
    _write_jsonl(out_path, rows)
    scorer = data.load_scorer(str(cfg.scorer_path))
    scores = scorer.score_repo(str(data.fixture(cfg.data_dir, "selection")),
                               str(data.fixture(cfg.data_dir, "manifests")), str(out_path))
    for budget in REPO_BUDGETS:
        scores.setdefault(f"B={budget}", {})["cut_by_harness"] = _pct([r["cut"] for r in rows if r["budget"] == budget])
    return scores


def run_compression(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    scorer = data.load_scorer(str(cfg.scorer_path))
    rates: list[Any] = list(COMPRESSION_RATES) + (["auto"] if system.ours else [])
    scores: dict[str, Any] = {}
    for task in COMPRESSION_TASKS:
        items = data.compression_items(cfg.data_dir, task, cfg.quick, scorer)
        raw = run_worker(system, {"suite": "compression", "rates": rates}, items, cfg,
                         f"compression-{system.name}-{task}")
        fixed = [r for r in raw if r["rate"] != "auto"]
        auto = [r for r in raw if r["rate"] == "auto"]
        task_scores: dict[str, Any] = {}
        for rows, suffix, rate_of in ((fixed, "", lambda r: r["rate"]), (auto, ".auto", lambda r: AUTO_RATE_KEY)):
            if not rows:
                continue
            path = suite_dir / f"{system.name}.{task}{suffix}.jsonl"
            _write_jsonl(path, [{"id": r["key"], "rate": rate_of(r), "output": r["output"], "seconds": r["seconds"],
                                 "cut": bool(r.get("cut", False)), "info": r.get("info", {})} for r in rows])
            scored = scorer.score_compression(task, str(data.fixture(cfg.data_dir, task)), str(path))
            if suffix:
                row = scored[f"rate={AUTO_RATE_KEY}"]
                chosen = [r["info"]["rate"] for r in rows if isinstance(r.get("info", {}).get("rate"), (int, float))]
                row["chosen_rate_median"] = _median(chosen)
                task_scores["rate=auto"] = row
            else:
                for key, row in scored.items():
                    rate = float(key.split("=")[1])
                    row["cut_by_harness"] = _pct([bool(r.get("cut")) for r in rows if r["rate"] == rate])
                task_scores.update(scored)
        scores[task] = task_scores
    return scores


def run_codesearch(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    items, candidates = data.codesearch_items(cfg.data_dir, cfg.quick)
    raw = run_worker(system, {"suite": "codesearch", "candidates": candidates}, items, cfg,
                     f"codesearch-{system.name}")
    index_seconds = next((r["seconds"] for r in raw if r["key"] == "__index__"), None)
    gold = {i["key"]: i["gold"] for i in items}
    rows = []
    for r in raw:
        if r["key"] == "__index__":
            continue
        ranking = r["ranking"]
        rank = ranking.index(gold[r["key"]]) + 1 if gold[r["key"]] in ranking else None
        rows.append({"idx": r["key"], "gold": gold[r["key"]], "rank": rank, "ranking": ranking[:10],
                     "seconds": r["seconds"]})
    _write_jsonl(suite_dir / f"{system.name}.jsonl", rows)
    return {"all": codesearch_metrics(rows, len(candidates), index_seconds)}


def codesearch_metrics(rows: list[dict[str, Any]], n_candidates: int, index_seconds: float | None) -> dict[str, Any]:
    """MRR (reciprocal rank of the gold snippet; 0 past the ranking's depth) and Acc@k, in percent."""
    n = len(rows)
    out: dict[str, Any] = {"n": n, "candidates": n_candidates}
    out["MRR"] = round(100 * sum(1 / r["rank"] for r in rows if r["rank"]) / n, 1) if n else float("nan")
    for k in CODESEARCH_KS:
        out[f"Acc@{k}"] = round(100 * sum(1 for r in rows if r["rank"] and r["rank"] <= k) / n, 1) if n else float("nan")
    out["median_seconds"] = _median([r["seconds"] for r in rows])
    out["index_seconds"] = round(index_seconds, 3) if index_seconds is not None else None
    return out


def run_rag(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    from bench.rag import run_rag as run

    return run(system, cfg, suite_dir)


RUNNERS = {"selection": run_selection, "repo": run_repo, "compression": run_compression, "codesearch": run_codesearch,
           "rag": run_rag}


def _run_multilang(system: System, cfg: RunConfig, suite_dir: Path) -> dict[str, Any]:
    from bench.multilang import run_selection_multilang

    return run_selection_multilang(system, cfg, suite_dir)


RUNNERS["selection-multilang"] = _run_multilang


def run_suite(suite: str, systems: list[System], cfg: RunConfig) -> dict[str, dict[str, Any]]:
    """Runs (or reuses the cached results of) every system on ``suite``; returns scores by system."""
    suite_dir = cfg.results_dir / suite
    suite_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for system in systems:
        if not system.available():
            cfg.log(f"[{suite}] {system.name}: skipped, {system.python} missing (run bench/setup_peers.sh)")
            continue
        score_path = suite_dir / f"{system.name}.score.json"
        fp = system_fingerprint(system, suite, cfg)
        if not cfg.force and score_path.exists():
            cached = json.loads(score_path.read_text())
            if cached.get("meta", {}).get("fingerprint") == fp:
                cfg.log(f"[{suite}] {system.name}: cached ({score_path})")
                out[system.name] = cached
                continue
        cfg.log(f"[{suite}] {system.name}: running")
        start = time.perf_counter()
        try:
            scores = RUNNERS[suite](system, cfg, suite_dir)
        except RuntimeError as exc:  # one failing system must not lose the others' results
            cfg.log(f"[{suite}] {system.name}: FAILED: {exc}")
            cfg.failures.append(f"{suite}/{system.name}")
            continue
        record = {"scores": scores, "meta": {
            "fingerprint": fp, "system": system.name, "label": system.label, "ours": system.ours,
            "budget_knob": system.budget_knob, "note": system.note, "quick": cfg.quick,
            "wall_seconds": round(time.perf_counter() - start, 1), "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": cfg.command, "python": platform.python_version(), "load": _load(),
        }}
        score_path.write_text(json.dumps(record, indent=2))
        cfg.log(f"[{suite}] {system.name}: done in {record['meta']['wall_seconds']} s")
        out[system.name] = record
    return out


def _load() -> str | None:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return None
