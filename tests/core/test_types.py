from __future__ import annotations

import io
import math

from scaledown_core.types import (
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


def test_ratio_convention_is_original_over_output() -> None:
    assert compression_ratio(1000, 250) == 4.0
    assert compression_ratio(100, 200) == 0.5
    assert compression_ratio(0, 0) == 1.0
    assert math.isinf(compression_ratio(10, 0))
    assert savings_percent(1000, 250) == 75.0
    assert savings_percent(0, 0) == 0.0
    assert savings_percent(100, 150) == -50.0


def _prompt() -> CompressedPrompt:
    return CompressedPrompt("short text", CompressionMetrics(400, 100, 12.5, "gpt-4o"))


def test_compressed_prompt_behaves_as_text() -> None:
    result = _prompt()
    assert str(result) == "short text"
    assert f"{result}" == "short text"
    assert "short" in result and len(result) == len("short text")
    assert result.compression_ratio == 4.0
    assert result.savings_percent == 75.0
    assert result.metrics.timestamp  # ISO timestamp filled in


def test_print_stats_reports_figures() -> None:
    buf = io.StringIO()
    _prompt().print_stats(file=buf)
    text = buf.getvalue()
    assert "400 -> 100" in text and "4.00x" in text and "75.0%" in text


def test_optimized_context_carries_spans() -> None:
    span = SourceSpan("a.py", 3, 9, "Client.send", 0.9, kind="method")
    ctx = OptimizedContext("def send(): ...", OptimizationMetrics(900, 300, 1, 4.0, "bm25", spans=[span]))
    assert ctx.compression_ratio == 3.0
    assert round(ctx.savings_percent, 3) == round(100 * (1 - 300 / 900), 3)
    assert ctx.spans == [span]
    assert ctx.to_dict()["metrics"]["spans"][0]["name"] == "Client.send"


def test_pipeline_result_uses_the_same_convention() -> None:
    result = PipelineResult(
        "final",
        PipelineMetrics(original_tokens=1000, total_tokens=100, latency_ms=5.0),
        history=[StageRecord("haste", 1000, 300, 2.0), StageRecord("compress", 300, 100, 3.0)],
    )
    assert result.final_content == "final" == str(result)
    assert result.compression_ratio == 10.0
    assert result.savings_percent == 90.0
    assert [h.stage for h in result.history] == ["haste", "compress"]
