"""Parse many files in worker processes (``python -m scaledown_core.index._worker``), one per core."""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from ..exceptions import OperationCancelled
from ._records import FileResult, index_file

__all__ = ["run_workers"]

logger = logging.getLogger(__name__)

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)


def _share(jobs: list[tuple[str, str, str]], workers: int) -> list[list[tuple[str, str, str]]]:
    """Jobs dealt to ``workers`` lists of about equal bytes (largest first, each to the lightest list)."""
    sizes = {}
    for job in jobs:
        try:
            sizes[job[0]] = os.stat(job[0]).st_size
        except OSError:
            sizes[job[0]] = 0
    shares: list[list[tuple[str, str, str]]] = [[] for _ in range(workers)]
    load = [0] * workers
    for job in sorted(jobs, key=lambda j: -sizes[j[0]]):
        k = load.index(min(load))
        shares[k].append(job)
        load[k] += sizes[job[0]] + 1
    return [s for s in shares if s]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # the worker imports this package from where this process found it (a checkout or an install)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    return env


_DONE = object()  # a driver thread's last message


def run_workers(jobs: list[tuple[str, str, str]], workers: int,
                progress: Callable[[int, int], object] | None, results: list[FileResult],
                cancel: threading.Event | None = None) -> None:
    """Append every job's result to ``results``, calling ``progress`` in the caller's thread (a callback
    may need it: an event loop's thread bridge, say). A worker that dies leaves its unfinished jobs to
    this process (logged). Once ``cancel`` is set, or when ``progress`` raises, every worker is stopped
    and the first such exception is raised; ``results`` then holds what finished."""
    shares = _share(jobs, workers)
    total = len(jobs)
    env = _env()
    stop = threading.Event()
    inbox: "queue.Queue[object]" = queue.Queue()

    def drive(share: list[tuple[str, str, str]]) -> None:
        try:
            _drive(share, env, stop, inbox)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread below
            inbox.put(exc)
        finally:
            inbox.put(_DONE)

    threads = [threading.Thread(target=drive, args=(share,), name="scaledown-index-worker") for share in shares]
    for t in threads:
        t.start()
    failure: BaseException | None = None
    running = len(threads)
    while running:
        item = inbox.get()
        if item is _DONE:
            running -= 1
        elif isinstance(item, BaseException):
            failure, _ = failure or item, stop.set()
        elif not stop.is_set():
            results.append(item)  # type: ignore[arg-type]  # a FileResult
            try:
                if progress is not None:
                    progress(len(results), total)
            except BaseException as exc:  # noqa: BLE001 - the callback's failure ends the build
                failure, _ = failure or exc, stop.set()
        if cancel is not None and cancel.is_set():
            stop.set()
    for t in threads:
        t.join()
    if failure is not None:
        raise failure
    if stop.is_set():
        raise OperationCancelled(f"index build cancelled after {len(results)} of {total} files")


def _drive(share: list[tuple[str, str, str]], env: dict[str, str], stop: threading.Event,
           inbox: "queue.Queue[object]") -> None:
    """Parse ``share`` in one worker process, posting each result to ``inbox``; the jobs a dead worker
    left are parsed here. Stops (killing the worker) once ``stop`` is set."""
    done: set[str] = set()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "scaledown_core.index._worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, env=env)
    except OSError as exc:
        logger.warning("index worker could not start (%s); parsing in this process", exc)
        proc = None
    if proc is not None:
        assert proc.stdin is not None and proc.stdout is not None  # both PIPE
        try:
            pickle.dump(share, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.close()
            while not stop.is_set():
                try:
                    result: FileResult = pickle.load(proc.stdout)
                except EOFError:
                    break
                done.add(result.path)
                inbox.put(result)
        except (OSError, pickle.UnpicklingError) as exc:
            if not stop.is_set():
                logger.warning("index worker failed (%s); parsing its files in this process", exc)
        finally:
            if stop.is_set():
                proc.kill()
            proc.stdout.close()
            if proc.wait() != 0 and not stop.is_set():
                logger.warning("index worker exited with status %s", proc.returncode)
    for job in share:  # what a dead worker left
        if stop.is_set():
            return
        if job[1] not in done:
            inbox.put(index_file(job))
