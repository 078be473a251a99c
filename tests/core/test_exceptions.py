from __future__ import annotations

import pytest

from scaledown_core import exceptions as exc


@pytest.mark.parametrize(
    "cls",
    [exc.AuthenticationError, exc.APIError, exc.OptimizerError, exc.PipelineError, exc.BatchError],
)
def test_every_error_is_a_scaledown_error(cls: type) -> None:
    assert issubclass(cls, exc.ScaleDownError)


@pytest.mark.parametrize(
    "cls",
    [exc.RateLimitError, exc.ServerError, exc.APITimeoutError, exc.APIConnectionError, exc.MalformedResponseError],
)
def test_api_error_kinds(cls: type) -> None:
    err = cls("service said no", status_code=503, body={"detail": "down"})
    assert isinstance(err, exc.APIError)
    assert err.status_code == 503 and err.body == {"detail": "down"}
    assert "HTTP 503" in str(err)


def test_api_error_without_status_has_plain_message() -> None:
    assert str(exc.APIError("no answer")) == "no answer"


def test_missing_dependency_names_the_extra() -> None:
    err = exc.MissingDependencyError("faiss", "semantic")
    assert isinstance(err, exc.OptimizerError) and isinstance(err, ImportError)
    assert "'semantic' extra" in str(err) and "pip install -c constraints.txt '.[semantic]'" in str(err)


def test_pipeline_error_names_stage() -> None:
    err = exc.PipelineError("stage 'haste' failed", stage="haste")
    assert err.stage == "haste"


def test_batch_error_keeps_results_and_errors() -> None:
    boom = ValueError("bad item")
    err = exc.BatchError(["ok", None, "ok2"], {1: boom})
    assert err.results == ["ok", None, "ok2"]
    assert err.errors == {1: boom}
    assert "1 of 3" in str(err) and "index 1" in str(err)
