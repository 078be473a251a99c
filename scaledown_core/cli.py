"""The ``scaledown`` command line: a thin shell over the library.

Each command parses its arguments, calls one library function and prints the result. Errors the
user can fix become one line on stderr and a non-zero exit status:

- 0: success
- 1: the library or the input refused the work (``ScaleDownError``, bad values, unreadable files)
- 2: bad command-line usage (argparse)
- 130: interrupted (Ctrl-C)

``--debug`` (before the command) shows the full traceback instead of the one-line message.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence, TextIO

from . import __version__
from .exceptions import InputTooLargeError, ScaleDownError, install_hint

__all__ = ["main", "build_parser"]

PROG = "scaledown"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
STDIN_MARK = "-"
PROGRESS_DELAY_S = 0.4  # show a progress line only for work a user would notice waiting for
PROGRESS_TICK_S = 0.1
READ_CHUNK_BYTES = 1 << 20

# User errors: shown as one line. Anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ScaleDownError, ValueError, TypeError, OSError)

# --------------------------------------------------------------------------- help texts

MAIN_EPILOG = """\
examples:
  scaledown select src/ -q "where are retries scheduled?" --budget 1500
  git diff | scaledown compress -p "what changed in the retry logic?" --rate 0.3
  scaledown serve --port 8000 --no-auth
  scaledown mcp --root .                      # MCP server for coding agents (stdio)
  scaledown <command> --help
"""

SELECT_EPILOG = """\
examples:
  scaledown select scaledown_core/compressor/client.py -q "How is Retry-After honoured?" --budget 800
  scaledown select src/ tests/test_api.py -q "TypeError in parse_header" --json > selection.json
  cat app.py | scaledown select - -q "database connection pool"

The selected code goes to stdout; the token figures go to stderr.
"""

COMPRESS_EPILOG = """\
examples:
  scaledown compress notes.md -p "What did we decide about caching?" --rate 0.25
  curl -s https://example.com/doc.txt | scaledown compress -p "pricing" --max-tokens 300
  SCALEDOWN_API_KEY=... scaledown compress report.txt -p "risks" --api

Uses the embedded LocalCompressor (offline) unless --api is given; --api calls the ScaleDown
service at SCALEDOWN_API_URL (or --api-url) with the key in SCALEDOWN_API_KEY.
"""

SERVE_EPILOG = """\
examples:
  scaledown serve --port 8000 --no-auth                  # loopback only, no keys
  SCALEDOWN_SERVER_KEYS=k1,k2 scaledown serve --host 0.0.0.0 --port 8000
  scaledown serve --keys-file keys.txt --port 8000

Then: SCALEDOWN_API_URL=http://127.0.0.1:8000 SCALEDOWN_API_KEY=k1 scaledown compress doc.txt -p "..." --api
"""

BENCH_EPILOG = """\
examples:
  scaledown bench --help-runner            # the benchmark runner's own options
  scaledown bench run --data ../bench-data --suite selection --quick 5   # arguments go to the runner as given

Runs the benchmark runner of a source checkout (bench/ next to scaledown_core/).
"""


# --------------------------------------------------------------------------- output helpers


def _say(message: str, stream: TextIO | None = None) -> None:
    print(f"{PROG}: {message}", file=stream or sys.stderr)


def _jsonable(value: Any) -> Any:
    """Plain JSON values: dataclasses as dicts, paths as strings, non-finite floats as null."""
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _print_json(payload: Any) -> None:
    print(json.dumps(_jsonable(payload), indent=2, ensure_ascii=False))


def _print_text(text: str) -> None:
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")


def _report_warnings(warnings: Sequence[str]) -> None:
    for warning in warnings:
        _say(f"warning: {warning}")


@contextmanager
def _progress(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """A one-line spinner on stderr while slow work runs; nothing at all when stderr is no terminal."""
    out = stream or sys.stderr
    if not _is_terminal(out):
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def spin() -> None:
        if done.wait(PROGRESS_DELAY_S):
            return
        frames = "|/-\\"
        tick = 0
        while not done.wait(PROGRESS_TICK_S):
            out.write(f"\r{PROG}: {label} {frames[tick % 4]} {time.monotonic() - started:.1f}s")
            out.flush()
            tick += 1
        out.write("\r\033[K")
        out.flush()

    spinner = threading.Thread(target=spin, name="scaledown-progress", daemon=True)
    spinner.start()
    try:
        yield
    finally:
        done.set()
        spinner.join()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- select


def _cmd_select(args: argparse.Namespace) -> int:
    paths: list[str] = args.paths
    if STDIN_MARK in paths and len(paths) > 1:
        raise ValueError("'-' (read the source from stdin) cannot be mixed with paths")
    if any(not p.strip() for p in paths):  # an unset shell variable must not read as "no input"
        raise ValueError("an empty path was given; name a file or a folder, or '-' for stdin")
    optimizer = _make_optimizer(args)
    read_warnings: list[str] = []
    if STDIN_MARK in paths:
        source, read_warnings = _read_input(STDIN_MARK)
        with _progress("selecting code"):
            result = optimizer.optimize(context=source, query=args.query, max_tokens=args.budget)
    else:
        file_path: str | list[str] = paths[0] if len(paths) == 1 else list(paths)
        with _progress(f"selecting code from {_describe_paths(paths)}"):
            result = optimizer.optimize(context="", query=args.query, file_path=file_path, max_tokens=args.budget)

    if args.json:
        _print_json(result.to_dict())
    else:
        _print_text(result.content)
    m = result.metrics
    _report_warnings([*read_warnings, *m.warnings])
    _say(
        f"{m.original_tokens} -> {m.optimized_tokens} tokens ({optimizer.target_model}), "
        f"saved {result.savings_percent:.1f}%, {len(m.spans)} spans, {m.retrieval_mode}, "
        f"{m.latency_ms:.0f} ms"
    )
    return EXIT_OK


def _make_optimizer(args: argparse.Namespace) -> Any:
    if args.engine == "semantic":
        from .optimizer import SemanticOptimizer

        kwargs: dict[str, Any] = {"target_model": args.model}
        if args.embedding_model:
            kwargs["model_name"] = args.embedding_model
        return SemanticOptimizer(**kwargs)
    if args.embedding_model:
        raise ValueError("--embedding-model applies to --engine semantic only")
    from .optimizer import HasteOptimizer

    return HasteOptimizer(target_model=args.model, use_index=not args.no_index)


def _describe_paths(paths: Sequence[str]) -> str:
    return paths[0] if len(paths) == 1 else f"{len(paths)} paths"


# --------------------------------------------------------------------------- compress


def _cmd_compress(args: argparse.Namespace) -> int:
    text, warnings = _read_input(args.file)
    compressor = _make_compressor(args)
    with _progress("compressing"):
        result = compressor.compress(text, args.prompt, max_tokens=args.max_tokens)
    if args.json:
        _print_json(result.to_dict())
    else:
        _print_text(result.content)
    m = result.metrics
    _report_warnings([*warnings, *m.extra.get("warnings", [])])
    rate = f", rate {m.rate:.2f}" if m.rate is not None else ""
    _say(
        f"{m.original_prompt_tokens} -> {m.compressed_prompt_tokens} tokens ({compressor.target_model}), "
        f"saved {result.savings_percent:.1f}%{rate}, {m.model_used}, {m.latency_ms:.0f} ms"
    )
    return EXIT_OK


def _read_input(file: str | None) -> tuple[str, list[str]]:
    """The text to compress from a file or stdin; undecodable bytes are replaced and reported."""
    if file is None or file == STDIN_MARK:
        data = _read_limited(sys.stdin.buffer, "stdin")
        name = "stdin"
    else:
        path = Path(file)
        if path.is_dir():
            raise ValueError(f"{file} is a directory; compress takes one file or stdin")
        if not path.exists():
            if path.is_symlink():
                raise ValueError(f"{file} is a symbolic link to nothing (a missing target or a loop of links)")
            raise ValueError(f"no such file: {file}")
        if not path.is_file():  # a pipe or a device would block or never end
            raise ValueError(f"{file} is not a regular file (a pipe, socket or device); pipe it to stdin instead")
        try:
            with path.open("rb") as stream:
                data = _read_limited(stream, file)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot read {file}: {exc.strerror or exc}") from exc
        name = file
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="replace"), [
            f"{name} is not valid UTF-8 (first bad byte at offset {exc.start}); undecodable bytes were replaced"
        ]


def _read_limited(stream: BinaryIO, name: str) -> bytes:
    """All of ``stream``, read in chunks; InputTooLargeError as soon as it passes the input limit
    (``scaledown compress < /dev/zero`` must not grow until memory runs out)."""
    from .limits import max_input_bytes

    limit = max_input_bytes()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise InputTooLargeError(name, size, limit, at_least=True)


def _parse_rate(value: str) -> float | str:
    if value.strip().lower() == "auto":  # as the library accepts it
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate must be 'auto' or a number in (0, 1]; got {value!r}") from None


def _make_compressor(args: argparse.Namespace) -> Any:
    if args.api:
        from .compressor import ScaleDownCompressor

        return ScaleDownCompressor(target_model=args.model, rate=args.rate, api_url=args.api_url)
    if args.api_url:
        raise ValueError("--api-url needs --api (without it the local compressor runs offline)")
    from .compressor import LocalCompressor

    return LocalCompressor(target_model=args.model, rate=args.rate)


# --------------------------------------------------------------------------- serve


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .server import serve
    except ImportError as exc:
        if isinstance(exc, ScaleDownError):  # MissingDependencyError names the extra to install
            raise
        raise ScaleDownError(
            f"the server could not be loaded ({exc}); {install_hint('server')}"
        ) from exc
    options: dict[str, Any] = {"embeddings": args.embeddings, "log_level": args.log_level}
    if args.request_timeout is not None:
        options["request_timeout"] = args.request_timeout
    if args.max_concurrency is not None:
        options["max_concurrency"] = args.max_concurrency
    if args.read_timeout is not None:
        options["read_timeout"] = args.read_timeout
    serve(args.host, args.port, keys_file=args.keys_file, no_auth=args.no_auth, **options)
    return EXIT_OK


# --------------------------------------------------------------------------- bench


def _cmd_bench(args: argparse.Namespace) -> int:
    runner = _bench_runner()
    forwarded = list(args.bench_args)
    if forwarded and forwarded[0] == "--":
        forwarded = forwarded[1:]
    if args.help_runner:
        forwarded = ["--help", *forwarded]
    command = [sys.executable, *runner[1], *forwarded]
    completed = subprocess.run(command, cwd=runner[0], check=False)
    return completed.returncode


def _bench_runner() -> tuple[Path, list[str]]:
    """Where bench/ lives and how to start it; ``ScaleDownError`` when this is no source checkout."""
    candidates = [Path.cwd(), Path(__file__).resolve().parent.parent]
    for root in candidates:
        bench = root / "bench"
        if (bench / "__main__.py").is_file():
            return root, ["-m", "bench"]
        if (bench / "run.py").is_file():
            return root, [str(bench / "run.py")]
    raise ScaleDownError(
        "scaledown bench needs the bench/ folder of a source checkout (bench/__main__.py or "
        "bench/run.py); run it from the repository root"
    )


# --------------------------------------------------------------------------- parser


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in epilogs as written."""


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value!r}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {value!r}") from None
    if not number > 0 or not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {value!r}")
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number; got {value!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535; got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The ``scaledown`` argument parser with its commands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Send fewer tokens to the LLM: select relevant code, compress long context.",
        epilog=MAIN_EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    select = commands.add_parser(
        "select",
        help="select the code relevant to a query under a token budget",
        description="Select the code relevant to QUERY from Python files or directories, within --budget tokens.",
        epilog=SELECT_EPILOG,
        formatter_class=_HelpFormatter,
    )
    select.add_argument("paths", nargs="+", metavar="PATH", help="Python files or directories; '-' reads stdin")
    select.add_argument("-q", "--query", required=True, help="the question, task or issue text")
    select.add_argument("--budget", type=_positive_int, metavar="N",
                        help="hard limit on the output, in target-model tokens (default: the optimizer's hard_cap)")
    select.add_argument("--engine", choices=("haste", "semantic"), default="haste",
                        help="haste: AST + BM25 + call graph (default); semantic: local embeddings")
    select.add_argument("--model", default="gpt-4o", help="target model whose tokenizer counts the budget")
    select.add_argument("--embedding-model", metavar="NAME_OR_PATH", help="embedding model for --engine semantic")
    select.add_argument("--json", action="store_true", help="print the result and its spans as JSON")
    select.add_argument("--no-index", action="store_true",
                        help="read a folder directly instead of through its persistent index (see 'scaledown index')")
    select.set_defaults(handler=_cmd_select)

    compress = commands.add_parser(
        "compress",
        help="compress context against a prompt",
        description="Compress the text of FILE (or stdin) so that it keeps what PROMPT needs.",
        epilog=COMPRESS_EPILOG,
        formatter_class=_HelpFormatter,
    )
    compress.add_argument("file", nargs="?", metavar="FILE", help="the text to compress; '-' or nothing reads stdin")
    compress.add_argument("-p", "--prompt", required=True, help="the question the compressed text must answer")
    compress.add_argument("--rate", type=_parse_rate, default="auto",
                          help="fraction of tokens to keep, in (0, 1], or 'auto' (default)")
    compress.add_argument("--max-tokens", type=_positive_int, metavar="N", help="hard ceiling on the output")
    compress.add_argument("--model", default="gpt-4o", help="target model whose tokenizer counts tokens")
    compress.add_argument("--api", action="store_true",
                          help="use the hosted ScaleDown API (key from SCALEDOWN_API_KEY) instead of the local engine")
    compress.add_argument("--api-url", metavar="URL", help="base URL of the service (default: SCALEDOWN_API_URL)")
    compress.add_argument("--json", action="store_true", help="print the result and its metrics as JSON")
    compress.set_defaults(handler=_cmd_compress)

    serve = commands.add_parser(
        "serve",
        help="run the ScaleDown protocol server over the local compressor",
        description="Serve POST /compress/raw/ (the ScaleDown protocol) and GET /health over LocalCompressor.",
        epilog=SERVE_EPILOG,
        formatter_class=_HelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default: 8000)")
    serve.add_argument("--keys-file", metavar="FILE", help="file of accepted API keys, one a line")
    serve.add_argument("--no-auth", action="store_true",
                       help="accept requests without a key (refused unless bound to loopback)")
    serve.add_argument("--embeddings", action="store_true",
                       help="add embedding similarity with the local model (needs the semantic extra)")
    serve.add_argument("--request-timeout", type=_positive_float, metavar="SECONDS", help="per-request time limit")
    serve.add_argument("--read-timeout", type=_positive_float, metavar="SECONDS",
                       help="time a client has to send its request headers, and again its body (default: 10)")
    serve.add_argument("--max-concurrency", type=_positive_int, metavar="N", help="requests compressed at once")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                       help="server log level (default: info)")
    serve.set_defaults(handler=_cmd_serve)

    bench = commands.add_parser(
        "bench",
        help="run the benchmarks (source checkout only)",
        description="Run the benchmark runner in bench/, passing the remaining arguments through.",
        epilog=BENCH_EPILOG,
        formatter_class=_HelpFormatter,
    )
    bench.add_argument("--help-runner", action="store_true", help="show the runner's own help")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, metavar="ARGS",
                       help="arguments for the runner")
    bench.set_defaults(handler=_cmd_bench)

    from .agent.cli import add_mcp_command  # the command's own module; imports nothing heavy

    add_mcp_command(commands, _HelpFormatter)

    from .index.cli import add_parser as add_index_parser  # its code lives with the index

    add_index_parser(commands, _HelpFormatter, _positive_int)

    from .batch.cli import add_batch_parser  # `scaledown batch`: its code lives in its own module

    add_batch_parser(commands, _HelpFormatter)
    return parser


# --------------------------------------------------------------------------- entry point


class _OneLineHandler(logging.Handler):
    """Library warnings as ``scaledown: warning: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _say(f"{record.levelname.lower()}: {record.getMessage()}")
        except Exception:  # logging must never break the command
            self.handleError(record)


@contextmanager
def _library_logging() -> Iterator[None]:
    logger = logging.getLogger("scaledown_core")
    handler = _OneLineHandler(logging.WARNING)
    logger.addHandler(handler)
    previous = logger.propagate
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``scaledown`` command line; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if getattr(args, "command", None) != "bench":
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.bench_args = [*unknown, *args.bench_args]  # options for the runner, passed through
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with _library_logging():
            return handler(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`); stop quietly and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except USER_ERRORS as exc:
        if args.debug:
            raise
        _say(f"error: {_one_line(exc)}")
        return EXIT_ERROR


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
        message = f"{message}: {exc.filename}"
    return message


if __name__ == "__main__":  # pragma: no cover - `python -m scaledown_core.cli`
    sys.exit(main())
