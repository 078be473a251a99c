"""Agent surfaces: the operations an agent calls (select code, compress text, read a file for a query),
confined to root folders, and the MCP server over them (``scaledown mcp``, the ``mcp`` extra).

API::

    AgentTools(roots=None, *, target_model="gpt-4o", optimizer=None, api_key=None, api_url=None)
        .select_code(query, paths, max_tokens=2000, language=None) -> SelectCodeResult
        .compress_text(context, prompt, max_tokens=None, rate=None) -> CompressTextResult
        .read_file_for(query, path, max_tokens=1500) -> ReadFileResult
    Roots(folders).resolve(path) -> Path      # PathNotAllowedError outside the folders
    build_server(tools) -> mcp.server.mcpserver.MCPServer      # needs the mcp extra

The LangChain tools (``langchain_scaledown.tools``) and the LlamaIndex tool spec
(``llama_index.tools.scaledown``) call the same ``AgentTools``. Everything is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .mcp_server import build_server, run_server
    from .operations import AgentTools, OperationCancelled
    from .roots import Roots
    from .schemas import CompressTextResult, ReadFileResult, SelectCodeResult, Span

__all__ = [
    "AgentTools",
    "CompressTextResult",
    "OperationCancelled",
    "ReadFileResult",
    "Roots",
    "SelectCodeResult",
    "Span",
    "build_server",
    "run_server",
]

_LAZY = {
    "AgentTools": ".operations",
    "OperationCancelled": ".operations",
    "Roots": ".roots",
    "CompressTextResult": ".schemas",
    "ReadFileResult": ".schemas",
    "SelectCodeResult": ".schemas",
    "Span": ".schemas",
    "build_server": ".mcp_server",
    "run_server": ".mcp_server",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'scaledown_core.agent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
