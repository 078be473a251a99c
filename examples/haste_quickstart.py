"""Select the code an issue needs from one file, under a hard token budget (offline, no API key).

    python examples/haste_quickstart.py
"""

from pathlib import Path

from scaledown_core.optimizer import HasteOptimizer

SOURCE = Path(__file__).resolve().parent.parent / "scaledown_core" / "tokens.py"

optimizer = HasteOptimizer(target_model="gpt-4o")
result = optimizer.optimize(
    query="Counting tokens for an unknown model name logs a warning every time; where is the encoding chosen?",
    file_path=SOURCE,
    max_tokens=600,
)

print(result.content)
print(f"\n{result.metrics.original_tokens} -> {result.metrics.optimized_tokens} tokens "
      f"({result.compression_ratio:.1f}x) in {result.metrics.latency_ms:.0f} ms")
for span in result.spans:  # kept spans in source order, with scores
    print(f"  {span.path}:{span.start_line}-{span.end_line} {span.name} score={span.score:.2f}"
          f"{' (part)' if span.partial else ''}")
