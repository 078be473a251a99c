"""The bench tests' data folder: given by the BENCH_DATA environment variable (the harness never
assumes where the data lives); tests that need it are skipped without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bench_data() -> Path:
    value = os.environ.get("BENCH_DATA")
    if not value:
        pytest.skip("set BENCH_DATA to the bench-data folder to run the benchmark quick mode")
    path = Path(value)
    if not (path / "code_selection_dev.jsonl").exists():
        pytest.fail(f"BENCH_DATA={value} is not a bench-data folder (no code_selection_dev.jsonl)")
    return path
