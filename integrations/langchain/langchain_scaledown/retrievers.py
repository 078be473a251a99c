"""``ScaleDownCodeRetriever``: the code units a query needs, from files and directories, as Documents."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, field_validator, model_validator

logger = logging.getLogger(__name__)

__all__ = ["ScaleDownCodeRetriever"]

Engine = Literal["haste", "semantic"]


class ScaleDownCodeRetriever(BaseRetriever):
    """Retrieve the code units (functions, methods, class headers, module blocks) that answer a query.

    The selection is made by a ScaleDown optimizer over the source files under ``paths``:
    ``HasteOptimizer`` (AST-guided BM25 + call graph, ``engine="haste"``) or ``SemanticOptimizer``
    (local embeddings, ``engine="semantic"``). Each selected unit becomes one ``Document``, best first,
    with the unit's code as the optimizer showed it as ``page_content`` (a unit shown in part keeps
    ``# ...`` where lines were left out) and metadata ``source``, ``qualname``, ``kind``,
    ``start_line``, ``end_line``, ``relevance_score`` and ``tokens`` (of that code).

    Example:
        .. code-block:: python

            from langchain_scaledown import ScaleDownCodeRetriever

            retriever = ScaleDownCodeRetriever(paths=["src/"], k=5, max_tokens=2000)
            docs = retriever.invoke("where is the retry delay computed?")
            docs = retriever.invoke("where is the retry delay computed?", k=2)
    """

    paths: list[str]
    """Files and directories to search (every ``.py`` file below a directory)."""
    engine: Engine = "haste"
    """``"haste"`` for HasteOptimizer, ``"semantic"`` for SemanticOptimizer."""
    k: int = Field(default=4, ge=1, strict=True)
    """Most documents to return; ``invoke(query, k=...)`` overrides it for one call. With
    ``engine="semantic"`` it is also the optimizer's ``top_k`` unless ``optimizer_kwargs`` sets one, and
    a per-call ``k`` above that ``top_k`` returns at most ``top_k`` documents (the optimizer selects no
    more units than that)."""
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    """Hard budget on the selected code in the optimizer's target-model tokens (optimizer default if None)."""
    optimizer_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Constructor options of the optimizer, e.g. ``{"bfs_depth": 2}`` or ``{"model_name": "..."}``."""
    optimizer: Any = Field(default=None, exclude=True)
    """A ready optimizer to use instead of building one from ``engine`` and ``optimizer_kwargs``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @field_validator("paths", mode="before")
    @classmethod
    def _paths_as_list(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            value = [value]
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("paths must name at least one file or directory")
            return [str(p) for p in value]
        return value

    @model_validator(mode="after")
    def _build_optimizer(self) -> ScaleDownCodeRetriever:
        if self.optimizer is not None:
            if self.optimizer_kwargs:
                raise ValueError("pass either optimizer or optimizer_kwargs, not both")
            missing = [m for m in ("optimize", "aoptimize") if not hasattr(self.optimizer, m)]
            if missing:
                raise TypeError(
                    f"optimizer must be a ScaleDown optimizer; {type(self.optimizer).__name__} lacks "
                    + ", ".join(missing)
                )
            return self
        import scaledown_core

        if self.engine == "haste":
            self.optimizer = scaledown_core.HasteOptimizer(**self.optimizer_kwargs)
        else:  # SemanticOptimizer selects at most top_k units: as many as documents are asked for
            self.optimizer = scaledown_core.SemanticOptimizer(**{"top_k": self.k, **self.optimizer_kwargs})
        return self

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        limit = self._limit(k)
        result = self.optimizer.optimize(query=query, file_path=self.paths, max_tokens=self.max_tokens)
        return _to_documents(result, limit)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        limit = self._limit(k)
        result = await self.optimizer.aoptimize(
            query=query, file_path=self.paths, max_tokens=self.max_tokens
        )
        return _to_documents(result, limit)

    def _limit(self, k: int | None) -> int:
        if k is None:
            return self.k
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer; got {k!r}")
        return k


def _to_documents(result: Any, k: int) -> list[Document]:
    """One Document per ranked unit of an ``OptimizedContext``, best first, at most ``k``; the
    optimizer's warnings (a skipped file, a folder with no Python) are logged."""
    for warning in result.metrics.warnings:
        logger.warning("%s", warning)
    return [_unit_document(span) for span in result.metrics.extra["ranked_units"][:k]]


def _unit_document(span: Any) -> Document:
    return Document(
        id=f"{span.path}:{span.start_line}-{span.end_line}",
        page_content=span.text,
        metadata={
            "source": span.path,
            "qualname": span.name,
            "kind": span.kind,
            "start_line": span.start_line,
            "end_line": span.end_line,
            "relevance_score": span.score,
            "tokens": span.tokens,
        },
    )
