"""``ScaleDownDocumentCompressor``: shorten each retrieved document to what the query needs."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, model_validator
from scaledown_core.optimizer import source_keywords

__all__ = ["ScaleDownDocumentCompressor"]

logger = logging.getLogger(__name__)

PYTHON_SUFFIXES = (".py", ".pyi")
"""A ``source`` with one of these suffixes is Python code."""
CODE_UNIT_KINDS = frozenset({"function", "class", "method"})
"""Text that parses as Python without errors and defines one of these is code, not prose."""


class ScaleDownDocumentCompressor(BaseDocumentCompressor):
    """Compress each document against the query with ScaleDown; one output document per input.

    Prose goes through ``compressor``: ``LocalCompressor`` by default (offline, extractive), or
    ``ScaleDownCompressor`` for the hosted service. Python code (``metadata["language"] ==
    "python"``, a ``source`` ending in ``.py``, or text that parses as Python and defines functions
    or classes) goes through ``code_optimizer`` (``HasteOptimizer``), which keeps whole functions
    and classes rather than sentences.

    The output documents are copies: ``id`` and metadata are kept, and ``original_tokens`` and
    ``compressed_tokens`` (target-model tokens) are added. With ``max_tokens``, the documents of one
    call together never exceed that many tokens: the budget is shared in proportion to each
    document's size (a document left with no room comes back empty, with a logged warning).

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
        _require(self.compressor, "compressor", ("compress", "acompress", "target_model"))
        if self.code_optimizer is None:
            self.code_optimizer = scaledown_core.HasteOptimizer(target_model=self.compressor.target_model)
        _require(self.code_optimizer, "code_optimizer", ("optimize", "aoptimize", "target_model"))
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
        """Compress ``documents`` against ``query``; one document per input, in input order."""
        if not documents:
            return []
        plan = self._plan(documents)
        results: dict[int, Any] = {}
        for i in plan.code:
            results[i] = self.code_optimizer.optimize(
                context=documents[i].page_content, query=query, max_tokens=plan.ceilings[i],
                **source_keywords(self.code_optimizer, documents[i].metadata.get("source")),
            )
        for indices, ceiling in plan.prose_batches():
            texts = [documents[i].page_content for i in indices]
            results.update(zip(indices, self.compressor.compress(texts, query, max_tokens=ceiling)))
        return plan.assemble(documents, results)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """``compress_documents`` through the engines' async paths, all documents at once."""
        if not documents:
            return []
        plan = self._plan(documents)
        batches = plan.prose_batches()
        outcomes = await asyncio.gather(
            *(
                self.code_optimizer.aoptimize(
                    context=documents[i].page_content, query=query, max_tokens=plan.ceilings[i],
                    **source_keywords(self.code_optimizer, documents[i].metadata.get("source")),
                )
                for i in plan.code
            ),
            *(
                self.compressor.acompress(
                    [documents[i].page_content for i in indices], query, max_tokens=ceiling
                )
                for indices, ceiling in batches
            ),
        )
        results: dict[int, Any] = dict(zip(plan.code, outcomes[: len(plan.code)]))
        for (indices, _), batch in zip(batches, outcomes[len(plan.code) :]):
            results.update(zip(indices, batch))
        return plan.assemble(documents, results)

    def _plan(self, documents: Sequence[Document]) -> _Plan:
        from scaledown_core.retrieval import share_budget
        from scaledown_core.tokens import get_counter

        texts = [doc.page_content for doc in documents]
        sizes = get_counter(self.compressor.target_model).count_many(texts)
        ceilings = share_budget(sizes, self.max_tokens)
        work = [i for i, text in enumerate(texts) if text.strip() and ceilings[i] != 0]
        is_code = {i: _is_code(documents[i]) for i in work}
        code = [i for i in work if is_code[i]]
        prose = [i for i in work if not is_code[i]]
        return _Plan(sizes, ceilings, code, prose)


@dataclass(frozen=True)
class _Plan:
    """Which engine reduces which document, and each document's ceiling."""

    sizes: list[int]
    ceilings: list[int | None]
    code: list[int]
    prose: list[int]

    def prose_batches(self) -> list[tuple[list[int], int | None]]:
        """Prose documents grouped by ceiling: each group is one batched compressor call."""
        groups: dict[int | None, list[int]] = {}
        for i in self.prose:
            groups.setdefault(self.ceilings[i], []).append(i)
        return [(indices, ceiling) for ceiling, indices in groups.items()]

    def assemble(self, documents: Sequence[Document], results: dict[int, Any]) -> list[Document]:
        """One copy per input: the engine's text where it ran, else the text as it was or emptied."""
        out = []
        for i, doc in enumerate(documents):
            size, ceiling = self.sizes[i], self.ceilings[i]
            if i in results:
                out.append(_compressed_copy(doc, results[i]))
            elif not doc.page_content.strip():  # blank: nothing to compress, kept if it fits
                fits = ceiling is None or size <= ceiling
                out.append(_copy(doc, doc.page_content if fits else "", size, size if fits else 0))
            else:
                logger.warning("the shared max_tokens left no room for document %s: its text was emptied",
                               doc.id if doc.id is not None else f"#{i}")
                out.append(_copy(doc, "", size, 0))
        return out


def _require(engine: Any, field: str, members: tuple[str, ...]) -> None:
    """A clear ``TypeError`` when ``engine`` lacks what this compressor calls."""
    missing = [m for m in members if not hasattr(engine, m)]
    if missing:
        raise TypeError(f"{field} must be a ScaleDown engine; {type(engine).__name__} lacks {', '.join(missing)}")


def _is_code(doc: Document) -> bool:
    """Python code by metadata (``language``, ``source``) or, without either, by parsing it."""
    language = doc.metadata.get("language")
    if language:
        return str(getattr(language, "value", language)).lower() == "python"
    source = doc.metadata.get("source")
    if isinstance(source, str) and source.endswith(PYTHON_SUFFIXES):
        return True
    from scaledown_core.code import parse_source
    from scaledown_core.code.languages import language_for_path

    if isinstance(source, str) and language_for_path(source) is not None:  # .go, .java, .rs, .js, .ts: by extension
        return True

    parsed = parse_source(doc.page_content)
    return not parsed.has_syntax_errors and any(u.kind in CODE_UNIT_KINDS for u in parsed.units)


def _compressed_copy(doc: Document, result: Any) -> Document:
    metrics = result.metrics
    if hasattr(metrics, "original_prompt_tokens"):  # CompressedPrompt
        original, compressed = metrics.original_prompt_tokens, metrics.compressed_prompt_tokens
        warnings = metrics.extra.get("warnings") or []
    else:  # OptimizedContext
        original, compressed, warnings = metrics.original_tokens, metrics.optimized_tokens, metrics.warnings
    for warning in warnings:
        logger.warning("document %s: %s", doc.id, warning)
    return _copy(doc, result.content, original, compressed)


def _copy(doc: Document, text: str, original: int, compressed: int) -> Document:
    """A copy of ``doc`` (id and deep-copied metadata) holding ``text`` and the compression figures."""
    try:
        metadata = copy.deepcopy(doc.metadata)
    except Exception as exc:  # noqa: BLE001 - a lock, a generator, a client: values that cannot be copied
        logger.warning("document %s: metadata could not be deep-copied (%s); its values are shared with "
                       "the input document", doc.id, exc)
        metadata = dict(doc.metadata)
    metadata["original_tokens"] = original
    metadata["compressed_tokens"] = compressed
    return Document(id=doc.id, page_content=text, metadata=metadata)
