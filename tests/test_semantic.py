"""The specification's SemanticOptimizer examples, in the project's words, through ``import scaledown``.

They load the packaged all-MiniLM-L6-v2: the specification's default model (Qwen3-Embedding-0.6B) is
not installed here, and nothing is downloaded, so the fallback is used and said in the warnings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_quick_start_finds_the_preprocessing(spec_project: Path) -> None:
    from scaledown.optimizer import SemanticOptimizer

    result = SemanticOptimizer(top_k=3).optimize(context="", query="data preprocessing logic", file_path="pipeline.py")

    assert "def preprocess(rows):" in result.content
    assert any("Qwen/Qwen3-Embedding-0.6B" in w for w in result.metrics.warnings)


def test_reference_example_finds_the_middleware(spec_project: Path) -> None:
    from scaledown.optimizer import SemanticOptimizer

    optimizer = SemanticOptimizer(model_name="Qwen/Qwen3-Embedding-0.6B", top_k=5)
    result = optimizer.optimize(context="", query="authentication middleware", file_path="auth.py")

    assert "def authentication_middleware(handler, sessions):" in result.content


def test_query_is_optional_and_defaults_to_main_logic(spec_project: Path) -> None:
    from scaledown.optimizer import SemanticOptimizer

    optimizer = SemanticOptimizer(top_k=2)
    default = optimizer.optimize(context="", file_path="pipeline.py")
    explicit = optimizer.optimize(context="", query="main logic", file_path="pipeline.py")

    assert default.content == explicit.content
    assert "no query given: searched for 'main logic', the default" in default.metrics.warnings
    assert not any("no query given" in w for w in explicit.metrics.warnings)
