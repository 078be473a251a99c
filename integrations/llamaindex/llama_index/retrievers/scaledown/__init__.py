"""ScaleDown retrievers for LlamaIndex: :class:`ScaleDownCodeRetriever` returns the code units a query
needs (HasteOptimizer or SemanticOptimizer over files and directories) as scored nodes."""

from .base import ScaleDownCodeRetriever

__all__ = ["ScaleDownCodeRetriever"]
