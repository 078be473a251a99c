"""Helpers the main-venv adapters share: AST units, greedy packing under a token budget, rendering."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

# Sources that Python's ast cannot parse are cut into windows of this many lines instead.
FALLBACK_WINDOW_LINES = 40
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Unit:
    """A piece of source: 1-based inclusive lines, the text, and the file it came from."""

    path: str
    start: int
    end: int
    text: str


def words(text: str) -> list[str]:
    """The tokenisation a plain rank_bm25 user writes: lower-case word characters."""
    return _WORD.findall(text.lower())


def count(text: str) -> int:
    from scaledown_core.tokens import get_counter

    return get_counter("gpt-4o").count(text)


def _span(lines: list[str], path: str, start: int, end: int) -> Unit:
    return Unit(path, start, end, "\n".join(lines[start - 1 : end]))


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def ast_units(source: str, path: str = "") -> list[Unit]:
    """Functions, methods, class headers and runs of module-level statements, as ``ast`` sees them."""
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [
            _span(lines, path, i + 1, min(i + FALLBACK_WINDOW_LINES, len(lines)))
            for i in range(0, len(lines), FALLBACK_WINDOW_LINES)
        ]
    units: list[Unit] = []
    block: list[ast.stmt] = []

    def flush() -> None:
        if block:
            units.append(_span(lines, path, _first_line(block[0]), block[-1].end_lineno or block[-1].lineno))
            block.clear()

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            flush()
            units.append(_span(lines, path, _first_line(node), node.end_lineno or node.lineno))
        elif isinstance(node, ast.ClassDef):
            flush()
            units.extend(_class_units(node, lines, path))
        else:
            block.append(node)
    flush()
    return units


def _class_units(node: ast.ClassDef, lines: list[str], path: str) -> list[Unit]:
    methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    end = node.end_lineno or node.lineno
    if not methods:
        return [_span(lines, path, _first_line(node), end)]
    header_end = _first_line(methods[0]) - 1
    units = [_span(lines, path, _first_line(node), max(header_end, node.lineno))]
    for m in methods:
        units.append(_span(lines, path, _first_line(m), m.end_lineno or m.lineno))
    return units


def repo_units(root: str) -> list[Unit]:
    """The AST units of every ``.py`` file under ``root``, with repo-relative paths."""
    base = Path(root)
    units: list[Unit] = []
    for file in sorted(base.rglob("*.py")):
        rel = file.relative_to(base).as_posix()
        units.extend(ast_units(file.read_text(encoding="utf-8", errors="replace"), rel))
    return units


def render(units: Sequence[Unit], with_paths: bool = False) -> str:
    """Units in source order; with ``with_paths`` one header line per file (``# path``)."""
    ordered = sorted(units, key=lambda u: (u.path, u.start))
    parts: list[str] = []
    current = None
    for u in ordered:
        if with_paths and u.path != current:
            parts.append(f"# {u.path}")
            current = u.path
        parts.append(u.text)
    return "\n\n".join(parts)


def pack(ranked: Sequence[Unit], budget: int, with_paths: bool = False) -> list[Unit]:
    """Best-first greedy fill: take each unit (in rank order) that still fits the budget."""
    kept: list[Unit] = []
    used = 0
    for u in ranked:
        cost = count(u.text) + 2 + (count(u.path) + 2 if with_paths else 0)
        if used + cost <= budget:
            kept.append(u)
            used += cost
    while kept and count(render(kept, with_paths)) > budget:
        kept.pop()
    return kept


def file_ranking(ranked: Sequence[Unit]) -> list[str]:
    """Files in the order of their best-ranked unit."""
    seen: dict[str, None] = {}
    for u in ranked:
        seen.setdefault(u.path, None)
    return list(seen)


def rank_by(units: Sequence[Unit], scores: Sequence[float]) -> list[Unit]:
    order = sorted(range(len(units)), key=lambda i: (-scores[i], i))
    return [units[i] for i in order]


def cut_lines(text: str, budget: int, counter: Callable[[str], int] = count) -> str:
    """The longest run of whole leading lines of ``text`` within ``budget`` tokens."""
    if counter(text) <= budget:
        return text
    lines = text.split("\n")
    lo, hi = 0, len(lines)  # lines[:lo] fits, lines[:hi+1] ... binary search the largest fitting prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter("\n".join(lines[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return "\n".join(lines[:lo])
