"""The SQLite embedding cache: round trips, namespaces, concurrent writers, failure without crashing."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scaledown_core.retrieval.embedding_cache import (
    CACHE_FILE,
    CacheStats,
    EmbeddingCache,
    content_hash,
    default_cache_dir,
)


def test_round_trip_keeps_vectors_exactly(cache: EmbeddingCache) -> None:
    a = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    b = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    cache.put_many("m1", [("d1", a), ("d2", b)])
    got = cache.get_many("m1", ["d1", "d2", "absent"])
    assert set(got) == {"d1", "d2"}
    np.testing.assert_array_equal(got["d1"], a)
    assert got["d2"].dtype == np.float32
    assert cache.path.name == CACHE_FILE and cache.path.is_file()


def test_models_do_not_share_vectors(cache: EmbeddingCache) -> None:
    cache.put_many("m1", [("d", np.ones(2, dtype=np.float32))])
    assert cache.get_many("m2", ["d"]) == {}
    assert cache.count("m1") == 1 and cache.count("m2") == 0


def test_a_stored_text_is_not_overwritten(cache: EmbeddingCache) -> None:
    cache.put_many("m", [("d", np.array([1.0, 0.0], dtype=np.float32))])
    cache.put_many("m", [("d", np.array([0.0, 1.0], dtype=np.float32))])
    np.testing.assert_array_equal(cache.get_many("m", ["d"])["d"], [1.0, 0.0])
    assert cache.count() == 1


def test_lookups_beyond_sqlite_parameter_limit(cache: EmbeddingCache) -> None:
    items = [(f"d{i}", np.full(4, i, dtype=np.float32)) for i in range(2500)]
    cache.put_many("m", items)
    got = cache.get_many("m", [d for d, _ in items])
    assert len(got) == 2500 and got["d2499"][0] == 2499


def test_concurrent_processes_write_one_cache(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    script = textwrap.dedent(
        """
        import sys, numpy as np
        from scaledown_core.retrieval.embedding_cache import EmbeddingCache
        worker = int(sys.argv[2])
        cache = EmbeddingCache(sys.argv[1])
        for round_ in range(20):
            # overlapping keys: every worker writes 0..59, each also its own 100 + worker
            items = [(f"k{i}", np.full(8, i, dtype=np.float32)) for i in range(round_ * 3, round_ * 3 + 3)]
            items.append((f"own{worker}-{round_}", np.full(8, -worker, dtype=np.float32)))
            cache.put_many("m", items)
            assert cache.get_many("m", [d for d, _ in items]).keys() == {d for d, _ in items}
        assert cache.error is None, cache.error
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(folder), str(w)], stderr=subprocess.PIPE)
             for w in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    cache = EmbeddingCache(folder)
    assert cache.count("m") == 60 + 3 * 20
    got = cache.get_many("m", [f"k{i}" for i in range(60)])
    assert all(got[f"k{i}"][0] == i for i in range(60))


def test_unusable_folder_disables_caching_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = EmbeddingCache(blocker / "cache")
    with caplog.at_level(logging.WARNING, logger="scaledown_core.retrieval.embedding_cache"):
        cache.put_many("m", [("d", np.ones(2, dtype=np.float32))])
        assert cache.get_many("m", ["d"]) == {}
    assert not cache.enabled and "cannot open the embedding cache" in (cache.error or "")
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert EmbeddingCache().path == tmp_path / "here" / CACHE_FILE


def test_default_cache_dir_is_a_user_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SCALEDOWN_CACHE_DIR", raising=False)  # the suite points it at a temporary folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "scaledown"
    assert default_cache_dir().name == "scaledown"


def test_stats_and_hash() -> None:
    s = CacheStats()
    assert s.hit_rate == 0.0
    s.add(3, 1)
    assert s.hit_rate == 0.75
    assert content_hash("a") == content_hash("a") != content_hash("a ")
