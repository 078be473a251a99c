"""The ``rag`` suite's systems: a retrieved set handed on through real LangChain / LlamaIndex objects.

Every adapter has ``rag(documents, query, budget) -> dict(output=[texts handed on], info=...)``; the
budget is in o200k tokens (None: the system's default). Documents are ``{"id", "text"}``.

Ours:
- ``LangChainScaleDown``: ``ContextualCompressionRetriever(base_compressor=ScaleDownDocumentCompressor(
  max_tokens=budget), base_retriever=<a retriever returning the record's documents>)``.
- ``LlamaIndexScaleDown``: ``ScaleDownCompressorPostprocessor(max_tokens=budget).postprocess_nodes``
  over the nodes with the MiniLM retrieval scores a vector retriever would give them.
- ``JoinedLocal``: the reference, ``LocalCompressor`` on the documents joined as one context
  (``rate`` = budget / tokens; default ``rate="auto"``).

Peers (all with the packaged MiniLM):
- ``LangChainEmbeddingsFilter``: ``EmbeddingsFilter(k=len(documents))`` in the same retriever flow;
  it ranks whole documents; at a budget the harness keeps them best-first while they fit. Default:
  ``EmbeddingsFilter()`` (k=20).
- ``LangChainSplitterFilter``: ``DocumentCompressorPipeline([CharacterTextSplitter(chunk_size=300,
  chunk_overlap=0, separator=". "), EmbeddingsFilter(...)])`` as LangChain's guide builds it; the
  chunks are filled best-first like the filter's documents.
- ``LlamaIndexSentenceOptimizer``: ``SentenceEmbeddingOptimizer(percentile_cutoff=ratio)`` over the
  nodes (each node on its own; default: its own defaults); no token knob: cut to the budget.
- ``LlamaIndexSimilarity``: ``SimilarityPostprocessor()`` (defaults) over the scored nodes; no token
  knob: the nodes, best score first, cut to the budget.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from bench.adapters.common import count
from bench.adapters.compress_peers import _minilm_embedding, _minilm_path


def _fill(texts: Sequence[str], budget: int | None) -> list[str]:
    """Texts best-first while each fits what is left of the budget (all of them without a budget)."""
    if budget is None:
        return list(texts)
    kept, used = [], 0
    for t in texts:
        cost = count(t)
        if used + cost <= budget:
            kept.append(t)
            used += cost
    return kept


def _cut(texts: Sequence[str], budget: int | None) -> tuple[list[str], bool]:
    """Texts in order, the last one cut at a token boundary where the budget runs out."""
    from scaledown_core.tokens import get_counter

    if budget is None or sum(count(t) for t in texts) <= budget:
        return list(texts), False
    out, used = [], 0
    for t in texts:
        room = budget - used
        if room <= 0:
            break
        piece = t if count(t) <= room else get_counter("gpt-4o").truncate(t, room)
        out.append(piece)
        used += count(piece)
    return out, True


def _retriever(documents: Sequence[dict[str, str]]) -> Any:
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    docs = [Document(id=d["id"], page_content=d["text"]) for d in documents]

    class Fixed(BaseRetriever):
        """What a vector store's retriever returns for this record: its documents, in order."""

        def _get_relevant_documents(self, query: str, *, run_manager: Any = None) -> list[Document]:
            return list(docs)

    return Fixed()


def _hf_embeddings() -> Any:
    """MiniLM behind LangChain's ``CacheBackedEmbeddings`` (in memory), as a deployment would cache
    document vectors: a record's documents are embedded once, at its first (default) setting."""
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_core.stores import InMemoryByteStore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings

        model = HuggingFaceEmbeddings(model_name=_minilm_path(), model_kwargs={"device": "cpu"})
    return CacheBackedEmbeddings.from_bytes_store(model, InMemoryByteStore(), namespace="minilm",
                                                  query_embedding_cache=True)


WARMUP = [{"id": "a", "text": "Paris\nParis is the capital of France."}, {"id": "b", "text": "Bread\nBread is baked."}]


class _Base:
    def warmup(self, suite: str) -> None:
        self.rag(WARMUP, "What is the capital of France?", None)
        self.rag(WARMUP, "What is the capital of France?", 8)


class LangChainScaleDown(_Base):
    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from langchain_classic.retrievers import ContextualCompressionRetriever
        from langchain_scaledown import ScaleDownDocumentCompressor

        retriever = ContextualCompressionRetriever(base_compressor=ScaleDownDocumentCompressor(max_tokens=budget),
                                                   base_retriever=_retriever(documents))
        out = retriever.invoke(query)
        return {"output": [d.page_content for d in out], "info": {"kept": len(out)}}


def _cached(embed: Any) -> Any:
    """``embed`` with its text embeddings memoised (a record's texts are embedded once, at its first setting)."""
    memo: dict[str, list[float]] = {}
    batch = embed._get_text_embeddings

    def embeddings(texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in memo]
        if new:
            memo.update(zip(new, batch(new)))
        return [memo[t] for t in texts]

    object.__setattr__(embed, "_get_text_embeddings", embeddings)
    object.__setattr__(embed, "_get_text_embedding", lambda text: embeddings([text])[0])
    object.__setattr__(embed, "_get_query_embedding", lambda query: embeddings([query])[0])
    return embed


def _scored_nodes(embed: Any, documents: list[dict[str, str]], query: str) -> tuple[list[Any], float]:
    """The nodes with the cosine similarity a MiniLM vector retriever would score them with, and the
    seconds that took (the retriever's work: the runner takes it out of the postprocessor's latency)."""
    import time

    import numpy as np
    from llama_index.core.schema import NodeWithScore, TextNode

    started = time.perf_counter()
    vectors = np.array(embed.get_text_embedding_batch([d["text"] for d in documents]))
    q = np.array(embed.get_query_embedding(query))
    sims = vectors @ q
    nodes = [NodeWithScore(node=TextNode(text=d["text"], id_=d["id"]), score=float(s)) for d, s in zip(documents, sims)]
    return nodes, time.perf_counter() - started


class LlamaIndexScaleDown(_Base):
    def __init__(self) -> None:
        self.embed = _cached(_minilm_embedding())

    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from llama_index.postprocessor.scaledown import ScaleDownCompressorPostprocessor

        nodes, retrieval = _scored_nodes(self.embed, documents, query)
        out = ScaleDownCompressorPostprocessor(max_tokens=budget).postprocess_nodes(nodes, query_str=query)
        return {"output": [n.node.get_content() for n in out], "info": {"retrieval_seconds": retrieval}}


class JoinedLocal(_Base):
    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from scaledown_core import LocalCompressor

        context = "\n\n".join(d["text"] for d in documents)
        # rate x the joined text's tokens = the budget (the separators count a few tokens more)
        rate: Any = "auto" if budget is None else min(1.0, max(budget / count(context), 1e-6))
        result = LocalCompressor(rate=rate).compress(context, query, max_tokens=budget)
        return {"output": [result.content] if result.content else [], "info": {"rate": result.metrics.rate}}


class LangChainEmbeddingsFilter(_Base):
    def __init__(self) -> None:
        self.embeddings = _hf_embeddings()

    def _compressor(self, n: int, budget: int | None) -> Any:
        from langchain_classic.retrievers.document_compressors import EmbeddingsFilter

        return EmbeddingsFilter(embeddings=self.embeddings) if budget is None else \
            EmbeddingsFilter(embeddings=self.embeddings, k=n)

    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from langchain_classic.retrievers import ContextualCompressionRetriever

        retriever = ContextualCompressionRetriever(base_compressor=self._compressor(len(documents), budget),
                                                   base_retriever=_retriever(documents))
        ranked = [d.page_content for d in retriever.invoke(query)]
        return {"output": _fill(ranked, budget)}


class LangChainSplitterFilter(LangChainEmbeddingsFilter):
    def _compressor(self, n: int, budget: int | None) -> Any:
        from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline, EmbeddingsFilter
        from langchain_text_splitters import CharacterTextSplitter

        splitter = CharacterTextSplitter(chunk_size=300, chunk_overlap=0, separator=". ")
        filt = EmbeddingsFilter(embeddings=self.embeddings) if budget is None else \
            EmbeddingsFilter(embeddings=self.embeddings, k=10_000)
        return DocumentCompressorPipeline(transformers=[splitter, filt])


class LlamaIndexSentenceOptimizer(_Base):
    def __init__(self) -> None:
        self.embed = _cached(_minilm_embedding())

    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from llama_index.core.postprocessor import SentenceEmbeddingOptimizer

        nodes, retrieval = _scored_nodes(self.embed, documents, query)
        total = sum(count(d["text"]) for d in documents)
        ratio = None if budget is None else budget / total
        optimizer = SentenceEmbeddingOptimizer(embed_model=self.embed) if ratio is None else \
            SentenceEmbeddingOptimizer(embed_model=self.embed, percentile_cutoff=ratio, context_before=0,
                                       context_after=0)
        out = optimizer.postprocess_nodes(nodes, query_str=query)
        texts, cut = _cut([n.node.get_content() for n in out], budget)
        return {"output": [t for t in texts if t], "cut": cut, "info": {"retrieval_seconds": retrieval}}


class LlamaIndexSimilarity(_Base):
    def __init__(self) -> None:
        self.embed = _cached(_minilm_embedding())

    def rag(self, documents: list[dict[str, str]], query: str, budget: int | None) -> dict[str, Any]:
        from llama_index.core.postprocessor import SimilarityPostprocessor

        nodes, retrieval = _scored_nodes(self.embed, documents, query)
        out = SimilarityPostprocessor().postprocess_nodes(nodes, query_str=query)
        ranked = sorted(out, key=lambda n: -(n.score or 0.0))
        texts, cut = _cut([n.node.get_content() for n in ranked], budget)
        return {"output": texts, "cut": cut, "info": {"retrieval_seconds": retrieval}}
