"""The persistent index: incremental updates, stat keys and content hashes, outputs identical to a
direct read, and the bad input a real tree holds."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from scaledown_core import HasteOptimizer
from scaledown_core.exceptions import OptimizerError
from scaledown_core.index import STORE_FORMAT, build_index, load_tree
from scaledown_core.index._records import index_file

from .conftest import forget_everything

REPO_PACKAGE = Path(__file__).resolve().parents[2] / "scaledown_core"
HOUR_NS = 3600 * 10**9


def _result(optimizer: HasteOptimizer, root: Path, query: str, budget: int) -> dict:
    forget_everything()
    out = optimizer.optimize(query=query, file_path=str(root), max_tokens=budget).to_dict()
    out["metrics"].pop("latency_ms")
    return out


def _age(root: Path) -> None:
    """Set every file's mtime an hour back: past the racy window, as a tree not edited just now."""
    old = time.time_ns() - HOUR_NS
    for p in root.rglob("*.py"):
        if not p.is_symlink():
            os.utime(p, ns=(old, old))


QUERIES = [
    ("how is the order total computed with a coupon", 300),
    ('Traceback (most recent call last):\n  File "inventory/pricing.py", line 30, in total\n'
     'ValueError: coupon expired', 200),
    ("`caf\u00e9` returns the wrong thing", 120),
    ("where are items stored", 4000),
]


@pytest.mark.parametrize("query,budget", QUERIES)
def test_outputs_identical_with_and_without_the_index(odd_tree: Path, tmp_path: Path, query: str,
                                                     budget: int) -> None:
    direct = _result(HasteOptimizer(use_index=False), odd_tree, query, budget)
    cold = _result(HasteOptimizer(index_dir=tmp_path / "idx"), odd_tree, query, budget)
    warm = _result(HasteOptimizer(index_dir=tmp_path / "idx"), odd_tree, query, budget)
    assert cold == direct
    assert warm == direct
    assert any("binary file skipped" in w for w in direct["metrics"]["warnings"])
    assert any("not valid UTF-8" in w for w in direct["metrics"]["warnings"])


def test_outputs_identical_on_a_real_package(tmp_path: Path) -> None:
    """This repository's own package (about 50 files): every query and budget gives the same result."""
    root = tmp_path / "pkg"
    shutil.copytree(REPO_PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    queries = ["How is Retry-After honoured when the server rate limits?",
               "BM25 idf is negative for a term in half the documents",
               "`pack` goes over the budget when a candidate requires another",
               "embedding cache is not safe with several processes"]
    for query in queries:
        for budget in (600, 3000):
            direct = _result(HasteOptimizer(use_index=False), root, query, budget)
            indexed = _result(HasteOptimizer(index_dir=tmp_path / "idx"), root, query, budget)
            assert indexed == direct, (query, budget)


def test_build_counts_and_incremental_updates(odd_tree: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    calls: list[tuple[int, int]] = []
    first = build_index(odd_tree, cache_dir=idx, progress=lambda done, total: calls.append((done, total)))
    # inventory/{__init__,models,pricing,storage}, latin, broken, empty; blob is skipped, .hidden unseen
    assert (first.files, first.skipped, first.new, first.changed, first.deleted) == (7, 1, 8, 0, 0)
    assert first.units > 10 and first.tokens > 300 and first.seconds > 0
    assert calls[0] == (0, 8) and calls[-1] == (8, 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert Path(first.index_path).parent == idx

    _age(odd_tree)
    again = build_index(odd_tree, cache_dir=idx)  # re-hashes the racy files once (same bytes): no re-parse
    assert (again.new, again.changed, again.deleted, again.unchanged) == (0, 0, 0, 8)
    quiet = build_index(odd_tree, cache_dir=idx)
    assert (quiet.new, quiet.changed, quiet.unchanged) == (0, 0, 8)

    (odd_tree / "inventory" / "pricing.py").write_text("def surcharge(total):\n    return total * 2\n")
    (odd_tree / "new.py").write_text("def fresh():\n    return 'new'\n")
    (odd_tree / "empty.py").unlink()
    changed = build_index(odd_tree, cache_dir=idx)
    assert (changed.new, changed.changed, changed.deleted, changed.unchanged) == (1, 1, 1, 6)
    result = HasteOptimizer(index_dir=idx).optimize(query="surcharge total", file_path=str(odd_tree), max_tokens=200)
    assert "return total * 2" in result.content


def test_same_size_and_mtime_rewrite_is_caught(odd_tree: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    target = odd_tree / "inventory" / "storage.py"
    _age(odd_tree)
    build_index(odd_tree, cache_dir=idx)
    st = target.stat()
    text = target.read_text()
    target.write_text(text.replace("def ", "def_", 1)[: len(text)].ljust(len(text)))  # same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    assert build_index(odd_tree, cache_dir=idx).changed == 0  # the stat key cannot see it
    assert build_index(odd_tree, cache_dir=idx, verify=True).changed == 1  # the content hash does


def test_a_file_written_just_before_indexing_is_hashed_again(odd_tree: Path, tmp_path: Path) -> None:
    """Within the racy window a rewrite may keep size and mtime; the next open re-hashes such files."""
    idx = tmp_path / "idx"
    target = odd_tree / "latin.py"
    build_index(odd_tree, cache_dir=idx)  # every file was written a moment ago: all unsure
    st = target.stat()
    target.write_bytes(b"def cafe():\n    return 'creme!'\n"[: st.st_size].ljust(st.st_size))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert build_index(odd_tree, cache_dir=idx).changed == 1


def test_corrupt_and_older_indexes_are_rebuilt_with_a_warning(odd_tree: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    path = Path(build_index(odd_tree, cache_dir=idx).index_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '0.0' WHERE key = 'format'")
    old = build_index(odd_tree, cache_dir=idx)
    assert old.new == 8 and any(f"format 0.0, this version writes {STORE_FORMAT}" in w for w in old.warnings)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    broken = build_index(odd_tree, cache_dir=idx)
    assert broken.new == 8 and any("rebuilding" in w for w in broken.warnings)
    assert build_index(odd_tree, cache_dir=idx).warnings == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_cache_folder_falls_back_to_a_private_one(odd_tree: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        stats = build_index(odd_tree, cache_dir=locked)
    finally:
        locked.chmod(0o700)
    assert any("not writable" in w for w in stats.warnings)
    assert not Path(stats.index_path).is_relative_to(locked)


def test_read_only_cache_file_falls_back_too(odd_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder that is a file (a common misconfiguration) cannot hold an index: warned, not fatal."""
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    stats = build_index(odd_tree, cache_dir=not_a_folder)
    assert any("not writable" in w for w in stats.warnings)
    assert Path(stats.index_path).is_relative_to(tmp_path / "tmp")


def test_files_that_vanish_or_cannot_be_read(odd_tree: Path, tmp_path: Path) -> None:
    gone = index_file((str(odd_tree / "missing.py"), "missing.py", "gpt-4o"))
    assert gone.record is None and gone.unsure and "unreadable file skipped" in gone.warnings[0]
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        locked = odd_tree / "inventory" / "models.py"
        locked.chmod(0)
        try:
            stats = build_index(odd_tree, cache_dir=tmp_path / "idx")
            assert stats.skipped == 2
        finally:
            locked.chmod(0o600)
        assert build_index(odd_tree, cache_dir=tmp_path / "idx").skipped == 1  # readable again: re-read


def test_symlink_loop_and_deep_trees_finish(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    here = root
    for k in range(30):
        here = here / f"d{k}"
    here.mkdir(parents=True)
    (here / "leaf.py").write_text("def leaf():\n    return 1\n")
    (here / "up").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(root, target_is_directory=True)
    stats = build_index(root, cache_dir=tmp_path / "idx")
    assert stats.files == 1
    files, _ = load_tree(root, cache_dir=tmp_path / "idx")
    assert [sf.path for sf in files] == ["/".join(f"d{k}" for k in range(30)) + "/leaf.py"]


def test_many_tiny_files_use_worker_processes(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(10):
        (root / f"pkg{d}").mkdir(parents=True)
        for f in range(150):
            (root / f"pkg{d}" / f"m{f}.py").write_text(f"def f{d}_{f}(x):\n    return x + {f}\n")
    stats = build_index(root, cache_dir=tmp_path / "idx", workers=2)
    assert (stats.files, stats.units, stats.workers) == (1500, 1500, 2)
    assert build_index(root, cache_dir=tmp_path / "idx").unchanged == 1500
    result = HasteOptimizer(index_dir=tmp_path / "idx").optimize(
        query="f7_123", file_path=str(root), max_tokens=100)
    assert "return x + 123" in result.content


def test_use_index_false_writes_nothing(odd_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "cache"))
    HasteOptimizer(use_index=False).optimize(query="coupon", file_path=str(odd_tree), max_tokens=100)
    assert not (tmp_path / "cache").exists()
    HasteOptimizer().optimize(query="coupon", file_path=str(odd_tree), max_tokens=100)
    assert list((tmp_path / "cache" / "index").glob("*.sqlite3"))


def test_misuse_is_refused(odd_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(OptimizerError, match="not a folder"):
        build_index(odd_tree / "latin.py", cache_dir=tmp_path)
    with pytest.raises(OptimizerError, match="no such file"):
        build_index(tmp_path / "nowhere", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="workers"):
        build_index(odd_tree, cache_dir=tmp_path, workers=0)
    with pytest.raises(TypeError):
        build_index(b"bytes", cache_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="use_index"):
        HasteOptimizer(use_index="yes")  # type: ignore[arg-type]


_READER = r"""
import hashlib, json, sys
from scaledown_core.index import load_tree
seen = []
for _ in range(int(sys.argv[3])):
    files, _ = load_tree(sys.argv[1], cache_dir=sys.argv[2])
    for sf in files:  # every record is whole and belongs to its row
        digest = hashlib.blake2b(sf.text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        assert digest == sf.digest, sf.path
        assert sum(len(u.text) for u in sf.units) <= len(sf.text), sf.path
    seen.append(sorted(sf.path for sf in files))
print(json.dumps(seen))
"""


def test_readers_see_a_consistent_index_while_another_process_updates(odd_tree: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    idx = tmp_path / "idx"
    build_index(odd_tree, cache_dir=idx)
    base = sorted(sf.path for sf in load_tree(odd_tree, cache_dir=idx)[0])
    env = {**os.environ, "PYTHONPATH": str(REPO_PACKAGE.parent)}
    readers = [subprocess.Popen([sys.executable, "-c", _READER, str(odd_tree), str(idx), "8"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    extra = odd_tree / "extra.py"
    writes = 0
    while any(r.poll() is None for r in readers) and writes < 400:  # update for as long as they read
        extra.write_text("def extra():\n    return 1\n" * (writes % 7 + 1))
        build_index(odd_tree, cache_dir=idx)
        extra.unlink()
        build_index(odd_tree, cache_dir=idx)
        writes += 1
    assert writes > 2
    for reader in readers:
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, err
        for paths in json.loads(out):
            assert paths in (base, sorted([*base, "extra.py"]))


def test_a_rebuilt_index_is_logged_not_added_to_the_result(odd_tree: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    idx = tmp_path / "idx"
    path = Path(build_index(odd_tree, cache_dir=idx).index_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'format'")
    forget_everything()
    direct = _result(HasteOptimizer(use_index=False), odd_tree, "coupon total", 200)
    with caplog.at_level("WARNING", logger="scaledown_core.index"):
        indexed = _result(HasteOptimizer(index_dir=idx), odd_tree, "coupon total", 200)
    assert indexed == direct
    assert any("format old" in r.getMessage() for r in caplog.records)


def test_an_edited_large_tree_does_not_pile_up_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each edit builds a new unit table; the cache keeps the latest ones within its unit bound."""
    import scaledown_core.optimizer._units as units

    monkeypatch.setattr(units, "INDEX_CACHE_UNITS", 250)
    root = tmp_path / "tree"
    root.mkdir()
    for k in range(100):
        (root / f"m{k}.py").write_text(f"def f{k}(x):\n    return x + {k}\n")
    optimizer = HasteOptimizer(index_dir=tmp_path / "idx")
    for edit in range(4):
        (root / "m0.py").write_text(f"def f0(x):\n    return x - {edit}\n")
        result = optimizer.optimize(query="f0", file_path=str(root), max_tokens=50)
        assert f"return x - {edit}" in result.content
    assert len(units._index_cache) == 2  # 100 units each: two fit in 250


def test_a_tree_that_mixes_languages_reads_the_same_through_the_index(tmp_path: Path) -> None:
    """Each file keeps its language in the index: the output (comment markers, units) is what a direct
    read gives."""
    from scaledown_core.optimizer import HasteOptimizer

    tree = tmp_path / "mixed"
    (tree / "svc").mkdir(parents=True)
    (tree / "svc" / "retry.py").write_text("def backoff(attempt):\n    return min(30, 2 ** attempt)\n")
    (tree / "svc" / "client.go").write_text(
        "package svc\n\nfunc Backoff(attempt int) int {\n\tif attempt > 5 {\n\t\treturn 30\n\t}\n"
        "\treturn 1 << attempt\n}\n\nfunc Unrelated() string {\n\treturn \"x\"\n}\n")
    (tree / "svc" / "ui.js").write_text("export function renderBackoff(n) {\n  return `retry in ${n}s`;\n}\n")
    query = "Backoff grows past 30 seconds after attempt 5"
    direct = HasteOptimizer(use_index=False).optimize(query=query, file_path=str(tree), max_tokens=120)
    indexed = HasteOptimizer(index_dir=str(tmp_path / "index")).optimize(query=query, file_path=str(tree),
                                                                        max_tokens=120)
    again = HasteOptimizer(index_dir=str(tmp_path / "index")).optimize(query=query, file_path=str(tree),
                                                                      max_tokens=120)
    assert indexed.content == direct.content == again.content
    assert [(s.path, s.name) for s in indexed.spans] == [(s.path, s.name) for s in direct.spans]
    assert "func Backoff(attempt int) int {" in indexed.content
    stats = build_index(tree, cache_dir=tmp_path / "index")
    assert (stats.files, stats.unchanged) == (3, 3)
