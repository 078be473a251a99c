"""The index behind the command line and the framework retrievers: same results, one index file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import forget_everything

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_")}
    env.update(SCALEDOWN_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "scaledown_core.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_index_command_builds_then_updates(odd_tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _cli("index", str(odd_tree), "--json", cache=cache)
    assert first.returncode == 0, first.stderr
    stats = json.loads(first.stdout)
    assert (stats["files"], stats["new"], stats["skipped"]) == (7, 8, 1)
    assert Path(stats["index_path"]).parent == cache / "index"
    assert "blob.py: binary file skipped" in first.stderr
    (odd_tree / "latin.py").write_text("def other():\n    pass\n")
    second = _cli("index", str(odd_tree), cache=cache)
    assert second.returncode == 0, second.stderr
    assert "1 changed" in second.stdout and "7 files" in second.stdout
    missing = _cli("index", str(tmp_path / "nowhere"), cache=cache)
    assert missing.returncode == 1 and "no such file or directory" in missing.stderr


def test_select_uses_the_index_unless_told_not_to(odd_tree: Path, tmp_path: Path) -> None:
    query = ["-q", "how is the order total computed with a coupon", "--budget", "300", "--json"]
    plain = _cli("select", str(odd_tree), *query, "--no-index", cache=tmp_path / "none")
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "none").exists()
    indexed = _cli("select", str(odd_tree), *query, cache=tmp_path / "cache")
    assert indexed.returncode == 0, indexed.stderr
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))
    a, b = json.loads(plain.stdout), json.loads(indexed.stdout)
    a["metrics"].pop("latency_ms"), b["metrics"].pop("latency_ms")
    assert a == b


def test_langchain_code_retriever_reads_through_the_index(odd_tree: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    retrievers = pytest.importorskip("langchain_scaledown.retrievers")
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "cache"))
    query = "how is the order total computed with a coupon"
    plain = retrievers.ScaleDownCodeRetriever(paths=[str(odd_tree)], optimizer_kwargs={"use_index": False})
    expected = [(d.page_content, d.metadata) for d in plain.invoke(query)]
    assert not (tmp_path / "cache").exists()
    forget_everything()
    indexed = retrievers.ScaleDownCodeRetriever(paths=[str(odd_tree)])
    assert [(d.page_content, d.metadata) for d in indexed.invoke(query)] == expected
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))


def test_llamaindex_code_retriever_reads_through_the_index(odd_tree: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    base = pytest.importorskip("llama_index.retrievers.scaledown")
    from scaledown_core import HasteOptimizer

    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "cache"))
    query = "how is the order total computed with a coupon"
    plain = base.ScaleDownCodeRetriever(paths=[str(odd_tree)], optimizer=HasteOptimizer(use_index=False))
    expected = [(n.node.get_content(), n.score) for n in plain.retrieve(query)]
    assert not (tmp_path / "cache").exists()
    forget_everything()
    indexed = base.ScaleDownCodeRetriever(paths=[str(odd_tree)])
    assert [(n.node.get_content(), n.score) for n in indexed.retrieve(query)] == expected
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))
