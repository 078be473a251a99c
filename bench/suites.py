"""Suites, budgets and rates: the constants every part of the harness shares (standard library only)."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"
CACHE_DIR = BENCH_DIR / ".cache"
RESULTS_DIR = BENCH_DIR / "results"
PLOTS_DIR = BENCH_DIR / "plots"

SUITES = ("selection", "repo", "compression", "codesearch", "selection-multilang", "rag")
# Budgets from the issue: what fits beside a prompt in a small, a medium and a large context slot.
SELECTION_BUDGETS = (1000, 2000, 4000)
REPO_BUDGETS = (4000, 8000)
# The one budget at which warm time (same file again, a new query) is also measured.
WARM_BUDGET = 2000
COMPRESSION_TASKS = ("hotpotqa", "nq20", "kv75")
COMPRESSION_RATES = (0.5, 0.25, 0.1)
# score.py groups outputs by a numeric rate; outputs of rate="auto" are written with this rate
# (no ceiling) to their own file, and the rate the compressor chose is reported beside them.
AUTO_RATE_KEY = 1.0
# rag: budgets as fractions of a retrieved set's tokens, besides each system's default.
RAG_RATIOS = (0.5, 0.25, 0.1)
CODESEARCH_KS = (1, 5, 10)
# How many of a system's ranked candidates each codesearch output line keeps (for MRR past that
# depth the gold candidate counts as not found: reciprocal rank 0).
CODESEARCH_DEPTH = 100

FIXTURES = {
    "selection": "code_selection_dev.jsonl",
    "manifests": "repo_localization_dev_manifests.jsonl.gz",
    "blobs": "repo_localization_dev_blobs.jsonl.gz",
    "codesearch": "code_search_cosqa_dev.json",
    "hotpotqa": "compression_hotpotqa_dev.jsonl",
    "nq20": "compression_nq20_dev.jsonl",
    "kv75": "compression_kv75_dev.jsonl",
    "multilang": "code_selection_multilang_dev.jsonl",
    "multilang_ts_proxy": "code_selection_multilang_ts_proxy_dev.jsonl",
}
