"""The agent operations: select code, compress text, read a file for a query, confined to root folders.

One layer that ``scaledown mcp``, the LangChain tools and the LlamaIndex tool spec all call. Each
operation validates its arguments (pydantic ``ValidationError``, a ``ValueError``), resolves paths through
:class:`~scaledown_core.agent.roots.Roots`, calls the core (``HasteOptimizer``, ``LocalCompressor`` or
``ScaleDownCompressor``) and returns a result model. Long operations take ``progress`` (called with
``done, total, message`` from the worker thread) and ``cancel`` (a ``threading.Event``; once set, the
operation stops at its next checkpoint with :class:`OperationCancelled`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..code import load_sources
from ..config import resolve_api_key
from ..exceptions import OperationCancelled, OptimizerError
from ..tokens import get_counter
from ..types import OptimizedContext, SourceSpan
from .roots import Roots
from .schemas import (
    DEFAULT_READ_TOKENS,
    DEFAULT_SELECT_TOKENS,
    CompressTextInput,
    CompressTextResult,
    IndexRepositoryInput,
    IndexResult,
    ReadFileForInput,
    ReadFileResult,
    SelectCodeInput,
    SelectCodeResult,
    Span,
)

__all__ = ["AgentTools", "OperationCancelled", "Progress", "SUPPORTED_LANGUAGES"]

Progress = Callable[[int, Optional[int], str], None]
SUPPORTED_LANGUAGES = {"python": (".py",)}  # language -> file suffixes the code model reads
_SNIFF_BYTES = 8192  # a NUL byte in the first 8 KiB marks a binary file (as the code loader decides)


class AgentTools:
    """The operations an agent may call, confined to ``roots``.

    Args:
        roots: folders the tools may read below (a path or a list; default: the current folder).
        target_model: the tokenizer every budget is counted in.
        optimizer: the code selector (default ``HasteOptimizer(target_model=target_model)``).
        api_key: a ScaleDown API key for ``compress_text``; without one, ``SCALEDOWN_API_KEY`` or
            ``set_api_key`` at call time; with none of them the in-process ``LocalCompressor`` runs.
        api_url: the service's base URL (default: ``SCALEDOWN_API_URL`` or the hosted service).
    """

    def __init__(self, roots: Roots | str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
                 *, target_model: str = "gpt-4o", optimizer: Any = None, api_key: str | None = None,
                 api_url: str | None = None) -> None:
        if roots is None:
            roots = [os.getcwd()]
        elif isinstance(roots, (str, os.PathLike)):
            roots = [roots]
        self.roots = roots if isinstance(roots, Roots) else Roots(roots)
        self.target_model = target_model
        get_counter(target_model)  # an unknown model warns now, not at the first call
        if optimizer is None:
            from ..optimizer import HasteOptimizer

            optimizer = HasteOptimizer(target_model=target_model)
        self.optimizer = optimizer
        self.api_key = api_key
        self.api_url = api_url

    def __repr__(self) -> str:
        return f"AgentTools(roots={self.roots!r}, target_model={self.target_model!r})"

    # ------------------------------------------------------------------ select_code

    def select_code(self, query: str, paths: Sequence[str], max_tokens: int = DEFAULT_SELECT_TOKENS,
                    language: str | None = None, *, progress: Progress | None = None,
                    cancel: threading.Event | None = None) -> SelectCodeResult:
        """The code below ``paths`` that ``query`` needs, within ``max_tokens``.

        With ``progress``, folders are parsed first, one file at a time, reporting each file and
        checking ``cancel`` between files; the selection that follows reuses the parsed files.
        """
        args = SelectCodeInput(query=query, paths=list(paths) if not isinstance(paths, str) else [paths],
                               max_tokens=max_tokens, language=language)
        _check_language(args.language)
        reals = self.roots.resolve_all(args.paths)
        named = {_loader_arg(p): p for p in reals}
        file_path: str | list[str] = next(iter(named)) if len(named) == 1 else list(named)
        if progress is not None and any(p.is_dir() for p in reals):
            folder = self._indexed_folder(reals)
            if folder is not None:  # the optimizer reads it through its index: bring that up to date
                self._build_index(folder, progress, cancel)
            else:
                _parse_ahead(file_path, progress, cancel)
        _check(cancel)
        result = self.optimizer.optimize(query=args.query, file_path=file_path, max_tokens=args.max_tokens)
        _check(cancel)
        locate = _Locator(named, self.roots)
        ranked = result.metrics.extra.get("ranked_files") or [s.path for s in result.spans]
        files = list(dict.fromkeys(locate(name) for name in ranked if name is not None))
        return SelectCodeResult(
            content=result.content, spans=[_span(s, locate) for s in result.spans], files=files,
            original_tokens=result.metrics.original_tokens, output_tokens=result.metrics.optimized_tokens,
            max_tokens=args.max_tokens, savings_percent=round(result.savings_percent, 2),
            target_model=self.target_model, warnings=list(result.metrics.warnings))

    # ------------------------------------------------------------------ index_repository

    def index_repository(self, path: str, *, progress: Progress | None = None,
                         cancel: threading.Event | None = None) -> IndexResult:
        """Build or update the persistent index of the folder ``path`` (what ``select_code`` reads folders
        through), reporting each parsed file; a cancelled build keeps the files it parsed."""
        args = IndexRepositoryInput(path=path)
        real = self.roots.resolve(args.path)
        if not real.is_dir():
            raise ValueError(f"{args.path!r} is not a folder; index_repository indexes a folder")
        stats = self._build_index(real, progress, cancel)
        return IndexResult(path=self.roots.display(real), files=stats.files, units=stats.units, tokens=stats.tokens,
                           new=stats.new, changed=stats.changed, deleted=stats.deleted, unchanged=stats.unchanged,
                           skipped=stats.skipped, seconds=round(stats.seconds, 3), target_model=self.target_model,
                           warnings=list(stats.warnings))

    def _indexed_folder(self, reals: list[Path]) -> Path | None:
        """The folder the optimizer reads through its persistent index for these paths, if it does."""
        if len(reals) != 1 or not reals[0].is_dir() or not getattr(self.optimizer, "use_index", False):
            return None
        return reals[0]

    def _build_index(self, folder: Path, progress: Progress | None, cancel: threading.Event | None) -> Any:
        from ..index import build_index

        def report(done: int, total: int) -> None:
            if progress is not None and done:
                progress(done, total, f"indexed {done} of {total} files")

        stats = build_index(_loader_arg(folder), cache_dir=getattr(self.optimizer, "index_dir", None),
                            target_model=self.target_model, progress=report, cancel=cancel)
        if progress is not None and not (stats.new or stats.changed):
            progress(1, 1, "index up to date")
        return stats

    # ------------------------------------------------------------------ compress_text

    def compress_text(self, context: str, prompt: str, max_tokens: int | None = None,
                      rate: float | None = None) -> CompressTextResult:
        """``context`` cut to what ``prompt`` needs: ``rate`` of its tokens (default: what scores as
        relevant) and never more than ``max_tokens``. The hosted API runs when a key is configured."""
        args = CompressTextInput(context=context, prompt=prompt, max_tokens=max_tokens, rate=rate)
        if not args.prompt.strip():
            raise ValueError("prompt must be a non-empty question or task")
        key = resolve_api_key(self.api_key)
        engine = "api" if key else "local"
        chosen_rate: str | float = args.rate if args.rate is not None else "auto"
        if key:
            from ..compressor import ScaleDownCompressor

            compressor: Any = ScaleDownCompressor(target_model=self.target_model, rate=chosen_rate, api_key=key,
                                                  api_url=self.api_url)
        else:
            from ..compressor import LocalCompressor

            compressor = LocalCompressor(target_model=self.target_model, rate=chosen_rate)
        result = compressor.compress(args.context, args.prompt, max_tokens=args.max_tokens)
        m = result.metrics
        return CompressTextResult(
            content=result.content, original_tokens=m.original_prompt_tokens,
            output_tokens=m.compressed_prompt_tokens, rate=m.rate, engine=engine, model_used=m.model_used,
            savings_percent=round(result.savings_percent, 2), target_model=self.target_model,
            warnings=list(m.extra.get("warnings", [])))

    # ------------------------------------------------------------------ read_file_for

    def read_file_for(self, query: str, path: str, max_tokens: int = DEFAULT_READ_TOKENS) -> ReadFileResult:
        """One file cut to what ``query`` needs: the call an agent makes instead of reading it whole.

        Python source goes through the code selector (functions and classes, in source order); any
        other text through the compressor (passages), filling up to ``max_tokens``. A file that fits
        comes back whole. A folder or a binary file is refused.
        """
        args = ReadFileForInput(query=query, path=path, max_tokens=max_tokens)
        real = self.roots.resolve(args.path)
        if real.is_dir():
            raise ValueError(f"{args.path!r} is a folder; read_file_for reads one file (select_code takes folders)")
        shown = self.roots.display(real)
        if real.suffix in SUPPORTED_LANGUAGES["python"]:
            return self._read_code(args, real, shown)
        text, warnings = _read_text(real, args.path)
        counter = get_counter(self.target_model)
        original = counter.count(text)
        if original <= args.max_tokens:
            return self._file_result(shown, text, "whole", [], original, original, args.max_tokens, warnings)
        from ..compressor import LocalCompressor

        # rate 1: the budget, not a relevance cut-off, decides how much of the file the agent gets
        result = LocalCompressor(target_model=self.target_model, rate=1.0).compress(
            text, args.query, max_tokens=args.max_tokens)
        m = result.metrics
        return self._file_result(shown, result.content, "text", [], original, m.compressed_prompt_tokens,
                                 args.max_tokens, warnings + list(m.extra.get("warnings", [])))

    def _read_code(self, args: ReadFileForInput, real: Path, shown: str) -> ReadFileResult:
        arg = _loader_arg(real)
        result: OptimizedContext = self.optimizer.optimize(query=args.query, file_path=arg,
                                                           max_tokens=args.max_tokens)
        m = result.metrics
        locate = _Locator({arg: real}, self.roots)
        method = "whole" if m.optimized_tokens == m.original_tokens and m.original_tokens else "code"
        return self._file_result(shown, result.content, method, [_span(s, locate) for s in result.spans],
                                 m.original_tokens, m.optimized_tokens, args.max_tokens, list(m.warnings))

    def _file_result(self, shown: str, content: str, method: str, spans: list[Span], original: int,
                     output: int, budget: int, warnings: list[str]) -> ReadFileResult:
        saved = 100.0 * (1 - output / original) if original else 0.0
        return ReadFileResult(path=shown, content=content, method=method, spans=spans, original_tokens=original,
                              output_tokens=output, max_tokens=budget, savings_percent=round(saved, 2),
                              target_model=self.target_model, warnings=warnings)


# ---------------------------------------------------------------------- helpers


def _check_language(language: str | None) -> None:
    if language is not None and language.strip().lower() not in SUPPORTED_LANGUAGES:
        raise ValueError(f"language {language!r} is not supported; supported: {', '.join(SUPPORTED_LANGUAGES)}")


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise OperationCancelled("the operation was cancelled")


def _loader_arg(real: Path) -> str:
    """The path handed to the loader: relative to the working folder when below it (short file headers
    in the output), else absolute. The loader shows a file under the name it was given."""
    try:
        return real.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return os.fspath(real)


def _parse_ahead(file_path: str | list[str], progress: Progress, cancel: threading.Event | None) -> None:
    """Parse the sources file by file, reporting each and stopping when cancelled; the parses are cached
    under the names the optimizer will use, so its own load finds them."""
    parsed = 0

    def tick(_text: str, _lines: list[str]) -> None:
        nonlocal parsed
        _check(cancel)
        parsed += 1
        progress(parsed, None, f"parsing file {parsed}")

    files = load_sources(file_path, [], on_parse=tick)
    progress(len(files), len(files), f"parsed {len(files)} files; selecting")


class _Locator:
    """Maps the names the optimizer shows (relative to a folder given, or the path given) back to files
    below the roots, named as :meth:`Roots.display` names them."""

    def __init__(self, named: dict[str, Path], roots: Roots) -> None:
        self.named = named
        self.folders = [p for p in named.values() if p.is_dir()]
        self.roots = roots
        self.cache: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        hit = self.cache.get(name)
        if hit is None:
            hit = self.cache[name] = self._locate(name)
        return hit

    def _locate(self, name: str) -> str:
        if name in self.named:
            return self.roots.display(self.named[name])
        if os.path.isabs(name):
            return self.roots.display(Path(name))
        head, _, rest = name.partition("/")
        for folder in self.folders:
            for candidate in (folder / name, folder / rest if head == folder.name else None):
                if candidate is not None and candidate.is_file():
                    return self.roots.display(candidate)
        return name


def _span(span: SourceSpan, locate: _Locator) -> Span:
    return Span(path=locate(span.path) if span.path else "", start_line=span.start_line, end_line=span.end_line,
                name=span.name, kind=span.kind, score=round(float(span.score), 4), partial=span.partial,
                tokens=span.tokens)


def _read_text(real: Path, shown: str) -> tuple[str, list[str]]:
    """A text file's content; a binary or non-regular file is refused, bad UTF-8 replaced and reported."""
    if not real.is_file():
        raise OptimizerError(f"{shown!r} is not a regular file (a pipe, socket or device)")
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise OptimizerError(f"cannot read {shown!r}: {exc.strerror or exc}") from exc
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise OptimizerError(f"{shown!r} is a binary file, not text")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="replace"), [
            f"{shown}: not valid UTF-8 (first bad byte at offset {exc.start}); undecodable bytes replaced"]
