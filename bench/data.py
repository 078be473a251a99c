"""Fixtures -> work items, and the reference scorer loaded from its file (never copied or changed)."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from bench.suites import CACHE_DIR, COMPRESSION_TASKS, FIXTURES


def default_scorer(data_dir: Path) -> Path:
    """score.py beside the data folder: ``<data>/../bench/score.py``."""
    return data_dir.resolve().parent / "bench" / "score.py"


@lru_cache(maxsize=4)
def load_scorer(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_reference_score", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no scorer at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def fixture(data_dir: Path, name: str) -> Path:
    path = data_dir / FIXTURES[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; --data must name the bench-data folder")
    return path


def fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def selection_items(data_dir: Path, quick: int | None) -> list[dict[str, Any]]:
    """Scorable records (with gold units): query, source, file name; ``alt_query`` for warm timing."""
    recs = [r for r in _jsonl(fixture(data_dir, "selection")) if r["gold_units"]]
    if quick:
        recs = recs[:quick]
    return [
        {
            "key": r["instance_id"],
            "query": r["query"],
            "source": r["file_text"],
            "filename": os.path.basename(r["file_path"]),
            # warm: the same file again with a new query (the next record's issue text)
            "alt_query": recs[(i + 1) % len(recs)]["query"],
        }
        for i, r in enumerate(recs)
    ]


def materialize_trees(data_dir: Path, quick: int | None) -> list[dict[str, Any]]:
    """Each manifest's tree written under bench/.cache/repos/<instance_id>/ (once), as repo items."""
    selection_ids = {r["instance_id"] for r in _jsonl(fixture(data_dir, "selection")) if r["gold_units"]}
    mans = [m for m in _jsonl(fixture(data_dir, "manifests")) if m["instance_id"] in selection_ids]
    if quick:
        mans = mans[:quick]
    needed = {sha for m in mans for sha in m["files"].values()}
    blobs: dict[str, str] | None = None
    items = []
    for m in mans:
        root = CACHE_DIR / "repos" / m["instance_id"]
        stamp = root / ".bench-complete"
        if not stamp.exists():
            if blobs is None:
                blobs = {b["sha"]: b["text"] for b in _jsonl(fixture(data_dir, "blobs")) if b["sha"] in needed}
            for rel, sha in m["files"].items():
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(blobs[sha], encoding="utf-8")
            stamp.write_text(str(len(m["files"])))
        items.append({"key": m["instance_id"], "query": m["query"], "root": str(root)})
    return items


def compression_items(data_dir: Path, task: str, quick: int | None, scorer: ModuleType) -> list[dict[str, Any]]:
    """Context and prompt from score.py's own build_context/build_prompt; key = instance_key."""
    recs = list(_jsonl(fixture(data_dir, task)))
    if quick:
        recs = recs[:quick]
    return [
        {
            "key": scorer.instance_key(task, r),
            "context": scorer.build_context(task, r),
            "prompt": scorer.build_prompt(task, r),
        }
        for r in recs
    ]


def codesearch_items(data_dir: Path, quick: int | None) -> tuple[list[dict[str, Any]], list[str]]:
    """CoSQA dev: every query labelled relevant (1) against every distinct code snippet of the file.

    Returns (items with the gold candidate index, candidates). In quick mode only the first
    ``4 * quick`` pairs are used, so the candidate pool is small too.
    """
    with open(fixture(data_dir, "codesearch"), encoding="utf-8") as f:
        pairs = json.load(f)
    if quick:
        pairs = pairs[: 4 * quick]
    candidates: list[str] = []
    index: dict[str, int] = {}
    for p in pairs:
        if p["code"] not in index:
            index[p["code"]] = len(candidates)
            candidates.append(p["code"])
    items = [{"key": p["idx"], "query": p["doc"], "gold": index[p["code"]]} for p in pairs if p["label"] == 1]
    if quick:
        items = items[:quick]
    return items, candidates


def suite_fixtures(data_dir: Path, suite: str) -> list[Path]:
    names = {"selection": ["selection"], "repo": ["selection", "manifests", "blobs"],
             "codesearch": ["codesearch"], "compression": list(COMPRESSION_TASKS),
             "selection-multilang": ["multilang", "multilang_ts_proxy"],
             "rag": list(COMPRESSION_TASKS)}[suite]
    return [fixture(data_dir, n) for n in names]
