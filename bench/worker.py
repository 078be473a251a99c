"""Runs one system over one prepared batch of items, timing each call; runs in any venv (stdlib only).

``python -m bench.worker ADAPTER PARAMS.json ITEMS.jsonl OUT.jsonl``, where ADAPTER is
``module:Class`` under ``bench.adapters``. The adapter is built and warmed up (imports, models, one
throw-away call) before anything is timed, so ``seconds`` is the call alone: for selection that is
parse + index + select of a source the process has not seen before.

Adapter interface (a method only for the suites it supports):
  select(query, source, budget, filename) -> str | dict(output=..., info=...)
  repo(query, root, budget) -> dict(output=..., files=[...], info=...)
  compress(context, prompt, rate) -> str | dict(output=..., info=...)
  index_candidates(candidates) -> None, then rank(query) -> [candidate index, best first]
  rag(documents, query, budget) -> dict(output=[texts handed on], info=...)
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any, Callable

CODESEARCH_DEPTH = 100  # bench.suites.CODESEARCH_DEPTH; repeated so that this module stays import-light


def _as_record(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"output": value}


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def run(adapter_spec: str, params: dict[str, Any], items: list[dict[str, Any]], out: Any) -> None:
    module_name, _, class_name = adapter_spec.partition(":")
    adapter = getattr(importlib.import_module(module_name), class_name)(**params.get("options", {}))
    suite = params["suite"]
    warmup = getattr(adapter, "warmup", None)
    if warmup is not None:
        warmup(suite)
    if suite == "codesearch":
        _, seconds = _timed(lambda: adapter.index_candidates(params["candidates"]))
        out.write(json.dumps({"key": "__index__", "seconds": seconds}) + "\n")
    for item in items:
        for record in _run_item(adapter, suite, params, item):
            out.write(json.dumps(record) + "\n")
            out.flush()


def _run_item(adapter: Any, suite: str, params: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    key = item["key"]
    if suite == "selection":
        budget = params["budget"]
        value, seconds = _timed(lambda: adapter.select(item["query"], item["source"], budget, item["filename"]))
        record = {"key": key, "budget": budget, **_as_record(value), "seconds": seconds}
        if params.get("warm"):
            _, record["warm_seconds"] = _timed(
                lambda: adapter.select(item["alt_query"], item["source"], budget, item["filename"])
            )
        return [record]
    if suite == "repo":
        budget = params["budget"]
        value, seconds = _timed(lambda: adapter.repo(item["query"], item["root"], budget))
        return [{"key": key, "budget": budget, **_as_record(value), "seconds": seconds}]
    if suite == "compression":
        records = []
        for rate in params["rates"]:
            value, seconds = _timed(lambda: adapter.compress(item["context"], item["prompt"], rate))
            records.append({"key": key, "rate": rate, **_as_record(value), "seconds": seconds})
        return records
    if suite == "rag":
        records = []
        for setting in params["settings"]:  # "default" or a fraction of the documents' tokens
            budget = None if setting == "default" else int(setting * item["tokens"])
            value, seconds = _timed(lambda: adapter.rag(item["documents"], item["query"], budget))
            records.append({"key": key, "setting": setting, **_as_record(value), "seconds": seconds})
        return records
    if suite == "codesearch":
        ranking, seconds = _timed(lambda: adapter.rank(item["query"]))
        return [{"key": key, "ranking": list(ranking)[:CODESEARCH_DEPTH], "seconds": seconds}]
    raise ValueError(f"unknown suite {suite!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    adapter_spec, params_path, items_path, out_path = argv
    with open(params_path, encoding="utf-8") as f:
        params = json.load(f)
    with open(items_path, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    with open(out_path, "w", encoding="utf-8") as out:
        run(adapter_spec, params, items, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
