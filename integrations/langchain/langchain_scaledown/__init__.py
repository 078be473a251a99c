"""LangChain integration of ScaleDown: a code retriever, a document compressor, offline embeddings, agent
tools and an agent middleware.

``ScaleDownCodeRetriever`` and ``ScaleDownDocumentCompressor`` need ``langchain-core`` (the
``scaledown[langchain]`` extra); ``ScaleDownToolOutputMiddleware`` is an agent middleware and needs
``langchain`` 1.x as well, so it is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langchain_scaledown.document_compressors import ScaleDownDocumentCompressor
from langchain_scaledown.embeddings import ScaleDownEmbeddings
from langchain_scaledown.retrievers import ScaleDownCodeRetriever
from langchain_scaledown.tools import (
    ScaleDownCompressTextTool,
    ScaleDownReadFileTool,
    ScaleDownSelectCodeTool,
    scaledown_tools,
)

if TYPE_CHECKING:
    from langchain_scaledown.middleware import ScaleDownToolOutputMiddleware

__all__ = [
    "ScaleDownCodeRetriever",
    "ScaleDownCompressTextTool",
    "ScaleDownDocumentCompressor",
    "ScaleDownEmbeddings",
    "ScaleDownReadFileTool",
    "ScaleDownSelectCodeTool",
    "ScaleDownToolOutputMiddleware",
    "scaledown_tools",
]


def __getattr__(name: str) -> Any:
    if name == "ScaleDownToolOutputMiddleware":
        try:
            module = importlib.import_module("langchain_scaledown.middleware")
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in {"langchain", "langgraph"}:
                raise
            raise ImportError(
                "ScaleDownToolOutputMiddleware needs LangChain 1.x agents; install it with: "
                "pip install 'langchain>=1.0'"
            ) from exc
        value = module.ScaleDownToolOutputMiddleware
        globals()[name] = value
        return value
    raise AttributeError(f"module 'langchain_scaledown' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
