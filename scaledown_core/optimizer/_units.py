"""The in-memory unit table of a set of parsed files: what every HASTE stage looks units up in.

Built once per set of files (keyed by the files' paths and content hashes, bounded LRU): the units in
order, BM25 over their terms, per-line token counts (from the index when the files came from one),
which unit shows each line, units by name, and the call graph.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any, Callable

from ..code import CodeBase, CodeUnit, SourceFile
from ..retrieval.bm25 import BM25
from ..tokens import get_counter

INDEX_CACHE_SIZE = 32    # distinct sources (or trees) kept indexed in memory
# ... and at most this many units in all (the latest entry always stays): a long-lived process that
# queries a large tree while it is edited builds a new table per edit (sympy: 40k units, ~400 MB each)
INDEX_CACHE_UNITS = 100_000


@dataclass
class _FileIndex:
    sf: SourceFile
    line_tokens: list[int]
    line_owner: dict[int, int]
    """line number -> global unit index of the unit that shows it"""

    # what only some queries need (quoted messages, code lines) is made on first use
    @cached_property
    def lower(self) -> str:
        return "\n".join(self.sf.lines).lower()

    @cached_property
    def line_starts(self) -> list[int]:
        return list(accumulate([len(line) + 1 for line in self.sf.lines], initial=0))[:-1]

    @cached_property
    def stripped(self) -> list[str]:
        return [line.strip() for line in self.sf.lines]


@dataclass
class _Index:
    files: list[SourceFile]
    codebase: CodeBase
    units: list[CodeUnit]
    pos: dict[str, int]
    bm25: BM25
    unit_tokens: list[int]
    by_path: dict[str | None, _FileIndex]
    by_name: dict[str, list[int]]
    original_tokens: int
    block_terms: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    guard_units: frozenset[str] = frozenset()
    """Module units made only of the ``if``/``else:`` lines that definitions sit under."""
    derived: dict[str, Any] = field(default_factory=dict)
    """What later stages compute once per set of files (the import graph's PageRank)."""


_index_cache: "OrderedDict[tuple[Any, ...], _Index]" = OrderedDict()
_index_lock = threading.Lock()


def _span_tokens(line_tokens: list[int], regions: tuple[tuple[int, int], ...]) -> int:
    """Tokens of the lines in ``regions``, each counted alone plus one for its newline."""
    return sum(sum(line_tokens[a - 1:b]) + b - a + 1 for a, b in regions)


TokenCounts = dict[int, Callable[[], tuple[list[int], int]]]
"""``id(source.lines)`` -> the counts of that source's lines and whole text, started while it was parsed."""


def _build_index(files: list[SourceFile], model: str, counting: TokenCounts) -> _Index:
    counter = get_counter(model)
    units = [u for sf in files for u in sf.units]
    pos = {u.key: i for i, u in enumerate(units)}
    by_path: dict[str | None, _FileIndex] = {}
    original = 0
    for sf in files:
        counts = counting.get(id(sf.lines)) or counter.count_lines(sf.lines, sf.text)
        line_tokens, whole = counts()
        original += whole
        owner: dict[int, int] = {}
        for u in sorted(sf.units, key=lambda u: u.kind != "class"):
            for a, b in u.regions:
                owner.update(dict.fromkeys(range(a, b + 1), pos[u.key]))
        by_path[sf.path] = _FileIndex(sf, line_tokens, owner)
    by_name: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        by_name.setdefault(u.name.lower(), []).append(i)
    unit_tokens = [_span_tokens(by_path[u.path].line_tokens, u.regions) for u in units]
    return _Index(files, CodeBase(files), units, pos, BM25([u.terms for u in units]), unit_tokens,
                  by_path, by_name, original, guard_units=_guard_units(files))


def _guard_units(files: list[SourceFile]) -> frozenset[str]:
    """Keys of the module units made only of lines that definitions sit under (``if PY3:``, ``else:``)."""
    out: set[str] = set()
    for sf in files:
        guard_lines = {n for u in sf.units for a, b in u.guards for n in range(a, b + 1)}
        if guard_lines:
            out.update(u.key for u in sf.units if u.kind == "module" and guard_lines.issuperset(u.line_numbers()))
    return frozenset(out)


def _get_index(files: list[SourceFile], model: str, counting: TokenCounts) -> _Index:
    key = (get_counter(model).encoding_name, tuple((sf.path, sf.digest) for sf in files))
    with _index_lock:
        hit = _index_cache.get(key)
        if hit is not None:
            _index_cache.move_to_end(key)
            return hit
    index = _build_index(files, model, counting)
    with _index_lock:
        _index_cache[key] = index
        while len(_index_cache) > INDEX_CACHE_SIZE or (
                len(_index_cache) > 1 and sum(len(ix.units) for ix in _index_cache.values()) > INDEX_CACHE_UNITS):
            _index_cache.popitem(last=False)
    return index

