"""ScaleDown node postprocessors for LlamaIndex: fewer tokens in the synthesized prompt.

- :class:`ScaleDownCompressorPostprocessor` compresses each node's text against the query
  (``LocalCompressor`` by default, offline; or the hosted ``ScaleDownCompressor``).
- :class:`HasteNodePostprocessor` and :class:`SemanticNodePostprocessor` keep only the parts of each
  code node that the query needs (``HasteOptimizer`` / ``SemanticOptimizer``).

Every postprocessor returns new nodes (ids, relationships, metadata and scores kept) with
``original_tokens`` and ``compressed_tokens`` in metadata.
"""

from .compressor import ScaleDownCompressorPostprocessor
from .haste import HasteNodePostprocessor
from .semantic import SemanticNodePostprocessor

__all__ = [
    "HasteNodePostprocessor",
    "ScaleDownCompressorPostprocessor",
    "SemanticNodePostprocessor",
]
