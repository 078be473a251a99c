"""The postprocessors inside real LlamaIndex query engines: what reaches the LLM's prompt.

A VectorStoreIndex over the test data, embedded with the packaged all-MiniLM-L6-v2, answers through
LlamaIndex's MockLLM (which records each prompt). Each test runs the same query with and without the
ScaleDown postprocessor and compares the prompts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine

from llama_index.postprocessor.scaledown import HasteNodePostprocessor, ScaleDownCompressorPostprocessor
from scaledown_core.tokens import get_counter

pytestmark = pytest.mark.slow  # loads the packaged embedding model

REFUND_QUERY = "How many days do customers on an annual plan have to request a refund?"
RETRY_QUERY = "How is the delay before retrying a failed station request computed?"


def _tokens(text: str) -> int:
    return get_counter("gpt-4o").count(text)


def _ids_and_scores(response: Any) -> list[tuple[str, float | None]]:
    return [(n.node.node_id, n.score) for n in response.source_nodes]


def test_as_query_engine_sends_fewer_tokens_and_keeps_the_answer(handbook_index: Any, recording_llm: Any) -> None:
    plain = handbook_index.as_query_engine(llm=recording_llm, similarity_top_k=3)
    baseline = plain.query(REFUND_QUERY)
    baseline_prompt = recording_llm.prompts[-1]

    engine = handbook_index.as_query_engine(
        llm=recording_llm,
        similarity_top_k=3,
        node_postprocessors=[ScaleDownCompressorPostprocessor()],
    )
    response = engine.query(REFUND_QUERY)
    prompt = recording_llm.prompts[-1]

    assert len(recording_llm.prompts) == 2  # one LLM call each
    assert "within 45 days of the purchase date" in prompt
    assert REFUND_QUERY in prompt
    assert _tokens(prompt) < 0.75 * _tokens(baseline_prompt)
    kept = _ids_and_scores(response)
    assert kept and all(pair in _ids_and_scores(baseline) for pair in kept)  # a subset, in the same order
    assert sorted(kept, key=_ids_and_scores(baseline).index) == kept
    for node in response.source_nodes:
        assert node.metadata["compressed_tokens"] <= node.metadata["original_tokens"]
        assert node.metadata["file_name"].endswith(".md")
    assert "original_tokens" not in prompt and "compressed_tokens" not in prompt
    assert "file_path:" in prompt  # the metadata the LLM normally sees is still there


def test_retriever_query_engine_with_a_budget(handbook_index: Any, recording_llm: Any) -> None:
    budget = 200
    engine = RetrieverQueryEngine.from_args(
        retriever=handbook_index.as_retriever(similarity_top_k=4),
        llm=recording_llm,
        node_postprocessors=[ScaleDownCompressorPostprocessor(max_tokens=budget)],
    )
    response = engine.query(REFUND_QUERY)
    prompt = recording_llm.prompts[-1]

    assert sum(_tokens(n.node.get_content()) for n in response.source_nodes) <= budget
    assert "45 days" in prompt
    assert response.source_nodes[0].metadata["file_name"] == "billing.md"
    scores = [n.score for n in response.source_nodes]
    assert scores == sorted(scores, reverse=True)  # the retriever's order and scores come through


def test_async_query_goes_through_the_postprocessor(handbook_index: Any, recording_llm: Any) -> None:
    engine = handbook_index.as_query_engine(
        llm=recording_llm, similarity_top_k=3, node_postprocessors=[ScaleDownCompressorPostprocessor()]
    )
    response = asyncio.run(engine.aquery(REFUND_QUERY))

    assert "within 45 days of the purchase date" in recording_llm.prompts[-1]
    assert all("compressed_tokens" in n.metadata for n in response.source_nodes)


def test_haste_postprocessor_over_a_code_index(weather_index: Any, recording_llm: Any) -> None:
    retriever = weather_index.as_retriever(similarity_top_k=3)
    RetrieverQueryEngine.from_args(retriever=retriever, llm=recording_llm).query(RETRY_QUERY)
    baseline_prompt = recording_llm.prompts[-1]

    budget = 500
    engine = RetrieverQueryEngine.from_args(
        retriever=retriever,
        llm=recording_llm,
        node_postprocessors=[HasteNodePostprocessor(max_tokens=budget)],
    )
    response = engine.query(RETRY_QUERY)
    prompt = recording_llm.prompts[-1]

    assert "def backoff_delay" in baseline_prompt  # the retriever found the file
    assert "def backoff_delay" in prompt
    assert "random.uniform" in prompt  # the body of the function, not just its name
    assert _tokens(prompt) < _tokens(baseline_prompt)
    assert sum(_tokens(n.node.get_content()) for n in response.source_nodes) <= budget
    fetch = [n for n in response.source_nodes if n.metadata["file_name"] == "fetch.py"]
    assert fetch and fetch[0].metadata["compressed_tokens"] < fetch[0].metadata["original_tokens"]


def test_semantic_postprocessor_over_a_code_index(weather_index: Any, recording_llm: Any, minilm_path: str) -> None:
    semantic = pytest.importorskip("scaledown_core.optimizer.semantic")  # lands with issue 5
    from llama_index.postprocessor.scaledown import SemanticNodePostprocessor

    retriever = weather_index.as_retriever(similarity_top_k=3)
    baseline = RetrieverQueryEngine.from_args(retriever=retriever, llm=recording_llm).query(RETRY_QUERY)
    baseline_prompt = recording_llm.prompts[-1]

    budget = 500
    post = SemanticNodePostprocessor(optimizer=semantic.SemanticOptimizer(model_name=minilm_path), max_tokens=budget)
    response = RetrieverQueryEngine.from_args(
        retriever=retriever, llm=recording_llm, node_postprocessors=[post]
    ).query(RETRY_QUERY)
    prompt = recording_llm.prompts[-1]

    assert "def backoff_delay" in prompt
    assert _tokens(prompt) < _tokens(baseline_prompt)
    assert sum(_tokens(n.node.get_content()) for n in response.source_nodes) <= budget
    assert _ids_and_scores(response) == _ids_and_scores(baseline)
