"""The ScaleDown protocol server: ``POST /compress/raw/`` over :class:`LocalCompressor`.

Answers in the nested response shape of the hosted service, so that ``ScaleDownCompressor`` with
``SCALEDOWN_API_URL=http://127.0.0.1:PORT`` works against it unchanged. ``compressed_prompt`` is the
compressed context followed by the prompt (``"\\n\\n"`` between), as the protocol defines it.
"""

# No "from __future__ import annotations": FastAPI reads the route annotations at definition time.

import hmac
import ipaddress
import logging
import math
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterable, Union

from ..exceptions import MissingDependencyError
from ._slow import header_deadline_protocol, read_body

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app", "serve", "load_keys", "KEYS_ENV", "DEFAULT_MAX_BODY_BYTES"]

logger = logging.getLogger(__name__)

KEYS_ENV = "SCALEDOWN_SERVER_KEYS"
DEFAULT_MAX_BODY_BYTES = 2_000_000  # ~500k tokens of context: beyond any model's window
DEFAULT_REQUEST_TIMEOUT_S = 30.0  # what the client waits by default
DEFAULT_MAX_CONCURRENCY = 4  # compression is CPU-bound: about one per core is enough
# A client gets this long to send its request headers, and again its body: 2 MB arrives in well under
# a second on any working link, and a slow client must not hold a connection open at will.
DEFAULT_READ_TIMEOUT_S = 10.0


def load_keys(keys: Iterable[str] | None = None, keys_file: str | os.PathLike[str] | None = None) -> list[str]:
    """Keys from ``keys``, ``SCALEDOWN_SERVER_KEYS`` (comma-separated) and ``keys_file`` (one per line,
    ``#`` comments), merged."""
    found: list[str] = [k.strip() for k in (keys or []) if k and k.strip()]
    found += [k.strip() for k in os.environ.get(KEYS_ENV, "").split(",") if k.strip()]
    if keys_file is not None:
        path = Path(keys_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read the keys file {str(path)!r}: {exc.strerror or exc}") from exc
        found += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return list(dict.fromkeys(found))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(
    keys: Iterable[str] | None = None,
    *,
    no_auth: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    target_model: str = "gpt-4o",
    embeddings: bool = False,
    read_timeout: float = DEFAULT_READ_TIMEOUT_S,
) -> "FastAPI":
    """The FastAPI app. ``keys`` are the accepted ``x-api-key`` values; with none, ``no_auth=True``
    is required (``serve`` also requires a loopback host for that)."""
    try:
        import anyio
        from fastapi import Depends, FastAPI, Header, HTTPException, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError(exc.name or "fastapi", "server") from exc

    from .. import __version__
    from ..retrieval.text import lone_surrogate
    from ..compressor.local import LocalCompressor

    accepted = [k for k in (keys or []) if k]
    if not accepted and not no_auth:
        raise ValueError(f"no API keys configured: set {KEYS_ENV} or pass a keys file; to run without "
                         "authentication bind to 127.0.0.1 and pass no_auth=True (--no-auth)")
    if max_body_bytes < 1 or request_timeout <= 0 or max_concurrency < 1 or not 0 < read_timeout < math.inf:
        raise ValueError("max_body_bytes, request_timeout, max_concurrency and read_timeout must be positive")

    class Options(BaseModel):
        # strict where lax parsing changes meaning: "rate": true is not 1.0, "preserve_keywords": "no" not True
        model_config = ConfigDict(extra="ignore")
        rate: Union[StrictFloat, StrictInt, StrictStr] = "auto"
        temperature: Union[StrictFloat, StrictInt, None] = None
        preserve_keywords: StrictBool | None = None
        preserve_words: list[str] | None = None
        # JSON Schema's integer includes 5.0, and the schema is what clients validate against
        max_tokens: Annotated[StrictInt, Field(ge=1), BeforeValidator(_integral)] | None = None

    class CompressRequest(BaseModel):
        model_config = ConfigDict(extra="ignore")
        context: str
        prompt: str = Field(min_length=1)
        scaledown: Options
        model: str | None = None

    # A compression thread cannot be stopped: one whose request timed out keeps its slot until it
    # ends, so at most max_concurrency compressions ever run at once.
    slots = threading.BoundedSemaphore(max_concurrency)

    def check_key(x_api_key: str | None = Header(default=None)) -> None:
        if no_auth:
            return
        if not x_api_key or not any(hmac.compare_digest(x_api_key.encode(), k.encode()) for k in accepted):
            raise HTTPException(status_code=401, detail="missing or invalid x-api-key")

    app = FastAPI(title="ScaleDown compression server", version=__version__,
                  description="The ScaleDown compression protocol over the embedded LocalCompressor.")

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return _too_large(JSONResponse, int(declared), max_body_bytes)
        if request.method in ("POST", "PUT", "PATCH"):
            body, status, reason = await read_body(request, max_body_bytes, read_timeout)
            if body is None:  # the connection is not reused: the rest of the body was never read
                return JSONResponse(status_code=status, content={"detail": reason}, headers={"Connection": "close"})
            request._body = body  # the route reads the already-received body
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": _jsonable(exc.errors())})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: no key needed."""
        return {"status": "ok", "version": __version__, "engine": "local"}

    class ErrorBody(BaseModel):
        """Every error answer: ``detail`` is a message, or for a malformed body the list of its errors."""

        detail: Union[str, list[dict[str, Any]]]

    errors: dict[Union[int, str], dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Malformed request body (detail: the list of its errors), or "
              "one that cannot be served (detail: a message): max_tokens smaller than the prompt, a blank "
              "prompt, text with a lone surrogate, an unknown model"},
        401: {"model": ErrorBody, "description": "Missing or invalid x-api-key"},
        408: {"model": ErrorBody, "description": "Request body not received within the read timeout"},
        413: {"model": ErrorBody, "description": "Request body larger than the server accepts"},
        503: {"model": ErrorBody, "description": "Compression did not finish within the request timeout"},
    }

    async def run_in_slot(work: Callable[[], Any]) -> Any:
        """``work()`` in a worker thread once a compression slot is free, within the request timeout (503
        past it); its ValueError or TypeError is a 400 with its message."""
        abandoned = threading.Event()

        def in_a_slot() -> Any:
            with slots:
                if abandoned.is_set():  # timed out while waiting for a slot: nobody wants the answer
                    return None
                return work()

        try:
            with anyio.fail_after(request_timeout):
                return await anyio.to_thread.run_sync(in_a_slot, abandon_on_cancel=True)
        except TimeoutError:
            abandoned.set()
            raise HTTPException(status_code=503, detail=f"compression did not finish within the "
                                f"server's {request_timeout:g} s request timeout") from None
        except (ValueError, TypeError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc

    @app.post("/compress/raw/", dependencies=[Depends(check_key)], responses=errors)
    async def compress_raw(req: CompressRequest) -> dict[str, Any]:
        """Compress ``context`` for ``prompt``; the answer has the hosted service's nested shape."""
        if not req.prompt.strip():
            raise HTTPException(status_code=400, detail="prompt must be a non-empty string")
        for name, text in (("context", req.context), ("prompt", req.prompt)):
            if lone_surrogate(text) is not None:  # JSON allows "\ud800"; UTF-8, and so the answer, does not
                raise HTTPException(status_code=400, detail=f"{name} holds a lone surrogate: not valid Unicode text")
        try:
            compressor = LocalCompressor(
                target_model=req.model or target_model, rate=req.scaledown.rate,
                preserve_keywords=bool(req.scaledown.preserve_keywords),
                preserve_words=req.scaledown.preserve_words, include_prompt=True, embeddings=embeddings,
            )
        except (ValueError, TypeError) as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        started = time.perf_counter()
        result = await run_in_slot(lambda: compressor.compress(req.context, req.prompt, req.scaledown.max_tokens))
        latency = (time.perf_counter() - started) * 1000.0
        m = result.metrics
        return {
            "results": {
                "compressed_prompt": result.content,
                "original_prompt_tokens": m.original_prompt_tokens,
                "compressed_prompt_tokens": m.compressed_prompt_tokens,
                "successful": True,
                "compression_ratio": result.compression_ratio if m.compressed_prompt_tokens else 0.0,
            },
            "total_original_tokens": m.original_prompt_tokens,
            "total_compressed_tokens": m.compressed_prompt_tokens,
            "successful": True,
            "latency_ms": latency,
            "model_used": m.model_used,
            "request_metadata": {
                "compression_time_ms": m.latency_ms,
                "compression_rate": m.rate,
                "prompt_length": len(req.context) + len(req.prompt),
                "compressed_prompt_length": len(result.content),
                "timestamp": datetime.now(timezone.utc).isoformat(),
            },
        }

    from .documents import add_documents_route

    def make_compressor(model: str | None, rate: Any, preserve_keywords: bool | None,
                        preserve_words: list[str] | None) -> LocalCompressor:
        return LocalCompressor(target_model=model or target_model, rate=rate, preserve_keywords=bool(preserve_keywords),
                               preserve_words=preserve_words, embeddings=embeddings)

    add_documents_route(app, check_key=check_key, run_in_slot=run_in_slot, options_model=Options,
                        make_compressor=make_compressor, responses=errors)

    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        # validation errors are answered 400 (the service's behaviour), not FastAPI's 422
        if app.openapi_schema is None:
            schema = default_openapi()
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                operation.get("responses", {}).pop("422", None)  # answered 400, documented with the route
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _check_free(host: str, port: int) -> None:
    """A clear error now for an address that is taken, rather than uvicorn's log line and exit code."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"cannot serve on {host!r}: {exc.strerror or exc}") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValueError(f"cannot serve on {host}:{port}: {exc.strerror or exc} "
                             "(another server is using it? pick another --port)") from exc


def _integral(value: Any) -> Any:
    """A float with no fraction (``5.0``) as the integer it is; anything else unchanged, for strict checking."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _too_large(response_cls: Any, size: int, limit: int) -> Any:
    return response_cls(status_code=413, content={
        "detail": f"request body too large: {size} bytes; this server accepts at most {limit} bytes"})


def _jsonable(value: Any) -> Any:
    """Validation errors as strict JSON: exceptions in ``ctx``, non-finite numbers and text that is not
    valid Unicode (a lone surrogate echoed from the input) turned into strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _jsonable(str(value))


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    keys_file: str | os.PathLike[str] | None = None,
    no_auth: bool = False,
    *,
    keys: Iterable[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    embeddings: bool = False,
    log_level: str = "info",
    read_timeout: float = DEFAULT_READ_TIMEOUT_S,
) -> None:
    """Run the server with uvicorn until interrupted.

    Keys come from ``keys``, ``SCALEDOWN_SERVER_KEYS`` and ``keys_file``. With no key it refuses to
    start (``ValueError``) unless ``no_auth=True`` and ``host`` is a loopback address. A client gets
    ``read_timeout`` seconds to send its request headers and as long again for its body; past them its
    connection is closed (headers) or answered 408 (body).
    """
    if no_auth and not _is_loopback(host):
        raise ValueError(f"--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost); "
                         f"got host {host!r}: configure keys to serve on other interfaces")
    accepted = load_keys(keys, keys_file)
    app = create_app(accepted, no_auth=no_auth and not accepted, max_body_bytes=max_body_bytes,
                     request_timeout=request_timeout, max_concurrency=max_concurrency, embeddings=embeddings,
                     read_timeout=read_timeout)
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("uvicorn", "server") from exc
    _check_free(host, port)
    logger.info("ScaleDown server on http://%s:%d (%s)", host, port,
                f"{len(accepted)} key(s)" if accepted else "no authentication")
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=header_deadline_protocol(read_timeout))
