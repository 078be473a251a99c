"""Batch throughput: ``scaledown_core.batch.compress_file`` on the local and ray engines.

  python -m bench batch --data ../shared/bench-data [--n 10000] [--workers 1,2] [--engines local,ray] [--rate 0.25]

N NQ-20 contexts (the 100 fixture records repeated, each copy with its own id) are written to a JSONL
file and compressed into another by each engine at each worker count. Every output row is checked
against LocalCompressor called in-process on the same record, and each record must appear once, in
input order. The in-process single-thread rate over the first records is the baseline. For ray, the
local Ray instance is started once (its start time is reported apart); each run includes starting its
actors, as each local run includes starting its processes. Results go to ``<results>/batch/batch.json``.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data

BASELINE_RECORDS = 500  # in-process, one thread: enough for a stable rate, short beside the runs


def _write_input(data_dir: Path, folder: Path, n: int) -> tuple[Path, list[dict[str, Any]]]:
    scorer = data.load_scorer(str(data.default_scorer(data_dir)))
    items = data.compression_items(data_dir, "nq20", None, scorer)
    path = folder / "contexts.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            item = items[i % len(items)]
            f.write(json.dumps({"id": f"{item['key']}#{i // len(items)}", "context": item["context"],
                                "prompt": item["prompt"]}) + "\n")
    return path, items


def _check(out: Path, items: list[dict[str, Any]], expected: dict[str, str], n: int) -> int:
    """How many rows equal the in-process output of their record; raises if a record is lost or doubled."""
    same = 0
    with open(out, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if [r["index"] for r in rows] != list(range(n)):
        raise RuntimeError(f"{out}: records lost, doubled or out of order")
    for i, row in enumerate(rows):
        same += row["error"] is None and row["content"] == expected[items[i % len(items)]["key"]]
    return same


def measure(data_dir: Path, n: int, workers: list[int], engines: list[str], rate: float) -> dict[str, Any]:
    """Records/s and tokens/s of each engine at each worker count, and the in-process baseline."""
    from scaledown_core import LocalCompressor
    from scaledown_core.batch import compress_file, default_compressor

    compressor = LocalCompressor(rate=rate)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        src, items = _write_input(data_dir, Path(tmp), n)
        expected = {it["key"]: compressor.compress(it["context"], it["prompt"]).content for it in items}
        base = [items[i % len(items)] for i in range(min(n, BASELINE_RECORDS))]
        started = time.perf_counter()
        base_tokens = sum(compressor.compress(it["context"], it["prompt"]).metrics.original_prompt_tokens
                          for it in base)
        base_s = time.perf_counter() - started
        factory = default_compressor(rate=rate)

        def run(engine: str, w: int) -> None:
            out = Path(tmp) / f"out-{engine}-{w}.jsonl"
            summary = compress_file(src, out, engine=engine, workers=w, compressor=factory)
            runs.append({"engine": engine, "workers": w, "seconds": summary.seconds, "records": summary.records,
                         "failed": summary.failed, "original_tokens": summary.original_tokens,
                         "identical": _check(out, items, expected, n), "load": _load()})
            print(f"{engine} x{w}: {summary.records_per_s:.1f} records/s, {summary.tokens_per_s:.0f} tokens/s "
                  f"({summary.seconds:.1f} s)", flush=True)
            out.unlink()

        driver_s = _driver_seconds(src, Path(tmp) / "driver.jsonl")
        ray_init_s = None
        if "local" in engines:
            for w in workers:
                run("local", w)
        if "ray" in engines:
            import ray

            started = time.perf_counter()
            ray.init(include_dashboard=False, log_to_driver=False)
            ray_init_s = time.perf_counter() - started
            try:
                for w in workers:
                    run("ray", w)
            finally:
                ray.shutdown()
    return {"n": n, "rate": rate, "task": "nq20", "distinct": len(items), "baseline_records": len(base),
            "baseline_s": base_s, "baseline_tokens": base_tokens, "ray_init_s": ray_init_s,
            "driver_s": driver_s,
            "cpus": os.cpu_count(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "runs": runs}


def _driver_seconds(src: Path, out: Path) -> float:
    """The driver's serial work without any compressing: read every record, write a row of its size for each.

    What bounds a run when workers are many: past ``1 / (this / n)`` records/s the driver is the limit.
    """
    from scaledown_core.batch._io import ResultWriter, read_tasks
    from scaledown_core.batch._records import COMPRESS_FIELDS

    started = time.perf_counter()
    writer = ResultWriter(out, COMPRESS_FIELDS)
    for rid, task in read_tasks(src, text_field="context", query_field="prompt", id_field="id"):
        writer.write({"index": task.index, "id": rid, "content": task.text[: len(task.text) // 4],
                      "original_tokens": 2300, "compressed_tokens": 575, "rate": 0.25, "latency_ms": 10.0,
                      "warnings": [], "error": None})
    writer.commit()
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "-"


def run(data_dir: Path, results_dir: Path, n: int, workers: list[int], engines: list[str], rate: float) -> Path:
    out = results_dir / "batch" / "batch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = measure(data_dir, n, workers, engines, rate)
    out.write_text(json.dumps(payload, indent=1))
    return out


BATCH_TEXT = """
## Batch compression on the local and ray engines (`python -m bench batch --data ../shared/bench-data`)

`scaledown_core.batch.compress_file` over a JSONL file of NQ-20 contexts (the 100 fixture records
repeated, each copy with its own id) into another, rate 0.25, with `LocalCompressor` in every worker:
`local` is a process pool, `ray` is Ray Data `map_batches` over an actor pool on a local Ray instance
(started once before the runs; its start time is given apart). Each run's time includes starting its
processes or actors, reading the input and writing the output. Every row is compared with
LocalCompressor called in-process on the same record, and every record must come back once, in order.
"""


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.1f}" if seconds > 0 else "-"


def batch_section(results: Path) -> str:
    """The batch-throughput table from ``python -m bench batch``, or how to make it."""
    path = results / "batch" / "batch.json"
    if not path.exists():
        return BATCH_TEXT + "\n_no results yet: run `python -m bench batch --data ../shared/bench-data`_\n"
    t = json.loads(path.read_text())
    n = t["n"]
    one = {r["engine"]: r["seconds"] for r in t["runs"] if r["workers"] == 1}
    rows = []
    for r in t["runs"]:
        speedup = f"{one[r['engine']] / r['seconds']:.2f}x" if r["engine"] in one else "-"
        rows.append([r["engine"], str(r["workers"]), _rate(r["records"], r["seconds"]),
                     f"{r['original_tokens'] / r['seconds']:,.0f}", f"{r['seconds']:.1f}", speedup,
                     f"{r['identical']}/{n}", r["load"]])
    base_rate = t["baseline_records"] / t["baseline_s"]
    ray_init = f"; the local Ray instance took {t['ray_init_s']:.1f} s to start" if t.get("ray_init_s") else ""
    head = (f"\n{n:,} records (mean {t['baseline_tokens'] / t['baseline_records']:,.0f} tokens), {t['machine']}, "
            f"shared with other work (load averages in the table; figures are lower bounds). In-process, one "
            f"thread, over the first {t['baseline_records']} records: {base_rate:.1f} records/s, "
            f"{t['baseline_tokens'] / t['baseline_s']:,.0f} tokens/s{ray_init}.\n\n")
    header = ["engine", "workers", "records/s", "tokens/s", "seconds", "vs 1 worker", "identical to in-process",
              "load 1/5/15 min after"]
    table = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                       *("| " + " | ".join(row) + " |" for row in rows)])
    driver = ""
    if t.get("driver_s"):
        ceiling = n / t["driver_s"]
        driver = (f"\n\nThe driver's own serial work (read every record, write a row for each, no compressing; the ray "
                  f"engine's driver also converts records to and from Arrow) took "
                  f"{t['driver_s']:.2f} s for the {n:,} records: about {ceiling:,.0f} records/s, "
                  f"{ceiling / base_rate:,.0f} times one worker's rate.")
    return BATCH_TEXT + head + table + driver + "\n" + SCALING_TEXT


SCALING_TEXT = """
The runs ran one after another while the machine's load changed (last column), so differences between
rows mix the engines with that load: read them as lower bounds, not as an engine comparison.

**With N workers.** Each record is independent CPU work in one process, so workers add up while each
has a core of its own: N workers on N free cores approach N times one worker's rate. Not on this
machine while others work on it: its kernel schedules by session (autogroup), not by process, so
a run's second worker adds little or no CPU to the run's share of the 2 cores, and the 2-worker rows
show that share, not how the engines scale. On a cluster the bounds come in this order:
(1) the driver: `compress_file` reads every record and writes every row to one file, in input order,
in one process; its rate above, divided by one worker's, is how many workers it can keep fed. Past
that, call `compress_dataset` on a Dataset read from shared storage and let Ray write sharded files
(`write_parquet`) keyed by the id column. (2) the driver's memory with `--engine ray`: `compress_file`
reads the whole input on the driver and ships it to the workers through the object store (about 10 KB
a record here). (3) start-up, paid once per worker (the package and the tokenizer; a model too when
the compressor embeds): the seconds above include it. (4) the tail: with batches of 32 records, at
most one batch per worker runs alone at the end.
"""
