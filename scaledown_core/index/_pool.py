"""Parse many files in worker processes (``python -m scaledown_core.index._worker``), one per core."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

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


def run_workers(jobs: list[tuple[str, str, str]], workers: int,
                progress: Callable[[int, int], object] | None) -> list[FileResult]:
    """Every job's result. A worker that dies leaves its unfinished jobs to this process (logged)."""
    shares = _share(jobs, workers)
    results: list[FileResult] = []
    lock = threading.Lock()
    total = len(jobs)
    env = _env()

    def drive(share: list[tuple[str, str, str]]) -> None:
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
                while True:
                    try:
                        result: FileResult = pickle.load(proc.stdout)
                    except EOFError:
                        break
                    done.add(result.path)
                    _add(result)
            except (OSError, pickle.UnpicklingError) as exc:
                logger.warning("index worker failed (%s); parsing its files in this process", exc)
            finally:
                proc.stdout.close()
                if proc.wait() != 0:
                    logger.warning("index worker exited with status %s", proc.returncode)
        for job in share:  # what a dead worker left
            if job[1] not in done:
                _add(index_file(job))

    def _add(result: FileResult) -> None:
        with lock:  # progress calls come in order: done only grows
            results.append(result)
            if progress is not None:
                progress(len(results), total)

    threads = [threading.Thread(target=drive, args=(share,), name="scaledown-index-worker") for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
