"""The copy-paste examples of docs/readme/semantic.md run offline and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(repo_root: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SCALEDOWN_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, *args], cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_semantic_search_example(repo_root: Path, tmp_path: Path) -> None:
    out = _run(repo_root, tmp_path, "examples/semantic_search.py")
    assert out.returncode == 0, out.stderr
    assert "def retry(call" in out.stdout
    assert out.stdout.split("---\n")[1].startswith("retry: lines")
    assert "model: sentence-transformers/all-MiniLM-L6-v2" in out.stdout


def test_semantic_repository_example(repo_root: Path, tmp_path: Path) -> None:
    out = _run(repo_root, tmp_path, "examples/semantic_repository.py", "tests/semantic/data/shop")
    assert out.returncode == 0, out.stderr
    sections = out.stdout.split("## ")[1:]
    assert len(sections) == 2
    assert "cache hit rate 100%" in sections[1]  # the second query reused every unit vector
