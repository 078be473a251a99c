"""ScaleDown's agent operations as LangChain tools: ``select_code``, ``compress_text``, ``read_file_for``.

Each tool is a ``BaseTool`` with an argument schema (the same one ``scaledown mcp`` publishes) that calls
:class:`scaledown_core.agent.AgentTools`. The model reads the kept code or text and a line of figures;
the structured result (spans, token figures) is the tool message's ``artifact``. A path outside the
roots, a missing file or a bad argument comes back to the model as an error message it can act on
(``handle_tool_error=True``) instead of stopping the agent.

    from langchain.agents import create_agent
    from langchain_scaledown.tools import scaledown_tools

    agent = create_agent(model, tools=scaledown_tools(root="."))
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict, Field, model_validator

from scaledown_core.agent import AgentTools
from scaledown_core.agent.schemas import (
    DEFAULT_READ_TOKENS,
    DEFAULT_SELECT_TOKENS,
    CompressTextInput,
    ReadFileForInput,
    SelectCodeInput,
)
from scaledown_core.exceptions import ScaleDownError

__all__ = ["ScaleDownCompressTextTool", "ScaleDownReadFileTool", "ScaleDownSelectCodeTool", "scaledown_tools"]

# Failures the model can act on (a path outside the roots, a missing file, a bad value): told, not raised.
_TOOL_ERRORS = (ScaleDownError, ValueError, TypeError, OSError)


class _ScaleDownTool(BaseTool):
    """Shared fields: the roots the tool may read below, or an injected ``AgentTools``."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    root: Optional[str] = Field(default=None, description="Folder the tool may read below (default: the "
                                "current folder). Ignored when agent_tools is given.")
    target_model: str = Field(default="gpt-4o", description="The tokenizer every budget is counted in.")
    agent_tools: Optional[AgentTools] = Field(default=None, exclude=True,
                                              description="The operations to call (built from root when not given).")
    response_format: str = "content_and_artifact"
    handle_tool_error: Any = True

    @model_validator(mode="after")
    def _build_operations(self) -> "_ScaleDownTool":
        if self.agent_tools is None:
            self.agent_tools = AgentTools(self.root or os.getcwd(), target_model=self.target_model)
        return self

    def _call(self, operation: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        try:
            result = getattr(self.agent_tools, operation)(**kwargs)
        except _TOOL_ERRORS as exc:
            raise ToolException(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from exc
        return result.for_model(), result.model_dump(mode="json")


class ScaleDownSelectCodeTool(_ScaleDownTool):
    """Select the code a task needs from files or folders under a hard token budget."""

    name: str = "select_code"
    description: str = (
        "Select the code a task needs from files or folders, within max_tokens: whole functions, methods "
        "and class lines in source order, the rest marked '# ...'. Use it to find code across a repository "
        "instead of reading whole files.")
    args_schema: type[SelectCodeInput] = SelectCodeInput

    def _run(self, query: str, paths: list[str], max_tokens: int = DEFAULT_SELECT_TOKENS,
             language: Optional[str] = None, run_manager: Optional[CallbackManagerForToolRun] = None,
             ) -> tuple[str, dict[str, Any]]:
        return self._call("select_code", query=query, paths=paths, max_tokens=max_tokens, language=language)


class ScaleDownCompressTextTool(_ScaleDownTool):
    """Compress a long text to the passages a prompt needs (the hosted API when a key is configured)."""

    name: str = "compress_text"
    description: str = (
        "Compress a long text (a document, a log, a tool output) to the passages a prompt needs. Give "
        "max_tokens for a hard ceiling or rate for the fraction to keep.")
    args_schema: type[CompressTextInput] = CompressTextInput

    def _run(self, context: str, prompt: str, max_tokens: Optional[int] = None, rate: Optional[float] = None,
             run_manager: Optional[CallbackManagerForToolRun] = None) -> tuple[str, dict[str, Any]]:
        return self._call("compress_text", context=context, prompt=prompt, max_tokens=max_tokens, rate=rate)


class ScaleDownReadFileTool(_ScaleDownTool):
    """Read one file cut down to what the query needs."""

    name: str = "read_file_for"
    description: str = (
        "Read one file cut down to what the query needs (the whole file when it fits within max_tokens). "
        "Use it instead of reading a whole file.")
    args_schema: type[ReadFileForInput] = ReadFileForInput

    def _run(self, query: str, path: str, max_tokens: int = DEFAULT_READ_TOKENS,
             run_manager: Optional[CallbackManagerForToolRun] = None) -> tuple[str, dict[str, Any]]:
        return self._call("read_file_for", query=query, path=path, max_tokens=max_tokens)


def scaledown_tools(root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None, *,
                    target_model: str = "gpt-4o", agent_tools: AgentTools | None = None) -> list[BaseTool]:
    """The three tools over one ``AgentTools`` (``root``: a folder or a list of them; default: the
    current folder)."""
    shared = agent_tools if agent_tools is not None else AgentTools(root, target_model=target_model)
    return [ScaleDownSelectCodeTool(agent_tools=shared, target_model=shared.target_model),
            ScaleDownReadFileTool(agent_tools=shared, target_model=shared.target_model),
            ScaleDownCompressTextTool(agent_tools=shared, target_model=shared.target_model)]
