"""Optimizers: choose the code a query needs under a token budget.

``HasteOptimizer`` (AST-guided, lexical + call graph, optional semantic rerank) and ``SemanticOptimizer``
(embedding retrieval over code units). Both are imported on first use so that importing this package
loads neither tree-sitter nor an embedding model.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .haste import HasteOptimizer
    from .semantic import SemanticOptimizer

__all__ = ["HasteOptimizer", "SemanticOptimizer", "source_keywords"]

_LAZY = {"HasteOptimizer": ".haste", "SemanticOptimizer": ".semantic"}


def source_keywords(optimizer: Any, path: Any) -> dict[str, str]:
    """``{"context_path": path}`` for an ``optimize`` that takes it, when ``path`` is a file path; else ``{}``.

    For adapters that know where a document's code came from (LangChain's ``source``, LlamaIndex's
    ``file_path`` metadata): the stage protocol's ``optimize(context, query, file_path, max_tokens)``
    does not require the keyword, so an engine without it is called as before.
    """
    if not isinstance(path, str) or not path.strip():
        return {}
    optimize = getattr(type(optimizer), "optimize", None)
    return {"context_path": path} if optimize is not None and _takes_context_path(optimize) else {}


@functools.lru_cache(maxsize=64)
def _takes_context_path(optimize: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(optimize).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "context_path" or p.kind is p.VAR_KEYWORD for p in params)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
