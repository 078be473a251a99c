"""Read sources (Python, JavaScript, TypeScript, Go, Java, Rust) from a file, a directory or a list of
paths into :class:`SourceFile` s; the language is chosen by file extension."""

from __future__ import annotations

import io
import os
import stat
import tokenize
from pathlib import Path
from typing import Any, Sequence, Union

from ..exceptions import OptimizerError
from ..limits import Budget
from .languages import language_for_path, source_extensions
from .model import OnParse, SourceFile, parse_source

__all__ = ["load_sources", "path_items", "PathLike", "SKIP_DIRS"]

PathLike = Union[str, "os.PathLike[str]"]

# Folders that hold someone else's code or generated output, never the project's own sources.
SKIP_DIRS = frozenset({
    "__pycache__", "site-packages", "dist-packages", "node_modules", "build", "dist", "venv", "env",
    ".venv", ".env", ".tox", ".nox", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".eggs",
})
# Bytes read to decide whether a file is binary: a NUL byte in the first 8 KiB is the usual test
# (git, grep); UTF-8 and Latin-1 source never holds one.
_SNIFF_BYTES = 8192


def _is_virtualenv(d: Path) -> bool:
    return (d / "pyvenv.cfg").is_file()


def _skip_dir(d: Path) -> bool:
    name = d.name
    return name in SKIP_DIRS or name.startswith(".") or name.endswith(".egg-info") or _is_virtualenv(d)


def _walk_py(root: Path) -> list[Path]:
    """The source files below ``root`` (every extension :mod:`.languages` knows), folder symlinks followed,
    each real folder walked once."""
    suffixes = source_extensions()
    found: list[Path] = []
    walked: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        real = _real(here)
        if real in walked:  # a symlink back to a folder already walked (a loop, or a second way in)
            dirnames[:] = []
            continue
        walked.add(real)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here / d))
        found.extend(here / f for f in sorted(filenames)
                     if os.path.splitext(f)[1].lower() in suffixes and not f.startswith("."))
    return found


def _read(path: Path, shown: str, single: bool, warnings: list[str],
          on_parse: OnParse | None = None, budget: Budget | None = None) -> SourceFile | None:
    try:
        # a FIFO, socket or device would block the read or never end
        regular = stat.S_ISREG(path.stat().st_mode)
        data = _read_bytes(path, budget) if regular else b""
    except OSError as exc:
        return _refuse(f"cannot read {shown}: {exc.strerror or exc}",
                       f"{shown}: unreadable file skipped ({exc.strerror or exc})", single, warnings, exc)
    if not regular:
        return _refuse(f"{shown} is not a regular file (a pipe, socket or device)",
                       f"{shown}: not a regular file (a pipe, socket or device), skipped", single, warnings)
    if b"\x00" in data[:_SNIFF_BYTES]:
        return _refuse(f"{shown} is a binary file, not Python source", f"{shown}: binary file skipped",
                       single, warnings)
    spec = language_for_path(path)
    # only Python declares its encoding in the file (PEP 263); the others are UTF-8, a BOM allowed
    encoding = _declared_encoding(data) if spec is None or spec.name == "python" else "utf-8"
    try:
        text = data.decode(encoding)
        own: list[str] = []
    except UnicodeDecodeError as exc:
        text = data.decode(encoding, errors="replace")
        name = "UTF-8" if encoding.startswith("utf-8") else encoding
        own = [f"{shown}: not valid {name} (first bad byte at offset {exc.start}); "
               "undecodable bytes replaced with U+FFFD"]
        warnings.extend(own)
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_source(text, path=shown, warnings=own, on_parse=on_parse)


def _refuse(error: str, warning: str, single: bool, warnings: list[str], cause: Exception | None = None) -> None:
    """A file that cannot be used: an error when it was named alone, else skipped with a warning."""
    if single:
        raise OptimizerError(error) from cause
    warnings.append(warning)
    return None


def _declared_encoding(data: bytes) -> str:
    """The encoding Python itself would read the file in: a PEP 263 coding line or BOM, else UTF-8."""
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:  # an unknown or contradictory coding line
        return "utf-8"


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: it names nothing else
        return path.absolute()


def _unique_name(names: tuple[str, ...], path: Path, seen: set[str]) -> str:
    """The first of ``names`` no other file shows under yet (two folders with a ``utils.py`` each),
    else the full path."""
    for candidate in (*names, os.fspath(path.absolute())):
        if candidate not in seen:
            seen.add(candidate)
            return candidate
    return os.fspath(path.absolute())


def load_sources(paths: PathLike | Sequence[PathLike], warnings: list[str] | None = None,
                 on_parse: OnParse | None = None) -> list[SourceFile]:
    """Parse every Python source named by ``paths``.

    ``paths`` is a file, a directory (every ``.py`` file below it, skipping virtual environments, build,
    hidden and ``__pycache__``/``site-packages`` folders; file paths are shown relative to the directory,
    behind its name when several are given) or a list of files and directories. A missing or unreadable
    path raises :class:`OptimizerError` naming it; a binary or non-regular file is refused when named
    alone and skipped (with a warning) inside a directory. Non-UTF-8 bytes are replaced and reported.
    Warnings are appended to ``warnings`` when given; ``on_parse`` is passed to :func:`parse_source`.
    """
    sink = warnings if warnings is not None else []
    items = [Path(item) for item in path_items(paths)]
    prefixed = sum(p.is_dir() for p in items) > 1
    out: list[SourceFile] = []
    budget = Budget("the source under file_path")
    seen: set[str] = set()  # names shown so far
    read: set[Path] = set()  # a file named twice (alone and inside a folder given too) is read once
    for p in items:
        for path, names, single in _named_files(p, prefixed, sink):
            real = _real(path)
            if real in read:
                continue
            read.add(real)
            sf = _read(path, _unique_name(names, path, seen), single, sink, on_parse, budget)
            if sf is not None:
                out.append(sf)
    return out


def _read_bytes(path: Path, budget: Budget | None) -> bytes:
    """The file's bytes, charged to ``budget`` first: a tree over the input limit is refused, not loaded."""
    if budget is not None:
        budget.charge(path.stat().st_size)
    return path.read_bytes()


def path_items(paths: Any) -> list[PathLike]:
    """``paths`` (a path or a list of them) as a list; TypeError/ValueError for what names no path."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, (bytes, bytearray)):
        raise TypeError("file_path must be a str path, not bytes; decode it first (os.fsdecode)")
    elif not isinstance(paths, Sequence):
        raise TypeError(f"file_path must be a path or a list of paths, got {type(paths).__name__}")
    for item in paths:
        if isinstance(item, (bytes, bytearray)):
            raise TypeError("file_path entries must be str paths, not bytes; decode them first (os.fsdecode)")
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"file_path entries must be paths, got {type(item).__name__}")
        if isinstance(item, str) and not item.strip():
            # Path("") is the current directory: an empty entry must not read all of it
            raise ValueError(f"file_path {item!r} is empty: name a file or a folder")
    return list(paths)


def _named_files(p: Path, prefixed: bool, warnings: list[str]) -> list[tuple[Path, tuple[str, ...], bool]]:
    """The files ``p`` names, each with the names it may be shown under (first choice first) and whether
    it was named alone. ``prefixed``: a folder's files are named behind the folder's name."""
    if not p.exists():
        if p.is_symlink():
            raise OptimizerError(f"{os.fspath(p)} is a symbolic link to nothing (its target is missing, "
                                 "or it is part of a loop of links)")
        raise OptimizerError(f"no such file or directory: {os.fspath(p)}")
    if not p.is_dir():
        return [(p, (os.fspath(p),), True)]
    files = _walk_py(p)
    if not files:
        warnings.append(f"{os.fspath(p)}: no Python files found in this directory "
                        "(nor JavaScript, TypeScript, Go, Java or Rust)")
    folder = p.name or _real(p).name
    out: list[tuple[Path, tuple[str, ...], bool]] = []
    for f in files:
        name = f.relative_to(p).as_posix()
        names = (f"{folder}/{name}",) if prefixed else (name, f"{folder}/{name}")
        out.append((f, names, False))
    return out
