"""``scaledown mcp``: the agent operations as an MCP server (the official ``mcp`` SDK, the ``mcp`` extra).

``build_server(tools)`` registers ``select_code``, ``compress_text``, ``read_file_for`` and
``index_repository`` on an
``MCPServer``: typed input schemas (from :mod:`.schemas`), structured results with an output schema, and
a text block for the model (the kept code or text and one line of figures). ``run_server`` serves it
over stdio (default) or streamable HTTP, on loopback unless told otherwise, with ``scaledown serve``'s
key rules.

Adding a tool is a few lines: an async function whose parameters use the :mod:`.schemas` types, that
awaits ``_call(ctx, operation, ...)`` (worker thread, typed errors, MCP progress and cancellation when
``progress=True``) and returns ``_answer(result)``.
"""

# No "from __future__ import annotations": the SDK reads the tool signatures at registration time.

import functools
import hmac
import logging
import os
import threading
from typing import Annotated, Any, Callable, Iterable, TypeVar

from .. import __version__
from ..exceptions import MissingDependencyError, OperationCancelled, ScaleDownError
from .operations import AgentTools
from .schemas import (
    DEFAULT_READ_TOKENS,
    DEFAULT_SELECT_TOKENS,
    CompressTextResult,
    Context,
    FilePath,
    IndexPath,
    IndexResult,
    Language,
    MaxTokens,
    OptionalMaxTokens,
    Paths,
    Prompt,
    Query,
    Rate,
    ReadFileResult,
    ReadMaxTokens,
    SelectCodeResult,
)

try:
    import anyio
    import anyio.to_thread
    from mcp.server.mcpserver import Context as ToolContext
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent, ToolAnnotations
except ImportError as exc:  # pragma: no cover - depends on the install
    raise MissingDependencyError(exc.name or "mcp", "mcp") from exc

__all__ = ["build_server", "run_server", "DEFAULT_HTTP_PATH", "SERVER_NAME"]

logger = logging.getLogger(__name__)

SERVER_NAME = "scaledown"
DEFAULT_HTTP_PATH = "/mcp"
# What a tool failure may say to the agent: our typed errors, misuse, unreadable files.
_TOOL_ERRORS = (ScaleDownError, ValueError, TypeError, OSError)
_T = TypeVar("_T")

INSTRUCTIONS = (
    "ScaleDown cuts files and long text down to what a task needs, under a hard token budget. "
    "Prefer read_file_for(query, path) to reading a whole file, select_code(query, paths) to find the "
    "code a task needs across files or folders, and compress_text(context, prompt) for a long log or "
    "tool output. index_repository(path) prepares a large folder ahead of select_code. Paths are "
    "relative to the server's root folder."
)
_READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
# index_repository writes only ScaleDown's own cache, never the user's files
_WRITES_INDEX = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)



def build_server(tools: AgentTools | None = None) -> "MCPServer":
    """An ``MCPServer`` offering ``tools``' operations (default: ``AgentTools()`` on the current folder)."""
    agent = tools if tools is not None else AgentTools()
    server = MCPServer(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(annotations=_READ_ONLY)
    async def select_code(query: Query, paths: Paths, ctx: ToolContext,
                          max_tokens: MaxTokens = DEFAULT_SELECT_TOKENS,
                          language: Language = None) -> Annotated[CallToolResult, SelectCodeResult]:
        """Select the code a task needs from files or folders, within max_tokens: whole functions,
        methods and class lines in source order, the rest marked '# ...'. Reports progress per file."""
        result = await _call(ctx, agent.select_code, query, paths, max_tokens, language, progress=True)
        return _answer(result)

    @server.tool(annotations=_READ_ONLY)
    async def compress_text(context: Context, prompt: Prompt, ctx: ToolContext,
                            max_tokens: OptionalMaxTokens = None,
                            rate: Rate = None) -> Annotated[CallToolResult, CompressTextResult]:
        """Compress a long text (a document, a log, a tool output) to the passages a prompt needs."""
        result = await _call(ctx, agent.compress_text, context, prompt, max_tokens, rate)
        return _answer(result)

    @server.tool(annotations=_READ_ONLY)
    async def read_file_for(query: Query, path: FilePath, ctx: ToolContext,
                            max_tokens: ReadMaxTokens = DEFAULT_READ_TOKENS) -> Annotated[CallToolResult, ReadFileResult]:
        """Read one file cut down to what the query needs (the whole file when it fits): use it instead
        of reading a whole file."""
        result = await _call(ctx, agent.read_file_for, query, path, max_tokens)
        return _answer(result)

    @server.tool(annotations=_WRITES_INDEX)
    async def index_repository(path: IndexPath, ctx: ToolContext) -> Annotated[CallToolResult, IndexResult]:
        """Build or update the persistent index of a folder, so later select_code calls on it answer
        fast. Reports progress per parsed file; unchanged files are not read again."""
        result = await _call(ctx, agent.index_repository, path, progress=True)
        return _answer(result)

    return server


async def _call(ctx: "ToolContext", operation: Callable[..., _T], *args: Any, progress: bool = False) -> _T:
    """Run ``operation`` in a worker thread. A failure the agent can act on becomes a tool error naming
    its type; with ``progress``, the operation reports MCP progress (when the client asked for it) and
    stops at its next checkpoint once the request is cancelled."""
    cancel = threading.Event()
    kwargs: dict[str, Any] = {}
    if progress and _wants_progress(ctx):
        def report(done: int, total: int | None, message: str) -> None:
            if cancel.is_set():
                raise OperationCancelled("the request was cancelled")
            anyio.from_thread.run(ctx.report_progress, done, total, message)

        kwargs = {"progress": report, "cancel": cancel}
    elif progress:
        kwargs = {"cancel": cancel}
    try:
        return await anyio.to_thread.run_sync(functools.partial(operation, *args, **kwargs), abandon_on_cancel=True)
    except _TOOL_ERRORS as exc:
        raise ToolError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc
    finally:
        cancel.set()  # a cancelled request leaves its thread running: stop it at the next checkpoint


def _wants_progress(ctx: "ToolContext") -> bool:
    meta = ctx.request_context.meta
    return bool(meta) and meta.get("progress_token", meta.get("progressToken")) is not None


def _answer(result: Any) -> "CallToolResult":
    """The model reads the kept code or text and a line of figures; clients read the structured result."""
    return CallToolResult(content=[TextContent(type="text", text=result.for_model())],
                          structured_content=result.model_dump(mode="json"))


# ---------------------------------------------------------------------- running


def run_server(tools: AgentTools | None = None, transport: str = "stdio", *, host: str = "127.0.0.1",
               port: int = 8000, path: str = DEFAULT_HTTP_PATH, keys: Iterable[str] | None = None,
               keys_file: str | os.PathLike[str] | None = None, no_auth: bool = False,
               log_level: str = "warning") -> None:
    """Serve until interrupted: over stdio, or over streamable HTTP at ``http://host:port{path}``.

    HTTP follows ``scaledown serve``'s key rules: keys from ``keys``, ``SCALEDOWN_SERVER_KEYS`` and
    ``keys_file``, sent as ``x-api-key`` or ``Authorization: Bearer``; with no key it refuses to start
    (``ValueError``) unless ``no_auth=True`` on a loopback host. Stdio needs no key: the client started
    the process.
    """
    server = build_server(tools)
    if transport == "stdio":
        server.run("stdio")
        return
    if transport != "http":
        raise ValueError(f"transport must be 'stdio' or 'http'; got {transport!r}")
    from ..server.app import KEYS_ENV, _check_free, _is_loopback, load_keys

    if no_auth and not _is_loopback(host):
        raise ValueError(f"--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost); "
                         f"got host {host!r}: configure keys to serve on other interfaces")
    accepted = load_keys(keys, keys_file)
    if not accepted and not no_auth:
        raise ValueError(f"no API keys configured: set {KEYS_ENV} or pass --keys-file; to run without "
                         "authentication bind to 127.0.0.1 and pass --no-auth")
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/'; got {path!r}")
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the mcp extra brings uvicorn
        raise MissingDependencyError("uvicorn", "mcp") from exc
    _check_free(host, port)
    logger.info("ScaleDown MCP server on http://%s:%d%s (%s)", host, port, path,
                f"{len(accepted)} key(s)" if accepted else "no authentication")
    uvicorn.run(require_key(app, accepted) if accepted else app, host=host, port=port, log_level=log_level)


def require_key(app: Any, keys: list[str]) -> Any:
    """ASGI middleware: HTTP requests need one of ``keys`` as ``x-api-key`` or ``Authorization: Bearer``."""
    accepted = [k.encode() for k in keys]

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not _has_key(scope, accepted):
            body = b'{"detail": "missing or invalid API key: send x-api-key or Authorization: Bearer"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return guarded


def _has_key(scope: dict[str, Any], accepted: list[bytes]) -> bool:
    headers = dict(scope.get("headers") or [])
    given = headers.get(b"x-api-key")
    auth = headers.get(b"authorization", b"")
    if given is None and auth[:7].lower() == b"bearer ":
        given = auth[7:].strip()
    return given is not None and any(hmac.compare_digest(given, k) for k in accepted)
