"""ScaleDownDocumentCompressor in real LangChain chains: BM25 and vector-store retrievers, pipelines."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline
from langchain_community.retrievers import BM25Retriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from pydantic import ValidationError

from langchain_scaledown import ScaleDownDocumentCompressor
from scaledown_core import HasteOptimizer, LocalCompressor
from scaledown_core.retrieval import share_budget
from scaledown_core.tokens import get_counter

QUERY = "Which flaw in the primary mirror of the Hubble telescope blurred its first images?"
NEEDLE = "A flaw in its primary mirror blurred the first images and was corrected in 1993."

PASSAGES = {
    "hubble": (
        "Edwin Hubble was an American astronomer born in 1889 in Marshfield, Missouri. "
        "He studied law at Oxford as a Rhodes Scholar before returning to astronomy. "
        "In 1929 he showed that galaxies recede at speeds proportional to their distance. "
        "The Hubble constant measures the present expansion rate of the universe. "
        "Its value is about 70 kilometres per second per megaparsec, although measurements disagree. "
        "The space telescope launched in 1990 carries his name. "
        "He died in 1953 in San Marino, California, and no funeral was held."
    ),
    "telescope": (
        "The Hubble Space Telescope orbits the Earth at about 540 kilometres. "
        "It was launched by the shuttle Discovery in April 1990. "
        "A flaw in its primary mirror blurred the first images and was corrected in 1993. "
        "Five servicing missions replaced gyroscopes, cameras and batteries. "
        "Its deep field images revealed thousands of galaxies in a tiny patch of sky. "
        "The telescope measured distances to Cepheid stars that fix the Hubble constant."
    ),
    "bread": (
        "Sourdough bread rises with a culture of wild yeast and lactic acid bacteria. "
        "Bakers feed the starter with flour and water every day. "
        "A long cold fermentation gives the crumb its sour taste. "
        "The loaf is baked in a very hot oven, often inside a covered pot. "
        "Steam keeps the crust soft early in the bake so that the bread can expand."
    ),
}


def _documents() -> list[Document]:
    return [
        Document(id=f"doc-{name}", page_content=text, metadata={"source": f"{name}.txt", "tags": [name]})
        for name, text in PASSAGES.items()
    ]


def _bm25(docs: list[Document]) -> BM25Retriever:
    return BM25Retriever.from_documents(docs, k=len(docs))


def test_contextual_compression_over_bm25_keeps_ids_order_and_metadata() -> None:
    docs = _documents()
    snapshot = copy.deepcopy(docs)
    base = _bm25(docs)
    retriever = ContextualCompressionRetriever(
        base_compressor=ScaleDownDocumentCompressor(), base_retriever=base
    )

    out = retriever.invoke(QUERY)

    retrieved = base.invoke(QUERY)
    assert [d.id for d in out] == [d.id for d in retrieved]
    local = LocalCompressor()
    counter = get_counter("gpt-4o")
    for original, compressed in zip(retrieved, out):
        expected = local.compress(original.page_content, QUERY)
        assert compressed.page_content == expected.content
        assert compressed.metadata == {
            **original.metadata,
            "original_tokens": counter.count(original.page_content),
            "compressed_tokens": expected.metrics.compressed_prompt_tokens,
        }
    telescope = next(d for d in out if d.id == "doc-telescope")
    assert NEEDLE in telescope.page_content
    assert telescope.metadata["compressed_tokens"] < telescope.metadata["original_tokens"]
    # the caller's documents are untouched; the output metadata is a copy
    assert docs == snapshot
    out[0].metadata["tags"].append("changed")
    assert docs == snapshot


def test_shared_budget_holds_for_the_whole_call() -> None:
    docs = _documents()
    compressor = ScaleDownDocumentCompressor(max_tokens=90)
    out = compressor.compress_documents(docs, QUERY)
    counter = get_counter("gpt-4o")
    assert [d.id for d in out] == [d.id for d in docs]
    assert sum(counter.count(d.page_content) for d in out) <= 90
    assert sum(d.metadata["compressed_tokens"] for d in out) <= 90
    assert NEEDLE in out[1].page_content


SENTENCES = [s.strip() + "." for text in PASSAGES.values() for s in text.split(". ") if s.strip(". ")]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=6), min_size=1, max_size=5),
    st.integers(1, 200),
)
def test_the_shared_budget_is_a_promise(texts: list[list[str]], budget: int) -> None:
    docs = [Document(id=str(i), page_content=" ".join(t)) for i, t in enumerate(texts)]
    out = ScaleDownDocumentCompressor(max_tokens=budget).compress_documents(docs, QUERY)
    assert [d.id for d in out] == [d.id for d in docs]
    assert sum(get_counter("gpt-4o").count(d.page_content) for d in out) <= budget


async def test_async_matches_sync() -> None:
    docs = _documents()
    compressor = ScaleDownDocumentCompressor(max_tokens=120)
    sync_out = compressor.compress_documents(docs, QUERY)
    async_out = await compressor.acompress_documents(docs, QUERY)
    assert async_out == sync_out


def test_code_documents_are_reduced_by_units(shop_dir: Path) -> None:
    source = (shop_dir / "payments.py").read_text()
    docs = [
        Document(id="by-source", page_content=source, metadata={"source": "src/payments.py"}),
        Document(id="by-language", page_content=source, metadata={"language": "python"}),
        Document(id="detected", page_content=source, metadata={}),
        Document(id="prose", page_content=PASSAGES["bread"], metadata={}),
        Document(id="markdown", page_content=PASSAGES["bread"], metadata={"language": "markdown"}),
    ]
    query = "how long does the client wait between retries of a charge"
    out = ScaleDownDocumentCompressor(max_tokens=500).compress_documents(docs, query)

    counter = get_counter("gpt-4o")
    shares = share_budget([counter.count(d.page_content) for d in docs], 500)
    haste, local = HasteOptimizer(), LocalCompressor()
    for doc, compressed, share in zip(docs, out, shares):
        if doc.id in ("by-source", "by-language", "detected"):
            expected = haste.optimize(context=doc.page_content, query=query, max_tokens=share)
            assert compressed.metadata["compressed_tokens"] == expected.metrics.optimized_tokens
            assert "def backoff_delay" in compressed.page_content
        else:
            expected = local.compress(doc.page_content, query, max_tokens=share)
        assert compressed.page_content == expected.content
    assert [d.id for d in out] == [d.id for d in docs]
    assert sum(counter.count(d.page_content) for d in out) <= 500


async def test_hosted_protocol_client_through_its_async_path() -> None:
    import httpx

    from scaledown_core import ScaleDownCompressor
    from scaledown_core.server.app import create_app

    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    docs = _documents()
    transport = httpx.ASGITransport(app=create_app(["test-key"]))
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [record]}) as http:
        client = ScaleDownCompressor(api_key="test-key", api_url="http://testserver", async_http_client=http)
        out = await ScaleDownDocumentCompressor(compressor=client).acompress_documents(docs, QUERY)

    assert [d.id for d in out] == [d.id for d in docs]
    assert sorted(r.url.path for r in sent) == ["/compress/raw/"] * 3
    bodies = sorted((json.loads(r.content) for r in sent), key=lambda b: b["context"])
    assert [b["context"] for b in bodies] == sorted(PASSAGES.values())
    assert all(set(b) <= {"context", "prompt", "scaledown", "model"} and b["prompt"] == QUERY for b in bodies)
    telescope = out[1]
    assert NEEDLE in telescope.page_content
    # the service's compressed_prompt stands for context and prompt together
    assert telescope.page_content.endswith("\n\n" + QUERY)
    assert telescope.metadata["compressed_tokens"] == get_counter("gpt-4o").count(telescope.page_content)
    assert telescope.metadata["source"] == "telescope.txt"


def test_pipeline_after_a_splitter() -> None:
    from langchain_text_splitters import CharacterTextSplitter

    splitter = CharacterTextSplitter(separator=". ", chunk_size=200, chunk_overlap=0)
    pipeline = DocumentCompressorPipeline(transformers=[splitter, ScaleDownDocumentCompressor()])
    docs = _documents()
    out = pipeline.compress_documents(docs, QUERY)
    chunks = splitter.transform_documents(docs)
    assert len(out) == len(chunks)
    assert [d.metadata["source"] for d in out] == [c.metadata["source"] for c in chunks]
    assert all({"original_tokens", "compressed_tokens"} <= set(d.metadata) for d in out)


def test_empty_input_does_no_work() -> None:
    from scaledown_core import ScaleDownCompressor

    # no API key is set: any call to the service would raise AuthenticationError
    compressor = ScaleDownDocumentCompressor(compressor=ScaleDownCompressor())
    assert compressor.compress_documents([], QUERY) == []


async def test_empty_input_does_no_work_async() -> None:
    from scaledown_core import ScaleDownCompressor

    compressor = ScaleDownDocumentCompressor(compressor=ScaleDownCompressor())
    assert await compressor.acompress_documents([], QUERY) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"max_tokens": 0}, {"rate": 0.5}, {"code_optimizer": HasteOptimizer(target_model="gpt-3.5-turbo")}],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScaleDownDocumentCompressor(**kwargs)


def test_a_document_without_room_is_emptied_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    docs = [
        Document(id="long", page_content=PASSAGES["telescope"]),
        Document(id="tiny", page_content="Mirror."),
        Document(id="blank", page_content="  ", metadata={"k": 1}),
    ]
    sizes = [get_counter("gpt-4o").count(d.page_content) for d in docs]
    assert share_budget(sizes, 10) == [10, 0, 0]  # the tiny document gets no share
    with caplog.at_level(logging.WARNING, logger="langchain_scaledown"):
        out = ScaleDownDocumentCompressor(max_tokens=10).compress_documents(docs, QUERY)
    assert [d.id for d in out] == ["long", "tiny", "blank"]
    assert out[1].page_content == ""
    assert out[1].metadata == {"original_tokens": 2, "compressed_tokens": 0}
    assert out[2].page_content == ""  # whitespace, but the budget holds no room for it either
    assert out[2].metadata == {"k": 1, "original_tokens": 1, "compressed_tokens": 0}
    assert "left no room for document tiny" in caplog.text
    assert "blank" not in caplog.text
    assert sum(get_counter("gpt-4o").count(d.page_content) for d in out) <= 10


def test_an_object_that_is_not_a_compressor_is_refused() -> None:
    with pytest.raises(TypeError, match="compressor must be a ScaleDown engine"):
        ScaleDownDocumentCompressor(compressor=object())


@pytest.mark.slow
def test_contextual_compression_over_a_vector_store(minilm_embeddings: Any) -> None:
    docs = _documents()
    store = InMemoryVectorStore(minilm_embeddings)
    store.add_documents(docs)
    base = store.as_retriever(search_kwargs={"k": 2})
    retriever = ContextualCompressionRetriever(
        base_compressor=ScaleDownDocumentCompressor(max_tokens=100), base_retriever=base
    )
    out = retriever.invoke(QUERY)
    assert [d.id for d in out] == [d.id for d in base.invoke(QUERY)]
    assert out[0].id == "doc-telescope"
    assert NEEDLE in out[0].page_content
    assert {d.id for d in out} == {"doc-telescope", "doc-hubble"}
    assert sum(d.metadata["compressed_tokens"] for d in out) <= 100


@pytest.mark.parametrize("source, kept", [("src/mail/headers.py", "def parse_header"), (None, "def render_header")])
async def test_a_code_documents_source_is_matched_to_the_query(source: Any, kept: str,
                                                               file_line_report: tuple[str, str]) -> None:
    source_code, query = file_line_report
    doc = Document(page_content=source_code, metadata={"language": "python", **({"source": source} if source else {})})
    compressor = ScaleDownDocumentCompressor(max_tokens=40)

    sync = compressor.compress_documents([doc], query)[0].page_content
    out = (await compressor.acompress_documents([doc], query))[0].page_content

    assert kept in sync and out == sync


def test_metadata_that_cannot_be_deep_copied_is_shared_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    import threading

    lock = threading.Lock()
    doc = Document(page_content=PASSAGES["bread"], metadata={"lock": lock, "source": "bread.md"})
    out = ScaleDownDocumentCompressor().compress_documents([doc], QUERY)
    assert out[0].metadata["lock"] is lock and out[0].metadata["source"] == "bread.md"
    assert "compressed_tokens" not in doc.metadata  # the input is still not changed
    assert "deep-copied" in caplog.text
