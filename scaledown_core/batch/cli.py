"""``scaledown batch compress|select|index``: the command-line shell over :mod:`scaledown_core.batch`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any, Callable, TextIO

__all__ = ["add_batch_parser"]

PROGRESS_EVERY_S = 0.2  # redraw the bar at most this often

BATCH_EPILOG = """\
examples:
  scaledown batch compress contexts.jsonl compressed.jsonl --rate 0.25
  scaledown batch compress chats.parquet out.parquet -p "What did the user ask for?" --engine ray --address auto
  scaledown batch select repos.jsonl selections.jsonl --budget 2000 --workers 4
  scaledown batch index ~/src/api ~/src/web ~/src/billing --cache-dir /shared/scaledown-index

compress: each input record holds a context and a prompt (or give one --prompt for all) and
optionally an id; select: each record holds a repository root and a query. Input and output are
JSONL (.jsonl) or Parquet (.parquet); index: the repositories are named on the command line and one
row per repository (its index's figures) goes to --output, or to stdout as JSON lines. One row is
written per record, in input order, with its id,
the result, token figures, warnings and error; a failed record is written with its error (exit 0)
unless --strict. --engine local (default) runs a process pool; --engine ray needs the ray extra.
"""


def add_batch_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Register ``batch`` and its two commands on the main parser's subcommands."""
    batch = commands.add_parser("batch", help="compress or select over many records (process pool or Ray)",
                                description="Compress many contexts, or select code from many repositories.",
                                epilog=BATCH_EPILOG, formatter_class=formatter)
    sub = batch.add_subparsers(dest="batch_command", metavar="COMMAND", required=True)

    compress = sub.add_parser("compress", help="compress every record's context against its prompt",
                              epilog=BATCH_EPILOG, formatter_class=formatter)
    _common(compress)
    compress.add_argument("-p", "--prompt", help="one prompt for every record (default: each record's prompt field)")
    compress.add_argument("--rate", type=_rate, default="auto", help="fraction of tokens to keep, or 'auto'")
    compress.add_argument("--max-tokens", type=_positive, metavar="N", help="hard ceiling on each output")
    compress.add_argument("--context-field", default="context", metavar="NAME", help="default: context")
    compress.add_argument("--prompt-field", default="prompt", metavar="NAME", help="default: prompt")
    compress.add_argument("--batch-size", type=_positive, default=32, metavar="N",
                          help="records per worker call (default 32)")
    compress.set_defaults(handler=_cmd_compress)

    select = sub.add_parser("select", help="select code from each record's repository for its query",
                            epilog=BATCH_EPILOG, formatter_class=formatter)
    _common(select)
    select.add_argument("--budget", type=_positive, metavar="N", help="hard limit on each output, in tokens")
    select.add_argument("--root-field", default="root", metavar="NAME", help="default: root")
    select.add_argument("--query-field", default="query", metavar="NAME", help="default: query")
    select.set_defaults(handler=_cmd_select)

    index = sub.add_parser("index", help="build or update the persistent index of every repository named",
                           epilog=BATCH_EPILOG, formatter_class=formatter)
    index.add_argument("roots", metavar="ROOT", nargs="+", help="repository folders")
    index.add_argument("-o", "--output", metavar="OUT", help="rows as .jsonl or .parquet (default: JSON lines on stdout)")
    index.add_argument("--cache-dir", metavar="DIR",
                       help="where the indexes are written (default: $SCALEDOWN_CACHE_DIR/index or the user cache)")
    _engine_options(index)
    index.set_defaults(handler=_cmd_index)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN", help="input records: .jsonl or .parquet")
    parser.add_argument("output", metavar="OUT", help="output file: .jsonl or .parquet (written when complete)")
    _engine_options(parser)
    parser.add_argument("--id-field", default="id", metavar="NAME", help="default: id (else the record's position)")


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: a process pool (default); ray: Ray Data on a Ray cluster")
    parser.add_argument("--address", metavar="ADDR",
                        help="Ray cluster address ('auto', 'ray://host:10001'); default: start Ray locally")
    parser.add_argument("--workers", type=_positive, metavar="N",
                        help="processes or Ray actors (default: the CPUs of this machine or cluster)")
    parser.add_argument("--model", default="gpt-4o", help="target model whose tokenizer counts tokens")
    parser.add_argument("--strict", action="store_true", help="stop at the first failed record and write nothing")
    parser.add_argument("--json", action="store_true", help="print the run's summary as JSON on stdout")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value!r}")
    return number


def _rate(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate must be 'auto' or a number in (0, 1]; got {value!r}") from None


def _check_engine(args: argparse.Namespace) -> None:
    if args.address and args.engine != "ray":
        raise ValueError("--address needs --engine ray")


def _cmd_compress(args: argparse.Namespace) -> int:
    from . import compress_file
    from ..compressor._core import check_rate

    _check_engine(args)
    check_rate(args.rate)  # a bad rate fails here, not once per record
    with _bar("compressing") as progress, _quiet_ray(args.engine):
        summary = compress_file(args.input, args.output, prompt=args.prompt, engine=args.engine,
                                address=args.address, workers=args.workers, target_model=args.model,
                                rate=args.rate, max_tokens=args.max_tokens, context_field=args.context_field,
                                prompt_field=args.prompt_field, id_field=args.id_field,
                                batch_size=args.batch_size, strict=args.strict, progress=progress)
    return _report(summary, args, "compressed")


def _cmd_select(args: argparse.Namespace) -> int:
    from . import select_file

    _check_engine(args)
    with _bar("selecting") as progress, _quiet_ray(args.engine):
        summary = select_file(args.input, args.output, engine=args.engine, address=args.address,
                              workers=args.workers, max_tokens=args.budget, target_model=args.model,
                              root_field=args.root_field, query_field=args.query_field, id_field=args.id_field,
                              strict=args.strict, progress=progress)
    return _report(summary, args, "selected")


def _cmd_index(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from . import index_roots

    _check_engine(args)
    with tempfile.TemporaryDirectory() as scratch:
        output = args.output or str(Path(scratch) / "index.jsonl")
        with _bar("indexing") as progress, _quiet_ray(args.engine):
            summary = index_roots(args.roots, output, engine=args.engine, address=args.address, workers=args.workers,
                                  cache_dir=args.cache_dir, target_model=args.model, strict=args.strict,
                                  progress=progress)
        if args.output is None:
            sys.stdout.write(Path(output).read_text(encoding="utf-8"))
            summary.output = "stdout"
    return _report(summary, args, "indexed")


def _report(summary: Any, args: argparse.Namespace, verb: str) -> int:
    from ._run import summary_json

    if args.json:
        print(summary_json(summary))
    failed = f", {summary.failed} failed (first: {summary.first_error})" if summary.failed else ""
    print(f"scaledown: {summary.records} records -> {summary.output}{failed}; {summary.original_tokens} -> "
          f"{summary.output_tokens} tokens {verb} in {summary.seconds:.1f} s ({summary.records_per_s:.1f} records/s, "
          f"{summary.tokens_per_s:.0f} tokens/s), engine {summary.engine} with {summary.workers} workers",
          file=sys.stderr)
    return 0


class _bar:
    """``progress(done, total, failed)`` drawing a one-line bar on stderr when it is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.out = stream or sys.stderr
        self.started = time.monotonic()
        self.drawn = 0.0

    def __enter__(self) -> Callable[[int, int | None, int], None] | None:
        try:
            terminal = self.out.isatty()
        except (AttributeError, ValueError):
            terminal = False
        return self.draw if terminal else None

    def draw(self, done: int, total: int | None, failed: int) -> None:
        now = time.monotonic()
        if now - self.drawn < PROGRESS_EVERY_S and done != total:
            return
        self.drawn = now
        rate = done / max(now - self.started, 1e-9)
        if total:
            filled = int(30 * done / total)
            head = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        else:
            head = f"{done}"
        tail = f", {failed} failed" if failed else ""
        self.out.write(f"\rscaledown: {self.label} {head} records ({rate:.1f}/s){tail}\033[K")
        self.out.flush()

    def __exit__(self, *exc: object) -> None:
        if self.drawn:
            self.out.write("\r\033[K")
            self.out.flush()


class _quiet_ray:
    """Ray Data's per-run INFO logs are noise beside the bar and the summary; warnings still show."""

    def __init__(self, engine: str) -> None:
        self.logger: logging.Logger | None = None
        if engine != "ray":
            return
        try:
            import ray.data  # noqa: F401  (its import configures the "ray.data" logger: set the level after)
        except ImportError:
            return  # the engine itself reports the missing extra
        self.logger = logging.getLogger("ray.data")
        self.level = self.logger.level

    def __enter__(self) -> None:
        if self.logger is not None:
            self.logger.setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        if self.logger is not None:
            self.logger.setLevel(self.level)
