"""HasteOptimizer: the code an LLM needs to answer a query, chosen from Python source under a hard budget.

Stages, each a short function: parse (``scaledown_core.code``, cached by content) -> index (BM25 over
units, per-line token counts, line and name maps; cached) -> read the query as an issue report
(``_evidence``) -> rank units -> optional semantic rerank -> expand over the call graph -> pack under
the budget (``retrieval.packer.pack`` with an exact measure) -> render with elision markers.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Any, Callable

from ..code import CodeBase, CodeUnit, SourceFile, render, shown_text, unit_lines
from ..code.model import Block, names_used
from ..exceptions import OptimizerError
from ..retrieval.bm25 import BM25
from ..retrieval.packer import Candidate, pack
from ..retrieval.text import split_identifier, terms as text_terms, words as text_words
from ..tokens import get_counter
from ..types import OptimizationMetrics, OptimizedContext, SourceSpan
from ._evidence import Evidence, read_query
from ._inputs import IndexUse, read_request

__all__ = ["HasteOptimizer"]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- ranking weights (fused, each 0..1)
W_LEXICAL = 1.0          # BM25 over the unit's identifier-aware terms, divided by the best unit's
W_NAME = 0.9             # the unit's own name is mentioned in code context (backticks, snippet, frame)
W_QUALNAME = 0.6         # ``Class.method`` as written matches the unit's qualified name
W_CLASS_MENTION = 0.25   # the enclosing class is named: its methods are likelier
W_FRAME = 1.0            # a traceback frame names this function in this file
W_FRAME_LINE = 0.5       # a frame's line number falls inside the unit (lines drift across versions)
W_CODE_LINE = 0.8        # a snippet/traceback line is copied verbatim from the unit
W_MESSAGE = 0.9          # a quoted error message is found in the unit's text
W_SEMANTIC = 0.2         # share of the embedding similarity in the fused score when semantic=True
# The same share for a question in plain words (no name written as code, frame, snippet line or message):
# its words are all the lexical ranking has, and meaning finds what they miss (CoSQA MRR 66.0 -> 83.2, flat
# from 0.8 to 1.0); every selection issue report names code, so selection keeps W_SEMANTIC.
W_SEMANTIC_PROSE = 0.8
FRAME_LINE_SLACK = 50    # a frame this many lines past the end of an unnamed source is in another file
DEEPEST_FRAME_BONUS = 0.3  # the deepest frame of a traceback is nearest to the fault
CODE_LINE_SATURATION = 3   # verbatim lines beyond this many add nothing more
# ---------------------------------------------------------------- expansion
CALLEE_DECAY = 0.35      # a callee explains its caller
CALLER_DECAY = 0.3       # a caller shows how the unit is used
CLASS_CALLEE_FACTOR = 0.5  # a constructed class (often an exception) explains less than a called function
EXPANSION_CEILING = 0.98  # an expanded unit stays ranked below the seed that brought it in
# ---------------------------------------------------------------- packing
VALUE_SHARPNESS = 2.0    # value = (score / best) ** sharpness: the top units are worth much more
RANK_DECAY = 1.0         # ... times 1 / (1 + rank) ** decay: the first hits are usually the answer
UNRANKED_VALUE = 1e-4    # units with no match at all still fill a budget that would go unused
PARTIAL_VALUE = 0.6      # a unit shown in part is worth this share of the whole
PARTIAL_SHARE = 0.6      # a partial view takes at most this share of the budget
HEAD_SHARE = 0.35        # a partial view's signature + docstring may take this share of it, else no docstring
MIN_SPLIT_TOKENS = 60    # smaller units are shown whole or not at all
MARKER_TOKENS = 3        # an elision line costs about this much
# Lines counted one by one overcount joined text by about 10% (a newline merges with the next line's
# indentation); the exact measure corrects what is left.
LINE_JOIN_SCALE = 0.91
FALLBACK_UNITS = 5       # a budget that holds no candidate: try these many best units in part
# A partial view grows into the budget the packing left when at least this much is left (less is the
# estimates' slack, not worth another render and count).
GROW_MIN_TOKENS = 40
GROW_MIN_SHARE = 0.1     # ... and at least this share of the budget
REFILL_TRIES = 24        # exact fits tried after packing to use what budget the estimates left
MODULE_FACTOR = 0.45     # module-level code is rarely what an issue is about
CLASS_HEADER_FACTOR = 0.8  # a class docstring matches prose about any of its methods
SIZE_PRIOR = 0.3         # longer units hold more of the logic that bugs live in
W_NAME_WITHIN = 0.5      # a snake_case name from the report is part of the unit's name
W_NAME_PARTS = 0.5       # the words of the unit's name appear in the query (``prepare_content_length``)
CLASS_SIG_VALUE = 0.0    # a class line is worth nothing alone; methods pull it in
IMPORT_SHARE = 0.02      # an import is worth this share of the best kept unit that uses it
# ---------------------------------------------------------------- caches
INDEX_CACHE_SIZE = 32    # distinct sources (or trees) kept indexed in memory
SEMANTIC_MAX_CHARS = 2000  # characters of a unit given to the embedding model


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
        while len(_index_cache) > INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return index


# --------------------------------------------------------------------------- ranking


def _path_matches(frame_path: str, path: str | None) -> bool | None:
    """True/False when both are known, None when the source has no path.

    Paths match by their trailing components: the frame of an installed package
    (``/usr/lib/.../astropy/io/fits/card.py``) names the checkout's ``astropy/io/fits/card.py``, and a
    bare ``card.py`` names any ``card.py``; ``units/decorators.py`` is not ``utils/decorators.py``.
    """
    if path is None:
        return None
    a, b = _path_parts(frame_path), _path_parts(path)
    shared = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        shared += 1
    return shared > 0 and (shared >= 2 or shared == min(len(a), len(b)))


def _path_parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]


def _lexical(index: _Index, ev: Evidence) -> list[float]:
    raw = index.bm25.scores(ev.terms, ev.weights)
    top = max(raw, default=0.0)
    return [s / top for s in raw] if top > 0 else raw


def _frame_scores(index: _Index, ev: Evidence, out: list[float]) -> None:
    if not ev.frames:
        return
    deepest = max(f.order for f in ev.frames)
    for f in ev.frames:
        depth = DEEPEST_FRAME_BONUS if f.order == deepest else 0.0
        for fi in index.by_path.values():
            match = _path_matches(f.path, fi.sf.path)
            if match is False or (match is None and f.line > len(fi.sf.lines) + FRAME_LINE_SLACK):
                continue
            at = fi.line_owner.get(f.line)
            if f.func:
                for i in index.by_name.get(f.func.lower(), []):
                    if index.units[i].path == fi.sf.path:
                        out[i] = max(out[i], W_FRAME + depth)
            # the frame runs in the unit at its line: the unit itself or a closure the unit defines
            if at is not None and (match or (f.func and (index.units[at].name == f.func
                                                         or _defines_before(fi.sf, index.units[at], f.func, f.line)))):
                out[at] = max(out[at], W_FRAME_LINE + (W_FRAME + depth if f.func else 0.0))


def _defines_before(sf: SourceFile, unit: CodeUnit, func: str, line: int) -> bool:
    """Whether ``unit`` defines a nested function ``func`` above ``line`` (a closure the frame runs in)."""
    pattern = re.compile(r"\s*(?:async\s+)?def\s+" + re.escape(func) + r"\b")
    return any(pattern.match(sf.lines[n - 1]) for n in range(unit.start_line, min(line, unit.end_line) + 1))


def _message_scores(index: _Index, ev: Evidence, out: list[float]) -> None:
    """Units whose text holds a 4-word window of a quoted message (format strings split messages)."""
    for msg in ev.messages:
        words = msg.split()
        windows = [" ".join(words[i:i + 4]) for i in range(max(1, len(words) - 3))]
        windows = [w for w in windows if len(w) >= 12]
        if not windows:
            continue
        hits: dict[int, int] = {}
        for w in windows:
            for fi in index.by_path.values():
                start = fi.lower.find(w)
                while start != -1:
                    line = bisect.bisect_right(fi.line_starts, start)
                    i = fi.line_owner.get(line)
                    if i is not None:
                        hits[i] = hits.get(i, 0) + 1
                    start = fi.lower.find(w, start + 1)
        for i, n in hits.items():
            out[i] = max(out[i], W_MESSAGE * min(1.0, 0.5 + n / len(windows)))


def _code_line_hits(index: _Index, ev: Evidence) -> list[int]:
    """How many of the query's code lines each unit holds (stripped, verbatim)."""
    hits = [0] * len(index.units)
    wanted = set(ev.code_lines)
    if not wanted:
        return hits
    for fi in index.by_path.values():
        owner = fi.line_owner
        found = {(s, owner[n]) for n, s in enumerate(fi.stripped, 1) if s in wanted and n in owner}
        for _, i in found:
            hits[i] += 1
    return hits


def _rank(index: _Index, ev: Evidence) -> list[float]:
    """The fused lexical + evidence score of every unit."""
    scores = [W_LEXICAL * s for s in _lexical(index, ev)]
    evidence = [0.0] * len(index.units)
    # names like ``as_set`` also point at ``_eval_as_set``: whole ``_``-separated words only
    compound = [(f"_{n.strip('_')}_", v) for n, v in ev.names.items() if "_" in n.strip("_")]
    for i, u in enumerate(index.units):
        if u.kind == "module":
            continue
        strength = ev.names.get(u.name.lower())
        if strength:
            evidence[i] += W_NAME * strength
        elif compound:
            inner = f"_{u.name.lower().strip('_')}_"
            part = max((v for n, v in compound if n in inner), default=0.0)
            evidence[i] += W_NAME_WITHIN * part
        parts = [p for p in split_identifier(u.name)[1:] or split_identifier(u.name) if len(p) > 2]
        if parts:
            evidence[i] += W_NAME_PARTS * sum(p in ev.weights for p in parts) / len(parts)
        if "." in u.qualname and ".".join(u.qualname.split(".")[-2:]).lower() in ev.dotted:
            evidence[i] += W_QUALNAME
        if u.parent is not None:
            cls = index.units[index.pos[u.parent]]
            cls_strength = ev.names.get(cls.name.lower())
            if cls_strength:
                evidence[i] += W_CLASS_MENTION * cls_strength
    frames = [0.0] * len(index.units)
    _frame_scores(index, ev, frames)
    lines = _code_line_hits(index, ev)
    messages = [0.0] * len(index.units)
    _message_scores(index, ev, messages)
    out = []
    for i, u in enumerate(index.units):
        s = (scores[i] + evidence[i] + frames[i] + messages[i]
             + W_CODE_LINE * min(lines[i], CODE_LINE_SATURATION) / CODE_LINE_SATURATION)
        s *= 1.0 + SIZE_PRIOR * math.log1p(index.unit_tokens[i] / 100.0)
        if u.kind == "module":
            s *= MODULE_FACTOR
        elif u.kind == "class":
            s *= CLASS_HEADER_FACTOR
        out.append(s)
    return out


def _semantic(index: _Index, ev: Evidence, order: list[int], scores: list[float], model: str | None,
              warnings: list[str]) -> str | None:
    """Fuse embedding similarity into ``scores`` for the units in ``order``; the model used, or None."""
    try:
        from ..retrieval.embeddings import get_embedder
    except ImportError as exc:  # the semantic extra is missing
        warnings.append(f"semantic rerank skipped: {exc}")
        return None
    try:
        embedder = get_embedder(model, fallback=True)
        q = embedder.embed_queries([ev.text[:SEMANTIC_MAX_CHARS]])
        docs = embedder.embed_documents([index.units[i].text[:SEMANTIC_MAX_CHARS] for i in order])
    except Exception as exc:  # a model that cannot load must not lose the lexical selection
        warnings.append(f"semantic rerank failed, lexical ranking used: {exc}")
        logger.warning("semantic rerank failed: %s", exc)
        return None
    sims = (docs @ q[0]).tolist()
    lo, hi = min(sims), max(sims)
    top = max((scores[i] for i in order), default=0.0) or 1.0
    share = _semantic_share(ev)
    for i, s in zip(order, sims):
        norm = (s - lo) / (hi - lo) if hi > lo else 0.0
        scores[i] = (1 - share) * scores[i] + share * top * norm
    used = getattr(embedder, "model_used", None) or str(model)
    reason = getattr(embedder, "fallback_reason", None)
    if reason:  # names differ without a fallback too (a short name loads as its full repository id)
        warnings.append(f"semantic model fallback: {reason}")
    return used


def _semantic_share(ev: Evidence) -> float:
    """The share of embedding similarity in the fused score for this query."""
    return W_SEMANTIC if ev.has_code_evidence else W_SEMANTIC_PROSE


def _expand(index: _Index, scores: list[float], seeds: list[int], depth: int, max_add: int) -> list[int]:
    """Units reached from ``seeds`` over callees and callers, their scores raised below their seed's."""
    added: list[int] = []
    if depth <= 0 or max_add <= 0:
        return added
    own = list(scores)  # lifts come from a seed's own score, never from another lift
    seen = set(seeds)
    frontier = [(i, scores[i]) for i in seeds]
    for _ in range(depth):
        nxt: list[tuple[int, float]] = []
        for i, s in frontier:
            key = index.units[i].key
            near = [(k, CALLEE_DECAY) for k in index.codebase.callees(key)]
            near += [(k, CALLER_DECAY) for k in index.codebase.callers(key)]
            for k, decay in near:
                j = index.pos[k]
                if index.units[j].kind == "class":
                    decay *= CLASS_CALLEE_FACTOR
                lifted = min(max(own[j], s * decay), s * EXPANSION_CEILING)
                scores[j] = max(scores[j], lifted)
                if j not in seen:
                    seen.add(j)
                    added.append(j)
                    nxt.append((j, lifted))
                    if len(added) >= max_add:
                        return added
        frontier = nxt
    return added


# --------------------------------------------------------------------------- packing


@dataclass
class _Plan:
    """Candidates and the lines each shows, for the packer and the measure."""

    candidates: list[Candidate[tuple[str, str]]] = field(default_factory=list)
    lines: dict[tuple[str, str], tuple[str | None, list[int]]] = field(default_factory=dict)


def _cost(fi: _FileIndex, lines: list[int]) -> int:
    gaps = sum([b > a + 1 for a, b in zip(lines, lines[1:])])
    line_tokens = fi.line_tokens
    raw = sum([line_tokens[n - 1] for n in lines]) + len(lines)
    return int(raw * LINE_JOIN_SCALE) + MARKER_TOKENS * (gaps + 1)


def _whole_cost(unit_tokens: int, unit: CodeUnit) -> int:
    """``_cost`` of the unit's own lines, from its ``_span_tokens`` (its regions never touch: one gap between two)."""
    return int(unit_tokens * LINE_JOIN_SCALE) + MARKER_TOKENS * len(unit.regions)


def _block_terms(index: _Index, unit: CodeUnit, k: int, block: Block) -> set[str]:
    key = (unit.key, k)
    bt = index.block_terms.get(key)
    if bt is None:
        sf = index.by_path[unit.path].sf
        bt = set(text_terms(sf.text_of(list(range(block.start_line, block.end_line + 1)))))
        index.block_terms[key] = bt
    return bt


def _group_score(index: _Index, unit: CodeUnit, group: list[int], blocks: tuple[Block, ...],
                 ev: Evidence) -> float:
    """How well a run of blocks matches the query: idf-weighted query terms, verbatim snippet lines."""
    sf = index.by_path[unit.path].sf
    bt: set[str] = set()
    for k in group:
        bt |= _block_terms(index, unit, k, blocks[k])
    # fsum: exact, so the order a set iterates in (it changes with PYTHONHASHSEED) cannot break a near-tie
    score = math.fsum(ev.weights[t] * index.bm25.idf(t) for t in bt if t in ev.weights)
    for k in group:
        for n in range(blocks[k].start_line, blocks[k].end_line + 1):
            if sf.lines[n - 1].strip() in ev.code_lines:
                score += 10.0
    return score


def _is_comment(sf: SourceFile, block: Block) -> bool:
    return all(sf.lines[n - 1].lstrip().startswith("#") or not sf.lines[n - 1].strip()
               for n in range(block.start_line, block.end_line + 1))


def _block_groups(sf: SourceFile, blocks: tuple[Block, ...]) -> list[list[int]]:
    """Blocks as shown together: comment lines go with the statement right below them.

    A comment describes the code under it, so the two are scored and shown as one: a comment that
    matches the query brings the statement it explains, and no comment is shown without its code.
    """
    groups: list[list[int]] = []
    pending: list[int] = []
    for k, block in enumerate(blocks):
        if pending:
            last = blocks[pending[-1]]
            if block.context != last.context or block.start_line > last.end_line + 2:
                groups.extend([j] for j in pending)
                pending = []
        if _is_comment(sf, block):
            pending.append(k)
            continue
        groups.append(pending + [k])
        pending = []
    groups.extend([j] for j in pending)
    return groups


def _partial_lines(index: _Index, unit: CodeUnit, ev: Evidence, limit: int,
                   shown_before: list[int] | None = None) -> list[int] | None:
    """Head plus the best-matching blocks of ``unit`` within ``limit`` tokens, or None; with
    ``shown_before``, those lines plus the best-matching blocks that still fit.

    A docstring that would take more than ``HEAD_SHARE`` of ``limit`` is left out: the code that
    matches is worth more than the prose about it.
    """
    sf = index.by_path[unit.path].sf
    blocks = sf.blocks(unit)
    if not blocks:
        return None
    fi = index.by_path[unit.path]
    groups = _block_groups(sf, blocks)
    ranked = sorted(groups, key=lambda g: -_group_score(index, unit, g, blocks, ev))
    head = shown_before or unit_lines(unit, [])
    if shown_before is None and _cost(fi, head) > limit * HEAD_SHARE:
        head = unit.signature_lines()
    if _cost(fi, head) > limit:
        return None
    shown = _Shown(fi, head)
    chosen = False
    for group in ranked:
        group_lines = [n for k in group for n in blocks[k].line_numbers()]
        grown = shown.grown(group_lines)
        if grown.cost() <= limit:
            shown = grown
            chosen = True
    return sorted(shown.lines) if chosen else None


class _Shown:
    """A set of lines and the sums that ``_cost`` of its sorted lines needs, grown without re-sorting."""

    def __init__(self, fi: _FileIndex, lines: list[int]) -> None:
        self.fi = fi
        self.lines: set[int] = set()
        self.raw = 0   # tokens of each line + one per line
        self.runs = 0  # runs of consecutive lines: one elision marker each
        self._add(lines)

    def _add(self, lines: list[int]) -> None:
        line_tokens = self.fi.line_tokens
        for n in lines:
            if n not in self.lines:
                self.raw += line_tokens[n - 1] + 1
                # a new line starts a run, extends one or joins two
                self.runs += 1 - ((n - 1) in self.lines) - ((n + 1) in self.lines)
                self.lines.add(n)

    def grown(self, lines: list[int]) -> "_Shown":
        """These lines and ``lines``."""
        out = _Shown(self.fi, [])
        out.lines, out.raw, out.runs = set(self.lines), self.raw, self.runs
        out._add(lines)
        return out

    def cost(self) -> int:
        """``_cost`` of the sorted lines."""
        return int(self.raw * LINE_JOIN_SCALE) + MARKER_TOKENS * max(self.runs, 1)


def _plan(index: _Index, ev: Evidence, order: list[int], scores: list[float], budget: int,
          soft_cap: int) -> _Plan:
    plan = _Plan()
    best = max((scores[i] for i in order), default=0.0)
    if best <= 0:  # nothing matches: every unit is worth the same little, the budget still gets used
        best = 1.0
    class_sigs: set[str] = set()
    unit_values: list[tuple[CodeUnit, float]] = []

    def require_context(unit: CodeUnit) -> tuple[tuple[str, str], ...]:
        """What is shown with ``unit``: its class line (a method) or the ``if``/``else:`` lines it sits under."""
        return require_class(unit) + _require_guards(index, plan, unit)

    def require_class(unit: CodeUnit) -> tuple[tuple[str, str], ...]:
        if unit.parent is None:
            return ()
        cls = index.units[index.pos[unit.parent]]
        key = ("c", cls.key)
        if cls.key not in class_sigs:
            class_sigs.add(cls.key)
            lines = cls.signature_lines()
            fi = index.by_path[cls.path]
            plan.lines[key] = (cls.path, lines)
            plan.candidates.append(Candidate(key, CLASS_SIG_VALUE, _cost(fi, lines), require_context(cls)))
        return (key,)

    for rank, i in enumerate(order):
        unit = index.units[i]
        if unit.is_import:  # shown statement by statement for the code that uses it (_import_candidates)
            continue
        if unit.key in index.guard_units:  # an ``else:`` line says nothing alone; what it guards pulls it in
            value = 0.0
        elif scores[i] <= 0:
            value = UNRANKED_VALUE
        else:
            value = (scores[i] / best) ** VALUE_SHARPNESS / (1 + rank) ** RANK_DECAY
        fi = index.by_path[unit.path]
        requires = require_context(unit)
        tokens = index.unit_tokens[i]
        if tokens <= soft_cap:
            key = ("w", unit.key)
            plan.lines[key] = (unit.path, unit.line_numbers())
            plan.candidates.append(Candidate(key, value, _whole_cost(tokens, unit), requires, group=unit.key))
        if tokens > MIN_SPLIT_TOKENS and (tokens > soft_cap or tokens > budget * PARTIAL_SHARE):
            lines = _partial_lines(index, unit, ev, int(min(soft_cap, budget * PARTIAL_SHARE)))
            if lines is not None:
                key = ("p", unit.key)
                plan.lines[key] = (unit.path, lines)
                plan.candidates.append(
                    Candidate(key, value * PARTIAL_VALUE, _cost(fi, lines), requires, group=unit.key))
        unit_values.append((unit, value))
    _import_candidates(index, plan, unit_values)
    return plan


def _require_guards(index: _Index, plan: _Plan, unit: CodeUnit) -> tuple[tuple[str, str], ...]:
    """Keys of the header lines ``unit`` sits under (outermost first, each requiring the one before),
    as candidates worth nothing alone."""
    fi = index.by_path[unit.path]
    keys: tuple[tuple[str, str], ...] = ()
    for a, b in unit.guards:
        owner = index.units[fi.line_owner[a]]
        key = ("g", f"{owner.key}:{a}")  # like an import statement: "<unit key>:<line>"
        if key not in plan.lines:
            lines = list(range(a, b + 1))
            plan.lines[key] = (unit.path, lines)
            plan.candidates.append(Candidate(key, 0.0, _cost(fi, lines), keys[-1:]))
        keys += (key,)
    return keys


def _import_candidates(index: _Index, plan: _Plan, unit_values: list[tuple[CodeUnit, float]]) -> None:
    """One candidate per import statement, worth a share of the best unit that uses what it imports."""
    by_file: dict[str | None, list[tuple[CodeUnit, float]]] = {}
    for u, v in unit_values:
        if u.kind != "module":
            by_file.setdefault(u.path, []).append((u, v))
    for sf in index.files:
        users = by_file.get(sf.path)
        if not users:
            continue
        fi = index.by_path[sf.path]
        for u in sf.units:
            if not u.is_import:
                continue
            for block in sf.blocks(u):
                names = _imported_names(sf.text_of(list(range(block.start_line, block.end_line + 1))))
                worth = max((v for user, v in users if names & user.references), default=0.0)
                if worth <= 0:
                    continue
                key = ("i", f"{u.key}:{block.start_line}")
                lines = list(range(block.start_line, block.end_line + 1))
                plan.lines[key] = (sf.path, lines)
                plan.candidates.append(Candidate(key, worth * IMPORT_SHARE, _cost(fi, lines)))


def _refill(plan: _Plan, keys: list[tuple[str, str]], budget: int, measure: Any) -> list[tuple[str, str]]:
    """Add the most valuable candidates that still fit exactly (estimates leave some budget unused)."""
    chosen = list(keys)
    used = measure(chosen) if chosen else 0
    by_key = {c.key: c for c in plan.candidates}
    groups = {by_key[k].group for k in chosen if k in by_key and by_key[k].group is not None}
    tries = 0
    for cand in sorted(plan.candidates, key=lambda c: -c.value):
        if tries >= REFILL_TRIES or budget - used < MARKER_TOKENS * 2:
            break
        if cand.value <= 0 or cand.key in chosen or (cand.group is not None and cand.group in groups):
            continue
        extra = [r for r in cand.requires if r not in chosen]
        if cand.cost + sum(by_key[r].cost for r in extra if r in by_key) > (budget - used) * 1.15:
            continue
        tries += 1
        trial = chosen + extra + [cand.key]
        n = measure(trial)
        if n <= budget:
            chosen, used = trial, n
            if cand.group is not None:
                groups.add(cand.group)
    return chosen


def _grow_partials(index: _Index, ev: Evidence, plan: _Plan, keys: list[tuple[str, str]], budget: int,
                   used: int, measure: Any) -> list[tuple[str, str]]:
    """Partial views grown into the budget the packing left unused (``budget - used``): a unit cut to
    fit beside others shows more of itself when the others did not need the room."""
    for n in [n for n, (kind, _) in enumerate(keys) if kind == "p"]:
        kind, key = keys[n]
        unit = index.units[index.pos[key]]
        fi = index.by_path[unit.path]
        current = plan.lines[(kind, key)][1]
        if budget - used < max(GROW_MIN_TOKENS, budget * GROW_MIN_SHARE):
            break
        limit = _cost(fi, current) + budget - used
        for _ in range(3):  # the estimate can be over: try again below it by the overshoot
            lines = _partial_lines(index, unit, ev, limit, shown_before=current)
            if lines is None or not set(current) < set(lines):
                break
            grown = ("e", key)  # a key of its own: "v" views may be in ``show``'s cache with other lines
            plan.lines[grown] = (unit.path, lines)
            trial = keys[:n] + [grown] + keys[n + 1:]
            size = measure(trial)
            if size <= budget:
                keys, used = trial, size
                break
            limit -= size - budget + MARKER_TOKENS
            if limit <= _cost(fi, current):
                break
    return keys


def _used_imports_only(index: _Index, plan: _Plan, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``keys`` without the imports that no code shown uses (a class line or a comment uses none)."""
    used: set[str] = set()
    for kind, key in keys:
        if kind == "w":  # shown whole: the names the unit references
            used |= index.units[index.pos[key]].references
        elif kind in ("p", "v", "e", "g"):  # shown in part: the names in the lines shown
            path, lines = plan.lines[(kind, key)]
            used |= names_used(text_words(index.by_path[path].sf.text_of(lines)))
    out = []
    for kind, key in keys:
        if kind == "i":
            path, lines = plan.lines[(kind, key)]
            sf = index.by_path[path].sf
            if not _imported_names(sf.text_of(lines)) & used:
                continue
        out.append((kind, key))
    return out


def _shows_a_match(keys: list[tuple[str, str]], index: _Index, scores: list[float]) -> bool:
    return any(scores[index.pos[u]] > 0 for kind, u in keys if kind in ("w", "p"))


def _smallest_view(index: _Index, ev: Evidence, plan: _Plan, pool: list[int], budget: int,
                   measure: Any) -> list[tuple[str, str]]:
    """A budget too small for any candidate: the first of the best units whose partial view fits all of it."""
    for i in pool[:FALLBACK_UNITS]:
        unit = index.units[i]
        lines = _partial_lines(index, unit, ev, budget) or unit.signature_lines()
        if not lines:  # a module block has no signature to fall back on
            continue
        key = ("v", unit.key)  # a view of its own: "p" is the packer's partial view, "f" a whole file
        plan.lines[key] = (unit.path, lines)
        keys = [key]
        while unit.parent is not None:  # a method is shown inside its class (and that class in its own)
            unit = index.units[index.pos[unit.parent]]
            if ("c", unit.key) not in plan.lines:
                break
            keys.insert(0, ("c", unit.key))
        if measure(keys) <= budget:
            return keys
    return []


def _whole_plan(index: _Index) -> _Plan:
    """Every file whole, with one key per unit for the metrics."""
    plan = _Plan()
    for sf in index.files:
        plan.lines[("f", str(sf.path))] = (sf.path, list(range(1, len(sf.lines) + 1)))
        for u in sf.units:
            plan.lines[("w", u.key)] = (u.path, u.line_numbers())
    return plan


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


def _imported_names(statement: str) -> set[str]:
    """Local names an import statement binds (``import a.b`` binds ``a``; ``as`` aliases count)."""
    text = " ".join(statement.replace("(", " ").replace(")", " ").replace(",", " ").replace("\\", " ").split())
    if " import " not in f" {text} ":
        return set()
    head, _, tail = text.partition("import ")
    words = tail.split()
    names: set[str] = set()
    j = 0
    while j < len(words):
        if j + 2 < len(words) and words[j + 1] == "as":
            names.add(words[j + 2])
            j += 3
            continue
        names.add(words[j].split(".")[0])
        j += 1
    return names


# --------------------------------------------------------------------------- the optimizer


class HasteOptimizer:
    """Select the Python code a query needs, under a hard token budget.

    ``top_k`` units seed the selection; ``bfs_depth`` steps over callees and callers add at most
    ``max_add`` more, ranked below the seeds that brought them in; what budget is left after them is
    filled with the next-ranked units (at most ``prefilter`` are considered). ``semantic=True`` fuses
    embedding similarity into the ranking (``sem_model``: an OpenAI model name, used with
    ``OPENAI_API_KEY``, or a local sentence-transformers model; the packaged MiniLM otherwise).
    ``max_tokens`` (default ``hard_cap``) is a hard budget on the whole output in ``target_model``
    tokens. A unit larger than ``soft_cap`` tokens is never shown whole: it is split at statement
    boundaries and shown in part (signature, docstring and the blocks that match the query); so is a
    unit too large for what is left of the budget.
    """

    def __init__(
        self,
        top_k: int = 6,
        prefilter: int = 300,
        bfs_depth: int = 1,
        max_add: int = 12,
        semantic: bool = False,
        sem_model: str = "text-embedding-3-small",
        hard_cap: int = 1200,
        soft_cap: int = 1800,
        target_model: str = "gpt-4o",
        use_index: bool = True,
        index_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        for name, value, low in (("top_k", top_k, 1), ("prefilter", prefilter, 1), ("bfs_depth", bfs_depth, 0),
                                 ("max_add", max_add, 0), ("hard_cap", hard_cap, 1), ("soft_cap", soft_cap, 1)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
            if value < low:
                raise ValueError(f"{name} must be >= {low}; got {value}")
        if not isinstance(target_model, str) or not target_model.strip():
            raise ValueError("target_model must be a model name such as 'gpt-4o'")
        if not isinstance(use_index, bool):
            raise TypeError(f"use_index must be True or False; got {type(use_index).__name__}")
        if index_dir is not None and not isinstance(index_dir, (str, os.PathLike)):
            raise TypeError(f"index_dir must be a folder path or None; got {type(index_dir).__name__}")
        self.use_index = use_index
        self.index_dir = os.fspath(index_dir) if index_dir is not None else None
        self.top_k = top_k
        self.prefilter = prefilter
        self.bfs_depth = bfs_depth
        self.max_add = max_add
        self.semantic = bool(semantic)
        self.sem_model = sem_model
        self.hard_cap = hard_cap
        self.soft_cap = soft_cap
        self.target_model = target_model
        get_counter(target_model)  # an unknown model warns now, not at the first call

    def __repr__(self) -> str:
        return (f"HasteOptimizer(top_k={self.top_k}, prefilter={self.prefilter}, bfs_depth={self.bfs_depth}, "
                f"max_add={self.max_add}, semantic={self.semantic}, sem_model={self.sem_model!r}, "
                f"hard_cap={self.hard_cap}, soft_cap={self.soft_cap}, target_model={self.target_model!r})")

    # ----------------------------------------------------------------- public
    def optimize(
        self,
        context: str = "",
        query: str | None = None,
        file_path: Any = None,
        max_tokens: int | None = None,
        *,
        context_path: str | None = None,
        **kwargs: Any,
    ) -> OptimizedContext:
        """The code of ``file_path`` (or of ``context`` when no path is given) that ``query`` needs.

        The output never exceeds ``max_tokens`` (default ``hard_cap``) ``target_model`` tokens.
        ``context_path`` names where ``context`` came from (``"pkg/module.py"``, or just ``"module.py"``);
        nothing is read from it, but traceback frames and ``file:line`` references in ``query`` are
        matched against it.
        """
        started = time.perf_counter()
        counter = get_counter(self.target_model)
        counting: TokenCounts = {}

        def count_while_parsing(text: str, lines: list[str]) -> None:
            counting[id(lines)] = counter.count_lines(lines, text, background=True)

        index = IndexUse(self.target_model, self.index_dir) if self.use_index else None
        req = read_request(context, query, file_path, max_tokens, kwargs, default_budget=self.hard_cap,
                           context_path=context_path, on_parse=count_while_parsing, index=index)
        if index is not None:
            from ..index import stored_counts

            for sf in req.files:  # a file from the index brings its token counts along
                stored = stored_counts(sf)
                if stored is not None:
                    counting[id(sf.lines)] = lambda stored=stored: stored
        budget = req.budget if req.budget is not None else self.hard_cap  # narrows the type: never None here
        return self._select(req.files, req.query, budget, req.warnings, started, req.multi, counting)

    async def aoptimize(
        self,
        context: str = "",
        query: str | None = None,
        file_path: Any = None,
        max_tokens: int | None = None,
        *,
        context_path: str | None = None,
        **kwargs: Any,
    ) -> OptimizedContext:
        """:meth:`optimize` in a worker thread (parsing and ranking are CPU work)."""
        return await asyncio.to_thread(self.optimize, context, query, file_path, max_tokens,
                                       context_path=context_path, **kwargs)

    # ----------------------------------------------------------------- stages
    def _select(self, files: list[SourceFile], query: str, budget: int, warnings: list[str], started: float,
                multi: bool, counting: TokenCounts) -> OptimizedContext:
        counter = get_counter(self.target_model)
        for sf in files:
            for w in sf.warnings:
                if w not in warnings:
                    warnings.append(w)
        if not files or not any(sf.units for sf in files):
            original = sum(counter.count(sf.text) for sf in files)
            return self._result("", files, [], [], {}, original, 0, "bm25", None, warnings, started, multi)
        index = _get_index(files, self.target_model, counting)
        ev = read_query(query)
        scores = _rank(index, ev)
        mode, model_used = "bm25", None
        if index.original_tokens <= budget:
            plan = _whole_plan(index)
            keys = list(plan.lines)
            content = render(index.files, _selection(plan, keys), headers=multi)
            tokens = counter.count(content)
            if tokens <= budget:  # everything fits: nothing to choose
                return self._result(content, files, keys, scores, plan.lines, index.original_tokens, tokens,
                                    mode, model_used, warnings, started, multi, index=index, ev=ev)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: max(self.prefilter, self.top_k)]
        if self.semantic and order:
            model_used = _semantic(index, ev, order, scores, self.sem_model, warnings)
            if model_used:
                mode = f"bm25+embedding:{model_used}"
                order.sort(key=lambda i: -scores[i])
        if not any(scores[i] > 0 for i in order):
            warnings.append("no unit matches the query; units are shown in source order")
        seeds = order[: self.top_k]
        added = _expand(index, scores, seeds, self.bfs_depth, self.max_add)
        pool = list(dict.fromkeys(order + added))
        pool.sort(key=lambda i: -scores[i])
        plan = _plan(index, ev, pool, scores, budget, self.soft_cap)

        shown: dict[tuple[tuple[str, str], ...], tuple[str, int]] = {}

        def show(keys: list[tuple[str, str]]) -> tuple[str, int]:
            """The output for ``keys`` and its exact token count."""
            # pack, refill and the result all measure the final selection: render and count it once
            hit = shown.get(tuple(keys))
            if hit is None:
                content = render(index.files, _selection(plan, keys), headers=multi)
                hit = shown[tuple(keys)] = (content, counter.count(content))
            return hit

        def measure(keys: list[tuple[str, str]]) -> int:
            return show(keys)[1]

        keys = pack(plan.candidates, budget, measure)
        keys = _used_imports_only(index, plan, _refill(plan, keys, budget, measure))
        if not _shows_a_match(keys, index, scores) and (not keys or scores[pool[0]] > 0):
            # nothing that matches fits whole: part of the best unit beats unrelated small ones
            view = _smallest_view(index, ev, plan, pool, budget, measure)
            keys = view or keys
            if view or not keys:
                warnings.append(f"max_tokens={budget} holds no matching unit whole; the best-ranked one is shown "
                                "in part" if view else f"max_tokens={budget} is too small to show any unit, even "
                                "in part: the output is empty")
        if any(kind == "p" for kind, _ in keys):
            # its trials rewrite the lines of one key: counted afresh, never through ``show``'s cache
            keys = _grow_partials(index, ev, plan, keys, budget, measure(keys),
                                  lambda ks: counter.count(render(index.files, _selection(plan, ks), headers=multi)))
        content, tokens = show(keys)
        if tokens > budget:  # the packer guarantees this; never ship over budget
            raise OptimizerError(f"internal error: selection of {tokens} tokens exceeds budget {budget}")
        return self._result(content, files, keys, [scores[i] for i in range(len(scores))], plan.lines,
                            index.original_tokens, tokens, mode, model_used, warnings, started, multi,
                            index=index, ev=ev)

    def _result(self, content: str, files: list[SourceFile], keys: list[tuple[str, str]], scores: list[float],
                lines: dict[tuple[str, str], tuple[str | None, list[int]]], original: int, tokens: int, mode: str,
                model_used: str | None, warnings: list[str], started: float, multi: bool,
                index: _Index | None = None, ev: Evidence | None = None) -> OptimizedContext:
        spans: list[SourceSpan] = []
        if index is not None:
            spans = _spans(index, keys, scores, lines, get_counter(self.target_model))
        order = {sf.path: j for j, sf in enumerate(files)}
        spans.sort(key=lambda s: (order.get(s.path, 0), s.start_line))
        # imports are in the spans (they are shown) but they are not retrieved units
        imports = {(u.path, u.qualname) for u in index.units if u.is_import} if index is not None else set()
        ranked = [s for s in spans if (s.path, s.name) not in imports]
        extra: dict[str, Any] = {"ranked_units": sorted(ranked, key=lambda s: -s.score)}
        if multi and index is not None and ev is not None:
            extra["ranked_files"] = _rank_files(index, scores, ev)
        elif multi:
            extra["ranked_files"] = [str(sf.path) for sf in files]
        metrics = OptimizationMetrics(
            original_tokens=original,
            optimized_tokens=tokens,
            chunks_retrieved=len(spans),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            retrieval_mode=mode,
            spans=spans,
            model_used=model_used,
            warnings=warnings,
            extra=extra,
        )
        return OptimizedContext(content=content, metrics=metrics)


FILE_SECOND_WEIGHT = 0.3  # a file with two relevant units beats one with a single equally good one
W_PATH_MENTION = 0.5     # the report names the file (traceback frame, ``file:line``)
W_MODULE_MENTION = 0.3   # the report names the module (``requests.sessions``)


def _rank_files(index: _Index, scores: list[float], ev: Evidence) -> list[str]:
    """Input files, best first: best unit + a share of the second, plus paths the report names."""
    per: dict[str | None, list[float]] = {}
    for i, u in enumerate(index.units):
        per.setdefault(u.path, []).append(scores[i])
    text = ev.text.lower()
    value: dict[str | None, float] = {}
    for sf in index.files:
        s = sorted(per.get(sf.path, [0.0]), reverse=True)
        v = s[0] + FILE_SECOND_WEIGHT * (s[1] if len(s) > 1 else 0.0)
        if any(_path_matches(p, sf.path) for p in ev.paths):
            v += W_PATH_MENTION * (s[0] or 1.0)
        elif sf.module_name and "." in sf.module_name and sf.module_name.lower() in text:
            v += W_MODULE_MENTION * (s[0] or 1.0)
        value[sf.path] = v
    return [str(p) for p in sorted(value, key=lambda p: -value[p])]
