"""Render a selection of lines as the original files with the unselected parts taken out."""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from .languages import EXTENSIONS, LANGUAGES
from .model import Block, CodeUnit, SourceFile

__all__ = ["ELISION", "FILE_HEADER", "elision_for", "unit_lines", "render", "shown_text", "split_rendered"]

ELISION = "# ..."
"""The comment line that stands for removed lines of Python (indented like the first removed line); other
languages use their own line comment (:func:`elision_for`: ``// ...`` in Go, Java, JavaScript, Rust)."""
FILE_HEADER = "# file: {path}"
"""The line that opens each file's section when the input has several files."""
_HEADER_LINE = re.compile(r"(\S(?:.*\S)?)".join(map(re.escape, FILE_HEADER.split("{path}"))))
# Only a header naming a Python file opens rendered text, so a file whose first comment merely reads
# "# file: notes" stays one anonymous source.
_SOURCE_SUFFIXES = tuple(EXTENSIONS)


def elision_for(sf: SourceFile) -> str:
    """The elision marker in ``sf``'s language: ``# ...`` for Python, ``// ...`` for the C-like ones."""
    if sf.language == "python":
        return ELISION
    return f"{LANGUAGES[sf.language].comment} ..."


def unit_lines(unit: CodeUnit, blocks: Sequence[Block] | None = None) -> list[int]:
    """Lines to show for ``unit``: all of it (``blocks`` None) or its head plus ``blocks`` and their context."""
    if blocks is None:
        return unit.line_numbers()
    lines = set(range(unit.head[0], unit.head[1] + 1))
    for block in blocks:
        lines.update(block.line_numbers())
    return sorted(lines)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _render_file(sf: SourceFile, chosen: list[int], out: list[str]) -> None:
    lines = sf.lines
    elision = elision_for(sf)
    prev = 0
    for n in chosen:
        if n < 1 or n > len(lines):
            continue
        if n > prev + 1:
            hidden = next((g for g in range(prev + 1, n) if lines[g - 1].strip()), None)
            if hidden is not None:
                out.append(_indent(lines[hidden - 1]) + elision)
            elif prev:  # only blank lines between two shown lines: keep the first
                out.append(lines[prev])
        out.append(lines[n - 1])
        prev = n
    rest = next((line for line in lines[prev:] if line.strip()), None) if prev else None
    if rest is not None:
        out.append(_indent(rest) + elision)


def render(
    files: Sequence[SourceFile],
    selection: Mapping[str | None, Iterable[int]],
    headers: bool | None = None,
) -> str:
    """The selected lines of ``files`` in source order, elided regions marked with :data:`ELISION`.

    ``selection`` maps a file's ``path`` to the line numbers to show. ``headers`` (default: when there
    are several files) opens each shown file with :data:`FILE_HEADER`. Every output line is a line of
    the input, an elision marker or a file header; nothing is reordered.
    """
    if headers is None:
        headers = len(files) > 1
    sections: list[str] = []
    for sf in files:
        picked = selection.get(sf.path)
        if not picked:
            continue
        chosen = sorted(set(picked))
        out: list[str] = [FILE_HEADER.format(path=sf.path)] if headers else []
        _render_file(sf, chosen, out)
        sections.append("\n".join(out))
    return "\n\n".join(sections)


def shown_text(sf: SourceFile, unit: CodeUnit, shown: Iterable[int]) -> str:
    """The lines of ``unit`` in ``shown``, each run of its hidden non-blank lines marked with :data:`ELISION`.

    No file header; lines outside the unit are ignored, so the text is what the unit contributed.
    """
    visible = set(shown)
    out: list[str] = []
    hidden: list[int] = []

    def flush() -> None:
        gap = [g for g in hidden if sf.lines[g - 1].strip()]
        if gap:
            out.append(_indent(sf.lines[gap[0] - 1]) + elision_for(sf))
        elif hidden and out:  # only blank lines between two shown lines: keep one
            out.append("")
        hidden.clear()

    for n in unit.line_numbers():
        if n not in visible:
            hidden.append(n)
            continue
        flush()
        out.append(sf.lines[n - 1])
    flush()
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def split_rendered(text: str) -> list[tuple[str, str]] | None:
    """The ``(path, text)`` sections of ``text`` as :func:`render` wrote them with file headers, or None
    when ``text`` is not such output.

    ``text`` qualifies when its first non-blank line is a :data:`FILE_HEADER` naming a ``.py`` file and
    no path repeats; a later header must follow a blank line, as :func:`render` separates sections.
    """
    # the first non-blank line decides, before any work on the rest (every compressor call asks)
    at = len(text) - len(text.lstrip())
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    opening = _HEADER_LINE.fullmatch(text[line_start : line_end if line_end >= 0 else len(text)])
    if at == len(text) or opening is None or not opening.group(1).endswith(_SOURCE_SUFFIXES):
        return None
    lines = text.split("\n")
    first = text.count("\n", 0, line_start)
    sections: list[tuple[str, list[str]]] = [(opening.group(1), [])]
    for k in range(first + 1, len(lines)):
        header = _HEADER_LINE.fullmatch(lines[k])
        if header is not None and not lines[k - 1].strip():
            sections[-1][1].pop()  # the blank line render puts between sections
            sections.append((header.group(1), []))
        else:
            sections[-1][1].append(lines[k])
    if len({path for path, _ in sections}) < len(sections):
        return None
    return [(path, "\n".join(body)) for path, body in sections]
