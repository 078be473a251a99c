"""Search a whole directory with embeddings; a second query reuses the cached unit vectors.

Run: python examples/semantic_repository.py [DIRECTORY]   (default: the scaledown_core package)
"""

import sys
from pathlib import Path

from scaledown_core import SemanticOptimizer

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "scaledown_core"
optimizer = SemanticOptimizer(model_name=None, top_k=3)

for query in ("how are token counts computed?", "where is the API key read from the environment?"):
    result = optimizer.optimize(query=query, file_path=str(root), max_tokens=800)
    m = result.metrics
    print(f"## {query}")
    print("files, best first:", ", ".join(m.extra["ranked_files"][:3]))
    print("units:", ", ".join(f"{s.path}:{s.name}" for s in m.extra["ranked_units"]))
    print(f"{m.optimized_tokens} tokens, cache hit rate {m.extra['cache_hit_rate']:.0%}, {m.latency_ms:.0f} ms\n")
