"""The driver: read records, hand them to an engine, write each result once, in input order."""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..exceptions import BatchError, ScaleDownError
from ._io import ResultWriter, file_format, read_tasks
from ._records import (
    COMPRESS_FIELDS,
    INDEX_FIELDS,
    SELECT_FIELDS,
    CompressWorker,
    IndexWorker,
    SelectWorker,
    Task,
    default_compressor,
)

__all__ = ["BatchSummary", "RecordFailedError", "compress_file", "index_roots", "select_file", "ENGINES",
           "DEFAULT_BATCH_SIZE"]

ENGINES = ("local", "ray")
DEFAULT_BATCH_SIZE = 32  # records per chunk or Ray batch: ~0.3-1 s of work, so retries and ordering stay cheap

Progress = Callable[[int, int | None, int], None]
"""``progress(done, total, failed)``: called after each written record (``total`` None when unknown)."""


@dataclass
class BatchSummary:
    """What a batch run wrote, and how fast."""

    output: str
    engine: str
    workers: int
    records: int
    failed: int
    original_tokens: int
    output_tokens: int
    seconds: float
    first_error: str | None = None
    """``"<id>: <error>"`` of the first failed record, in input order."""

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        """Input tokens (of the records that succeeded) worked through per second."""
        return self.original_tokens / self.seconds if self.seconds > 0 else 0.0


class RecordFailedError(BatchError):
    """``strict=True``: a record failed, so the batch stopped and its output file was not written."""

    def __init__(self, index: int, record_id: str, error: str) -> None:
        ScaleDownError.__init__(self, f"record {record_id!r} (#{index}) failed: {error}; strict mode "
                                      "stopped the batch and wrote no output")
        self.results: list[Any] = []
        self.errors: dict[int, BaseException] = {index: ScaleDownError(error)}
        self.record_id = record_id


def count_records(path: str | os.PathLike[str]) -> int | None:
    """How many records the input holds (non-blank JSONL lines, Parquet rows), for progress."""
    path = Path(path)
    try:
        if file_format(path) == "parquet":
            from ._io import _pyarrow

            return int(_pyarrow().parquet.ParquetFile(path).metadata.num_rows)
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except (OSError, ValueError):
        return None  # the reader itself reports a missing or unreadable input


def _chunks(items: Iterable[tuple[str, Task]], ids: dict[int, str], size: int) -> Iterator[list[Task]]:
    """Tasks in lists of ``size``; each task's id is kept in ``ids`` until its row is written."""
    chunk: list[Task] = []
    for rid, task in items:
        ids[task.index] = rid
        chunk.append(task)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_in_order(rows: Iterable[dict[str, Any]], ids: dict[int, str], writer: ResultWriter, *,
                    strict: bool, progress: Progress | None, total: int | None,
                    token_fields: tuple[str, str]) -> tuple[int, int, int, str | None]:
    """Write each row once, in input order; (failed, original tokens, output tokens, first error)."""
    pending: dict[int, dict[str, Any]] = {}
    expected = failed = original = output = 0
    first_error: str | None = None
    for row in rows:
        index = int(row["index"])
        if index < expected or index in pending:
            raise ScaleDownError(f"record #{index} came back twice from the engine; the output was not written")
        pending[index] = row
        while expected in pending:
            ready = pending.pop(expected)
            rid = ids.pop(expected)
            ready["index"], ready["id"] = expected, rid
            if ready["error"] is not None:
                if strict:
                    raise RecordFailedError(expected, rid, ready["error"])
                failed += 1
                first_error = first_error or f"{rid}: {ready['error']}"
            else:
                original += ready[token_fields[0]] or 0
                output += ready[token_fields[1]] or 0
            writer.write(ready)
            expected += 1
            if progress is not None:
                progress(expected, total, failed)
    if pending or ids:
        missing = sorted(ids)[:5]
        raise ScaleDownError(f"{len(ids)} record(s) never came back from the engine (first: {missing}); "
                             "the output was not written")
    return failed, original, output, first_error


def _run(output: str | os.PathLike[str], fields: Sequence[str], items: Iterator[tuple[str, Task]],
         engine: str, workers: int | None, address: str | None, batch_size: int, strict: bool,
         progress: Progress | None, total: int | None, token_fields: tuple[str, str],
         local_worker: Callable[[], Any], ray_rows: Callable[[list[Task], int | None], Iterator[dict[str, Any]]]
         ) -> BatchSummary:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    started = time.perf_counter()
    writer = ResultWriter(output, fields)
    ids: dict[int, str] = {}
    try:
        if engine == "local":
            from ._local import run_local

            used = workers or os.cpu_count() or 1
            rows = run_local(local_worker, _chunks(items, ids, batch_size), used)
            figures = _write_in_order(rows, ids, writer, strict=strict, progress=progress, total=total,
                                      token_fields=token_fields)
        else:
            from ._ray import ray_session

            with ray_session(address) as ray:
                used = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
                tasks = [t for chunk in _chunks(items, ids, batch_size) for t in chunk]
                figures = _write_in_order(ray_rows(tasks, used), ids, writer, strict=strict, progress=progress,
                                          total=total, token_fields=token_fields)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    failed, original, out_tokens, first_error = figures
    return BatchSummary(output=os.fspath(output), engine=engine, workers=used, records=writer.rows, failed=failed,
                        original_tokens=original, output_tokens=out_tokens,
                        seconds=time.perf_counter() - started, first_error=first_error)


def compress_file(input: str | os.PathLike[str], output: str | os.PathLike[str], *, prompt: str | None = None,
                  engine: str = "local", address: str | None = None, workers: int | None = None,
                  compressor: Callable[[], Any] | None = None, target_model: str = "gpt-4o",
                  rate: str | float = "auto", max_tokens: int | None = None, context_field: str = "context",
                  prompt_field: str = "prompt", id_field: str = "id", batch_size: int = DEFAULT_BATCH_SIZE,
                  strict: bool = False, progress: Progress | None = None) -> BatchSummary:
    """Compress every record of ``input`` (JSONL or Parquet) into ``output`` (JSONL or Parquet).

    Each record's ``context_field`` is compressed against its ``prompt_field`` (or the one ``prompt``
    for all) by ``compressor()`` (a picklable factory; default ``LocalCompressor(target_model, rate)``),
    made once per worker. One row is written per record, in input order, with its ``index`` and
    ``id`` (its ``id_field`` as text, else its position), the compressed ``content``, token figures,
    ``warnings`` and ``error`` (null unless it failed; a failed record is written, not raised, unless
    ``strict``, which raises :class:`RecordFailedError` and writes nothing). ``engine="local"`` runs a
    process pool of ``workers`` (default: this machine's CPUs); ``engine="ray"`` runs Ray Data
    ``map_batches`` on ``workers`` actors (default: the cluster's CPUs) at ``address``.
    """
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise ValueError("prompt must be a non-empty string (or None to read each record's prompt field)")
    factory = compressor or default_compressor(target_model, rate)
    items = read_tasks(input, text_field=context_field, query_field=prompt_field, id_field=id_field,
                       fixed_query=prompt)

    def ray_rows(tasks: list[Task], used: int | None) -> Iterator[dict[str, Any]]:
        from ._ray import compress_tasks_ray

        return compress_tasks_ray(tasks, factory, max_tokens, used, batch_size)

    return _run(output, COMPRESS_FIELDS, items, engine, workers, address, batch_size, strict, progress,
                count_records(input), ("original_tokens", "compressed_tokens"),
                functools.partial(CompressWorker, factory, max_tokens), ray_rows)


def select_file(input: str | os.PathLike[str], output: str | os.PathLike[str], *, engine: str = "local",
                address: str | None = None, workers: int | None = None, max_tokens: int | None = None,
                target_model: str = "gpt-4o", root_field: str = "root", query_field: str = "query",
                id_field: str = "id", strict: bool = False, progress: Progress | None = None) -> BatchSummary:
    """Select code from many repositories: one ``HasteOptimizer`` task per record of ``input``.

    Each record names a repository (``root_field``: a folder or a file, on the workers' file system)
    and its ``query_field``; one row is written per record, in input order,
    with the selected ``content``, token figures, kept ``spans`` (``path:start-end name``),
    ``warnings`` and ``error``, as :func:`compress_file` does.
    """
    items = read_tasks(input, text_field=root_field, query_field=query_field, id_field=id_field)
    worker = functools.partial(SelectWorker, max_tokens, target_model)
    return _run(output, SELECT_FIELDS, items, engine, workers, address, 1, strict, progress,
                count_records(input), ("original_tokens", "optimized_tokens"), worker, _per_repository(worker))


def index_roots(roots: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str], *, engine: str = "local",
                address: str | None = None, workers: int | None = None, cache_dir: str | os.PathLike[str] | None = None,
                target_model: str = "gpt-4o", strict: bool = False, progress: Progress | None = None) -> BatchSummary:
    """Build or update the persistent index (:mod:`scaledown_core.index`) of every repository in ``roots``,
    one task per repository, under ``cache_dir`` (default ``$SCALEDOWN_CACHE_DIR/index``; on a cluster,
    a folder every node can write). One row per root, in order, with the index's figures (files,
    units, tokens, new / changed / deleted / unchanged files), ``warnings`` and ``error``, as
    :func:`select_file` writes them; ``id`` is the root as given."""
    if isinstance(roots, (str, bytes, os.PathLike)) or not roots:
        raise ValueError("roots must be a non-empty list of folders")
    items = ((os.fspath(root), Task(i, os.fspath(root), None)) for i, root in enumerate(roots))
    worker = functools.partial(IndexWorker, os.fspath(cache_dir) if cache_dir is not None else None, target_model)
    return _run(output, INDEX_FIELDS, items, engine, workers, address, 1, strict, progress, len(roots),
                ("tokens", "tokens"), worker, _per_repository(worker))


def _per_repository(worker: Callable[[], Any]) -> Callable[[list[Task], int | None], Iterator[dict[str, Any]]]:
    """The Ray engine's rows for per-repository work: one Ray task per repository."""
    def ray_rows(tasks: list[Task], used: int | None) -> Iterator[dict[str, Any]]:
        from ._ray import repository_tasks_ray

        return repository_tasks_ray(tasks, worker, used)

    return ray_rows


def summary_json(summary: BatchSummary) -> str:
    """The summary as one JSON object (the CLI's ``--json``)."""
    payload = {**summary.__dict__, "records_per_s": summary.records_per_s, "tokens_per_s": summary.tokens_per_s}
    return json.dumps(payload)
