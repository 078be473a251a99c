"""ScaleDown node postprocessors on hand-made nodes: copies, kept identity, figures, budgets, errors."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from llama_index.core.schema import (
    MetadataMode,
    NodeRelationship,
    NodeWithScore,
    RelatedNodeInfo,
    TextNode,
)

from llama_index.postprocessor.scaledown import (
    HasteNodePostprocessor,
    ScaleDownCompressorPostprocessor,
    SemanticNodePostprocessor,
)
from scaledown_core import HasteOptimizer, LocalCompressor
from scaledown_core.tokens import get_counter

QUERY = "How long do annual plan customers have to request a refund?"
BILLING = (
    "Northwind Cloud bills every workspace once a month on the day it was created. "
    "Invoices are sent by email to the billing contact. "
    "Monthly plans can be cancelled at any time and are never refunded. "
    "Customers on an annual plan may request a full refund within 45 days of the purchase date. "
    "Failed payments are retried three times over nine days. "
    "Enterprise contracts are invoiced quarterly and paid by bank transfer."
)
SECURITY = (
    "Every workspace supports single sign-on through SAML and OpenID Connect. "
    "Two-factor authentication can be required for all members. "
    "API tokens expire after 90 days unless the owner sets a shorter lifetime. "
    "Audit logs are retained for 400 days on the Business plan."
)
CODE = '''
import random

BASE_DELAY_S = 0.5


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt``: exponential and jittered."""
    return BASE_DELAY_S * (2 ** attempt) * random.uniform(0.5, 1.5)


def parse_line(line: str) -> list[str]:
    """Split one observation line into its fields."""
    parts = line.strip().split(";")
    if len(parts) != 7:
        raise ValueError(f"expected 7 fields, got {len(parts)}")
    return parts


def fahrenheit_to_celsius(value: float) -> float:
    """Convert a Fahrenheit reading, rounded to a tenth of a degree."""
    return round((value - 32.0) * 5.0 / 9.0, 1)
'''


def _node(text: str, node_id: str, score: float | None, **metadata: Any) -> NodeWithScore:
    node = TextNode(
        text=text,
        id_=node_id,
        metadata={"file_name": f"{node_id}.md", **metadata},
        excluded_llm_metadata_keys=["secret"],
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{node_id}")
    return NodeWithScore(node=node, score=score)


@pytest.fixture
def nodes() -> list[NodeWithScore]:
    return [_node(BILLING, "billing", 0.82, secret="s1"), _node(SECURITY, "security", 0.41)]


class RecordingCompressor(LocalCompressor):
    """The real LocalCompressor, noting which entry point each call came through."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[str, Any, Any]] = []

    def compress_documents(self, texts: Any, prompt: Any, max_tokens: Any = None, **kwargs: Any) -> Any:
        self.calls.append(("compress_documents", texts, max_tokens))
        return super().compress_documents(texts, prompt, max_tokens, **kwargs)

    async def acompress_documents(self, texts: Any, prompt: Any, max_tokens: Any = None, **kwargs: Any) -> Any:
        self.calls.append(("acompress_documents", texts, max_tokens))
        return await super().acompress_documents(texts, prompt, max_tokens, **kwargs)


def test_compressor_returns_copies_that_keep_identity(nodes: list[NodeWithScore]) -> None:
    before = copy.deepcopy(nodes)
    assert [n.node.node_id for n in ScaleDownCompressorPostprocessor().postprocess_nodes(nodes, query_str=QUERY)] \
        == ["billing"]  # nothing in the security node is about refunds: dropped
    out = ScaleDownCompressorPostprocessor(keep_empty=True).postprocess_nodes(nodes, query_str=QUERY)

    assert [n.node.node_id for n in out] == ["billing", "security"]
    assert [n.score for n in out] == [0.82, 0.41]
    assert out[1].node.get_content() == "" and out[1].node.metadata["relevance"] < 1.0
    assert [n.model_dump() for n in nodes] == [n.model_dump() for n in before]  # input untouched
    assert all(o.node is not i.node for o, i in zip(out, nodes))
    billing = out[0].node
    assert billing.relationships[NodeRelationship.SOURCE].node_id == "doc-billing"
    assert billing.metadata["file_name"] == "billing.md" and billing.metadata["secret"] == "s1"
    assert "within 45 days of the purchase date" in billing.get_content()
    assert len(billing.get_content()) < len(BILLING)
    counter = get_counter("gpt-4o")
    assert billing.metadata["original_tokens"] == counter.count(BILLING)
    assert billing.metadata["compressed_tokens"] == counter.count(billing.get_content())
    assert billing.metadata["compressed_tokens"] < billing.metadata["original_tokens"]


def test_figures_are_hidden_from_the_llm_and_the_embedding(nodes: list[NodeWithScore]) -> None:
    node = ScaleDownCompressorPostprocessor().postprocess_nodes(nodes, query_str=QUERY)[0].node

    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        shown = node.get_content(metadata_mode=mode)
        assert "original_tokens" not in shown and "compressed_tokens" not in shown
    assert "file_name: billing.md" in node.get_content(metadata_mode=MetadataMode.LLM)
    assert "secret" in node.excluded_llm_metadata_keys  # the caller's exclusions are kept


def test_max_tokens_caps_all_nodes_together(nodes: list[NodeWithScore]) -> None:
    budget = 50  # the two texts hold 137 tokens; the budget is shared in proportion to size
    out = ScaleDownCompressorPostprocessor(max_tokens=budget).postprocess_nodes(nodes, query_str=QUERY)

    counter = get_counter("gpt-4o")
    assert sum(counter.count(n.node.get_content()) for n in out) <= budget
    assert sum(n.node.metadata["compressed_tokens"] for n in out) <= budget
    assert "45 days" in out[0].node.get_content()


def test_empty_input_returns_empty_list_before_any_work() -> None:
    compressor = RecordingCompressor()
    post = ScaleDownCompressorPostprocessor(compressor=compressor)

    assert post.postprocess_nodes([]) == []  # no query needed for no nodes
    assert asyncio.run(post.apostprocess_nodes([])) == []
    assert compressor.calls == []


def test_missing_query_is_a_clear_error(nodes: list[NodeWithScore]) -> None:
    with pytest.raises(ValueError, match="needs the query"):
        ScaleDownCompressorPostprocessor().postprocess_nodes(nodes)
    with pytest.raises(ValueError, match="needs the query"):
        HasteNodePostprocessor().postprocess_nodes(nodes, query_str="   ")


def test_async_path_is_native(nodes: list[NodeWithScore]) -> None:
    compressor = RecordingCompressor()
    post = ScaleDownCompressorPostprocessor(compressor=compressor)

    out = asyncio.run(post.apostprocess_nodes(nodes, query_str=QUERY))
    sync = ScaleDownCompressorPostprocessor().postprocess_nodes(nodes, query_str=QUERY)

    assert [call[0] for call in compressor.calls] == ["acompress_documents"]
    assert [n.node.get_content() for n in out] == [n.node.get_content() for n in sync]
    assert [n.node.node_id for n in out] == ["billing"]


def test_one_call_for_the_whole_set(nodes: list[NodeWithScore]) -> None:
    compressor = RecordingCompressor()
    ScaleDownCompressorPostprocessor(compressor=compressor, max_tokens=60).postprocess_nodes(nodes, query_str=QUERY)

    assert compressor.calls == [("compress_documents", [BILLING, SECURITY], 60)]


def test_nodes_without_text_are_dropped_or_kept_empty(nodes: list[NodeWithScore]) -> None:
    blank = _node("   ", "blank", None)
    out = ScaleDownCompressorPostprocessor().postprocess_nodes([blank, nodes[0]], query_str=QUERY)
    assert [n.node.node_id for n in out] == ["billing"]

    out = ScaleDownCompressorPostprocessor(keep_empty=True).postprocess_nodes([blank, nodes[0]], query_str=QUERY)
    assert out[0].node.get_content() == "" and out[0].score is None
    assert out[0].node.metadata["scaledown_warnings"] == ["the document is empty or blank: nothing to keep"]
    assert "scaledown_warnings" not in out[0].node.get_content(metadata_mode=MetadataMode.LLM)


def test_a_budget_smaller_than_any_sentence_cuts_at_words_with_a_warning() -> None:
    out = ScaleDownCompressorPostprocessor(max_tokens=6).postprocess_nodes([_node(BILLING, "b", 0.9)],
                                                                          query_str=QUERY)
    text = out[0].node.get_content()
    assert 0 < get_counter("gpt-4o").count(text) <= 6
    assert all(word.strip(".,") in BILLING for word in text.replace("…", " ").split())
    assert "cut inside a sentence" in out[0].node.metadata["scaledown_warnings"][0]


def test_haste_keeps_the_code_the_query_needs() -> None:
    code = _node(CODE, "fetch", 0.7, file_path="weather/fetch.py")
    out = HasteNodePostprocessor(max_tokens=60).postprocess_nodes(
        [code], query_str="how is the retry backoff delay computed?"
    )

    text = out[0].node.get_content()
    assert "def backoff_delay" in text
    assert "def fahrenheit_to_celsius" not in text
    assert get_counter("gpt-4o").count(text) <= 60
    assert out[0].node.node_id == "fetch" and out[0].score == 0.7
    assert out[0].node.metadata["file_path"] == "weather/fetch.py"
    assert out[0].node.metadata["original_tokens"] > out[0].node.metadata["compressed_tokens"]


def test_haste_async_matches_sync() -> None:
    code = [_node(CODE, "a", 0.5), _node(CODE.replace("backoff", "retry"), "b", 0.4)]
    post = HasteNodePostprocessor(optimizer=HasteOptimizer(), max_tokens=120)
    query = "how is the retry backoff delay computed?"

    sync = post.postprocess_nodes(code, query_str=query)
    out = asyncio.run(post.apostprocess_nodes(code, query_str=query))

    assert [n.node.get_content() for n in out] == [n.node.get_content() for n in sync]
    assert sum(n.node.metadata["compressed_tokens"] for n in out) <= 120


@pytest.mark.parametrize(
    "cls, engine",
    [
        (ScaleDownCompressorPostprocessor, "compressor"),
        (HasteNodePostprocessor, "optimizer"),
        (SemanticNodePostprocessor, "optimizer"),
    ],
)
def test_a_wrong_engine_is_a_type_error(cls: Any, engine: str) -> None:
    with pytest.raises(TypeError, match=f"{engine} must be a ScaleDown engine"):
        cls(**{engine: object()})


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        ScaleDownCompressorPostprocessor(max_tokens=0)
    with pytest.raises(ValueError):
        ScaleDownCompressorPostprocessor(top_n=3)  # unknown field: extra="forbid"


def test_serialization_round_trip() -> None:
    post = ScaleDownCompressorPostprocessor(max_tokens=500)
    data = post.to_dict()

    assert data == {"max_tokens": 500, "rate": None, "keep_empty": False,
                    "class_name": "ScaleDownCompressorPostprocessor"}
    again = ScaleDownCompressorPostprocessor.from_dict(data)
    assert again.max_tokens == 500 and isinstance(again.compressor, LocalCompressor)
    assert HasteNodePostprocessor.class_name() == "HasteNodePostprocessor"


def test_postprocessing_is_traced_by_llamaindex_instrumentation(nodes: list[NodeWithScore]) -> None:
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler

    root = get_dispatcher()
    handler = SimpleSpanHandler()
    root.add_span_handler(handler)
    try:
        ScaleDownCompressorPostprocessor().postprocess_nodes(nodes, query_str=QUERY)
    finally:
        root.span_handlers.remove(handler)

    names = [span.id_ for span in handler.completed_spans]
    assert any(name.startswith("ScaleDownCompressorPostprocessor._postprocess_nodes") for name in names)


async def test_hosted_compressor_through_our_server(nodes: list[NodeWithScore]) -> None:
    import httpx

    from scaledown_core import ScaleDownCompressor
    from scaledown_core.server import create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(["k"]))) as http:
        compressor = ScaleDownCompressor(api_key="k", api_url="http://testserver", async_http_client=http)
        post = ScaleDownCompressorPostprocessor(compressor=compressor)
        out = await post.apostprocess_nodes(nodes, query_str=QUERY)

    assert [(n.node.node_id, n.score) for n in out] == [("billing", 0.82)]
    assert "within 45 days of the purchase date" in out[0].node.get_content()
    assert out[0].node.metadata["original_tokens"] > out[0].node.metadata["compressed_tokens"]
    assert nodes[0].node.get_content() == BILLING


@pytest.mark.parametrize("path, kept", [("src/mail/headers.py", "def parse_header"), (None, "def render_header")])
def test_haste_matches_a_nodes_file_path_to_the_query(path: Any, kept: str,
                                                      file_line_report: tuple[str, str]) -> None:
    source_code, query = file_line_report
    node = _node(source_code, "h", 0.5, **({"file_path": path} if path else {}))
    post = HasteNodePostprocessor(max_tokens=40)

    sync = post.postprocess_nodes([node], query_str=query)[0].node.get_content()
    out = asyncio.run(post.apostprocess_nodes([node], query_str=query))[0].node.get_content()

    assert kept in sync and out == sync


def test_a_node_that_cannot_be_deep_copied_is_copied_shallowly(caplog: pytest.LogCaptureFixture) -> None:
    import threading

    lock = threading.Lock()
    node = _node(BILLING, "locked", 0.4, lock=lock)
    out = ScaleDownCompressorPostprocessor().postprocess_nodes([node], query_str=QUERY)
    assert out[0].node.metadata["lock"] is lock and out[0].score == 0.4
    assert "original_tokens" not in node.node.metadata
    assert "deep-copied" in caplog.text
