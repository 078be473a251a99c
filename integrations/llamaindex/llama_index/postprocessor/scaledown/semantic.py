"""``SemanticNodePostprocessor``: keep the code units of each node closest in meaning to the query."""

from __future__ import annotations

from typing import Any

from ._code import BaseCodePostprocessor

__all__ = ["SemanticNodePostprocessor"]


class SemanticNodePostprocessor(BaseCodePostprocessor):
    """Reduce each code node to the units most similar to the query with ``SemanticOptimizer``.

    SemanticOptimizer embeds the node's code units with a local sentence-transformers model and keeps
    the nearest ones, rendered in source order. Pass ``optimizer=SemanticOptimizer(model_name=...)``
    to choose the model; where the model cannot be had offline it falls back to the packaged
    all-MiniLM-L6-v2 and says so in the node's ``scaledown_warnings`` metadata. ``max_tokens`` caps
    all nodes of one call together. Output nodes are copies with ``original_tokens`` and
    ``compressed_tokens`` in metadata. Give it nodes of Python code.

    Example:
        .. code-block:: python

            from llama_index.postprocessor.scaledown import SemanticNodePostprocessor
            from scaledown_core import SemanticOptimizer

            postprocessor = SemanticNodePostprocessor(
                optimizer=SemanticOptimizer(model_name="all-MiniLM-L6-v2", top_k=3),
            )
    """

    @classmethod
    def class_name(cls) -> str:
        return "SemanticNodePostprocessor"

    @classmethod
    def _make_optimizer(cls) -> Any:
        from scaledown_core import SemanticOptimizer

        return SemanticOptimizer()
