"""Bring a tree's index up to date (``stat`` each file, re-read only what changed) and load it.

An update walks the tree exactly as :func:`~scaledown_core.code.load_sources` does, compares each
file's (size, mtime_ns) with the stored row, and reads again only new files, files whose stat changed
(a touched file whose bytes hash the same only gets its new stat key) and files marked unsure. Files
that are gone are dropped. New and changed files are parsed in worker processes when there are many.
Everything one update writes is one transaction.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..code.loader import _real, _walk_py
from ..code.model import SourceFile
from ..exceptions import OperationCancelled, OptimizerError
from ..tokens import get_counter
from ._pool import run_workers
from ._records import FileResult, decode, index_file, raw_hash
from ._store import Store, StoredFile

__all__ = ["IndexStats", "Progress", "build_index", "load_tree", "stored_counts", "clear_loaded"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], object]
"""``progress(done, total)``: called as the files an update reads are processed."""

# Fewer files than this are parsed in this process: starting workers costs more than it saves.
POOL_MIN_FILES = 48
# A file modified this close to the moment it was indexed may change again within the same mtime tick
# (coarse file system clocks): it is stored as unsure and hashed again at the next open.
RACY_NS = 2_000_000_000
# Trees kept loaded in this process (their parsed files), most recent last.
LOADED_TREES = 4


@dataclass
class IndexStats:
    """What one update of a tree's index did and holds."""

    root: str
    index_path: str
    files: int = 0
    """Python files in the index (skipped ones not counted)."""
    units: int = 0
    tokens: int = 0
    seconds: float = 0.0
    new: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Files the loader refuses (binary, unreadable, not regular): kept with their warning."""
    workers: int = 1
    warnings: list[str] = field(default_factory=list)

    @property
    def files_per_second(self) -> float:
        read = self.new + self.changed
        return read / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Walked:
    shown: str
    path: Path
    key: tuple[int, int] | None


def _walk(root: Path, given: str) -> tuple[list[_Walked], list[str]]:
    """The tree's ``.py`` files in the loader's order, named as the loader names them."""
    out: list[_Walked] = []
    read: set[Path] = set()
    folders: dict[Path, Path] = {}
    for f in _walk_py(root):
        # the loader's realpath of each file, one folder at a time: a file that is no link lies in its folder
        real_dir = folders.get(f.parent)
        if real_dir is None:
            real_dir = folders[f.parent] = _real(f.parent)
        real = _real(f) if f.is_symlink() else real_dir / f.name
        if real in read:
            continue
        read.add(real)
        try:
            st = f.stat()
            key: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
        except OSError:
            key = None
        out.append(_Walked(f.relative_to(root).as_posix(), f, key))
    warnings = [] if out else [f"{given}: no Python files found in this directory"]
    return out, warnings


def _check_root(root: str | os.PathLike[str]) -> tuple[Path, str]:
    if isinstance(root, (bytes, bytearray)) or not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a folder path; got {type(root).__name__}")
    given = os.fspath(root)
    if not given.strip():
        raise ValueError("root is empty: name a folder")
    path = Path(given)
    if not path.exists():
        raise OptimizerError(f"no such file or directory: {given}")
    if not path.is_dir():
        raise OptimizerError(f"{given} is not a folder; the index covers a folder of Python files")
    return path, given


def _same_bytes(w: _Walked, stored: StoredFile) -> bool:
    """Whether the file still holds the bytes the index read (a touch, a checkout that rewrote it)."""
    if stored.size < 0:  # it could not be read: read it again
        return False
    try:
        return raw_hash(w.path.read_bytes()) == stored.raw_hash
    except OSError:
        return False


def _read_files(jobs: list[tuple[str, str, str]], workers: int, progress: Progress | None,
                results: list[FileResult], cancel: threading.Event | None) -> None:
    """Append every job's result to ``results``, in worker processes when there are many. Once ``cancel``
    is set, :class:`OperationCancelled` is raised; ``results`` then holds the files that finished."""
    total = len(jobs)
    if progress is not None:
        progress(0, total)
    if workers <= 1 or total < POOL_MIN_FILES:
        for job in jobs:
            if cancel is not None and cancel.is_set():
                raise OperationCancelled(f"index build cancelled after {len(results)} of {total} files")
            results.append(index_file(job))
            if progress is not None:
                progress(len(results), total)
        return
    run_workers(jobs, workers, progress, results, cancel)


def _racy(results: list[FileResult], touched: list[StoredFile]) -> None:
    now = time.time_ns()
    for r in results:
        r.unsure = r.unsure or now - r.mtime_ns < RACY_NS
    for t in touched:
        t.unsure = now - t.mtime_ns < RACY_NS


def _update(store: Store, root: Path, given: str, model: str, workers: int, progress: Progress | None,
            verify: bool, stats: IndexStats,
            cancel: threading.Event | None = None) -> tuple[list[_Walked], list[FileResult]]:
    walked, walk_warnings = _walk(root, given)
    stats.warnings[:0] = walk_warnings
    stored = store.files()
    jobs: list[tuple[str, str, str]] = []
    touched: list[StoredFile] = []
    for w in walked:
        s = stored.get(w.shown)
        if s is None:
            stats.new += 1
        elif w.key is not None and not s.unsure and not verify and w.key == (s.size, s.mtime_ns):
            stats.unchanged += 1
            continue
        elif w.key is not None and _same_bytes(w, s):
            stats.unchanged += 1
            if w.key != (s.size, s.mtime_ns) or s.unsure:
                touched.append(StoredFile(w.shown, w.key[0], w.key[1], s.raw_hash, s.units, s.tokens, False, True))
            continue
        else:
            stats.changed += 1
        jobs.append((os.fspath(w.path), w.shown, model))
    names = {w.shown for w in walked}
    deleted = [p for p in stored if p not in names]
    stats.deleted = len(deleted)
    results: list[FileResult] = []
    try:
        _read_files(jobs, workers, progress, results, cancel)
    except BaseException:
        if results:  # an interrupted build keeps the files it finished: the next one goes on from there
            _racy(results, [])
            store.update(results, [], [])
        raise
    _racy(results, touched)
    if results or deleted or touched:
        store.update(results, deleted, touched)
    return walked, results


def _resolve_workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an integer or None; got {type(workers).__name__}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    return workers


def _open(root: Path, model: str, cache_dir: str | os.PathLike[str] | None) -> Store:
    if not isinstance(model, str) or not model.strip():
        raise ValueError("target_model must be a model name such as 'gpt-4o'")
    return Store(_real(root), get_counter(model).encoding_name, cache_dir)


def build_index(root: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
                target_model: str = "gpt-4o", workers: int | None = None, progress: Progress | None = None,
                verify: bool = False, cancel: threading.Event | None = None) -> IndexStats:
    """Build or bring up to date the index of the Python files under ``root``; what it did and holds.

    Setting ``cancel`` (from another thread) stops the build at the next file with
    :class:`~scaledown_core.exceptions.OperationCancelled`; the files parsed so far are kept.

    Unchanged files (same size and mtime_ns) are not read; new and changed files are parsed (in a pool
    of ``workers`` processes, default every core, when there are many) and deleted ones dropped.
    ``verify=True`` reads and hashes every file, catching one rewritten with the same size and mtime.
    ``progress(done, total)`` is called as the files read are processed. ``cache_dir`` defaults to
    ``$SCALEDOWN_CACHE_DIR/index`` (or the user cache folder).
    """
    started = time.perf_counter()
    path, given = _check_root(root)
    n_workers = _resolve_workers(workers)
    store = _open(path, target_model, cache_dir)
    try:
        stats = IndexStats(root=given, index_path=os.fspath(store.path), workers=n_workers)
        _, results = _update(store, path, given, target_model, n_workers, progress, verify, stats, cancel)
        stats.warnings.extend(w for r in results for w in r.warnings)  # what the files read now warned
        for s in store.files().values():
            if s.has_record:
                stats.files += 1
                stats.units += s.units
                stats.tokens += s.tokens
            else:
                stats.skipped += 1
        stats.warnings.extend(store.warnings)
    finally:
        store.close()
    stats.seconds = time.perf_counter() - started
    return stats


# --------------------------------------------------------------------------- loading for a query

_Entry = tuple[tuple[int, int, str], SourceFile | None, list[str], tuple[list[int], int] | None]
_loaded: "OrderedDict[str, dict[str, _Entry]]" = OrderedDict()
_counts: dict[int, tuple[list[int], int]] = {}
_loaded_lock = threading.Lock()


def clear_loaded() -> None:
    """Forget every tree loaded in this process."""
    with _loaded_lock:
        _loaded.clear()
        _counts.clear()


def stored_counts(sf: SourceFile) -> tuple[list[int], int] | None:
    """The stored line and whole-text token counts of a file loaded from an index, else None."""
    return _counts.get(id(sf.lines))


def load_tree(root: str | os.PathLike[str], target_model: str = "gpt-4o",
              cache_dir: str | os.PathLike[str] | None = None, workers: int | None = None,
              progress: Progress | None = None) -> tuple[list[SourceFile], list[str]]:
    """The tree's parsed files (in :func:`load_sources` order) and load warnings, from its index.

    The index is brought up to date first (see :func:`build_index`). Files loaded before in this
    process and unchanged since are reused, so a second query reads no record at all.
    """
    path, given = _check_root(root)
    store = _open(path, target_model, cache_dir)
    try:
        stats = IndexStats(root=given, index_path=os.fspath(store.path))
        walked, _ = _update(store, path, given, target_model, _resolve_workers(workers), progress, False, stats)
        key = os.fspath(store.path)
        with _loaded_lock:
            known = _loaded.pop(key, {})

        def held(row: StoredFile) -> bool:
            hit = known.get(row.path)
            return hit is not None and hit[0] == (row.size, row.mtime_ns, row.raw_hash)

        rows, records = store.snapshot(held)
        fresh: dict[str, _Entry] = {p: known[p] for p, row in rows.items() if held(row)}
        for shown, blob, warnings in records:
            s = rows[shown]
            if blob is None:
                fresh[shown] = ((s.size, s.mtime_ns, s.raw_hash), None, warnings, None)
            else:
                sf, line_tokens, whole = decode(blob)
                fresh[shown] = ((s.size, s.mtime_ns, s.raw_hash), sf, warnings, (line_tokens, whole))
        # the index's own housekeeping (rebuilt, moved to a private folder) is logged by the store, not
        # added to what loading the files warned: the result stays the one a direct read gives
        load_warnings = list(stats.warnings)
    finally:
        store.close()
    files: list[SourceFile] = []
    for w in walked:
        entry = fresh.get(w.shown)
        if entry is None:
            continue
        load_warnings.extend(entry[2])
        if entry[1] is not None:
            files.append(entry[1])
    _remember(key, known, fresh)
    return files, load_warnings


def _remember(key: str, old: dict[str, _Entry], fresh: dict[str, _Entry]) -> None:
    with _loaded_lock:
        for entry in old.values():
            if entry[1] is not None:
                _counts.pop(id(entry[1].lines), None)
        for entry in fresh.values():
            if entry[1] is not None and entry[3] is not None:
                _counts[id(entry[1].lines)] = entry[3]
        _loaded[key] = fresh
        while len(_loaded) > LOADED_TREES:
            _, dropped = _loaded.popitem(last=False)
            for entry in dropped.values():
                if entry[1] is not None:
                    _counts.pop(id(entry[1].lines), None)
