"""Optimizers: choose the code a query needs under a token budget.

``HasteOptimizer`` (AST-guided, lexical + call graph, optional semantic rerank) and ``SemanticOptimizer``
(embedding retrieval over code units). Both are imported on first use so that importing this package
loads neither tree-sitter nor an embedding model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .haste import HasteOptimizer
    from .semantic import SemanticOptimizer

__all__ = ["HasteOptimizer", "SemanticOptimizer"]

_LAZY = {"HasteOptimizer": ".haste", "SemanticOptimizer": ".semantic"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
