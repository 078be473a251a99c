"""HASTE's rendering stage: the lines a set of packed keys shows, and one span per shown unit."""

from __future__ import annotations

from typing import Any

from ..code import shown_text
from ..types import SourceSpan
from ._plan import _Plan
from ._units import _Index


def _selection(plan: _Plan, keys: list[tuple[str, str]]) -> dict[str | None, set[int]]:
    out: dict[str | None, set[int]] = {}
    for k in keys:
        path, lines = plan.lines[k]
        out.setdefault(path, set()).update(lines)
    return out


def _spans(index: _Index, keys: list[tuple[str, str]], scores: list[float],
           lines: dict[tuple[str, str], tuple[str | None, list[int]]], counter: Any) -> list[SourceSpan]:
    """One span per shown unit (a class line kept for a method's context and the whole header merge)."""
    shown: dict[str, set[int]] = {}
    for kind, key in keys:
        if kind == "f":  # a whole file: its units have keys of their own
            continue
        # an import statement or a guarding header: "<unit key>:<line>"
        ukey = key.rsplit(":", 1)[0] if kind in ("i", "g") else key
        shown.setdefault(ukey, set()).update(lines[(kind, key)][1])
    spans: list[SourceSpan] = []
    for ukey, visible in shown.items():
        i = index.pos[ukey]
        u = index.units[i]
        fi = index.by_path[u.path]
        own = u.line_numbers()
        kept = [n for n in own if n in visible] or sorted(visible)
        text = shown_text(fi.sf, u, kept)
        spans.append(SourceSpan(
            path=u.path, start_line=min(kept), end_line=max(kept), name=u.qualname,
            score=round(scores[i], 4), kind=u.kind, partial=len(kept) < len(own),
            tokens=counter.count(text), text=text))
    return spans

