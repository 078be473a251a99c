"""``ScaleDownDocumentCompressor``: the retrieved documents compressed against the query as one set."""

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

WARNINGS = "scaledown_warnings"
"""Metadata key, present only when something degraded (a blank or repeated document, a cut sentence)."""


class ScaleDownDocumentCompressor(BaseDocumentCompressor):
    """Compress the retrieved documents against the query as one context, with ScaleDown.

    The prose documents of one call go to ``compressor`` in **one** call
    (``compress_documents``): the engine ranks every sentence of every document against the query
    at once, so the document that answers keeps its sentences and the others give way; what is kept
    is mapped back to the document it came from. ``LocalCompressor`` by default (offline,
    extractive); ``ScaleDownCompressor`` for a ScaleDown server. Source code (``metadata["language"]``
    naming a language ScaleDown reads, a ``source`` with such an extension, or text that parses as
    Python and defines functions or classes) goes through ``code_optimizer`` (``HasteOptimizer``), which keeps whole
    functions and classes with their indentation.

    Budget: ``max_tokens`` caps the documents of one call together (code documents get their
    share by size, the prose set the rest); ``rate`` is the fraction of the prose set's tokens to
    keep, or ``"auto"`` (drop what is clearly irrelevant, keep the relevant documents whole where the
    budget allows). Left unset, ``rate`` is the budget's own (fill ``max_tokens``) when
    ``max_tokens`` is set, else the compressor's (``"auto"`` by default).

    Output: copies, in input order, of the documents of which something was kept; a document with
    nothing relevant is dropped (as ``EmbeddingsFilter`` drops one), or kept with empty text when
    ``keep_empty=True``. ``id`` and metadata are kept; ``original_tokens``, ``compressed_tokens``,
    ``relevance_score`` (the document's best sentence against the best document's, 0..1) and, when
    something degraded, ``scaledown_warnings`` are added.

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
    """``LocalCompressor`` (default) or ``ScaleDownCompressor``; compresses the prose documents."""
    code_optimizer: Any = Field(default=None, exclude=True)
    """``HasteOptimizer`` by default (same target model as ``compressor``); reduces code documents."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Budget for the documents of one call together, in target-model tokens (None: ``rate`` decides)."""
    rate: float | str | None = None
    """Fraction of the prose tokens to keep, or ``"auto"``; None: fill ``max_tokens``, else the compressor's."""
    keep_empty: bool = False
    """Return a document of which nothing was kept, with empty text, instead of dropping it."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _build_engines(self) -> ScaleDownDocumentCompressor:
        import scaledown_core
        from scaledown_core.compressor._core import check_rate

        if self.rate is not None:
            self.rate = check_rate(self.rate)
        if self.compressor is None:
            self.compressor = scaledown_core.LocalCompressor()
        _require(self.compressor, "compressor", ("compress_documents", "acompress_documents", "target_model"))
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
        """Compress ``documents`` against ``query`` as one set; kept documents in input order."""
        if not documents:
            return []
        plan = self._plan(documents)
        results: dict[int, Any] = {}
        for i in plan.code:
            results[i] = self.code_optimizer.optimize(
                context=documents[i].page_content, query=query, max_tokens=plan.code_ceilings[i],
                **source_keywords(self.code_optimizer, documents[i].metadata.get("source")),
            )
        if plan.prose:
            prose = self.compressor.compress_documents(
                [documents[i].page_content for i in plan.prose], query, plan.prose_ceiling, **plan.options(documents),
            )
            results.update(zip(plan.prose, prose.documents))
            _log_set_warnings(prose)
        return plan.assemble(documents, results, self.keep_empty)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """``compress_documents`` through the engines' async paths, code and prose at once."""
        if not documents:
            return []
        plan = self._plan(documents)
        prose_call = (
            [self.compressor.acompress_documents(
                [documents[i].page_content for i in plan.prose], query, plan.prose_ceiling, **plan.options(documents),
            )]
            if plan.prose else []
        )
        outcomes = await asyncio.gather(
            *(
                self.code_optimizer.aoptimize(
                    context=documents[i].page_content, query=query, max_tokens=plan.code_ceilings[i],
                    **source_keywords(self.code_optimizer, documents[i].metadata.get("source")),
                )
                for i in plan.code
            ),
            *prose_call,
        )
        results: dict[int, Any] = dict(zip(plan.code, outcomes[: len(plan.code)]))
        if plan.prose:
            results.update(zip(plan.prose, outcomes[-1].documents))
            _log_set_warnings(outcomes[-1])
        return plan.assemble(documents, results, self.keep_empty)

    def _plan(self, documents: Sequence[Document]) -> _Plan:
        from scaledown_core.retrieval import share_budget
        from scaledown_core.tokens import get_counter

        texts = [_text_of(doc, i) for i, doc in enumerate(documents)]
        work = [i for i, text in enumerate(texts) if text.strip()]
        is_code = {i: _is_code(documents[i]) for i in work}
        code = [i for i in work if is_code[i]]
        prose = [i for i in range(len(documents)) if i not in is_code or not is_code[i]]
        code_ceilings: dict[int, int | None] = {i: None for i in code}
        prose_ceiling = self.max_tokens
        if self.max_tokens is not None and code:
            sizes = get_counter(self.compressor.target_model).count_many(texts)
            shares = share_budget([sizes[i] for i in code] + [sum(sizes[i] for i in prose)], self.max_tokens)
            code_ceilings = dict(zip(code, shares[:-1]))
            prose_ceiling = max(shares[-1] or 0, 1) if prose else None
        rate = self.rate if self.rate is not None else (1.0 if self.max_tokens is not None else None)
        return _Plan(code, code_ceilings, prose, prose_ceiling, rate)


@dataclass(frozen=True)
class _Plan:
    """Which engine reduces which document, and the budgets."""

    code: list[int]
    code_ceilings: dict[int, int | None]
    prose: list[int]
    prose_ceiling: int | None
    rate: float | str | None

    def options(self, documents: Sequence[Document]) -> dict[str, Any]:
        """The retrieved set's ids and retriever scores, and the rate, for ``compress_documents``."""
        docs = [documents[i] for i in self.prose]
        scores = [_retriever_score(d) for d in docs]
        return {"rate": self.rate, "ids": [d.id for d in docs],
                "scores": scores if any(s is not None for s in scores) else None}

    def assemble(self, documents: Sequence[Document], results: dict[int, Any], keep_empty: bool) -> list[Document]:
        """A copy per input holding what was kept, in input order; empty ones only with ``keep_empty``."""
        out = []
        for i, doc in enumerate(documents):
            copy_ = _compressed_copy(doc, results[i]) if i in results else _copy(doc, "", 0, 0)
            if copy_.page_content or keep_empty:
                out.append(copy_)
        return out


def _text_of(doc: Document, i: int) -> str:
    text = doc.page_content
    if not isinstance(text, str):  # a Document built without validation
        raise TypeError(f"document {i} ({doc.id or 'no id'}): page_content must be a string; "
                        f"got {type(text).__name__}")
    return text


def _retriever_score(doc: Document) -> float | None:
    """A score an earlier retriever or compressor put in metadata (``relevance_score``, ``score``)."""
    for key in ("relevance_score", "score"):
        value = doc.metadata.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _log_set_warnings(result: Any) -> None:
    for warning in result.warnings:
        logger.warning("ScaleDown: %s", warning)


def _require(engine: Any, field: str, members: tuple[str, ...]) -> None:
    """A clear ``TypeError`` when ``engine`` lacks what this compressor calls."""
    missing = [m for m in members if not hasattr(engine, m)]
    if missing:
        raise TypeError(f"{field} must be a ScaleDown engine; {type(engine).__name__} lacks {', '.join(missing)}")


def _is_code(doc: Document) -> bool:
    """Source code by metadata (``language``, ``source``) or, without either, by parsing it."""
    from scaledown_core.code.languages import is_source_code

    return is_source_code(doc.page_content, language=doc.metadata.get("language"), path=doc.metadata.get("source"))


def _compressed_copy(doc: Document, result: Any) -> Document:
    metrics = getattr(result, "metrics", None)
    if metrics is None:  # DocumentCompression: one document of a compressed set
        out = _copy(doc, result.content, result.original_tokens, result.compressed_tokens, result.warnings)
        out.metadata["relevance_score"] = result.relevance
        return out
    original, compressed, warnings = metrics.original_tokens, metrics.optimized_tokens, metrics.warnings
    return _copy(doc, result.content, original, compressed, warnings)


def _copy(doc: Document, text: str, original: int, compressed: int, warnings: Sequence[str] = ()) -> Document:
    """A copy of ``doc`` (id and deep-copied metadata) holding ``text`` and the compression figures."""
    try:
        metadata = copy.deepcopy(doc.metadata)
    except Exception as exc:  # noqa: BLE001 - a lock, a generator, a client: values that cannot be copied
        logger.warning("document %s: metadata could not be deep-copied (%s); its values are shared with "
                       "the input document", doc.id, exc)
        metadata = dict(doc.metadata)
    metadata["original_tokens"] = original
    metadata["compressed_tokens"] = compressed
    if warnings:
        metadata[WARNINGS] = list(warnings)
        for warning in warnings:
            logger.warning("document %s: %s", doc.id, warning)
    else:
        metadata.pop(WARNINGS, None)
    return Document(id=doc.id, page_content=text, metadata=metadata)
