"""The bad-input matrix: every public entry, fed what a hostile or careless caller sends, either
answers within its budget or raises a typed error (ScaleDownError, ValueError, TypeError), quickly."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from scaledown_core import HasteOptimizer, LocalCompressor, Pipeline, ScaleDownCompressor, SemanticOptimizer
from scaledown_core.exceptions import ScaleDownError
from scaledown_core.limits import MAX_INPUT_BYTES_ENV
from scaledown_core.tokens import count_tokens

TYPED = (ScaleDownError, ValueError, TypeError)
LIMIT = 300_000
SOURCE = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"

CASES: dict[str, tuple[Any, Any, Any]] = {  # context, query, max_tokens
    "context-none": (None, "area", 50),
    "context-bytes": (SOURCE.encode(), "area", 50),
    "context-int": (42, "area", 50),
    "context-list-of-ints": ([1, 2], "area", 50),
    "query-empty": (SOURCE, "", 50),
    "query-blank": (SOURCE, " \n\t", 50),
    "query-none": (SOURCE, None, 50),
    "query-bytes": (SOURCE, b"area", 50),
    "budget-zero": (SOURCE, "area", 0),
    "budget-negative": (SOURCE, "area", -5),
    "budget-bool": (SOURCE, "area", True),
    "budget-float": (SOURCE, "area", 1.5),
    "budget-str": (SOURCE, "area", "50"),
    "budget-huge": (SOURCE, "area", 10**30),
    "budget-one": (SOURCE, "area", 1),
    "nul-bytes": ("\x00" * 5000, "area", 50),
    "lone-surrogate": (SOURCE + "x = '\ud800'\n", "area", 50),
    "over-the-limit": ("x = 1\n" * (LIMIT // 6 + 1), "area", 50),
    "nested-parens": ("x = " + "(" * 50_000 + ")" * 50_000 + "\n", "area", 50),
    "one-long-token": ("a" * 200_000, "area", 50),
    "one-long-line": ("f(a);" * 40_000, "where is f called", 50),
    "bare-carriage-returns": ("\r".join(["def f():", "    return 1"] * 2000), "f", 50),
    "long-query": (SOURCE, "area " * 20_000, 50),
    "control-characters": ("".join(chr(i) for i in range(1, 32)) * 200, "area", 50),
}


def haste(c: Any, q: Any, m: Any) -> str:
    return HasteOptimizer().optimize(context=c, query=q, max_tokens=m).content


_semantic: list[SemanticOptimizer] = []


def _warm_semantic() -> SemanticOptimizer:
    """One optimizer, its model loaded before any case is timed (loading is not the case's cost)."""
    if not _semantic:
        optimizer = SemanticOptimizer(top_k=None)
        optimizer.optimize(context=SOURCE, query="area", max_tokens=50)
        _semantic.append(optimizer)
    return _semantic[0]


def semantic(c: Any, q: Any, m: Any) -> str:
    return _semantic[0].optimize(context=c, query=q, max_tokens=m).content


def local(c: Any, q: Any, m: Any) -> str:
    return LocalCompressor().compress(c, q, max_tokens=m).content


def pipeline(c: Any, q: Any, m: Any) -> str:
    return Pipeline([("haste", HasteOptimizer()), ("local", LocalCompressor())]).run(
        query=q, context=c, max_tokens=m).content


def client(c: Any, q: Any, m: Any) -> str:
    # a closed port: whatever passes the argument checks fails on the wire, as a typed error
    return ScaleDownCompressor(api_key="k-matrix", api_url="http://127.0.0.1:9", max_retries=0,
                               timeout=2).compress(c, q, max_tokens=m).content


def documents(c: Any, q: Any, m: Any) -> str:
    # a retrieved set: the case's context as one document of three (a blank one and a real one beside it)
    result = LocalCompressor().compress_documents([c, " ", SOURCE], q, max_tokens=m)
    return "".join(d.content for d in result.documents)


def agent_compress(c: Any, q: Any, m: Any) -> str:
    from scaledown_core.agent import AgentTools

    return AgentTools(".").compress_text(c, q, max_tokens=m).content


def batch_record(c: Any, q: Any, m: Any) -> str:
    from scaledown_core.batch._records import compress_one

    row = compress_one(LocalCompressor(), c, q, m)
    if row["error"] is not None:  # a batch writes a failed record with its error instead of raising
        raise ValueError(row["error"])
    return row["content"]


ENTRIES: dict[str, Callable[[Any, Any, Any], str]] = {
    "haste": haste, "local": local, "pipeline": pipeline, "client": client,
    "documents": documents, "agent-compress": agent_compress, "batch-record": batch_record,
    "semantic": pytest.param(semantic, marks=pytest.mark.slow),  # type: ignore[dict-item]
}


@pytest.mark.parametrize("entry", list(ENTRIES.values()), ids=list(ENTRIES))
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_gets_a_typed_error_or_a_result_within_budget(entry: Callable[[Any, Any, Any], str],
                                                                case: tuple[Any, Any, Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_INPUT_BYTES_ENV, str(LIMIT))
    context, query, max_tokens = case
    if entry is semantic:
        _warm_semantic()
    started = time.monotonic()
    try:
        content = entry(context, query, max_tokens)
    except TYPED as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
    else:
        assert isinstance(content, str)
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            assert count_tokens(content, "gpt-4o") <= max_tokens
        content.encode("utf-8")  # an answer is always valid Unicode
    assert time.monotonic() - started < 30
