"""A three-stage pipeline and its per-stage history (the upstream README's Pipeline reference example).

    python examples/pipeline_history.py
"""

from pathlib import Path

import scaledown_core as sd
from scaledown_core import LocalCompressor, Pipeline, ScaleDownCompressor
from scaledown_core.optimizer import HasteOptimizer, SemanticOptimizer

VALIDATORS = Path(__file__).resolve().parent.parent / "scaledown_core" / "pipeline" / "_pipeline.py"

compression = ScaleDownCompressor(target_model="gpt-4o") if sd.get_api_key() else LocalCompressor(target_model="gpt-4o")

pipeline = Pipeline([
    ("code_selection", HasteOptimizer(top_k=8)),
    ("semantic_filter", SemanticOptimizer(top_k=4)),
    ("compression", compression),
])

result = pipeline.run(
    query="data validation logic",
    file_path=str(VALIDATORS),
    prompt="Explain the validation flow",
)

# Access results
print(result.final_content)
print(result.savings_percent)
for step in result.history:
    print(f"{step.stage}: {step.input_tokens} → {step.output_tokens} tokens")
