from __future__ import annotations

import subprocess
import sys

import scaledown_core as sd

EXPECTED = {
    "APIError", "AuthenticationError", "BatchError", "CompressedPrompt", "HasteOptimizer",
    "LocalCompressor", "OptimizedContext", "OptimizerError", "Pipeline", "PipelineError",
    "PipelineResult", "ScaleDownCompressor", "ScaleDownError", "SemanticOptimizer", "SourceSpan",
    "count_tokens", "get_api_key", "set_api_key",
}


def test_all_is_pinned() -> None:
    assert set(sd.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in sd.__all__:
        assert getattr(sd, name) is not None


def test_import_is_light() -> None:
    """`import scaledown_core` pulls in no heavy or framework module."""
    code = (
        "import sys, scaledown_core; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'llama_index', 'langchain_core', 'fastapi') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
