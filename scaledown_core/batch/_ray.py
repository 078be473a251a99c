"""The ``ray`` engine: Ray Data ``map_batches`` over an actor pool (compress), Ray tasks (select).

Ray is imported here only, on first use (the ``ray`` extra). Fault tolerance is Ray's: an actor
that dies is restarted and its batch run again (Ray Data's default for actor pools), a select task
whose worker dies is run again (``RAY_MAX_RETRIES`` times), and only the attempt that finished
returns rows, so nothing is lost or doubled; the driver checks that every record comes back exactly
once anyway.
"""

from __future__ import annotations

import logging
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..exceptions import MissingDependencyError
from ._records import COMPRESS_FIELDS, CompressWorker, Task, type_error

__all__ = ["ray_module", "ray_session", "compress_dataset", "compress_tasks_ray", "repository_tasks_ray",
           "RESULT_COLUMNS", "RAY_MAX_RETRIES"]

RAY_MAX_RETRIES = 4  # runs of a select task whose worker died; a repository that kills every attempt ends the job
TASKS_PER_WORKER = 2  # select tasks in flight per worker: enough to keep each busy, few enough to stream
RESULT_COLUMNS = tuple(name for name in COMPRESS_FIELDS if name not in ("index", "id"))


def ray_module() -> Any:
    """``ray`` (with Ray Data), or ``MissingDependencyError`` naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401  (map_batches and ActorPoolStrategy live here)
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    return ray


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray, connected: an existing session as it is, else ``ray.init(address)`` until the block ends.

    ``address=None`` starts a local Ray instance (or joins the one ``RAY_ADDRESS`` names), ``"auto"``
    joins a running cluster, ``"ray://host:10001"`` a remote one through Ray Client.
    """
    ray = ray_module()
    if ray.is_initialized():
        if address is not None:
            logging.getLogger(__name__).warning("Ray is already initialised; address=%r is ignored", address)
        yield ray
        return
    ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


class _CompressBatch:
    """The ``map_batches`` callable: one compressor per actor, made once when the actor starts."""

    def __init__(self, factory: Callable[[], Any], max_tokens: int | None, context_column: str,
                 prompt_column: str, prompt: str | None, error_column: str | None) -> None:
        self.worker = CompressWorker(factory, max_tokens)
        self.columns = (context_column, prompt_column, error_column)
        self.prompt = prompt

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        context_column, prompt_column, error_column = self.columns
        clash = sorted(set(RESULT_COLUMNS) & set(batch.column_names))
        if clash:
            raise ValueError(f"the dataset already has result column(s) {clash}; rename them first")
        n = batch.num_rows
        contexts = _column(batch, context_column, n)
        prompts = [self.prompt] * n if self.prompt is not None else _column(batch, prompt_column, n)
        errors = _column(batch, error_column, n) if error_column else [None] * n
        tasks = [Task(i, c, p, e) for i, (c, p, e) in enumerate(zip(contexts, prompts, errors))]
        rows = self.worker.run(tasks)
        kept = [name for name in batch.column_names if name not in self.columns]
        out = {name: batch.column(name) for name in kept}
        out.update({name: [row[name] for row in rows] for name in RESULT_COLUMNS})
        return pa.table(out)


def _column(batch: Any, name: str | None, n: int) -> list[Any]:
    """A column's values, or all None when the batch has no such column (each record then fails)."""
    if name is None or name not in batch.column_names:
        return [None] * n
    return batch.column(name).to_pylist()


def compress_dataset(dataset: Any, *, prompt: str | None = None, context_column: str = "context",
                     prompt_column: str = "prompt", error_column: str | None = None,
                     compressor: Callable[[], Any] | None = None, max_tokens: int | None = None,
                     workers: int | None = None, batch_size: int = 64) -> Any:
    """A Ray Dataset of compression results, one row per input row (lazy, like every Ray Data step).

    Each row keeps the input's other columns (an id column, say) and gains ``content``,
    ``original_tokens``, ``compressed_tokens``, ``rate``, ``latency_ms``, ``warnings`` and
    ``error``; a row that failed has its error there and nulls elsewhere. ``prompt`` gives every row
    the same prompt instead of ``prompt_column``. ``compressor`` is a picklable factory of the
    compressor each actor holds (default: ``LocalCompressor()``); ``workers`` is the number of
    actors, one CPU each (default, and at most: the cluster's CPUs). ``error_column``, when given, names a column whose non-null
    value marks a row written with that error and not compressed.
    """
    ray = ray_module()
    from ._records import default_compressor

    cpus = int(ray.cluster_resources().get("CPU", 0))
    if workers is None:
        workers = max(1, cpus)
    if workers < 1 or batch_size < 1:
        raise ValueError(f"workers and batch_size must be >= 1; got {workers} and {batch_size}")
    if workers > cpus:  # an actor that can never get its CPU would leave the job waiting forever
        raise ValueError(f"workers={workers} actors of 1 CPU each cannot all start: the Ray cluster has {cpus} CPUs")
    return dataset.map_batches(
        _CompressBatch,
        fn_constructor_args=(compressor or default_compressor(), max_tokens, context_column, prompt_column,
                             prompt, error_column),
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )  # Ray Data's actor pools restart a dead actor and retry its batch by default


def compress_tasks_ray(tasks: Sequence[Task], factory: Callable[[], Any], max_tokens: int | None,
                       workers: int | None, batch_size: int) -> Iterator[dict[str, Any]]:
    """Result rows (with ``index``) of ``tasks`` through :func:`compress_dataset`, in input order."""
    ray = ray_module()
    rows = [_arrow_row(t) for t in tasks]
    if not rows:
        return
    blocks = max(1, -(-len(rows) // batch_size))
    dataset = ray.data.from_items(rows, override_num_blocks=blocks)
    out = compress_dataset(dataset, error_column="read_error", compressor=factory, max_tokens=max_tokens,
                           workers=workers, batch_size=batch_size)
    context = ray.data.DataContext.get_current()
    previous = (context.execution_options.preserve_order, context.enable_progress_bars)
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    try:
        for batch in out.iter_batches(batch_format="pyarrow", batch_size=None):
            yield from batch.to_pylist()
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = previous


def _arrow_row(task: Task) -> dict[str, Any]:
    """A task as a row with one type per column: a non-string field becomes the row's error."""
    error = task.error or type_error("context", task.text) or type_error("prompt", task.query)
    return {"index": task.index, "context": task.text if error is None else None,
            "prompt": task.query if error is None else None, "read_error": error}


def _repository_remote(tasks: Sequence[Task], worker: Callable[[], Any]) -> list[dict[str, Any]]:
    return worker().run(tasks)


def repository_tasks_ray(tasks: Iterable[Task], worker: Callable[[], Any],
                         workers: int | None) -> Iterator[dict[str, Any]]:
    """Result rows of ``tasks``, one Ray task per repository (``worker()`` runs it), in input order."""
    ray = ray_module()
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES)(_repository_remote)
    in_flight: deque[Any] = deque()
    source = iter(tasks)
    while True:
        while len(in_flight) < workers * TASKS_PER_WORKER:
            task = next(source, None)
            if task is None:
                break
            in_flight.append(remote.remote([task], worker))
        if not in_flight:
            return
        yield from ray.get(in_flight.popleft())
