"""ScaleDownCodeRetriever over real source files: langchain-tests' standard suite and exact mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.tools import create_retriever_tool
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pydantic import ValidationError

from langchain_scaledown import ScaleDownCodeRetriever
from scaledown_core import HasteOptimizer
from scaledown_core.code import ELISION
from scaledown_core.tokens import get_counter

SHOP = Path(__file__).resolve().parent / "data" / "shop"
QUERY = "how is a card charge retried when the payment gateway is unavailable"
METADATA_KEYS = {"source", "qualname", "kind", "start_line", "end_line", "relevance_score", "tokens"}


class TestScaleDownCodeRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[ScaleDownCodeRetriever]:
        return ScaleDownCodeRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"paths": [str(SHOP)]}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


def _expected(result: Any, k: int) -> list[tuple[Any, ...]]:
    return [
        (f"{s.path}:{s.start_line}-{s.end_line}", s.path, s.name, s.kind, s.start_line, s.end_line, s.score, s.tokens,
         s.text)
        for s in result.metrics.extra["ranked_units"][:k]
    ]


def _observed(docs: list[Document]) -> list[tuple[Any, ...]]:
    return [
        (
            d.id,
            d.metadata["source"],
            d.metadata["qualname"],
            d.metadata["kind"],
            d.metadata["start_line"],
            d.metadata["end_line"],
            d.metadata["relevance_score"],
            d.metadata["tokens"],
            d.page_content,
        )
        for d in docs
    ]


def test_documents_are_the_ranked_units_best_first(shop_dir: Path) -> None:
    retriever = ScaleDownCodeRetriever(paths=[str(shop_dir)], k=3, max_tokens=800)
    docs = retriever.invoke(QUERY)

    reference = HasteOptimizer().optimize(query=QUERY, file_path=[str(shop_dir)], max_tokens=800)
    assert _observed(docs) == _expected(reference, 3)
    assert len(docs) == 3
    assert all(set(d.metadata) == METADATA_KEYS for d in docs)
    scores = [d.metadata["relevance_score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    top = docs[0]
    # a directory's files are named relative to it, as the optimizer renders them
    assert top.metadata["source"] == "payments.py"
    assert top.metadata["qualname"] == "GatewayClient.charge"
    assert top.metadata["kind"] == "method"
    assert "def charge(self, card_token: str, amount_cents: int) -> str:" in top.page_content
    source_lines = (shop_dir / "payments.py").read_text().splitlines()
    assert source_lines[top.metadata["start_line"] - 1].strip().startswith("def charge")


def test_a_unit_shown_in_part_comes_as_its_shown_code(shop_dir: Path) -> None:
    budget = 60
    docs = ScaleDownCodeRetriever(paths=[str(shop_dir)], k=10, max_tokens=budget).invoke(QUERY)
    reference = HasteOptimizer().optimize(query=QUERY, file_path=[str(shop_dir)], max_tokens=budget)
    ranked = reference.metrics.extra["ranked_units"]
    assert [d.page_content for d in docs] == [s.text for s in ranked]
    assert sum(d.metadata["tokens"] for d in docs) <= budget
    assert sum(get_counter("gpt-4o").count(d.page_content) for d in docs) <= budget
    assert all(d.metadata["tokens"] for d in docs)
    # a budget this tight shows a selected unit (the 20-line charge method) only in part
    part = next(d for d, s in zip(docs, ranked) if s.partial)
    lines = part.page_content.splitlines()
    assert any(line.strip() == ELISION for line in lines)
    source = (shop_dir / part.metadata["source"]).read_text().splitlines()
    whole = source[part.metadata["start_line"] - 1 : part.metadata["end_line"]]
    assert lines != whole  # the shown part, not the whole line range
    assert all(line in source or line.strip() == ELISION for line in lines)


def test_k_from_invoke_overrides_the_constructor(shop_dir: Path) -> None:
    retriever = ScaleDownCodeRetriever(paths=str(shop_dir), k=4)
    four = retriever.invoke(QUERY)
    two = retriever.invoke(QUERY, k=2)
    assert len(four) == 4
    assert [d.id for d in two] == [d.id for d in four[:2]]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        retriever.invoke(QUERY, k=0)
    with pytest.raises(ValidationError):
        ScaleDownCodeRetriever(paths=str(shop_dir), k=True)
    with pytest.raises(TypeError):
        retriever.invoke(QUERY, top_n=2)


async def test_async_gives_the_same_documents(shop_dir: Path) -> None:
    retriever = ScaleDownCodeRetriever(paths=[str(shop_dir)], k=3)
    sync_docs = retriever.invoke(QUERY)
    async_docs = await retriever.ainvoke(QUERY, k=3)
    assert async_docs == sync_docs


def test_injected_optimizer_is_used(shop_dir: Path) -> None:
    optimizer = HasteOptimizer(top_k=1, max_add=0, bfs_depth=0)
    retriever = ScaleDownCodeRetriever(paths=[str(shop_dir)], optimizer=optimizer, k=5)
    assert retriever.optimizer is optimizer
    reference = optimizer.optimize(query=QUERY, file_path=[str(shop_dir)])
    assert _observed(retriever.invoke(QUERY)) == _expected(reference, 5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"paths": []},
        {"paths": ["x.py"], "k": 0},
        {"paths": ["x.py"], "engine": "grep"},
        {"paths": ["x.py"], "top_n": 3},
        {"paths": ["x.py"], "max_tokens": True},
        {"paths": ["x.py"], "optimizer": object(), "optimizer_kwargs": {"top_k": 2}},
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScaleDownCodeRetriever(**kwargs)


def test_an_object_that_is_not_an_optimizer_is_refused() -> None:
    with pytest.raises(TypeError, match="lacks optimize, aoptimize"):
        ScaleDownCodeRetriever(paths=["x.py"], optimizer=object())


def test_retriever_tool_returns_the_selected_code(shop_dir: Path) -> None:
    retriever = ScaleDownCodeRetriever(paths=[str(shop_dir)], k=2)
    tool = create_retriever_tool(retriever, "search_code", "Find the code relevant to a question.")
    text = tool.invoke({"query": QUERY})
    docs = retriever.invoke(QUERY)
    assert text == "\n\n".join(d.page_content for d in docs)
    assert "def charge(" in text


@pytest.mark.slow
def test_semantic_engine_with_the_packaged_model(shop_dir: Path, minilm_path: str) -> None:
    pytest.importorskip("scaledown_core.optimizer.semantic", reason="SemanticOptimizer has not landed yet")
    retriever = ScaleDownCodeRetriever(
        paths=[str(shop_dir)], engine="semantic", k=2, optimizer_kwargs={"model_name": minilm_path}
    )
    assert retriever.optimizer.top_k == 2
    docs = retriever.invoke("apply a percentage discount code to an amount")
    assert len(docs) == 2
    assert docs[0].metadata["qualname"] == "apply_discount"
    assert docs[0].metadata["source"] == "pricing.py"
    reference = retriever.optimizer.optimize(query="apply a percentage discount code to an amount",
                                             file_path=[str(shop_dir)])
    assert _observed(docs) == _expected(reference, 2)
    assert all(d.metadata["tokens"] == get_counter("gpt-4o").count(d.page_content) for d in docs)


def test_what_the_optimizer_warns_of_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "readme.txt").write_text("no code here")
    with caplog.at_level("WARNING", logger="langchain_scaledown.retrievers"):
        assert ScaleDownCodeRetriever(paths=[str(tmp_path)]).invoke("anything") == []
    assert "no Python files found" in caplog.text
