"""A tree's file ranking: what an issue report says about files (frames, modules, test files, defined
names, the import graph) moves the right file first; the budget still holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scaledown_core import HasteOptimizer
from scaledown_core.tokens import get_counter

FILES = {
    "shop/__init__.py": "from .cart import Cart\nfrom .pricing import price_of\n",
    "shop/cart.py": (
        "from .pricing import price_of\nfrom .util import clamp\n\n\n"
        "class Cart:\n    \"\"\"Items a customer is buying.\"\"\"\n\n"
        "    def __init__(self):\n        self.items = []\n\n"
        "    def add(self, item, quantity=1):\n        self.items.append((item, clamp(quantity, 1, 99)))\n\n"
        "    def total(self):\n        return sum(price_of(i) * q for i, q in self.items)\n"
    ),
    "shop/pricing.py": (
        "from .util import clamp\n\nTABLE = {}\n\n\n"
        "def price_of(item):\n    \"\"\"The price of one item.\"\"\"\n    return TABLE.get(item, 0)\n\n\n"
        "def apply_discount(price, percent):\n    return price * (1 - clamp(percent, 0, 100) / 100)\n"
    ),
    "shop/util.py": "def clamp(value, low, high):\n    return max(low, min(value, high))\n",
    "shop/shipping.py": (
        "from .util import clamp\n\n\n"
        "def shipping_cost(weight):\n    \"\"\"Cost of shipping a parcel of this weight.\"\"\"\n"
        "    return clamp(weight, 0, 30) * 2\n"
    ),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def _ranked(tree: Path, query: str, budget: int = 4000) -> list[str]:
    res = HasteOptimizer(use_index=False).optimize(query=query, file_path=str(tree), max_tokens=budget)
    assert get_counter("gpt-4o").count(res.content) <= budget
    return [_rel(p, tree) for p in res.metrics.extra["ranked_files"]]


def _rel(path: str, tree: Path) -> str:
    """A ranked path relative to the tree (paths come back as the tree was read)."""
    return (os.path.relpath(path, tree) if os.path.isabs(path) else path).replace(os.sep, "/")


def test_deepest_traceback_frame_names_the_file(tree: Path) -> None:
    query = ("Wrong total\n```\nTraceback (most recent call last):\n"
             f'  File "{tree}/shop/cart.py", line 15, in total\n'
             '  File "/usr/lib/python3/site-packages/shop/shipping.py", line 6, in shipping_cost\n'
             "KeyError: 3\n```")
    assert _ranked(tree, query)[0] == "shop/shipping.py"


def test_dotted_module_names_the_file(tree: Path) -> None:
    assert _ranked(tree, "Since the last release shop.shipping gives a negative cost for some parcels")[0] \
        == "shop/shipping.py"


def test_test_file_points_at_the_module_it_tests(tree: Path) -> None:
    assert _ranked(tree, "tests/test_pricing.py fails on Windows: a rounding error in the item")[0] == "shop/pricing.py"


def test_name_defined_in_one_file(tree: Path) -> None:
    assert _ranked(tree, "Calling `apply_discount` with 150 gives a negative number")[0] == "shop/pricing.py"


def test_every_file_is_ranked_once(tree: Path) -> None:
    ranked = _ranked(tree, "something about the shop")
    assert sorted(ranked) == sorted(FILES)


def test_pagerank_favours_the_imported_file(tree: Path) -> None:
    from scaledown_core.optimizer._files import _centrality
    from scaledown_core.optimizer._units import _get_index
    from scaledown_core.code import parse_source

    files = [parse_source((tree / rel).read_text(encoding="utf-8"), str(tree / rel)) for rel in FILES]
    central = _centrality(_get_index(files, "gpt-4o", {}))
    by_name = {_rel(str(p), tree): v for p, v in central.items()}
    assert max(by_name, key=by_name.__getitem__) == "shop/util.py"
    assert by_name["shop/util.py"] > by_name["shop/shipping.py"]


def test_small_budget_holds_with_the_file_lift(tree: Path) -> None:
    ranked = _ranked(tree, "shop.pricing: `price_of` returns 0 for known items", budget=60)
    assert ranked[0] == "shop/pricing.py"
