"""The on-disk store of one indexed tree: a SQLite file per (tree, target encoding).

Why SQLite: it ships with Python, keeps the whole index in one file, and its WAL mode gives exactly the
sharing the index needs: any number of processes read a consistent snapshot while one writes, and a
write (every new, changed and deleted file of one update) is one transaction, seen whole or not at all.
A file that is not a SQLite database, or an index of another format, is detected on open, moved aside
and rebuilt with a warning; a folder that cannot be written falls back to a private temporary folder
with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ._records import RECORD_FORMAT, FileResult

__all__ = ["Store", "StoredFile", "default_index_dir", "STORE_FORMAT"]

logger = logging.getLogger(__name__)

# Bumped whenever the schema or the record layout changes: an index of another format is rebuilt.
STORE_FORMAT = f"1.{RECORD_FORMAT}"
# Long enough to ride out another process's update (one transaction), short enough not to hang.
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    raw_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    units INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    unsure INTEGER NOT NULL,
    warnings TEXT NOT NULL,
    record BLOB
);
"""


_Record = tuple[str, "bytes | None", list[str]]
"""(path, record or None for a skipped file, the warnings loading it gave)"""


def default_index_dir() -> Path:
    """``<the user cache folder>/index`` (``$SCALEDOWN_CACHE_DIR/index`` when that is set)."""
    from ..retrieval.embedding_cache import default_cache_dir  # one home for the cache folder

    return default_cache_dir() / "index"


@dataclass
class StoredFile:
    """A file's row without its record: the stat key and what the update compares."""

    path: str
    size: int
    mtime_ns: int
    raw_hash: str
    units: int
    tokens: int
    unsure: bool
    has_record: bool


def _db_name(root: Path, encoding: str) -> str:
    digest = hashlib.blake2b(os.fsencode(root), digest_size=8).hexdigest()
    return f"{root.name or 'root'}-{digest}-{encoding}.sqlite3"


class Store:
    """One tree's index file. ``warnings`` collects what went wrong on the way (rebuilt, moved)."""

    def __init__(self, root: Path, encoding: str, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = root
        self.encoding = encoding
        self.warnings: list[str] = []
        wanted = Path(cache_dir).expanduser() if cache_dir is not None else default_index_dir()
        self.path = self._writable(wanted) / _db_name(root, encoding)
        self.conn = self._open()

    # ----------------------------------------------------------------- opening
    def _writable(self, folder: Path) -> Path:
        """``folder`` when an index can be written there, else a private temporary folder (warned)."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            return folder
        except OSError as exc:
            private = Path(tempfile.gettempdir()) / f"scaledown-index-{_user_id()}"
            private.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._warn(f"index folder {folder} is not writable ({exc.strerror or exc}); "
                       f"using the private folder {private}")
            return private

    def _open(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            if self._format_ok(conn):
                return conn
            conn.close()
        except sqlite3.DatabaseError as exc:
            self._warn(f"index {self.path} is unreadable ({exc}); rebuilding it")
        self._discard()
        conn = self._connect()
        self._init(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _format_ok(self, conn: sqlite3.Connection) -> bool:
        """Whether ``conn`` holds an index of this format (a new, empty file is initialised here)."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            self._init(conn)
            return True
        if not {"meta", "files"} <= tables:
            self._warn(f"index {self.path} is not a ScaleDown index; rebuilding it")
            return False
        row = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if row is None or row[0] != STORE_FORMAT:
            found = row[0] if row else "none"
            self._warn(f"index {self.path} has format {found}, this version writes {STORE_FORMAT}; rebuilding it")
            return False
        return True

    def _init(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.strip().split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            meta = {"format": STORE_FORMAT, "root": os.fspath(self.root), "encoding": self.encoding}
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _discard(self) -> None:
        """Move a bad index file (and its WAL files) out of the way; a reader that has it open keeps its copy."""
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{self.path}{suffix}")
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning(message)

    # ----------------------------------------------------------------- reading
    def files(self) -> dict[str, StoredFile]:
        """Every stored file's row (without records), by path."""
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, raw_hash, units, tokens, unsure, record IS NOT NULL FROM files")
        return {r[0]: StoredFile(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7])) for r in rows}

    def snapshot(self, known: Callable[[StoredFile], bool]) -> tuple[dict[str, StoredFile], list[_Record]]:
        """Every row, and (path, record, load warnings) of the rows ``known`` does not already hold,
        read in one transaction: rows and records always belong to the same state of the index."""
        self.conn.execute("BEGIN")
        try:
            rows = self.files()
            wanted = [p for p, row in rows.items() if not known(row)]
            out: list[_Record] = []
            for k in range(0, len(wanted), 500):
                chunk = wanted[k:k + 500]
                marks = ",".join("?" * len(chunk))
                out.extend((path, record, json.loads(warnings)) for path, record, warnings in self.conn.execute(
                    f"SELECT path, record, warnings FROM files WHERE path IN ({marks})", chunk))
        finally:
            self.conn.execute("COMMIT")
        return rows, out

    # ----------------------------------------------------------------- writing
    def update(self, results: list[FileResult], deleted: Iterable[str], touched: list[StoredFile]) -> None:
        """Write new and changed files, drop ``deleted`` ones and refresh the stat keys of ``touched``
        (files re-read whose content was unchanged), all in one transaction."""
        rows = [(r.path, r.size, r.mtime_ns, r.raw_hash, r.language, r.units, r.tokens, int(r.unsure),
                 json.dumps(r.warnings), r.record) for r in results]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.conn.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in deleted])
            self.conn.executemany("UPDATE files SET size = ?, mtime_ns = ?, unsure = ? WHERE path = ?",
                                  [(t.size, t.mtime_ns, int(t.unsure), t.path) for t in touched])
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else os.environ.get("USERNAME", "user")
