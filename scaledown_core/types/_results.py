from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO
import sys


def compression_ratio(original: int, output: int) -> float:
    """``original / output``: how many times smaller the output is (>= 1 when it shrank)."""
    if output <= 0:
        return 1.0 if original <= 0 else math.inf
    return original / output


def savings_percent(original: int, output: int) -> float:
    """Share of the original tokens removed, in percent (negative if the output grew)."""
    if original <= 0:
        return 0.0
    return 100.0 * (1.0 - output / original)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class _TextResult:
    """Mixin: a result that behaves as its text in ``str()``, ``print()``, ``len()`` and ``in``."""

    content: str

    def __str__(self) -> str:
        return self.content

    def __len__(self) -> int:
        return len(self.content)

    def __contains__(self, item: str) -> bool:
        return item in self.content


# --------------------------------------------------------------------------- compression


@dataclass
class CompressionMetrics:
    """Figures of one compression call. Token counts are in the target model's tokenizer."""

    original_prompt_tokens: int
    compressed_prompt_tokens: int
    latency_ms: float
    model_used: str
    timestamp: str = field(default_factory=_now_iso)
    rate: float | None = None
    """The fraction of tokens the compressor aimed to keep (the one ``rate='auto'`` chose, if so)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Engine-specific figures (units kept, service metadata)."""


@dataclass
class CompressedPrompt(_TextResult):
    """The compressed text of one context, with its figures. ``str(result)`` is the text."""

    content: str
    metrics: CompressionMetrics

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.metrics.original_prompt_tokens, self.metrics.compressed_prompt_tokens)

    @property
    def savings_percent(self) -> float:
        return savings_percent(self.metrics.original_prompt_tokens, self.metrics.compressed_prompt_tokens)

    def print_stats(self, file: TextIO | None = None) -> None:
        """Print a short human summary of the compression figures."""
        m = self.metrics
        out = file or sys.stdout
        print(
            f"tokens: {m.original_prompt_tokens} -> {m.compressed_prompt_tokens} "
            f"(ratio {self.compression_ratio:.2f}x, saved {self.savings_percent:.1f}%) "
            f"in {m.latency_ms:.1f} ms with {m.model_used}",
            file=out,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"content": self.content, "metrics": asdict(self.metrics),
                "compression_ratio": self.compression_ratio, "savings_percent": self.savings_percent}


# --------------------------------------------------------------------------- optimization


@dataclass(frozen=True)
class SourceSpan:
    """A region of source that an optimizer kept, for citing: lines are 1-based and inclusive."""

    path: str | None
    start_line: int
    end_line: int
    name: str
    score: float
    kind: str = "unit"
    """``function``, ``method``, ``class`` (a class header), ``module`` (a module-level block) or ``text``."""
    partial: bool = False
    """True when only part of the unit was shown (signature, docstring and matching blocks)."""
    tokens: int = 0
    """Tokens of the unit's kept text in the target model's tokenizer."""
    text: str = ""
    """The lines of this unit that were shown, elision lines included when it was partial (no file header)."""


@dataclass
class OptimizationMetrics:
    """Figures of one optimizer call. Token counts are in the target model's tokenizer."""

    original_tokens: int
    optimized_tokens: int
    chunks_retrieved: int
    latency_ms: float
    retrieval_mode: str
    """Which ranking produced the selection, e.g. ``bm25``, ``bm25+embedding:<model>``, ``embedding:<model>``."""
    spans: list[SourceSpan] = field(default_factory=list)
    """The kept spans in source order, with their scores."""
    model_used: str | None = None
    """The embedding model actually used, if any (after any fallback)."""
    warnings: list[str] = field(default_factory=list)
    """Every degradation the caller should know of: undecodable bytes, skipped files, model fallback."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.original_tokens, self.optimized_tokens)


@dataclass
class OptimizedContext(_TextResult):
    """The code an optimizer selected, rendered as text, with its figures and kept spans."""

    content: str
    metrics: OptimizationMetrics

    @property
    def compression_ratio(self) -> float:
        return self.metrics.compression_ratio

    @property
    def savings_percent(self) -> float:
        return savings_percent(self.metrics.original_tokens, self.metrics.optimized_tokens)

    @property
    def spans(self) -> list[SourceSpan]:
        return self.metrics.spans

    def to_dict(self) -> dict[str, Any]:
        return {"content": self.content, "metrics": asdict(self.metrics),
                "compression_ratio": self.compression_ratio, "savings_percent": self.savings_percent}


# --------------------------------------------------------------------------- pipeline


@dataclass
class StageRecord:
    """What one pipeline stage took in and gave out."""

    stage: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    metrics: Any = None
    """The stage's own metrics object (``CompressionMetrics``, ``OptimizationMetrics``) or None."""


@dataclass
class PipelineMetrics:
    original_tokens: int
    """Tokens of what the first stage was given."""
    total_tokens: int
    """Tokens of the final output."""
    latency_ms: float
    warnings: list[str] = field(default_factory=list)
    """Every stage's warnings as ``"<stage>: <warning>"``, and the pipeline's own (a stage run again)."""

    @property
    def compression_ratio(self) -> float:
        return compression_ratio(self.original_tokens, self.total_tokens)


@dataclass
class PipelineResult(_TextResult):
    """The output of the last stage, with one record per stage."""

    content: str
    metrics: PipelineMetrics
    history: list[StageRecord] = field(default_factory=list)
    stage_results: list[Any] = field(default_factory=list)
    """Each stage's own result object, in stage order."""

    @property
    def final_content(self) -> str:
        return self.content

    @property
    def compression_ratio(self) -> float:
        return self.metrics.compression_ratio

    @property
    def savings_percent(self) -> float:
        return savings_percent(self.metrics.original_tokens, self.metrics.total_tokens)
