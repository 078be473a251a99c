"""The on-disk embedding cache: document vectors keyed by model and content hash, in one SQLite file.

Safe under concurrent processes and threads: the database runs in WAL mode (readers never block the
writer), every write is one short ``BEGIN IMMEDIATE`` transaction with ``INSERT OR IGNORE`` (two
processes that embed the same text store it once, and either copy is correct), and a busy database is
waited on for :data:`BUSY_TIMEOUT_S` before the write is given up. A cache that cannot be opened or
written is never fatal: it logs one warning, sets :attr:`EmbeddingCache.error` and stops caching.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = ["CacheStats", "EmbeddingCache", "CACHE_DIR_ENV", "CACHE_FILE", "default_cache_dir", "content_hash"]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "SCALEDOWN_CACHE_DIR"
CACHE_FILE = "embeddings.sqlite3"
# Long enough to ride out another process's write (a few thousand rows takes milliseconds), short
# enough that a wedged database costs one slow call rather than a hang.
BUSY_TIMEOUT_S = 10.0
# SQLite's default cap on host parameters per statement is 999 in older builds.
_LOOKUP_CHUNK = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    digest TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, digest)
) WITHOUT ROWID
"""


def default_cache_dir() -> Path:
    """``$SCALEDOWN_CACHE_DIR``, else the platform's user cache folder + ``scaledown``."""
    explicit = os.environ.get(CACHE_DIR_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scaledown"


def content_hash(text: str) -> str:
    """The cache key of a text: BLAKE2b-128 of its UTF-8 bytes, hex."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass
class CacheStats:
    """Document lookups of one or more calls: served from the cache (``hits``) or embedded (``misses``)."""

    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)``; 0.0 when nothing was looked up."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def add(self, hits: int, misses: int) -> None:
        self.hits += hits
        self.misses += misses


def _valid_vector(blob: bytes, stored_dim: int, dim: int | None) -> np.ndarray | None:
    """The vector a row holds, or None when it is not one this library stored."""
    if len(blob) % 4 or len(blob) // 4 != stored_dim or (dim is not None and stored_dim != dim):
        return None
    vec = np.frombuffer(blob, dtype="<f4").astype(np.float32, copy=False)
    return vec if np.isfinite(vec).all() else None


class EmbeddingCache:
    """Vectors by ``(model key, content hash)`` in ``<directory>/embeddings.sqlite3``.

    ``stats`` counts every lookup this object served (all callers together).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self.stats = CacheStats()
        self.error: str | None = None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r})"

    @property
    def enabled(self) -> bool:
        return self.error is None

    def _connection(self) -> sqlite3.Connection | None:
        if self.error is not None:
            return None
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # a forked child must not reuse its parent's connection
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            self._disable(f"cannot open the embedding cache at {self.path}: {exc}")
            return None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _disable(self, message: str) -> None:
        self.error = message
        logger.warning("%s; embeddings will not be cached", message)

    def get_many(self, model: str, digests: Sequence[str], dim: int | None = None) -> dict[str, np.ndarray]:
        """The cached vectors among ``digests`` for ``model`` (missing ones are absent).

        A stored vector that is damaged (a NaN or infinite value, a length other than ``dim`` when given
        or than its row says) is absent too: it is deleted, so that the caller embeds and stores the
        text again, and a warning says how many there were.
        """
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        wanted = list(dict.fromkeys(digests))
        with self._lock:
            conn = self._connection()
            if conn is None:
                return found
            try:
                for i in range(0, len(wanted), _LOOKUP_CHUNK):
                    chunk = wanted[i:i + _LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT digest, dim, vector FROM embeddings WHERE model = ? AND digest IN ({marks})",
                        [model, *chunk],
                    ).fetchall()
                    for digest, stored_dim, blob in rows:
                        vec = _valid_vector(blob, stored_dim, dim)
                        if vec is None:
                            bad.append(digest)
                        else:
                            found[digest] = vec
                if bad:
                    self._forget(conn, model, bad)
            except sqlite3.Error as exc:
                self._disable(f"cannot read the embedding cache at {self.path}: {exc}")
        return found

    def _forget(self, conn: sqlite3.Connection, model: str, digests: list[str]) -> None:
        logger.warning("the embedding cache at %s held %d invalid vector(s) for %s (not finite, or of "
                       "the wrong dimension); they are embedded again", self.path, len(digests), model)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM embeddings WHERE model = ? AND digest = ?", [(model, d) for d in digests])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def put_many(self, model: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store vectors for ``model``; a text stored already (by any process) is left as it is."""
        rows = [(model, digest, int(vec.shape[0]), np.asarray(vec, dtype="<f4").tobytes())
                for digest, vec in items]
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT OR IGNORE INTO embeddings (model, digest, dim, vector) VALUES (?, ?, ?, ?)", rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._disable(f"cannot write the embedding cache at {self.path}: {exc}")

    def count(self, model: str | None = None) -> int:
        """Vectors stored (for ``model``, or all)."""
        with self._lock:
            conn = self._connection()
            if conn is None:
                return 0
            if model is None:
                return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
            return int(conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0])

    def clear(self, model: str | None = None) -> None:
        """Forget every vector (of ``model``, or all)."""
        with self._lock:
            conn = self._connection()
            if conn is None:
                return
            if model is None:
                conn.execute("DELETE FROM embeddings")
            else:
                conn.execute("DELETE FROM embeddings WHERE model = ?", (model,))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
