"""The one exception hierarchy of ScaleDown.

::

    ScaleDownError                 every error this library raises on purpose
    ├── AuthenticationError        missing, invalid or rejected API key (HTTP 401/403)
    ├── APIError                   the service answered badly or not at all
    │   ├── RateLimitError         HTTP 429 after every retry
    │   ├── ServerError            HTTP 5xx after every retry
    │   ├── APITimeoutError        no answer within the timeout after every retry
    │   ├── APIConnectionError     could not reach the service after every retry
    │   └── MalformedResponseError a 200 that is not a result ({"detail": ...}, successful=false, ...)
    ├── OptimizerError             missing dependency, unreadable or unparseable input, model unavailable
    ├── PathNotAllowedError        a path outside the folders an agent tool may read (also a PermissionError)
    ├── OperationCancelled         the caller cancelled a long operation (an index build, an agent tool call)
    ├── InputTooLargeError         one call's input is over the size limit (also a ValueError)
    ├── PipelineError              the pipeline itself failed: a stage returned the wrong shape or too
    │                              much, or raised something that is not a ScaleDownError (chained)
    └── BatchError                 some items of a batch failed; carries results and per-item errors

A ScaleDownError raised inside a ``Pipeline`` stage reaches the caller as itself (``except
AuthenticationError`` works around ``pipeline.run``), with ``stage`` set to the step's name and the
step named at the start of its message.

Misuse of the API (an empty prompt, a rate out of range, mismatched list lengths) raises the
built-in ``ValueError`` or ``TypeError``.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = [
    "ScaleDownError",
    "AuthenticationError",
    "APIError",
    "RateLimitError",
    "ServerError",
    "APITimeoutError",
    "APIConnectionError",
    "MalformedResponseError",
    "OptimizerError",
    "PipelineError",
    "BatchError",
    "MissingDependencyError",
    "PathNotAllowedError",
    "OperationCancelled",
    "InputTooLargeError",
]


class ScaleDownError(Exception):
    """Base class of every error ScaleDown raises on purpose.

    ``stage`` is the name of the pipeline step that raised it, or ``None`` outside a pipeline.
    """

    stage: str | None = None


class AuthenticationError(ScaleDownError):
    """The API key is missing, invalid or was rejected by the service."""

    def __init__(self, message: str, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class APIError(ScaleDownError):
    """The compression service failed to give a result.

    ``status_code`` is the HTTP status of the last attempt (``None`` when no response came back) and
    ``body`` the decoded JSON or text of that response, where there was one.
    """

    def __init__(self, message: str, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        base = super().__str__()
        if self.status_code is None:
            return base
        return f"{base} (HTTP {self.status_code})"


class RateLimitError(APIError):
    """HTTP 429: the service is rate limiting this key; every retry was used."""


class ServerError(APIError):
    """HTTP 5xx from the service; every retry was used."""


class APITimeoutError(APIError):
    """The service did not answer within the timeout; every retry was used."""


class APIConnectionError(APIError):
    """The service could not be reached; every retry was used."""


class MalformedResponseError(APIError):
    """A response that is not a compression result (a ``detail`` body, ``successful: false``, bad JSON)."""


class OptimizerError(ScaleDownError):
    """An optimizer could not work on its input: missing dependency, unreadable path, unusable model."""


def install_hint(extra: str) -> str:
    """How to add ScaleDown's ``extra``: from the checkout or wheel ScaleDown came from, never the registry's
    unrelated project of the same name."""
    return (f"install ScaleDown's '{extra}' extra where you installed it from "
            f"(a checkout: pip install -c constraints.txt '.[{extra}]')")


class MissingDependencyError(OptimizerError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package!r} is not installed; {install_hint(extra)}")
        self.package = package
        self.extra = extra


class PathNotAllowedError(ScaleDownError, PermissionError):
    """A path outside the root folders an agent tool (``scaledown mcp``, the LangChain and LlamaIndex
    tools) was allowed to read; ``path`` is the path as given."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class OperationCancelled(ScaleDownError):
    """The caller cancelled a long operation (an index build, an MCP tool call); what it finished is kept
    where that is safe (an index keeps the files it parsed) and nothing else is returned."""
class InputTooLargeError(ScaleDownError, ValueError):
    """One call's input is larger than :func:`scaledown_core.limits.max_input_bytes` (README, "Limits").

    ``size`` is the input's size in bytes (a lower bound when ``at_least``) and ``limit`` the limit.
    """

    def __init__(self, what: str, size: int, limit: int, *, at_least: bool = False) -> None:
        more = "at least " if at_least else ""
        super().__init__(
            f"{what} is too large: {more}{size:,} bytes, over the limit of {limit:,} bytes; split the input, "
            f"or raise the limit with SCALEDOWN_MAX_INPUT_BYTES (time and memory grow with it)"
        )
        self.size = size
        self.limit = limit


class PipelineError(ScaleDownError):
    """The pipeline failed at a stage; ``stage`` names it and ``__cause__`` is the stage's own exception,
    where there is one (a stage's own ScaleDownError is raised as itself instead)."""

    def __init__(self, message: str, stage: str | None = None) -> None:
        super().__init__(message)
        self.stage = stage


class BatchError(ScaleDownError):
    """Some items of a batch failed.

    ``results`` has one entry per input item, in input order: the result where the item succeeded,
    ``None`` where it failed. ``errors`` maps the index of each failed item to its exception. The
    exception's ``__cause__`` is the first failure by input index.
    """

    def __init__(self, results: Sequence[Any], errors: dict[int, BaseException]) -> None:
        first = min(errors)
        super().__init__(
            f"{len(errors)} of {len(results)} batch items failed; first failure at index {first}: "
            f"{errors[first]}"
        )
        self.results = list(results)
        self.errors = dict(errors)
