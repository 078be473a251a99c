"""``HasteNodePostprocessor``: keep the functions and classes of each code node that the query needs."""

from __future__ import annotations

from typing import Any

from ._code import BaseCodePostprocessor

__all__ = ["HasteNodePostprocessor"]


class HasteNodePostprocessor(BaseCodePostprocessor):
    """Reduce each code node to the code the query needs with ``HasteOptimizer``.

    HasteOptimizer ranks the node's functions, methods, class headers and module blocks against the
    query (identifier-aware BM25, call graph), and renders the kept ones in source order with elided
    regions marked ``# ...``. Pass ``optimizer=HasteOptimizer(...)`` to change its options; by default
    each node is capped at the optimizer's ``hard_cap`` (1200 tokens), and ``max_tokens`` caps all nodes
    of one call together. Output nodes are copies (same id, relationships, metadata, score) with
    ``original_tokens`` and ``compressed_tokens`` in metadata. Give it nodes of Python code.

    Example:
        .. code-block:: python

            from llama_index.postprocessor.scaledown import HasteNodePostprocessor

            query_engine = code_index.as_query_engine(
                node_postprocessors=[HasteNodePostprocessor(max_tokens=2000)],
            )
    """

    @classmethod
    def class_name(cls) -> str:
        return "HasteNodePostprocessor"

    @classmethod
    def _make_optimizer(cls) -> Any:
        from scaledown_core import HasteOptimizer

        return HasteOptimizer()
