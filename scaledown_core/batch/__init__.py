"""Batch compression and selection over many records, on a process pool or a Ray cluster.

::

    from scaledown_core.batch import compress_file, index_roots, select_file

    summary = compress_file("contexts.jsonl", "compressed.parquet", engine="ray", workers=8)
    print(summary.records_per_s, summary.failed)

Two engines run the same per-record code: ``local`` (a process pool on this machine, no Ray needed)
and ``ray`` (Ray Data ``map_batches`` over an actor pool, one compressor per actor; the ``ray``
extra). :func:`compress_dataset` is the Ray Data step itself, for a ``ray.data.Dataset`` you read
from your own storage. Every record is written exactly once, in input order, with its id; a record
that fails is written with its error unless ``strict``. Ray is imported only when the ``ray``
engine is used.
"""

from __future__ import annotations

from typing import Any

from ._records import COMPRESS_FIELDS, INDEX_FIELDS, SELECT_FIELDS, default_compressor, index_repository, select_repository
from ._run import ENGINES, BatchSummary, RecordFailedError, compress_file, index_roots, select_file

__all__ = [
    "BatchSummary",
    "COMPRESS_FIELDS",
    "ENGINES",
    "INDEX_FIELDS",
    "RecordFailedError",
    "SELECT_FIELDS",
    "compress_dataset",
    "compress_file",
    "default_compressor",
    "index_repository",
    "index_roots",
    "select_file",
    "select_repository",
]


def __getattr__(name: str) -> Any:
    if name == "compress_dataset":  # the Ray Data step: importing it must not import Ray
        from ._ray import compress_dataset

        return compress_dataset
    raise AttributeError(f"module 'scaledown_core.batch' has no attribute {name!r}")
