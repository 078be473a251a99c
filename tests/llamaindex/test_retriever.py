"""ScaleDownCodeRetriever: one scored node per selected unit, in a real RetrieverQueryEngine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeRelationship

from llama_index.retrievers.scaledown import ScaleDownCodeRetriever
from scaledown_core import HasteOptimizer, OptimizerError
from scaledown_core.code import ELISION
from scaledown_core.tokens import get_counter

RETRY_QUERY = "How is the delay before retrying a failed station request computed?"


def test_nodes_carry_file_and_lines_best_first(weather_dir: Path) -> None:
    nodes = ScaleDownCodeRetriever(paths=weather_dir, max_tokens=400).retrieve(RETRY_QUERY)

    assert nodes, "the retry code should be selected"
    top = nodes[0]
    assert top.metadata["name"] == "backoff_delay"
    assert top.metadata["file_path"] == "fetch.py"
    assert top.node.node_id == f"fetch.py:{top.metadata['start_line']}-{top.metadata['end_line']}"
    assert top.node.relationships[NodeRelationship.SOURCE].node_id == "fetch.py"
    reference = HasteOptimizer().optimize(query=RETRY_QUERY, file_path=[str(weather_dir)], max_tokens=400)
    assert [n.node.get_content() for n in nodes] == [s.text for s in reference.metrics.extra["ranked_units"]]
    assert top.node.get_content().startswith("def backoff_delay(")
    scores = [n.score for n in nodes]
    assert scores == sorted(scores, reverse=True)
    assert len({n.node.node_id for n in nodes}) == len(nodes)


def test_similarity_top_k_limits_the_nodes(weather_dir: Path) -> None:
    all_nodes = ScaleDownCodeRetriever(paths=[weather_dir], max_tokens=800).retrieve(RETRY_QUERY)
    two = ScaleDownCodeRetriever(paths=[weather_dir], max_tokens=800, similarity_top_k=2).retrieve(RETRY_QUERY)

    assert len(all_nodes) > 2
    assert [n.node.node_id for n in two] == [n.node.node_id for n in all_nodes[:2]]


def test_selection_respects_the_budget(weather_dir: Path) -> None:
    budget = 300
    nodes = ScaleDownCodeRetriever(paths=weather_dir, max_tokens=budget).retrieve(RETRY_QUERY)

    counter = get_counter("gpt-4o")
    assert sum(n.metadata["tokens"] for n in nodes) <= budget
    assert sum(counter.count(n.node.get_content()) for n in nodes) <= budget
    wider = ScaleDownCodeRetriever(paths=weather_dir, max_tokens=3 * budget).retrieve(RETRY_QUERY)
    assert len(wider) > len(nodes)


def test_a_unit_shown_in_part_comes_as_its_shown_code(weather_dir: Path) -> None:
    budget = 100
    nodes = ScaleDownCodeRetriever(paths=weather_dir, max_tokens=budget).retrieve(RETRY_QUERY)
    reference = HasteOptimizer().optimize(query=RETRY_QUERY, file_path=[str(weather_dir)], max_tokens=budget)
    spans = reference.metrics.extra["ranked_units"]
    assert [n.node.get_content() for n in nodes] == [s.text for s in spans]
    assert sum(n.metadata["tokens"] for n in nodes) <= budget
    assert sum(get_counter("gpt-4o").count(n.node.get_content()) for n in nodes) <= budget
    # a budget this tight shows at least one selected unit only in part
    part = next(n for n in nodes if n.metadata["partial"])
    lines = part.node.get_content().splitlines()
    assert any(line.strip() == ELISION for line in lines)
    source = (weather_dir / part.metadata["file_path"]).read_text().splitlines()
    assert lines != source[part.metadata["start_line"] - 1 : part.metadata["end_line"]]
    assert all(line in source or line.strip() == ELISION for line in lines)


def test_aretrieve_matches_retrieve(weather_dir: Path) -> None:
    retriever = ScaleDownCodeRetriever(paths=weather_dir, optimizer=HasteOptimizer(), max_tokens=400)

    sync = retriever.retrieve(RETRY_QUERY)
    out = asyncio.run(retriever.aretrieve(RETRY_QUERY))

    assert [(n.node.node_id, n.score) for n in out] == [(n.node.node_id, n.score) for n in sync]


def test_in_a_retriever_query_engine(weather_dir: Path, recording_llm: Any) -> None:
    retriever = ScaleDownCodeRetriever(paths=weather_dir, max_tokens=400, similarity_top_k=4)
    response = RetrieverQueryEngine.from_args(retriever=retriever, llm=recording_llm).query(RETRY_QUERY)
    prompt = recording_llm.prompts[-1]

    assert "def backoff_delay(" in prompt
    assert "file_path: fetch.py" in prompt and "name: backoff_delay" in prompt
    assert "tokens:" not in prompt  # bookkeeping stays out of the prompt
    source = "".join(p.read_text() for p in weather_dir.glob("*.py"))
    assert get_counter("gpt-4o").count(prompt) < get_counter("gpt-4o").count(source)
    assert response.source_nodes[0].metadata["name"] == "backoff_delay"
    embed_view = response.source_nodes[0].node.get_content(metadata_mode=MetadataMode.EMBED)
    assert "start_line" not in embed_view


def test_bad_arguments_are_clear_errors(weather_dir: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        ScaleDownCodeRetriever(paths=[])
    with pytest.raises(TypeError, match="paths"):
        ScaleDownCodeRetriever(paths=42)
    with pytest.raises(ValueError, match="engine"):
        ScaleDownCodeRetriever(paths=weather_dir, engine="bm25")
    with pytest.raises(ValueError, match="either engine or optimizer"):
        ScaleDownCodeRetriever(paths=weather_dir, engine="haste", optimizer=HasteOptimizer())
    with pytest.raises(TypeError, match="optimizer must have"):
        ScaleDownCodeRetriever(paths=weather_dir, optimizer=object())
    with pytest.raises(ValueError, match="similarity_top_k"):
        ScaleDownCodeRetriever(paths=weather_dir, similarity_top_k=0)
    with pytest.raises(ValueError, match="max_tokens"):
        ScaleDownCodeRetriever(paths=weather_dir, max_tokens=-5)


def test_a_missing_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    retriever = ScaleDownCodeRetriever(paths=missing)

    with pytest.raises(OptimizerError, match="nowhere"):
        retriever.retrieve(RETRY_QUERY)


def test_class_name() -> None:
    assert ScaleDownCodeRetriever.class_name() == "ScaleDownCodeRetriever"


@pytest.mark.slow
def test_semantic_engine(weather_dir: Path, minilm_path: str) -> None:
    semantic = pytest.importorskip("scaledown_core.optimizer.semantic")  # lands with issue 5
    optimizer = semantic.SemanticOptimizer(model_name=minilm_path)
    nodes = ScaleDownCodeRetriever(paths=weather_dir, optimizer=optimizer, max_tokens=400).retrieve(RETRY_QUERY)

    assert "backoff_delay" in [n.metadata["name"] for n in nodes[:3]]
    assert all(n.metadata["file_path"].endswith(".py") for n in nodes)
    reference = optimizer.optimize(query=RETRY_QUERY, file_path=[str(weather_dir)], max_tokens=400)
    spans = reference.metrics.extra["ranked_units"]
    assert [n.node.get_content() for n in nodes] == [s.text for s in spans]
    counter = get_counter("gpt-4o")
    assert all(n.metadata["tokens"] == counter.count(n.node.get_content()) for n in nodes)
    assert sum(n.metadata["tokens"] for n in nodes) <= 400


def test_semantic_engine_returns_as_many_nodes_as_asked(weather_dir: Path) -> None:
    nodes = ScaleDownCodeRetriever(paths=weather_dir, engine="semantic", similarity_top_k=5).retrieve(RETRY_QUERY)
    assert len(nodes) == 5  # the default SemanticOptimizer selects 3 units; the retriever asks for 5


def test_what_the_optimizer_warns_of_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "readme.txt").write_text("no code here")
    with caplog.at_level("WARNING", logger="llama_index.retrievers.scaledown.base"):
        assert ScaleDownCodeRetriever(paths=[str(tmp_path)]).retrieve("anything") == []
    assert "no Python files found" in caplog.text
