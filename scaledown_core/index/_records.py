"""What the index keeps of one parsed file, and the work that makes it (run in worker processes).

A record is everything ranking and rendering need from a :class:`~scaledown_core.code.SourceFile`,
without the tree-sitter tree: the text, the units (spans, names, terms, calls, references, guards),
imports, the statement blocks of every unit (so a unit can be shown in part without re-parsing) and the
token count of every line in the target encoding. It is stored as ``marshal(tuple)``: marshal reads
plain tuples of str/int ten times faster than pickle reads dataclasses, uncompressed because a query
reads every record and zlib would cost more time than the disk it saves (sympy: 80 MB, 23 MB zipped);
the tuple layout is pinned by :data:`RECORD_FORMAT` (a change there makes old indexes rebuild).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat as stat_mod
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..code.model import Block, CodeUnit, SourceFile

__all__ = ["RECORD_FORMAT", "FileResult", "index_file", "decode", "encode", "split_lines"]

RECORD_FORMAT = 3  # 3: the file's language is stored (a tree may mix languages)


@dataclass
class FileResult:
    """One file read for the index: its stat key, raw-content hash, what loading it warned, its record."""

    path: str
    size: int
    mtime_ns: int
    raw_hash: str
    warnings: list[str]
    record: bytes | None
    """None for a file the loader skips (binary, unreadable, not a regular file): its warning stays."""
    units: int = 0
    tokens: int = 0
    unsure: bool = False
    """The file changed while it was read, or cannot be read now: read it again at the next open."""
    language: str = "python"
    """The language the file was read as (``scaledown_core.code.languages``)."""


# Lists of names are stored as one string joined by a newline (no term, call or name holds one): marshal
# reads one string in a copy where a list of many small strings costs an object each.
_SEP = "\n"


def _unit_tuple(u: CodeUnit) -> tuple[Any, ...]:
    return (u.key, u.kind, u.name, u.qualname, u.start_line, u.end_line, u.regions, u.signature, u.docstring,
            u.parent, u.head, _SEP.join(u.terms), _SEP.join(u.calls), _SEP.join(sorted(u.references)),
            u.is_import, u.bases, u.guards)


def _split(joined: str) -> list[str]:
    # interned: a tree repeats its few thousand names millions of times (sympy: 2.5 M terms), one copy each
    return list(map(sys.intern, joined.split(_SEP))) if joined else []


def encode(sf: SourceFile, line_tokens: list[int], whole: int) -> bytes:
    """The stored record of ``sf`` with its per-line and whole-text token counts."""
    blocks = tuple(tuple((b.start_line, b.end_line, b.context) for b in sf.blocks(u)) for u in sf.units)
    data = (RECORD_FORMAT, sf.path, sf.text, tuple(_unit_tuple(u) for u in sf.units), sf.imports,
            sf.has_syntax_errors, sf.warnings, sf.digest, line_tokens, whole, blocks, sf.language)
    return marshal.dumps(data)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` exactly as the parser splits them (``lines[i]`` is line ``i + 1``)."""
    lines = text.split("\n")
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()
    return lines


def decode(blob: bytes) -> tuple[SourceFile, list[int], int]:
    """The :class:`SourceFile` a record holds (its blocks filled in), its line token counts and total."""
    data = marshal.loads(blob)
    if data[0] != RECORD_FORMAT:
        raise ValueError(f"record format {data[0]}, expected {RECORD_FORMAT}")
    (_, path, text, units, imports, has_errors, warnings, digest, line_tokens, whole, blocks, language) = data
    lines = split_lines(text)
    made: list[CodeUnit] = []
    for (key, kind, name, qualname, start, end, regions, signature, docstring, parent, head, terms, calls,
         references, is_import, bases, guards) in units:
        made.append(CodeUnit(
            key=key, path=path, kind=kind, name=name, qualname=qualname, start_line=start, end_line=end,
            regions=regions, text="\n".join([ln for a, b in regions for ln in lines[a - 1:b]]),
            signature=signature, docstring=docstring, parent=parent, head=head, terms=_split(terms),
            calls=_split(calls), references=frozenset(_split(references)), is_import=is_import, bases=bases,
            guards=guards))
    unit_blocks = _StoredBlocks(zip([u.key for u in made], blocks))
    sf = SourceFile(path, text, lines, made, imports, has_errors, list(warnings), digest, _blocks=unit_blocks,
                    language=language)
    return sf, line_tokens, whole


class _StoredBlocks(dict):  # type: ignore[type-arg]
    """A unit's stored blocks, made into :class:`Block` s when first asked for: a query shows few units
    in part, so most of a tree's blocks are never built. ``SourceFile.blocks`` reads it with ``get``."""

    def get(self, key: str, default: Any = None) -> Any:
        raw = super().get(key, default)
        if raw is default or (raw and isinstance(raw[0], Block)) or not raw:
            return raw
        made = tuple(Block(a, b, ctx) for a, b, ctx in raw)
        self[key] = made
        return made


def raw_hash(data: bytes) -> str:
    """The content hash behind the stat key: BLAKE2b-128 of the file's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _stat_key(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def index_file(job: tuple[str, str, str]) -> FileResult:
    """Read, parse and count one file: ``job`` is (absolute path, shown path, target model).

    Runs in a worker process (or inline for a few files). The file is stat'ed before and after it is
    read; one that changed meanwhile is stored as read but marked ``unsure``, so the next open reads it
    again. A file the loader refuses keeps its warning and no record.
    """
    from ..code.loader import _read  # the loader's own reading rules: encoding, binary, pipes
    from ..tokens import get_counter

    full, shown, model = job
    path = Path(full)
    before = _stat_key(path)
    warnings: list[str] = []
    data: bytes | None = None
    try:
        if before is not None and stat_mod.S_ISREG(os.stat(path).st_mode):
            data = path.read_bytes()
    except OSError:
        pass
    sf = _read(path, shown, single=False, warnings=warnings)
    after = _stat_key(path)
    # a file that could not be read gets a stat key no file has: the next open reads it again
    size, mtime = after if after is not None and (data is not None or sf is not None) else (-1, -1)
    unsure = before is None or after != before
    digest = raw_hash(data or b"")
    if sf is None:
        return FileResult(shown, size, mtime, digest, warnings, None, unsure=unsure)
    line_tokens, whole = get_counter(model).count_lines(sf.lines, sf.text)()
    return FileResult(shown, size, mtime, digest, warnings, encode(sf, line_tokens, whole),
                      units=len(sf.units), tokens=whole, unsure=unsure, language=sf.language)
