"""The one budget packer: choose what to show by value per token, then prove the fit exactly.

Every optimizer and compressor hands its scored candidates here. Costs are estimates (a unit's own
tokens plus its share of separators); ``measure`` renders a selection and counts it exactly, and the
packer drops the least valuable choices until the exact count fits. So the budget holds whatever
rendering adds, as long as ``measure`` is the real rendering.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Sequence, TypeVar

__all__ = ["Candidate", "pack", "share_budget"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Candidate(Generic[K]):
    """Something that may be shown: its key, what it is worth, what it costs in tokens.

    ``requires`` are keys that must be shown with it (a method needs its class header); their cost
    is paid when the first candidate needing them is chosen. Candidates that share a ``group`` are
    alternatives (a unit whole or in part): at most one of a group is chosen.
    """

    key: K
    value: float
    cost: int
    requires: tuple[K, ...] = ()
    group: Hashable | None = None


def _closure(c: Candidate[K], by_key: dict[K, Candidate[K]], chosen: set[K]) -> list[Candidate[K]]:
    """``c`` and every requirement not chosen yet, requirements first."""
    if not c.requires:  # most candidates: no walk needed
        return [] if c.key in chosen else [c]
    out: list[Candidate[K]] = []
    seen: set[K] = set()

    def visit(cand: Candidate[K]) -> None:
        if cand.key in seen or cand.key in chosen:
            return
        seen.add(cand.key)
        for req in cand.requires:
            if req in by_key:
                visit(by_key[req])
        out.append(cand)

    visit(c)
    return out


def _greedy(candidates: Sequence[Candidate[K]], budget: int) -> list[K]:
    by_key = {c.key: c for c in candidates}
    order = sorted(candidates, key=lambda c: (-(c.value / max(c.cost, 1)), -c.value))
    chosen: list[K] = []
    chosen_set: set[K] = set()
    groups: set[Hashable] = set()
    spent = 0
    for cand in order:
        if cand.value <= 0 or cand.key in chosen_set:
            continue
        bundle = _closure(cand, by_key, chosen_set)
        if any(b.group is not None and b.group in groups for b in bundle):
            continue
        extra = sum(b.cost for b in bundle)
        if spent + extra > budget:
            continue
        for b in bundle:
            chosen.append(b.key)
            chosen_set.add(b.key)
            if b.group is not None:
                groups.add(b.group)
        spent += extra
    return chosen


def pack(
    candidates: Sequence[Candidate[K]],
    budget: int,
    measure: Callable[[list[K]], int] | None = None,
) -> list[K]:
    """Keys to show, in the order of ``candidates``, whose exact cost fits ``budget``.

    Greedy by value per token under the estimated costs; then, if ``measure`` is given, while the
    measured selection exceeds the budget the least valuable keys that nothing else needs are dropped
    (as many as their estimated costs say the excess needs, then the selection is measured again).
    """
    if budget <= 0 or not candidates:
        return []
    by_key = {c.key: c for c in candidates}
    chosen = _greedy(candidates, budget)
    position = {c.key: i for i, c in enumerate(candidates)}
    chosen.sort(key=position.__getitem__)
    if measure is None:
        return chosen
    needed = Counter(r for k in chosen for r in by_key[k].requires if r != k)  # chosen keys that need each key
    size = measure(chosen) if chosen else 0
    while chosen and size > budget:
        # drop as many of the least valuable as the excess needs, in estimated tokens (scaled by how
        # far the estimates are off), then measure again
        estimated = sum(by_key[k].cost for k in chosen)
        excess, freed = (size - budget) * min(1.0, estimated / size), 0
        while chosen and freed < excess:
            droppable = [k for k in chosen if not needed[k]]
            victim = min(droppable, key=lambda k: (by_key[k].value, -by_key[k].cost))
            chosen.remove(victim)
            needed.subtract(r for r in by_key[victim].requires if r != victim)
            freed += max(by_key[victim].cost, 1)
        size = measure(chosen) if chosen else 0
    return _without_orphans(chosen, by_key)


def _without_orphans(chosen: list[K], by_key: dict[K, Candidate[K]]) -> list[K]:
    """``chosen`` less what is worth nothing alone (a class line, a title) once nothing kept needs it."""
    while True:
        needed = {r for k in chosen for r in by_key[k].requires if r != k}
        kept = [k for k in chosen if by_key[k].value > 0 or k in needed]
        if len(kept) == len(chosen):
            return chosen
        chosen = kept


def share_budget(sizes: Sequence[int], budget: int | None) -> list[int | None]:
    """Each item's ceiling so that items compressed separately together never exceed ``budget``.

    No budget: no ceilings. Everything fits: each item's ceiling is its own size, so nothing grows.
    Otherwise the budget is shared in proportion to size, and the tokens that rounding down leaves go
    to the largest remainders, so the ceilings sum to exactly ``budget`` (an item may get 0).
    """
    if budget is None:
        return [None] * len(sizes)
    total = sum(sizes)
    if total <= budget:
        return list(sizes)
    exact = [budget * size / total for size in sizes]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: budget - sum(shares)]:
        shares[i] += 1
    return list(shares)
