"""The specification's HasteOptimizer examples, in the project's words, through ``import scaledown``.

``pytest tests/test_haste.py -v`` is one of the specification's test commands; the engine's own tests
are under ``tests/haste/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def test_quick_start_selects_the_training_loop(spec_project: Path) -> None:
    from scaledown.optimizer import HasteOptimizer

    optimizer = HasteOptimizer(top_k=5, semantic=False)
    result = optimizer.optimize(context="", query="explain the training loop", file_path="train.py")

    assert "def train(rows, epochs=10, learning_rate=0.1):" in result.content
    assert "for epoch in range(epochs):" in result.content
    assert result.metrics.compression_ratio >= 1.0
    assert f"{result.metrics.compression_ratio:.2f}x" != "nanx"  # the example's format string works on it

    tight = optimizer.optimize(context="", query="explain the training loop", file_path="train.py", max_tokens=250)
    assert "for epoch in range(epochs):" in tight.content and "def save_model" not in tight.content
    assert tight.metrics.compression_ratio > 1.0


@pytest.mark.slow
def test_reference_example_with_semantic_rerank(spec_project: Path) -> None:
    from scaledown.optimizer import HasteOptimizer

    optimizer = HasteOptimizer(top_k=10, semantic=True, hard_cap=2000)
    result = optimizer.optimize(context="", query="find database queries", file_path="database.py")

    assert "SELECT id, total, created FROM orders" in result.content
    assert result.metrics.optimized_tokens <= 2000
    # under a budget that forces a choice the rerank runs: on the packaged model (no OpenAI key), said so
    tight = optimizer.optimize(context="", query="find database queries", file_path="database.py", max_tokens=90)
    assert "SELECT id, total, created FROM orders" in tight.content
    assert any("text-embedding-3-small" in w for w in tight.metrics.warnings)


def test_documentation_use_case_needs_no_context_argument(spec_project: Path) -> None:
    from scaledown.optimizer import HasteOptimizer

    result = HasteOptimizer(top_k=10).optimize(query="API endpoints", file_path="api.py")

    for endpoint in ("def list_items", "def create_item", "def health"):
        assert endpoint in result.content


def test_context_given_with_file_path_is_that_files_text(spec_project: Path) -> None:
    """An editor's unsaved buffer: the text is read from ``context``, the name from ``file_path``."""
    from scaledown.optimizer import HasteOptimizer

    buffer = Path("train.py").read_text(encoding="utf-8").replace("def train(", "def fit(")
    result = HasteOptimizer().optimize(context=buffer, query="explain the training loop fit", file_path="train.py")

    assert "def fit(rows" in result.content and "def train(" not in result.content
    assert {span.path for span in result.spans} == {"train.py"}


def test_context_with_a_folder_is_refused(spec_project: Path) -> None:
    from scaledown.optimizer import HasteOptimizer

    with pytest.raises(ValueError, match="names the one file the context is the text of; got a folder"):
        HasteOptimizer().optimize(context="x = 1\n", query="x", file_path=".")


def test_an_unknown_keyword_is_an_error_naming_it(spec_project: Path) -> None:
    from scaledown.optimizer import HasteOptimizer

    with pytest.raises(TypeError, match="'top_k'.*constructor"):
        HasteOptimizer().optimize(query="training loop", file_path="train.py", top_k=3)
