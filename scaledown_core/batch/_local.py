"""The ``local`` engine: a process pool on this machine, one worker object (one compressor) per process.

Chunks of tasks go to the pool a few at a time and come back in submission order. A worker process
that dies (killed, out of memory) breaks the pool: a new pool is started and every chunk not yet
returned is sent again, so no record is lost or returned twice; a pool broken too often stops the
batch with ``ScaleDownError``.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..exceptions import ScaleDownError
from ._records import Task

__all__ = ["run_local", "MAX_POOL_RESTARTS", "CHUNKS_PER_WORKER"]

logger = logging.getLogger(__name__)

MAX_POOL_RESTARTS = 3  # a chunk that kills its worker every time must end the batch, not loop
CHUNKS_PER_WORKER = 2  # chunks in flight per process: one running, one queued, so no process idles

_worker: Any = None  # this process's worker object, made once by the pool's initializer


def _install(make_worker: Callable[[], Any]) -> None:
    global _worker
    _worker = make_worker()


def _run_chunk(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    return _worker.run(tasks)


def _new_pool(workers: int, make_worker: Callable[[], Any]) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may hold threads (the token counter's) and Ray or torch state
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_install,
                               initargs=(make_worker,))


def run_local(make_worker: Callable[[], Any], chunks: Iterable[Sequence[Task]], workers: int) -> Iterator[dict[str, Any]]:
    """Result rows of every chunk, in chunk order, computed by ``workers`` processes.

    ``make_worker`` must be picklable; the object it makes has ``run(tasks) -> rows``.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    source = iter(chunks)
    in_flight: deque[tuple[Sequence[Task], Future[list[dict[str, Any]]]]] = deque()
    pool = _new_pool(workers, make_worker)
    restarts = 0
    try:
        while True:
            while len(in_flight) < workers * CHUNKS_PER_WORKER:
                chunk = next(source, None)
                if chunk is None:
                    break
                in_flight.append((chunk, pool.submit(_run_chunk, chunk)))
            if not in_flight:
                return
            chunk, future = in_flight[0]
            try:
                rows = future.result()
            except BrokenProcessPool as exc:
                restarts += 1
                if restarts > MAX_POOL_RESTARTS:
                    raise ScaleDownError(
                        f"a worker process died {restarts} times; the last time with records "
                        f"{chunk[0].index}..{chunk[-1].index} in flight") from exc
                logger.warning("a worker process died; restarting the pool and resending %d chunks",
                               len(in_flight))
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _new_pool(workers, make_worker)
                in_flight = deque((c, pool.submit(_run_chunk, c)) for c, _ in in_flight)
                continue
            in_flight.popleft()
            yield from rows
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
