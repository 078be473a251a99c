"""Optimize, then compress: the upstream README's "Full Pipeline" example, runnable offline.

Selects the code of one of this repository's files that explains its error handling (HasteOptimizer,
then SemanticOptimizer over what Haste kept), then compresses it against a prompt. With
SCALEDOWN_API_KEY set the last stage is the hosted ScaleDown API; without a key the embedded
LocalCompressor stands in (same interface, offline).

    python examples/pipeline_quickstart.py
"""

from pathlib import Path

import scaledown_core as sd
from scaledown_core import LocalCompressor, Pipeline, ScaleDownCompressor
from scaledown_core.optimizer import HasteOptimizer, SemanticOptimizer

APP = Path(__file__).resolve().parent.parent / "scaledown_core" / "pipeline" / "_pipeline.py"

# The hosted API when a key is set; the offline engine otherwise.
compressor = ScaleDownCompressor(target_model="gpt-4o") if sd.get_api_key() else LocalCompressor(target_model="gpt-4o")

# Define pipeline stages
pipeline = Pipeline([
    ("haste", HasteOptimizer(top_k=5)),
    ("semantic", SemanticOptimizer(top_k=3)),
    ("compressor", compressor),
])

# Run pipeline
result = pipeline.run(
    query="explain error handling",
    file_path=str(APP),
    prompt="Provide a concise summary",
)

print(f"Original: {result.metrics.original_tokens} tokens")
print(f"Final: {result.metrics.total_tokens} tokens")
print(f"Savings: {result.savings_percent:.1f}%")
print(f"\nOptimized Content:\n{result.final_content}")
