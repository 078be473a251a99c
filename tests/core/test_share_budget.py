"""share_budget: per-item ceilings whose sum never exceeds a shared budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scaledown_core.retrieval import share_budget


def test_no_budget_means_no_ceilings() -> None:
    assert share_budget([10, 20], None) == [None, None]


def test_everything_fits_keeps_each_size() -> None:
    assert share_budget([10, 20, 0], 100) == [10, 20, 0]


def test_shares_follow_size_and_rounding_goes_to_largest_remainders() -> None:
    # exact shares 33.3, 66.6 and 0: the one token left by rounding down goes to the 66.6
    assert share_budget([100, 200, 0], 100) == [33, 67, 0]


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=30), st.integers(0, 20000))
def test_ceilings_never_exceed_budget_or_size(sizes: list[int], budget: int) -> None:
    shares = share_budget(sizes, budget)
    assert len(shares) == len(sizes)
    assert sum(shares) <= budget or sum(shares) == sum(sizes) <= budget
    assert all(0 <= s <= n for s, n in zip(shares, sizes))
    if sum(sizes) > budget:
        assert sum(shares) == budget
