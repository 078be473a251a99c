"""``ScaleDownDocumentCompressor``: shorten each retrieved document to what the query needs."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, model_validator

__all__ = ["ScaleDownDocumentCompressor"]

PYTHON_SUFFIXES = (".py", ".pyi")
"""Sources with these suffixes are Python code: reduced by units (HasteOptimizer), not by sentences."""


class ScaleDownDocumentCompressor(BaseDocumentCompressor):
    """Compress each document against the query with ScaleDown; one output document per input.

    Prose goes through ``compressor`` (``LocalCompressor`` by default, offline; or
    ``ScaleDownCompressor`` for the hosted service). Python code (``metadata["language"] ==
    "python"``, a ``.py`` source, or text the core detects as code) goes through ``code_optimizer``
    (``HasteOptimizer``), which keeps whole functions and classes rather than sentences.

    The output documents are copies: ``id`` and metadata are kept, and ``original_tokens`` and
    ``compressed_tokens`` (target-model tokens) are added to metadata. With ``max_tokens``, the
    documents of one call together never exceed that many tokens.

    Example:
        .. code-block:: python

            from langchain_classic.retrievers import ContextualCompressionRetriever
            from langchain_scaledown import ScaleDownDocumentCompressor

            retriever = ContextualCompressionRetriever(
                base_compressor=ScaleDownDocumentCompressor(max_tokens=1500),
                base_retriever=vector_store.as_retriever(),
            )
    """

    compressor: Any = Field(default=None, exclude=True)
    """``LocalCompressor`` (default) or ``ScaleDownCompressor``; compresses prose documents."""
    code_optimizer: Any = Field(default=None, exclude=True)
    """``HasteOptimizer`` by default (same target model as ``compressor``); reduces code documents."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Budget shared by the documents of one call, in target-model tokens (no shared budget if None)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _build_engines(self) -> ScaleDownDocumentCompressor:
        import scaledown_core

        if self.compressor is None:
            self.compressor = scaledown_core.LocalCompressor()
        if self.code_optimizer is None:
            self.code_optimizer = scaledown_core.HasteOptimizer(target_model=self.compressor.target_model)
        if self.code_optimizer.target_model != self.compressor.target_model:
            raise ValueError(
                "compressor and code_optimizer must count tokens for the same target model; got "
                f"{self.compressor.target_model!r} and {self.code_optimizer.target_model!r}"
            )
        return self

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Compress ``documents`` against ``query``; the result has one document per input, in order."""
        if not documents:
            return []
        budgets = self._budgets(documents)
        results: list[Any] = [None] * len(documents)
        code, prose = self._split(documents)
        for i in code:
            results[i] = self.code_optimizer.optimize(
                context=documents[i].page_content, query=query, max_tokens=budgets[i]
            )
        for indices, budget in _batches(prose, budgets):
            texts = [documents[i].page_content for i in indices]
            for i, result in zip(indices, self.compressor.compress(texts, query, max_tokens=budget)):
                results[i] = result
        return [_compressed_copy(doc, result) for doc, result in zip(documents, results)]

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async ``compress_documents``: prose batches go through the compressor's async path."""
        if not documents:
            return []
        budgets = self._budgets(documents)
        code, prose = self._split(documents)
        batches = _batches(prose, budgets)
        outcomes = await asyncio.gather(
            *(
                self.code_optimizer.aoptimize(
                    context=documents[i].page_content, query=query, max_tokens=budgets[i]
                )
                for i in code
            ),
            *(
                self.compressor.acompress(
                    [documents[i].page_content for i in indices], query, max_tokens=budget
                )
                for indices, budget in batches
            ),
        )
        results: list[Any] = [None] * len(documents)
        for i, result in zip(code, outcomes[: len(code)]):
            results[i] = result
        for (indices, _), batch in zip(batches, outcomes[len(code) :]):
            for i, result in zip(indices, batch):
                results[i] = result
        return [_compressed_copy(doc, result) for doc, result in zip(documents, results)]

    def _split(self, documents: Sequence[Document]) -> tuple[list[int], list[int]]:
        """Indices of code documents and of prose documents."""
        code = [i for i, doc in enumerate(documents) if _is_code(doc)]
        code_set = set(code)
        return code, [i for i in range(len(documents)) if i not in code_set]

    def _budgets(self, documents: Sequence[Document]) -> list[int | None]:
        """Each document's share of ``max_tokens`` (None where no limit applies)."""
        if self.max_tokens is None:
            return [None] * len(documents)
        from scaledown_core.tokens import get_counter

        sizes = get_counter(self.compressor.target_model).count_many([d.page_content for d in documents])
        return share_budget(sizes, self.max_tokens)


def share_budget(sizes: list[int], budget: int) -> list[int | None]:
    """TODO: move to the core."""
    total = sum(sizes)
    if total <= budget:
        return [None] * len(sizes)
    return [budget * size // total for size in sizes]


def _batches(indices: list[int], budgets: list[int | None]) -> list[tuple[list[int], int | None]]:
    """``indices`` grouped by budget, so documents with the same limit go in one batched call."""
    groups: dict[int | None, list[int]] = {}
    for i in indices:
        groups.setdefault(budgets[i], []).append(i)
    return list(groups.items())


def _is_code(doc: Document) -> bool:
    language = str(doc.metadata.get("language", "")).lower()
    if language:
        return language == "python"
    return str(doc.metadata.get("source", "")).endswith(PYTHON_SUFFIXES)


def _compressed_copy(doc: Document, result: Any) -> Document:
    """A copy of ``doc`` holding the compressed text, with the compression figures in metadata."""
    original, compressed = _figures(result)
    return Document(
        id=doc.id,
        page_content=result.content,
        metadata={**copy.deepcopy(doc.metadata), "original_tokens": original, "compressed_tokens": compressed},
    )


def _figures(result: Any) -> tuple[int, int]:
    metrics = result.metrics
    if hasattr(metrics, "original_prompt_tokens"):
        return metrics.original_prompt_tokens, metrics.compressed_prompt_tokens
    return metrics.original_tokens, metrics.optimized_tokens
