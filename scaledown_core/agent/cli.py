"""The ``scaledown mcp`` command: its arguments and handler (registered by ``scaledown_core.cli``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..exceptions import MissingDependencyError, ScaleDownError

__all__ = ["add_mcp_command"]

MCP_EPILOG = """\
examples:
  scaledown mcp                                   # stdio, confined to the current folder
  scaledown mcp --root ~/src/app --root ~/src/lib  # several roots (relative paths: the first that has them)
  scaledown mcp --transport http --port 8765 --no-auth       # http://127.0.0.1:8765/mcp, loopback only
  SCALEDOWN_SERVER_KEYS=k1 scaledown mcp --transport http --host 0.0.0.0 --port 8765

Tools: select_code, compress_text, read_file_for. Over HTTP, clients send the key as x-api-key or
Authorization: Bearer. compress_text calls the hosted API when SCALEDOWN_API_KEY is set.
"""


def add_mcp_command(commands: Any, formatter_class: type[argparse.HelpFormatter]) -> None:
    """Register ``mcp`` on the ``scaledown`` subcommand parsers."""
    mcp = commands.add_parser(
        "mcp",
        help="run an MCP server with ScaleDown's tools for coding agents",
        description="Serve select_code, compress_text and read_file_for over the Model Context Protocol.",
        epilog=MCP_EPILOG,
        formatter_class=formatter_class,
    )
    mcp.add_argument("--root", action="append", metavar="DIR",
                     help="folder the tools may read below (repeatable; default: the current folder)")
    mcp.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                     help="stdio (default) or streamable HTTP")
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP address to bind (default: 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8765, help="HTTP port (default: 8765)")
    mcp.add_argument("--path", default="/mcp", help="HTTP endpoint path (default: /mcp)")
    mcp.add_argument("--keys-file", metavar="FILE", help="HTTP: file of accepted API keys, one a line")
    mcp.add_argument("--no-auth", action="store_true",
                     help="HTTP: accept requests without a key (refused unless bound to loopback)")
    mcp.add_argument("--model", default="gpt-4o", help="target model whose tokenizer counts budgets")
    mcp.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                     help="HTTP server log level (default: warning)")
    mcp.set_defaults(handler=_cmd_mcp)


def _cmd_mcp(args: argparse.Namespace) -> int:
    if args.transport == "stdio" and (args.keys_file or args.no_auth):
        raise ValueError("--keys-file and --no-auth apply to --transport http only")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"port must be in 0..65535; got {args.port}")
    try:
        from .mcp_server import run_server
    except ImportError as exc:
        if isinstance(exc, ScaleDownError):
            raise
        raise MissingDependencyError(exc.name or "mcp", "mcp") from exc
    from .operations import AgentTools

    tools = AgentTools(args.root, target_model=args.model)
    run_server(tools, args.transport, host=args.host, port=args.port, path=args.path,
               keys_file=args.keys_file, no_auth=args.no_auth, log_level=args.log_level)
    return 0
