"""Records in, result rows out: JSONL and Parquet files, read as a stream and written atomically.

Every input record gets a position (``index``, 0-based, blank JSONL lines not counted) and an id: its
``id`` field as text, or its position when it has none. A record that cannot be read (a JSONL line
that is not a JSON object, a field of the wrong type, an id seen before) becomes a task holding its
error, so it is written with that error like any failed record.

The output is written to a temporary file beside ``OUT`` and renamed onto it only when the whole
batch is written: ``OUT`` is either complete or untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..exceptions import MissingDependencyError
from ._records import Task, error_text

__all__ = ["file_format", "read_tasks", "ResultWriter", "PARQUET_ROWS_PER_GROUP"]

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_READ_ROWS = 1024
PARQUET_ROWS_PER_GROUP = 4096  # rows buffered per Parquet row group: small enough to stream, big enough to compress


def file_format(path: str | os.PathLike[str]) -> str:
    """``"jsonl"`` or ``"parquet"`` from the file name; ``ValueError`` for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise ValueError(f"cannot tell the format of {os.fspath(path)!r} from its name: use a .jsonl (one JSON "
                     f"object a line) or .parquet file")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (the submodule is what is used)
    except ImportError as exc:
        raise MissingDependencyError("pyarrow", "ray") from exc
    return pyarrow


def _raw_records(path: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Each record of the file as (record, None), or (None, why it could not be read)."""
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    if file_format(path) == "parquet":
        pq = _pyarrow().parquet
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_READ_ROWS):
            for record in batch.to_pylist():
                yield record, None
        return
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:  # a record is never read with replaced bytes
                yield None, f"ValueError: line {number} is not valid UTF-8 (first bad byte at offset {exc.start})"
                continue
            except ValueError as exc:
                yield None, f"ValueError: line {number} is not valid JSON ({exc})"
                continue
            if not isinstance(record, dict):
                yield None, f"TypeError: line {number} is a JSON {type(record).__name__}, not an object"
                continue
            yield record, None


def _record_id(record: dict[str, Any], id_field: str, index: int) -> tuple[str, str | None]:
    """The record's id as text (its position when it has none), and an error for an unusable id."""
    value = record.get(id_field)
    if value is None:
        return str(index), None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return str(index), f"TypeError: the record's {id_field!r} must be a string or an integer; " \
                           f"got {type(value).__name__} (written with its position as id)"
    return str(value), None


def read_tasks(path: str | os.PathLike[str], *, text_field: str, query_field: str, id_field: str,
               fixed_query: str | None = None) -> Iterator[tuple[str, Task]]:
    """(id, task) for every record of ``path``, in file order; bad records carry their error."""
    first_seen: dict[str, int] = {}
    for index, (record, read_error) in enumerate(_raw_records(Path(path))):
        if record is None:
            yield str(index), Task(index, None, None, read_error)
            continue
        rid, error = _record_id(record, id_field, index)
        if error is None and rid in first_seen:
            error = f"ValueError: duplicate id {rid!r} (first at record {first_seen[rid]})"
        first_seen.setdefault(rid, index)
        query = fixed_query if fixed_query is not None else record.get(query_field)
        yield rid, Task(index, record.get(text_field), query, error)


_ARROW_TYPES = {
    "index": "int64", "id": "string", "content": "string", "root": "string", "original_tokens": "int64",
    "compressed_tokens": "int64", "optimized_tokens": "int64", "rate": "float64", "latency_ms": "float64",
    "warnings": "list<string>", "spans": "list<string>", "error": "string",
    "files": "int64", "units": "int64", "tokens": "int64", "new": "int64", "changed": "int64", "deleted": "int64",
    "unchanged": "int64", "skipped": "int64", "index_path": "string", "seconds": "float64",
}


def _arrow_schema(fields: Sequence[str]) -> Any:
    pa = _pyarrow()
    kinds = {"int64": pa.int64(), "string": pa.string(), "float64": pa.float64(),
             "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, kinds[_ARROW_TYPES[name]]) for name in fields])


class ResultWriter:
    """Result rows -> ``path`` (JSONL or Parquet by its name), through a temporary file renamed at commit."""

    def __init__(self, path: str | os.PathLike[str], fields: Sequence[str]) -> None:
        self.path = Path(path)
        self.fields = tuple(fields)
        self.format = file_format(self.path)
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a directory; name the output file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        schema = _arrow_schema(self.fields) if self.format == "parquet" else None
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        self._tmp = Path(tmp)
        self._text = os.fdopen(fd, "w", encoding="utf-8") if self.format == "jsonl" else None
        if self._text is None:
            os.close(fd)
            self._parquet = _pyarrow().parquet.ParquetWriter(self._tmp, schema)
            self._schema = schema
        self._pending: list[dict[str, Any]] = []
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        """Write one row (its fields in the writer's order; missing ones as null)."""
        ordered = {name: row.get(name) for name in self.fields}
        self.rows += 1
        if self._text is not None:
            self._text.write(json.dumps(ordered, ensure_ascii=False) + "\n")
            return
        self._pending.append(ordered)
        if len(self._pending) >= PARQUET_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            pa = _pyarrow()
            self._parquet.write_table(pa.Table.from_pylist(self._pending, schema=self._schema))
            self._pending = []

    def commit(self) -> None:
        """Finish the file and move it onto ``path``."""
        if self._text is not None:
            self._text.close()
        else:
            self._flush()
            self._parquet.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file; ``path`` is left as it was."""
        try:
            if self._text is not None:
                self._text.close()
            else:
                self._parquet.close()
        except Exception as exc:  # closing a half-written file must not hide why the batch stopped
            import logging

            logging.getLogger(__name__).debug("closing %s failed: %s", self._tmp, error_text(exc))
        self._tmp.unlink(missing_ok=True)
