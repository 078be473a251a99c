"""Root confinement: the folders an agent tool may read, and the check every path goes through."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from ..code import SKIP_DIRS
from ..exceptions import OptimizerError, PathNotAllowedError

__all__ = ["Roots"]


class Roots:
    """The root folders an agent may read below; every path a tool is given is checked here.

    A relative path is read below the first root where it exists (below the first root when it exists
    nowhere, so the error names the right place). A path whose real location (symlinks resolved) lies
    outside every root raises :class:`PathNotAllowedError`; so does a folder holding a symlink that
    leads outside, since reading the folder would follow it.
    """

    def __init__(self, roots: Iterable[str | os.PathLike[str]]) -> None:
        resolved: list[Path] = []
        for root in roots:
            if isinstance(root, (bytes, bytearray)):
                raise TypeError("roots must be str paths, not bytes")
            if not str(root).strip():
                raise ValueError("a root folder is empty: name a folder")
            path = Path(root).expanduser()
            if not path.is_dir():
                raise ValueError(f"root {os.fspath(root)!r} is not a folder")
            real = path.resolve()
            if real == Path(real.anchor):  # some clients start servers in "/": that confines nothing
                raise ValueError(f"root {os.fspath(root)!r} is the file system's root, which would let the tools "
                                 "read every file; name the project folder (scaledown mcp --root DIR)")
            if real not in resolved:
                resolved.append(real)
        if not resolved:
            raise ValueError("at least one root folder is required")
        self.paths: tuple[Path, ...] = tuple(resolved)

    def __repr__(self) -> str:
        return f"Roots({[os.fspath(p) for p in self.paths]!r})"

    def resolve(self, path: str) -> Path:
        """The real, absolute location of ``path``, checked to lie inside a root and to exist."""
        if isinstance(path, (bytes, bytearray)):
            raise TypeError("paths must be str, not bytes")
        if not isinstance(path, str):
            raise TypeError(f"a path must be a string; got {type(path).__name__}")
        if not path.strip():
            raise ValueError("a path is empty: name a file or a folder below the roots")
        if "\x00" in path:
            raise ValueError("a path holds a NUL character")
        given = Path(path).expanduser()
        candidates = [given] if given.is_absolute() else [root / given for root in self.paths]
        existing = next((c for c in candidates if c.exists() or c.is_symlink()), candidates[0])
        real = _real(existing)
        if self._root_of(real) is None:
            raise PathNotAllowedError(
                f"{path!r} is outside the folders this tool may read ({self.describe()}); "
                "pass a path below one of them", path=path)
        if not real.exists():
            raise OptimizerError(f"no such file or directory: {path!r} (relative paths are read below "
                                 f"{self.describe()})")
        if real.is_dir():
            self._check_links(real, path)
        return real

    def resolve_all(self, paths: Sequence[str]) -> list[Path]:
        """:meth:`resolve` for each path; a path named twice is kept once."""
        if isinstance(paths, str):
            paths = [paths]
        if not paths:
            raise ValueError("paths is empty: name at least one file or folder")
        return list(dict.fromkeys(self.resolve(p) for p in paths))

    def display(self, real: Path) -> str:
        """How a tool names ``real`` back to the agent: relative to the first root when below it (a path
        the agent can pass back as given), else absolute."""
        try:
            return real.relative_to(self.paths[0]).as_posix() or "."
        except ValueError:
            return os.fspath(real)

    def describe(self) -> str:
        return ", ".join(os.fspath(p) for p in self.paths)

    def _root_of(self, real: Path) -> Path | None:
        return next((root for root in self.paths if real == root or root in real.parents), None)

    def _check_links(self, folder: Path, shown: str) -> None:
        """Refuse a folder whose walk would follow a symlink out of the roots (the loader follows links)."""
        walked: set[Path] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            here = Path(dirpath)
            if _real(here) in walked:  # a link back to a folder already walked
                dirnames[:] = []
                continue
            walked.add(_real(here))
            dirnames[:] = [d for d in dirnames if not _skipped(d)]
            for name in [*dirnames, *filenames]:
                entry = here / name
                if entry.is_symlink() and self._root_of(_real(entry)) is None:
                    raise PathNotAllowedError(
                        f"{shown!r} holds a symlink that leads outside the folders this tool may read: "
                        f"{os.path.relpath(entry, folder)}", path=shown)


def _skipped(name: str) -> bool:
    """Folders the loader never walks into (it skips them the same way)."""
    return name in SKIP_DIRS or name.startswith(".") or name.endswith(".egg-info")


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop names nothing real
        return path.absolute()
