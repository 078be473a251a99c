"""``scaledown index PATH``: build or update a folder's index and print its figures.

Registered by :mod:`scaledown_core.cli` through :func:`add_parser`; the work is one call to
:func:`scaledown_core.index.build_index`. A progress bar goes to stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, TextIO

__all__ = ["add_parser"]

INDEX_EPILOG = """\
examples:
  scaledown index src/                      # build, or update only what changed since the last run
  scaledown index src/ --verify             # also re-hash unchanged files (a rewrite with same size+mtime)
  scaledown index src/ --json               # the figures as JSON

HasteOptimizer and `scaledown select` use the index of a folder automatically; this command builds it
ahead of time. The index lives in $SCALEDOWN_CACHE_DIR/index (or the user cache folder).
"""
BAR_WIDTH = 30
BAR_MIN_INTERVAL_S = 0.1  # redraws at most this often: a fast update of 20,000 files stays cheap


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter], positive_int: Callable[[str], int]) -> None:
    """Add the ``index`` command to ``commands`` (an argparse subparsers object)."""
    index = commands.add_parser(
        "index",
        help="build or update the persistent index of a folder of Python files",
        description="Build or update the index of PATH (every .py file below it); print what it holds.",
        epilog=INDEX_EPILOG,
        formatter_class=formatter,
    )
    index.add_argument("path", metavar="PATH", help="the folder to index")
    index.add_argument("--model", default="gpt-4o", help="target model whose tokenizer counts tokens")
    index.add_argument("--cache-dir", metavar="DIR", help="where the index lives (default: the user cache)")
    index.add_argument("--workers", type=positive_int, metavar="N", help="processes for parsing (default: all cores)")
    index.add_argument("--verify", action="store_true", help="re-hash every file, not only changed ones")
    index.add_argument("--json", action="store_true", help="print the figures as JSON")
    index.set_defaults(handler=run)


def _bar(stream: TextIO) -> Callable[[int, int], None]:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < BAR_MIN_INTERVAL_S:
            return
        last[0] = now
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        stream.write(f"\rscaledown: indexing [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} files")
        if done >= total:
            stream.write("\r\033[K")
        stream.flush()

    return show


def run(args: argparse.Namespace) -> int:
    """The ``index`` command: build or update, then print the figures (stdout) and warnings (stderr)."""
    from ..cli import EXIT_OK, _is_terminal, _print_json, _report_warnings, _say
    from . import build_index

    progress = _bar(sys.stderr) if _is_terminal(sys.stderr) else None
    stats = build_index(args.path, cache_dir=args.cache_dir, target_model=args.model, workers=args.workers,
                        progress=progress, verify=args.verify)
    if args.json:
        _print_json({**vars(stats), "files_per_second": round(stats.files_per_second, 1)})
    else:
        print(f"{stats.root}: {stats.files} files, {stats.units} units, {stats.tokens} tokens ({args.model}); "
              f"{stats.new} new, {stats.changed} changed, {stats.deleted} deleted, {stats.unchanged} unchanged"
              + (f", {stats.skipped} skipped" if stats.skipped else ""))
        rate = f", {stats.files_per_second:.0f} files/s on {stats.workers} workers" if stats.new + stats.changed else ""
        print(f"{stats.seconds:.2f} s{rate}; index: {stats.index_path}")
    _report_warnings(stats.warnings)
    _say(f"indexed {stats.files} files in {stats.seconds:.2f} s")
    return EXIT_OK
