"""Paired latency of the rag suite's claim: the LangChain adapter against the one core call on the joined context.

  python -m bench.rag_latency --data ../shared/bench-data [--n 20] [--ratio 0.25]

Per record, the adapter (``ScaleDownDocumentCompressor`` over the passages as Documents) and
``LocalCompressor.compress`` on the same passages joined are called alternately, twice each, in one
process, so both see the same machine load; prints the median milliseconds and their ratio per dataset.
Without ``--ratio`` both run at their defaults (``rate="auto"``); with it, at that share of the tokens.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from langchain_core.documents import Document
    from langchain_scaledown import ScaleDownDocumentCompressor

    from bench import data
    from bench.rag import rag_items
    from bench.suites import COMPRESSION_TASKS
    from scaledown_core import LocalCompressor

    p = argparse.ArgumentParser(prog="python -m bench.rag_latency", description=__doc__)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--n", type=int, default=20, help="records per dataset")
    p.add_argument("--ratio", type=float, default=None, help="budget as a share of the documents' tokens")
    args = p.parse_args(argv)
    scorer = data.load_scorer(str(data.default_scorer(args.data.resolve())))
    joined = LocalCompressor() if args.ratio is None else LocalCompressor(rate=args.ratio)
    for task in COMPRESSION_TASKS:
        adapter_s, joined_s = [], []
        for item in rag_items(args.data.resolve(), task, args.n, scorer):
            docs = [Document(id=d["id"], page_content=d["text"]) for d in item["documents"]]
            context = "\n\n".join(d["text"] for d in item["documents"])
            budget = None if args.ratio is None else int(args.ratio * item["tokens"])
            adapter = ScaleDownDocumentCompressor(max_tokens=budget)
            for _ in range(2):
                started = time.perf_counter()
                adapter.compress_documents(docs, item["query"])
                adapter_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                joined.compress(context, item["query"])
                joined_s.append(time.perf_counter() - started)
        a, j = statistics.median(adapter_s) * 1000, statistics.median(joined_s) * 1000
        print(f"{task}: adapter {a:.1f} ms, joined {j:.1f} ms, ratio {a / j:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
