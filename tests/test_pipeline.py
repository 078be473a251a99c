"""The specification's Pipeline examples, in the project's words, through ``import scaledown``, against a
real ``scaledown serve`` on 127.0.0.1; and its error-handling example, whose branches each get reached.

``pytest tests/test_pipeline.py -v`` is one of the specification's test commands; the pipeline's own
tests are under ``tests/pipeline/``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.fixture()
def service(scaledown_serve: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    url, key = scaledown_serve
    monkeypatch.setenv("SCALEDOWN_API_URL", url)
    monkeypatch.setenv("SCALEDOWN_API_KEY", key)
    return key


@pytest.mark.slow
def test_quick_start_optimize_then_compress(spec_project: Path, service: str) -> None:
    from scaledown import Pipeline, ScaleDownCompressor
    from scaledown.optimizer import HasteOptimizer, SemanticOptimizer

    pipeline = Pipeline([
        ("haste", HasteOptimizer(top_k=5)),
        ("semantic", SemanticOptimizer(top_k=3)),
        ("compressor", ScaleDownCompressor(target_model="gpt-4o")),
    ])
    result = pipeline.run(query="explain error handling", file_path="app.py", prompt="Provide a concise summary")

    assert [step.stage for step in result.history] == ["haste", "semantic", "compressor"]
    assert result.metrics.original_tokens == result.history[0].input_tokens > result.metrics.total_tokens
    assert 0 < result.savings_percent < 100
    assert "handle" in result.final_content


@pytest.mark.slow
def test_reference_example_history(spec_project: Path, service: str) -> None:
    from scaledown import Pipeline, ScaleDownCompressor
    from scaledown.optimizer import HasteOptimizer, SemanticOptimizer

    pipeline = Pipeline([
        ("code_selection", HasteOptimizer(top_k=8)),
        ("semantic_filter", SemanticOptimizer(top_k=4)),
        ("compression", ScaleDownCompressor(target_model="gpt-4o")),
    ])
    result = pipeline.run(query="data validation logic", file_path="validators.py", prompt="Explain the validation flow")

    steps = [(step.stage, step.input_tokens, step.output_tokens) for step in result.history]
    assert [s[0] for s in steps] == ["code_selection", "semantic_filter", "compression"]
    for (_, _, out), (_, nxt, _) in zip(steps, steps[1:]):
        assert out == nxt  # each stage reads the previous one's output
    assert "validat" in result.final_content


@pytest.mark.slow
def test_large_codebase_qa_use_case(spec_project: Path, service: str) -> None:
    from scaledown import Pipeline, ScaleDownCompressor
    from scaledown.optimizer import SemanticOptimizer

    pipeline = Pipeline([("semantic", SemanticOptimizer(top_k=5)), ("compress", ScaleDownCompressor())])
    result = pipeline.run(query="authentication flow", file_path="auth.py", prompt="How does the authentication work?")
    assert "authentication" in result.final_content.lower()


def _run_error_handling_example(**run: object) -> str:
    """The specification's error-handling example; returns the line its branch prints."""
    from scaledown import Pipeline, ScaleDownCompressor
    from scaledown.exceptions import APIError, AuthenticationError, OptimizerError
    from scaledown.optimizer import HasteOptimizer

    try:
        pipeline = Pipeline([("haste", HasteOptimizer()), ("compressor", ScaleDownCompressor(max_retries=0))])
        pipeline.run(query="find bug", file_path=run.get("file_path", "app.py"), prompt="Analyze")
    except AuthenticationError as e:
        return f"Authentication failed: {e}"
    except OptimizerError as e:
        return f"Optimization failed: {e}"
    except APIError as e:
        return f"API request failed: {e}"
    except Exception as e:  # noqa: BLE001 - the example's last branch
        return f"Unexpected error: {e}"
    return "ok"


def test_error_handling_reaches_each_branch(spec_project: Path, scaledown_serve: tuple[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url, key = scaledown_serve
    monkeypatch.setenv("SCALEDOWN_API_URL", url)

    said = _run_error_handling_example()  # no key anywhere
    assert said.startswith("Authentication failed: stage 'compressor' (ScaleDownCompressor, compressor): ")

    monkeypatch.setenv("SCALEDOWN_API_KEY", "sk-wrong")
    assert _run_error_handling_example().startswith("Authentication failed: stage 'compressor'")

    monkeypatch.setenv("SCALEDOWN_API_KEY", key)
    said = _run_error_handling_example(file_path="missing.py")
    assert said.startswith("Optimization failed: stage 'haste' (HasteOptimizer, optimizer): ")
    assert "missing.py" in said

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("SCALEDOWN_API_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    assert _run_error_handling_example().startswith("API request failed: stage 'compressor'")

    monkeypatch.setenv("SCALEDOWN_API_URL", url)
    assert _run_error_handling_example() == "ok"


def test_context_and_file_path_together(spec_project: Path) -> None:
    """``context`` is the text of ``file_path`` when both are given (an unsaved buffer of that file)."""
    from scaledown import LocalCompressor, Pipeline
    from scaledown.optimizer import HasteOptimizer

    buffer = Path("app.py").read_text(encoding="utf-8").replace("def handle(", "def answer_request(")
    pipeline = Pipeline([("haste", HasteOptimizer()), ("compress", LocalCompressor())])
    result = pipeline.run(query="answer_request errors", file_path="app.py", context=buffer, prompt="errors?")

    assert "def answer_request(" in result.stage_results[0].content
    assert [span.path for span in result.stage_results[0].spans][:1] == ["app.py"]


def test_extra_keywords_go_to_the_stage_that_declares_them(spec_project: Path) -> None:
    from scaledown import LocalCompressor, Pipeline
    from scaledown.optimizer import HasteOptimizer

    pipeline = Pipeline([("haste", HasteOptimizer()), ("compress", LocalCompressor(rate=0.9))])
    result = pipeline.run(query="errors", file_path="app.py", prompt="How are errors handled?", rate=0.3)
    assert result.stage_results[1].metrics.rate == 0.3

    with pytest.raises(TypeError, match=r"'top_k'.*no stage takes.*compress: preserve_keywords, preserve_words, rate"):
        pipeline.run(query="errors", file_path="app.py", prompt="p", top_k=3)
