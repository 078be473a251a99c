"""``ScaleDownCodeRetriever``: the code units a query needs, from files and directories, as nodes."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, List, Optional, Union

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

__all__ = ["ScaleDownCodeRetriever"]

ENGINES = ("haste", "semantic")
# What the LLM gains nothing from reading in each node's metadata header.
HIDDEN_FROM_LLM = ["kind", "partial", "tokens"]
# The embedding of a unit is about its code, not where it lives.
HIDDEN_FROM_EMBEDDING = ["file_path", "start_line", "end_line", "kind", "partial", "tokens"]

PathsArg = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

logger = logging.getLogger(__name__)


class ScaleDownCodeRetriever(BaseRetriever):
    """Retrieve the functions, methods, class headers and module blocks that answer a query.

    A ScaleDown optimizer selects the units over the Python files under ``paths`` (files or
    directories; every ``.py`` file below a directory): ``HasteOptimizer`` (``engine="haste"``,
    AST-guided BM25 + call graph) or ``SemanticOptimizer`` (``engine="semantic"``, local embeddings),
    or the ``optimizer`` you pass. Each selected unit becomes one ``NodeWithScore``, best first, whose
    text is the unit's code as the optimizer showed it (a unit shown in part, ``partial``, keeps
    ``# ...`` where lines were left out) and whose metadata holds ``file_path``, ``start_line``,
    ``end_line`` (1-based, inclusive), ``name`` (qualified name), ``kind``, ``partial`` and ``tokens``.
    Node ids are ``"<file_path>:<start_line>-<end_line>"``; the SOURCE relationship names the file.

    Args:
        paths: files and directories to search.
        engine: ``"haste"`` (default) or ``"semantic"``; not with ``optimizer``.
        similarity_top_k: most nodes to return (None: every selected unit).
        max_tokens: hard budget on the selection in the optimizer's target-model tokens (None: the
            optimizer's default); the nodes' texts are parts of that selection.
        optimizer: a ready optimizer (anything with ``optimize``/``aoptimize``).

    Example:
        .. code-block:: python

            from llama_index.retrievers.scaledown import ScaleDownCodeRetriever

            retriever = ScaleDownCodeRetriever(paths=["src/"], max_tokens=2000)
            for hit in retriever.retrieve("where is the retry delay computed?"):
                print(hit.score, hit.metadata["file_path"], hit.metadata["start_line"])
    """

    def __init__(
        self,
        paths: PathsArg,
        engine: Optional[str] = None,
        similarity_top_k: Optional[int] = None,
        max_tokens: Optional[int] = None,
        optimizer: Any = None,
        callback_manager: Optional[CallbackManager] = None,
        verbose: bool = False,
    ) -> None:
        self._paths = _check_paths(paths)
        self._similarity_top_k = _check_positive("similarity_top_k", similarity_top_k)
        self._max_tokens = _check_positive("max_tokens", max_tokens)
        self._optimizer = _optimizer(engine, optimizer, self._similarity_top_k)
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @classmethod
    def class_name(cls) -> str:
        return "ScaleDownCodeRetriever"

    @property
    def optimizer(self) -> Any:
        """The optimizer that selects the units."""
        return self._optimizer

    @property
    def paths(self) -> list[str]:
        """The files and directories searched."""
        return list(self._paths)

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        result = self._optimizer.optimize(
            query=query_bundle.query_str, file_path=self._paths, max_tokens=self._max_tokens
        )
        return _to_nodes(result, self._similarity_top_k)

    async def _aretrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        result = await self._optimizer.aoptimize(
            query=query_bundle.query_str, file_path=self._paths, max_tokens=self._max_tokens
        )
        return _to_nodes(result, self._similarity_top_k)


def _check_paths(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence) or isinstance(paths, (bytes, bytearray)):
        raise TypeError(f"paths must be a path or a list of paths; got {type(paths).__name__}")
    if not paths:
        raise ValueError("paths must name at least one file or directory")
    if not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise TypeError("every entry of paths must be a str or os.PathLike")
    return [os.fspath(p) for p in paths]


def _check_positive(name: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer or None; got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}")
    return value


def _optimizer(engine: Optional[str], optimizer: Any, similarity_top_k: Optional[int]) -> Any:
    """The injected optimizer, or a default one for ``engine``."""
    if optimizer is not None:
        if engine is not None:
            raise ValueError("pass either engine or optimizer, not both")
        missing = [m for m in ("optimize", "aoptimize") if not hasattr(optimizer, m)]
        if missing:
            raise TypeError(f"optimizer must have optimize and aoptimize; {type(optimizer).__name__} lacks "
                            f"{', '.join(missing)}")
        return optimizer
    engine = engine or "haste"
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'haste' or 'semantic'; got {engine!r}")
    import scaledown_core

    if engine == "haste":
        return scaledown_core.HasteOptimizer()
    # SemanticOptimizer selects at most top_k units: as many as nodes are asked for
    if similarity_top_k is None:
        return scaledown_core.SemanticOptimizer()
    return scaledown_core.SemanticOptimizer(top_k=similarity_top_k)


def _to_nodes(result: Any, top_k: Optional[int]) -> list[NodeWithScore]:
    """One node per ranked unit of an ``OptimizedContext``, best first, at most ``top_k``; the
    optimizer's warnings (a skipped file, a folder with no Python) are logged."""
    for warning in result.metrics.warnings:
        logger.warning("%s", warning)
    spans = list(result.metrics.extra.get("ranked_units", []))[:top_k]
    return [NodeWithScore(node=_unit_node(span), score=span.score) for span in spans]


def _unit_node(span: Any) -> TextNode:
    node = TextNode(
        id_=f"{span.path}:{span.start_line}-{span.end_line}",
        text=span.text,
        metadata={
            "file_path": span.path,
            "start_line": span.start_line,
            "end_line": span.end_line,
            "name": span.name,
            "kind": span.kind,
            "partial": span.partial,
            "tokens": span.tokens,
        },
        excluded_llm_metadata_keys=list(HIDDEN_FROM_LLM),
        excluded_embed_metadata_keys=list(HIDDEN_FROM_EMBEDDING),
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=str(span.path))
    return node
