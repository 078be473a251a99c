"""HASTE's planning stage: the candidates the packer chooses from (whole units, partial views, class
lines, guards, imports), the exact fit after packing, and the views grown into what budget is left."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..code import CodeUnit, SourceFile, unit_lines
from ..code.model import Block, names_used
from ..retrieval.packer import Candidate
from ..retrieval.text import terms as text_terms, words as text_words
from ._evidence import Evidence
from ._units import _FileIndex, _Index

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
CLASS_SIG_VALUE = 0.0    # a class line is worth nothing alone; methods pull it in
IMPORT_SHARE = 0.02      # an import is worth this share of the best kept unit that uses it


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

