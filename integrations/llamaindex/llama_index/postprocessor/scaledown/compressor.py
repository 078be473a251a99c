"""``ScaleDownCompressorPostprocessor``: the retrieved nodes compressed against the query as one set."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, List, Optional, Sequence, Union

from llama_index.core.bridge.pydantic import Field, field_validator, model_validator
from llama_index.core.schema import NodeWithScore, QueryBundle
from scaledown_core.optimizer import source_keywords

from ._base import BaseScaleDownPostprocessor, Job, check_engine
from ._nodes import copy_with_text, figures_of, query_of, text_of

__all__ = ["ScaleDownCompressorPostprocessor"]

logger = logging.getLogger(__name__)

RELEVANCE = "relevance"
"""Metadata key: the node's best sentence against the best node's (0..1), hidden from the LLM."""


class ScaleDownCompressorPostprocessor(BaseScaleDownPostprocessor):
    """Compress the retrieved nodes against the query as one context with a ScaleDown compressor.

    The prose nodes of one call go to ``compressor`` in **one** call (``compress_documents``): the
    engine ranks every sentence of every node against the query at once, so the node that answers
    keeps its sentences and the others give way. ``compressor`` is ``LocalCompressor()`` by default
    (in-process, offline, no key); a ``ScaleDownCompressor`` sends the set to a ScaleDown server in
    one request. Source code nodes (``language`` metadata naming a language ScaleDown reads, a
    ``file_path`` with such an extension, or text that parses as Python and defines functions or
    classes) go through ``code_optimizer``
    (``HasteOptimizer``), which keeps whole functions with their indentation.

    ``max_tokens`` caps the texts of all nodes of one call together (code nodes get their share by
    size); ``rate`` is the fraction of the prose tokens to keep or ``"auto"``; left unset it fills
    ``max_tokens`` when that is set, else it is the compressor's (``"auto"`` by default: drop what is
    clearly irrelevant, keep the relevant nodes whole where the budget allows).

    Output: copies, in input order, of the nodes of which something was kept (same id,
    relationships, metadata and score); a node with nothing relevant is dropped, or kept with empty
    text with ``keep_empty=True``. ``original_tokens``, ``compressed_tokens`` and ``relevance`` are
    added to metadata, hidden from the LLM and the embedding model.

    Example:
        .. code-block:: python

            from llama_index.postprocessor.scaledown import ScaleDownCompressorPostprocessor

            query_engine = index.as_query_engine(
                similarity_top_k=5,
                node_postprocessors=[ScaleDownCompressorPostprocessor(max_tokens=1500)],
            )
    """

    compressor: Any = Field(
        default=None,
        exclude=True,
        description="LocalCompressor (default) or ScaleDownCompressor; anything with compress_documents.",
    )
    code_optimizer: Any = Field(
        default=None, exclude=True, description="HasteOptimizer by default; reduces Python code nodes."
    )
    rate: Optional[Union[float, str]] = Field(
        default=None,
        description="Fraction of the prose tokens to keep, or 'auto'; None: fill max_tokens, else the compressor's.",
    )
    keep_empty: bool = Field(
        default=False, description="Return a node of which nothing was kept, with empty text, instead of dropping it."
    )

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, rate: Any) -> Any:
        from scaledown_core.compressor._core import check_rate

        return None if rate is None else check_rate(rate)

    @model_validator(mode="after")
    def _default_engines(self) -> "ScaleDownCompressorPostprocessor":
        if self.compressor is None:
            from scaledown_core import LocalCompressor

            self.compressor = LocalCompressor()
        check_engine(self.compressor, ("compress_documents", "acompress_documents"), "compressor")
        if self.code_optimizer is None:
            from scaledown_core import HasteOptimizer

            self.code_optimizer = HasteOptimizer(target_model=self.compressor.target_model)
        check_engine(self.code_optimizer, ("optimize", "aoptimize"), "code_optimizer")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "ScaleDownCompressorPostprocessor"

    @property
    def _engine(self) -> Any:
        return self.compressor

    def _postprocess_nodes(
        self, nodes: List[NodeWithScore], query_bundle: Optional[QueryBundle] = None
    ) -> List[NodeWithScore]:
        if not nodes:
            return []
        query = query_of(query_bundle, self.class_name())
        code, ceilings, prose, ceiling, texts = self._split(nodes)
        results: dict[int, Any] = {j.index: self._run([j], query)[0] for j in code}
        if prose:
            outcome = self.compressor.compress_documents([texts[i] for i in prose], query, ceiling,
                                                         **self._options(nodes, prose))
            results.update(zip(prose, outcome.documents))
            _log(outcome)
        return self._assemble(nodes, results)

    async def _apostprocess_nodes(
        self, nodes: List[NodeWithScore], query_bundle: Optional[QueryBundle] = None
    ) -> List[NodeWithScore]:
        if not nodes:
            return []
        query = query_of(query_bundle, self.class_name())
        code, ceilings, prose, ceiling, texts = self._split(nodes)
        calls = [self._arun(code, query)]
        if prose:
            calls.append(self.compressor.acompress_documents([texts[i] for i in prose], query, ceiling,
                                                             **self._options(nodes, prose)))
        outcomes = await asyncio.gather(*calls)
        results: dict[int, Any] = {j.index: r for j, r in zip(code, outcomes[0])}
        if prose:
            results.update(zip(prose, outcomes[1].documents))
            _log(outcomes[1])
        return self._assemble(nodes, results)

    # the code nodes' engine calls (the base class's job protocol)

    def _run(self, jobs: Sequence[Job], query: str) -> list[Any]:
        return [self.code_optimizer.optimize(context=j.text, query=query, max_tokens=j.max_tokens,
                                             **source_keywords(self.code_optimizer, j.path)) for j in jobs]

    async def _arun(self, jobs: Sequence[Job], query: str) -> list[Any]:
        return list(await asyncio.gather(*(
            self.code_optimizer.aoptimize(context=j.text, query=query, max_tokens=j.max_tokens,
                                          **source_keywords(self.code_optimizer, j.path)) for j in jobs)))

    def _split(self, nodes: Sequence[NodeWithScore]) -> tuple[list[Job], dict[int, Any], list[int], Optional[int],
                                                                list[str]]:
        """Code jobs with their ceilings, the prose nodes and their shared ceiling, and every node's text."""
        from scaledown_core.retrieval import share_budget
        from scaledown_core.tokens import get_counter

        texts = [text_of(n) for n in nodes]
        code_idx = [i for i, t in enumerate(texts) if t.strip() and _is_code(nodes[i], t)]
        prose = [i for i in range(len(nodes)) if i not in set(code_idx)]
        ceilings: dict[int, Any] = {i: None for i in code_idx}
        ceiling = self.max_tokens
        if self.max_tokens is not None and code_idx:
            sizes = get_counter(self.compressor.target_model).count_many(texts)
            shares = share_budget([sizes[i] for i in code_idx] + [sum(sizes[i] for i in prose)], self.max_tokens)
            ceilings = dict(zip(code_idx, shares[:-1]))
            ceiling = max(shares[-1] or 0, 1) if prose else None
        jobs = [Job(i, texts[i], ceilings[i], nodes[i].node.metadata.get("file_path")) for i in code_idx]
        return jobs, ceilings, prose, ceiling, texts

    def _options(self, nodes: Sequence[NodeWithScore], prose: Sequence[int]) -> dict[str, Any]:
        rate = self.rate if self.rate is not None else (1.0 if self.max_tokens is not None else None)
        scores = [nodes[i].score for i in prose]
        return {"rate": rate, "ids": [nodes[i].node.node_id for i in prose],
                "scores": scores if any(s is not None for s in scores) else None}

    def _assemble(self, nodes: Sequence[NodeWithScore], results: dict[int, Any]) -> list[NodeWithScore]:
        out: list[NodeWithScore] = []
        for i, nws in enumerate(nodes):
            result = results.get(i)
            if result is None:
                continue
            if hasattr(result, "metrics"):  # a code node's OptimizedContext
                copy_ = copy_with_text(nws, result.content, *figures_of(result))
            else:
                copy_ = copy_with_text(nws, result.content, result.original_tokens, result.compressed_tokens,
                                       result.warnings, extra={RELEVANCE: result.relevance})
            if copy_.node.get_content() or self.keep_empty:
                out.append(copy_)
        return out


def _is_code(nws: NodeWithScore, text: str) -> bool:
    """Source code by metadata (``language``, ``file_path``) or, without either, by parsing it."""
    from scaledown_core.code.languages import is_source_code

    meta = nws.node.metadata
    return is_source_code(text, language=meta.get("language"), path=meta.get("file_path") or meta.get("source"))


def _log(outcome: Any) -> None:
    for warning in outcome.warnings:
        logger.warning("ScaleDown: %s", warning)
