"""ScaleDownDocumentCompressor in real LangChain chains: BM25 and vector-store retrievers, pipelines."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import httpx
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


def _subsequence(ids: list[Any], of: list[Any]) -> bool:
    it = iter(of)
    return all(i in it for i in ids)


def test_contextual_compression_over_bm25_keeps_ids_order_and_metadata() -> None:
    docs = _documents()
    snapshot = copy.deepcopy(docs)
    base = _bm25(docs)
    retriever = ContextualCompressionRetriever(
        base_compressor=ScaleDownDocumentCompressor(), base_retriever=base
    )

    out = retriever.invoke(QUERY)

    retrieved = base.invoke(QUERY)
    # the set is compressed as one context: the same call on the core, mapped back per document
    expected = LocalCompressor().compress_documents([d.page_content for d in retrieved], QUERY)
    kept = [(doc, r) for doc, r in zip(retrieved, expected) if r.content]
    assert [d.id for d in out] == [doc.id for doc, _ in kept]
    assert "doc-bread" not in [d.id for d in out]  # nothing in it is relevant: dropped, as EmbeddingsFilter does
    for compressed, (original, result) in zip(out, kept):
        assert compressed.page_content == result.content
        assert compressed.metadata == {
            **original.metadata,
            "original_tokens": get_counter("gpt-4o").count(original.page_content),
            "compressed_tokens": result.compressed_tokens,
            "relevance_score": result.relevance,
        }
    telescope = next(d for d in out if d.id == "doc-telescope")
    assert NEEDLE in telescope.page_content
    assert telescope.metadata["relevance_score"] == 1.0
    assert sum(d.metadata["compressed_tokens"] for d in out) < sum(d.metadata["original_tokens"] for d in out)
    # the caller's documents are untouched; the output metadata is a copy
    assert docs == snapshot
    out[0].metadata["tags"].append("changed")
    assert docs == snapshot


def test_shared_budget_holds_for_the_whole_call() -> None:
    docs = _documents()
    compressor = ScaleDownDocumentCompressor(max_tokens=90)
    out = compressor.compress_documents(docs, QUERY)
    counter = get_counter("gpt-4o")
    assert _subsequence([d.id for d in out], [d.id for d in docs])
    assert sum(counter.count(d.page_content) for d in out) <= 90
    assert sum(d.metadata["compressed_tokens"] for d in out) <= 90
    assert NEEDLE in next(d for d in out if d.id == "doc-telescope").page_content


def test_the_answering_document_keeps_its_sentence_where_per_document_shares_lost_it() -> None:
    # 20 tokens of budget: a share by size (the old way) left the telescope passage about 7 tokens
    docs = _documents()
    out = ScaleDownDocumentCompressor(max_tokens=20).compress_documents(docs, QUERY)
    assert [d.id for d in out] == ["doc-telescope"]
    assert out[0].page_content == NEEDLE


SENTENCES = [s.strip() + "." for text in PASSAGES.values() for s in text.split(". ") if s.strip(". ")]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(SENTENCES), min_size=0, max_size=6), min_size=1, max_size=5),
    st.integers(1, 200),
    st.sampled_from([None, "auto", 0.3]),
)
def test_the_shared_budget_is_a_promise(texts: list[list[str]], budget: int, rate: Any) -> None:
    docs = [Document(id=str(i), page_content=" ".join(t)) for i, t in enumerate(texts)]
    snapshot = copy.deepcopy(docs)
    out = ScaleDownDocumentCompressor(max_tokens=budget, rate=rate, keep_empty=True).compress_documents(docs, QUERY)
    assert [d.id for d in out] == [d.id for d in docs]
    assert sum(get_counter("gpt-4o").count(d.page_content) for d in out) <= budget
    for doc, compressed in zip(docs, out):  # whole sentences of the document, or pieces with a warning
        cut = "cut inside a sentence" in " ".join(compressed.metadata.get("scaledown_warnings", []))
        if not cut:
            assert all(piece.strip() in doc.page_content for piece in compressed.page_content.split(" … "))
    assert docs == snapshot


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
        Document(id="markdown", page_content=PASSAGES["telescope"], metadata={"language": "markdown"}),
    ]
    query = "how long does the client wait between retries of a charge"
    out = ScaleDownDocumentCompressor(max_tokens=500, keep_empty=True).compress_documents(docs, query)

    counter = get_counter("gpt-4o")
    sizes = [counter.count(d.page_content) for d in docs]
    shares = share_budget(sizes[:3] + [sizes[3] + sizes[4]], 500)  # each code document, then the prose set
    haste = HasteOptimizer()
    for doc, compressed, share in zip(docs[:3], out, shares):
        expected = haste.optimize(context=doc.page_content, query=query, max_tokens=share)
        assert compressed.page_content == expected.content
        assert compressed.metadata["compressed_tokens"] == expected.metrics.optimized_tokens
        assert "def backoff_delay" in compressed.page_content
    prose = LocalCompressor().compress_documents([d.page_content for d in docs[3:]], query, shares[-1], rate=1.0)
    assert [d.page_content for d in out[3:]] == [r.content for r in prose]
    assert [d.id for d in out] == [d.id for d in docs]
    assert sum(counter.count(d.page_content) for d in out) <= 500


def test_code_keeps_its_indentation_and_whole_functions(shop_dir: Path) -> None:
    source = (shop_dir / "payments.py").read_text()
    doc = Document(page_content=source, metadata={"source": "payments.py"})
    out = ScaleDownDocumentCompressor(max_tokens=200).compress_documents([doc], "retry delay backoff")
    text = out[0].page_content
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert all(ln in source.splitlines() for ln in body)  # every line as it was, indentation and all


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

    # one request for the set, with the documents' boundaries and ids
    assert [r.url.path for r in sent] == ["/compress/documents/"]
    body = json.loads(sent[0].content)
    assert set(body) == {"documents", "prompt", "scaledown", "model"} and body["prompt"] == QUERY
    assert body["documents"] == [{"text": d.page_content, "id": d.id} for d in docs]
    local = LocalCompressor().compress_documents([d.page_content for d in docs], QUERY)
    assert [d.page_content for d in out] == [r.content for r in local if r.content]
    telescope = next(d for d in out if d.id == "doc-telescope")
    assert NEEDLE in telescope.page_content and not telescope.page_content.endswith(QUERY)
    assert telescope.metadata["compressed_tokens"] == get_counter("gpt-4o").count(telescope.page_content)
    assert telescope.metadata["source"] == "telescope.txt"


def test_a_server_without_the_documents_route_is_used_one_document_at_a_time(
        caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    from scaledown_core import ScaleDownCompressor
    from scaledown_core.server.app import create_app

    app = create_app(["test-key"])  # as the hosted service: /compress/raw/ only
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", "") != "/compress/documents/"]
    paths: list[str] = []
    with httpx.Client(transport=_SyncASGI(app, paths)) as http:
        client = ScaleDownCompressor(api_key="test-key", api_url="http://testserver", http_client=http)
        with caplog.at_level(logging.WARNING):
            out = ScaleDownDocumentCompressor(compressor=client, max_tokens=150).compress_documents(_documents(), QUERY)
    assert paths == ["/compress/documents/"] + ["/compress/raw/"] * 3
    assert all("compressed on its own" in " ".join(d.metadata["scaledown_warnings"]) for d in out)
    assert "no /compress/documents/ route" in caplog.text
    assert sum(d.metadata["compressed_tokens"] for d in out) <= 150


class _SyncASGI(httpx.BaseTransport):
    """A sync transport into an ASGI app (httpx's ASGITransport is async only), recording the paths."""

    def __init__(self, app: Any, paths: list[str]) -> None:
        self.app, self.paths = app, paths

    def handle_request(self, request: Any) -> Any:
        import asyncio

        self.paths.append(request.url.path)

        async def go() -> Any:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app)) as ac:
                r = await ac.request(request.method, str(request.url), headers=request.headers, content=request.read())
                return httpx.Response(r.status_code, headers=r.headers, content=r.content)

        return asyncio.run(go())


def test_pipeline_after_a_splitter() -> None:
    from langchain_text_splitters import CharacterTextSplitter

    splitter = CharacterTextSplitter(separator=". ", chunk_size=200, chunk_overlap=0)
    pipeline = DocumentCompressorPipeline(transformers=[splitter, ScaleDownDocumentCompressor()])
    docs = _documents()
    out = pipeline.compress_documents(docs, QUERY)
    chunks = splitter.transform_documents(docs)
    assert 0 < len(out) < len(chunks)  # the chunks with nothing relevant are dropped
    assert _subsequence([d.page_content for d in out], [c.page_content for c in chunks])  # short: kept whole
    assert any(NEEDLE.rstrip(".") in d.page_content for d in out)
    assert all({"original_tokens", "compressed_tokens", "relevance_score"} <= set(d.metadata) for d in out)


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
    [{"max_tokens": 0}, {"rate": 1.5}, {"rate": "fast"}, {"code_optimizer": HasteOptimizer(target_model="gpt-3.5-turbo")}],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScaleDownDocumentCompressor(**kwargs)


def test_blank_repeated_and_irrelevant_documents(caplog: pytest.LogCaptureFixture) -> None:
    docs = [
        Document(id="long", page_content=PASSAGES["telescope"]),
        Document(id="again", page_content=PASSAGES["telescope"]),
        Document(id="blank", page_content="  ", metadata={"k": 1}),
        Document(id="bread", page_content=PASSAGES["bread"]),
    ]
    snapshot = copy.deepcopy(docs)
    assert [d.id for d in ScaleDownDocumentCompressor().compress_documents(docs, QUERY)] == ["long"]
    with caplog.at_level(logging.WARNING, logger="langchain_scaledown"):
        out = ScaleDownDocumentCompressor(keep_empty=True).compress_documents(docs, QUERY)
    assert [d.id for d in out] == ["long", "again", "blank", "bread"]
    assert [bool(d.page_content) for d in out] == [True, False, False, False]
    assert out[1].metadata["scaledown_warnings"] == ["the same text as document 0, which stands for both"]
    assert out[2].metadata == {"k": 1, "original_tokens": 1, "compressed_tokens": 0, "relevance_score": 0.0,
                               "scaledown_warnings": ["the document is empty or blank: nothing to keep"]}
    assert "scaledown_warnings" not in out[3].metadata  # not relevant enough: no degradation to report
    assert "document again: the same text" in caplog.text
    assert docs == snapshot


def test_the_refund_chunk_keeps_its_answer() -> None:
    refund = Document(page_content="Customers may ask for a refund within 30 days of purchase. Our office is in Berlin.")
    other = Document(page_content="Support answers e-mail on working days. Phone support is open from 9 to 5.")
    for docs in ([refund], [refund, other]):
        out = ScaleDownDocumentCompressor().compress_documents(docs, "How long do I have to get a refund?")
        assert "within 30 days" in out[0].page_content


def test_a_page_content_that_is_not_a_string_is_a_type_error() -> None:
    bad = Document.model_construct(page_content=42, metadata={}, id="x")
    with pytest.raises(TypeError, match="page_content must be a string"):
        ScaleDownDocumentCompressor().compress_documents([Document(page_content="fine"), bad], QUERY)


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
    assert _subsequence([d.id for d in out], [d.id for d in base.invoke(QUERY)])
    assert out[0].id == "doc-telescope"
    assert NEEDLE in out[0].page_content
    assert {d.id for d in out} <= {"doc-telescope", "doc-hubble"}
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
