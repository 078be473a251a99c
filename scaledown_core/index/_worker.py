"""A worker process of the cold build: ``python -m scaledown_core.index._worker``.

Reads a pickled list of jobs (absolute path, shown path, target model) from stdin and writes one pickled
:class:`~scaledown_core.index._records.FileResult` per job to stdout as each is done. Plain
subprocesses rather than ``multiprocessing``: they never re-import the caller's ``__main__`` (a script
without an ``if __name__ == "__main__"`` guard works) and never fork a process that runs threads.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from ..code.model import clear_cache
    from ._records import index_file

    jobs = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for job in jobs:
        pickle.dump(index_file(job), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        clear_cache()  # a worker keeps no tree-sitter trees: memory stays flat over the whole tree


if __name__ == "__main__":
    main()
