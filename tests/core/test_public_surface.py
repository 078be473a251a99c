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


def test_scaledown_is_the_same_objects_as_scaledown_core() -> None:
    """The specification's import name re-exports; it defines nothing of its own."""
    import scaledown
    import scaledown.exceptions
    import scaledown.optimizer
    import scaledown.types
    import scaledown_core.exceptions
    import scaledown_core.optimizer
    import scaledown_core.types

    assert set(scaledown.__all__) == EXPECTED and scaledown.__version__ == sd.__version__
    for name in sd.__all__:
        assert getattr(scaledown, name) is getattr(sd, name), name
    assert scaledown.optimizer is scaledown_core.optimizer
    assert scaledown.exceptions is scaledown_core.exceptions and scaledown.types is scaledown_core.types
    from scaledown.optimizer import HasteOptimizer

    assert HasteOptimizer is sd.HasteOptimizer


def test_import_scaledown_is_light_and_a_missing_submodule_is_not_found() -> None:
    code = (
        "import sys, scaledown, scaledown.optimizer, scaledown.exceptions; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'llama_index', 'langchain_core', 'fastapi', "
        "'scaledown_core.optimizer.haste', 'scaledown_core.compressor', 'scaledown_core.pipeline') "
        "if m in sys.modules]; print(','.join(heavy))\n"
        "try:\n    import scaledown.no_such_module\nexcept ModuleNotFoundError as e:\n    print(e.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["", "scaledown.no_such_module"]
