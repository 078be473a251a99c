"""One record's work, the same on every engine: compress one context, or select from one repository.

A record that cannot be worked on (no context string, an unparseable input line, a compressor error)
becomes a result row holding its error; it never fails the batch here (``strict`` is the driver's).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = [
    "COMPRESS_FIELDS",
    "INDEX_FIELDS",
    "SELECT_FIELDS",
    "Task",
    "CompressWorker",
    "compress_one",
    "default_compressor",
    "select_repository",
    "SelectWorker",
    "index_repository",
    "IndexWorker",
    "error_text",
    "type_error",
]

# Result columns, in the order they are written (``index`` and ``id`` come from the driver).
COMPRESS_FIELDS = ("index", "id", "content", "original_tokens", "compressed_tokens", "rate", "latency_ms",
                   "warnings", "error")
SELECT_FIELDS = ("index", "id", "root", "content", "original_tokens", "optimized_tokens", "spans", "latency_ms",
                 "warnings", "error")

INDEX_FIELDS = ("index", "id", "root", "files", "units", "tokens", "new", "changed", "deleted", "unchanged",
                "skipped", "index_path", "seconds", "warnings", "error")


@dataclass(frozen=True)
class Task:
    """One input record as the workers see it: its position, its text fields, or why it is unusable.

    ``text`` is the context (compress) or the repository root (select); ``query`` the prompt or query.
    ``error`` is set for a record that could not be read; it is written with that error, never worked on.
    """

    index: int
    text: Any
    query: Any
    error: str | None = None


def error_text(exc: BaseException) -> str:
    """How a failure is written in a result row: ``"ValueError: prompt must not be empty"``."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def type_error(field: str, value: Any) -> str | None:
    """The error of a record field that must be a string, or None when it is one."""
    if isinstance(value, str):
        return None
    if value is None:
        return f"TypeError: the record has no {field!r} string"
    return f"TypeError: the record's {field!r} must be a string; got {type(value).__name__}"


def default_compressor(target_model: str = "gpt-4o", rate: str | float = "auto") -> Any:
    """A picklable factory of the default compressor: ``LocalCompressor`` (in-process, offline)."""
    return functools.partial(_local_compressor, target_model, rate)


def _local_compressor(target_model: str, rate: str | float) -> Any:
    from ..compressor import LocalCompressor

    return LocalCompressor(target_model=target_model, rate=rate)


def _failed(error: str, fields: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in fields if name not in ("index", "id")}
    row["warnings"] = []
    row["error"] = error
    return row


def compress_one(compressor: Any, context: Any, prompt: Any, max_tokens: int | None,
                 error: str | None = None) -> dict[str, Any]:
    """The result columns of one record (everything but ``index`` and ``id``)."""
    error = error or type_error("context", context) or type_error("prompt", prompt)
    if error is not None:
        return _failed(error, COMPRESS_FIELDS)
    try:
        result = compressor.compress(context, prompt, max_tokens=max_tokens)
    except Exception as exc:  # a record's failure is written with the record, not raised
        return _failed(error_text(exc), COMPRESS_FIELDS)
    m = result.metrics
    return {
        "content": result.content,
        "original_tokens": m.original_prompt_tokens,
        "compressed_tokens": m.compressed_prompt_tokens,
        "rate": m.rate,
        "latency_ms": m.latency_ms,
        "warnings": [str(w) for w in m.extra.get("warnings", [])],
        "error": None,
    }


class CompressWorker:
    """One compressor, made once per worker process or Ray actor, applied to tasks."""

    def __init__(self, factory: Callable[[], Any], max_tokens: int | None) -> None:
        self.compressor = factory()
        self.max_tokens = max_tokens

    def run(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:
        """Result rows (with ``index``) of ``tasks``, in their order."""
        return [{"index": t.index, **compress_one(self.compressor, t.text, t.query, self.max_tokens, t.error)}
                for t in tasks]


def select_repository(root: Any, query: Any, *, max_tokens: int | None = None, target_model: str = "gpt-4o",
                      optimizer: Any = None) -> dict[str, Any]:
    """The result columns of one repository: ``HasteOptimizer`` over ``root`` for ``query``.

    The one per-repository task of ``scaledown batch select``; a failure is returned in ``error``.
    """
    error = type_error("root", root) or type_error("query", query)
    if error is not None:
        return _failed(error, SELECT_FIELDS)
    try:
        if optimizer is None:
            from ..optimizer import HasteOptimizer

            optimizer = HasteOptimizer(target_model=target_model)
        result = optimizer.optimize(query=query, file_path=root, max_tokens=max_tokens)
    except Exception as exc:  # a repository's failure is written with it, not raised
        row = _failed(error_text(exc), SELECT_FIELDS)
        row["root"] = root
        return row
    m = result.metrics
    return {
        "root": root,
        "content": result.content,
        "original_tokens": m.original_tokens,
        "optimized_tokens": m.optimized_tokens,
        "spans": [_span_text(s) for s in m.spans],
        "latency_ms": m.latency_ms,
        "warnings": [str(w) for w in m.warnings],
        "error": None,
    }


def _span_text(span: Any) -> str:
    """``path:start-end name`` of a kept span, for citing."""
    where = f"{span.path}:" if span.path else ""
    return f"{where}{span.start_line}-{span.end_line} {span.name}"


class SelectWorker:
    """One ``HasteOptimizer`` (and its parse cache), made once per worker process, applied to tasks."""

    def __init__(self, max_tokens: int | None, target_model: str) -> None:
        from ..optimizer import HasteOptimizer

        self.optimizer = HasteOptimizer(target_model=target_model)
        self.max_tokens = max_tokens

    def run(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:
        """Result rows (with ``index``) of ``tasks``, in their order."""
        return [{"index": t.index, **self.one(t)} for t in tasks]

    def one(self, task: Task) -> dict[str, Any]:
        if task.error is not None:
            return _failed(task.error, SELECT_FIELDS)
        return select_repository(task.text, task.query, max_tokens=self.max_tokens, optimizer=self.optimizer)


def index_repository(root: Any, *, cache_dir: str | None = None, target_model: str = "gpt-4o") -> dict[str, Any]:
    """The result columns of one repository's persistent index, built or brought up to date.

    The one per-repository task of ``scaledown batch index``: parsing runs in this process (the batch
    spreads repositories over the workers); a failure is returned in ``error``.
    """
    error = type_error("root", root)
    if error is not None:
        return _failed(error, INDEX_FIELDS)
    try:
        from ..index import build_index

        stats = build_index(root, cache_dir=cache_dir, target_model=target_model, workers=1)
    except Exception as exc:  # a repository's failure is written with it, not raised
        row = _failed(error_text(exc), INDEX_FIELDS)
        row["root"] = root
        return row
    return {"root": root, "files": stats.files, "units": stats.units, "tokens": stats.tokens, "new": stats.new,
            "changed": stats.changed, "deleted": stats.deleted, "unchanged": stats.unchanged,
            "skipped": stats.skipped, "index_path": stats.index_path, "seconds": stats.seconds,
            "warnings": [str(w) for w in stats.warnings], "error": None}


class IndexWorker:
    """Builds or updates the index of each task's repository under one cache folder."""

    def __init__(self, cache_dir: str | None, target_model: str) -> None:
        self.cache_dir = cache_dir
        self.target_model = target_model

    def run(self, tasks: Sequence[Task]) -> list[dict[str, Any]]:
        """Result rows (with ``index``) of ``tasks``, in their order."""
        return [{"index": t.index, **(_failed(t.error, INDEX_FIELDS) if t.error is not None else
                                      index_repository(t.text, cache_dir=self.cache_dir,
                                                       target_model=self.target_model))} for t in tasks]
