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


def test_source_keywords_only_for_an_optimize_that_takes_them() -> None:
    from scaledown_core.optimizer import HasteOptimizer, source_keywords

    class Plain:
        def optimize(self, context, query, file_path=None, max_tokens=None): ...

    class Open:
        def optimize(self, context, query, **kwargs): ...

    assert source_keywords(HasteOptimizer(), "pkg/mod.py") == {"context_path": "pkg/mod.py"}
    assert source_keywords(Open(), "pkg/mod.py") == {"context_path": "pkg/mod.py"}
    assert source_keywords(Plain(), "pkg/mod.py") == {}
    assert source_keywords(HasteOptimizer(), None) == {} and source_keywords(HasteOptimizer(), " ") == {}
