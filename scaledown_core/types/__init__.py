"""Result types shared by every stage: compressors, optimizers and pipelines.

One ratio convention everywhere: ``compression_ratio = original_tokens / output_tokens`` (>= 1 when the
output is smaller; ``inf`` for an empty output of a non-empty input, 1.0 when both are empty), and
``savings_percent = 100 * (1 - output / original)``.
"""

from ._documents import CompressedDocuments, DocumentCompression
from ._results import (
    CompressedPrompt,
    CompressionMetrics,
    OptimizationMetrics,
    OptimizedContext,
    PipelineMetrics,
    PipelineResult,
    SourceSpan,
    StageRecord,
    compression_ratio,
    savings_percent,
)

__all__ = [
    "CompressedDocuments",
    "CompressedPrompt",
    "DocumentCompression",
    "CompressionMetrics",
    "OptimizationMetrics",
    "OptimizedContext",
    "PipelineMetrics",
    "PipelineResult",
    "SourceSpan",
    "StageRecord",
    "compression_ratio",
    "savings_percent",
]
