"""pack: value per token under estimated costs, then an exact fit proven by ``measure``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scaledown_core.retrieval import Candidate, pack
from scaledown_core.tokens import get_counter

COUNTER = get_counter("gpt-4o")


def _words(keys: list[int], texts: list[str]) -> int:
    return COUNTER.count(" … ".join(texts[k] for k in keys))


def test_an_underestimated_selection_is_cut_to_fit_with_few_measures() -> None:
    texts = [f"sentence {i} about topic {i % 7}, with a few more words." for i in range(2000)]
    # every estimate is a third of the truth: the greedy pass overfills by far
    candidates = [Candidate(i, 1.0 / (1 + i), max(1, COUNTER.count(t) // 3)) for i, t in enumerate(texts)]
    calls = []

    def measure(keys: list[int]) -> int:
        calls.append(len(keys))
        return _words(keys, texts)

    kept = pack(candidates, 3000, measure)
    assert _words(kept, texts) <= 3000
    assert kept[:50] == list(range(50))  # the most valuable stay
    assert len(calls) < 10  # not one measure per dropped item


def test_a_required_key_is_dropped_only_after_what_needs_it() -> None:
    texts = ["class header", "a method that needs the header " * 20, "an unrelated helper " * 20]
    candidates = [Candidate(0, 0.0, 2), Candidate(1, 0.9, 10, requires=(0,)), Candidate(2, 0.1, 10)]
    kept = pack(candidates, 150, lambda keys: _words(keys, texts))
    assert kept == [0, 1]


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60), st.integers(1, 400))
def test_the_measured_selection_always_fits(sizes: list[int], budget: int) -> None:
    texts = ["word " * n for n in sizes]
    candidates = [Candidate(i, float(n), max(1, n // 2)) for i, n in enumerate(sizes)]
    kept = pack(candidates, budget, lambda keys: _words(keys, texts))
    assert _words(kept, texts) <= budget


def test_a_requirement_is_not_kept_alone_when_what_needed_it_is_dropped() -> None:
    texts = ["class Client:", "    def charge(self, amount):\n        return self.post(amount)"]
    budget = _words([0, 1], texts) - 2  # the estimates say both fit; the exact count says just not
    candidates = [Candidate(0, 0.0, 3), Candidate(1, 1.0, budget - 3, requires=(0,))]
    assert pack(candidates, budget, lambda keys: _words(keys, texts)) == []
