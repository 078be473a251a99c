"""Read Python sources from a file, a directory or a list of paths into :class:`SourceFile` s."""

from __future__ import annotations

import io
import os
import tokenize
from pathlib import Path
from typing import Any, Sequence, Union

from ..exceptions import OptimizerError
from .model import SourceFile, parse_source

__all__ = ["load_sources", "PathLike", "SKIP_DIRS"]

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
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(here / d))
        found.extend(here / f for f in sorted(filenames) if f.endswith(".py") and not f.startswith("."))
    return found


def _read(path: Path, shown: str, single: bool, warnings: list[str]) -> SourceFile | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        if single:
            raise OptimizerError(f"cannot read {shown}: {exc.strerror or exc}") from exc
        warnings.append(f"{shown}: unreadable file skipped ({exc.strerror or exc})")
        return None
    if b"\x00" in data[:_SNIFF_BYTES]:
        if single:
            raise OptimizerError(f"{shown} is a binary file, not Python source")
        warnings.append(f"{shown}: binary file skipped")
        return None
    encoding = _declared_encoding(data)
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
    return parse_source(text, path=shown, warnings=own)


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


def _unique_name(name: str, root: Path | None, path: Path, seen: set[str]) -> str:
    """``name``, or when another file already shows under it (two folders with a ``utils.py`` each),
    the name with its folder in front, or else the full path."""
    folder = f"{root.name}/{name}" if root is not None and root.name else name
    for candidate in (name, folder, os.fspath(path.absolute())):
        if candidate not in seen:
            seen.add(candidate)
            return candidate
    return os.fspath(path.absolute())


def load_sources(paths: PathLike | Sequence[PathLike], warnings: list[str] | None = None) -> list[SourceFile]:
    """Parse every Python source named by ``paths``.

    ``paths`` is a file, a directory (every ``.py`` file below it, skipping virtual environments, build,
    hidden and ``__pycache__``/``site-packages`` folders; file paths are shown relative to the directory)
    or a list of files and directories. A missing or unreadable path raises :class:`OptimizerError`
    naming it; a binary file is refused when named alone and skipped (with a warning) inside a directory.
    Non-UTF-8 bytes are replaced and reported. Warnings are appended to ``warnings`` when given.
    """
    sink = warnings if warnings is not None else []
    out: list[SourceFile] = []
    seen: set[str] = set()  # names shown so far
    read: set[Path] = set()  # a file named twice (alone and inside a folder given too) is read once
    for item in _path_items(paths):
        for path, name, root in _named_files(Path(item)):
            real = _real(path)
            if real in read:
                continue
            read.add(real)
            sf = _read(path, _unique_name(name, root, path, seen), single=root is None, warnings=sink)
            if sf is not None:
                out.append(sf)
    return out


def _path_items(paths: Any) -> Sequence[PathLike]:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    if not isinstance(paths, Sequence):
        raise TypeError(f"file_path must be a path or a list of paths, got {type(paths).__name__}")
    for item in paths:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"file_path entries must be paths, got {type(item).__name__}")
    return paths


def _named_files(p: Path) -> list[tuple[Path, str, Path | None]]:
    """The files ``p`` names, each with the name it is shown under and its folder (None: named alone)."""
    if not p.exists():
        raise OptimizerError(f"no such file or directory: {os.fspath(p)}")
    if p.is_dir():
        return [(f, f.relative_to(p).as_posix(), p) for f in _walk_py(p)]
    return [(p, os.fspath(p), None)]
