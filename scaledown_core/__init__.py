"""ScaleDown: send fewer tokens to the LLM and keep what it needs.

The public surface. Heavy parts (optimizers that may load embedding models, the server) are imported
on first use, so ``import scaledown_core`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import get_api_key, set_api_key
from .exceptions import (
    APIError,
    AuthenticationError,
    BatchError,
    OptimizerError,
    PipelineError,
    ScaleDownError,
)
from .tokens import count_tokens
from .types import CompressedPrompt, OptimizedContext, PipelineResult, SourceSpan

if TYPE_CHECKING:
    from .compressor import LocalCompressor, ScaleDownCompressor
    from .optimizer import HasteOptimizer, SemanticOptimizer
    from .pipeline import Pipeline

# Above 0.1.4, the release of an unrelated older project that holds the name "scaledown" on PyPI.
__version__ = "0.2.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "BatchError",
    "CompressedPrompt",
    "HasteOptimizer",
    "LocalCompressor",
    "OptimizedContext",
    "OptimizerError",
    "Pipeline",
    "PipelineError",
    "PipelineResult",
    "ScaleDownCompressor",
    "ScaleDownError",
    "SemanticOptimizer",
    "SourceSpan",
    "count_tokens",
    "get_api_key",
    "set_api_key",
]

_LAZY = {
    "ScaleDownCompressor": ".compressor",
    "LocalCompressor": ".compressor",
    "HasteOptimizer": ".optimizer",
    "SemanticOptimizer": ".optimizer",
    "Pipeline": ".pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'scaledown_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
