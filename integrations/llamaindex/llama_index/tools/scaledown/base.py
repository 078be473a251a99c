"""``ScaleDownToolSpec``: ``select_code``, ``read_file_for`` and ``compress_text`` for LlamaIndex agents.

The functions call :class:`scaledown_core.agent.AgentTools` with the argument types ``scaledown mcp``
publishes, so the schemas match. Each returns the result model: the agent's model reads its text (the kept
code or text and a line of figures, ``str(result)``); ``ToolOutput.raw_output`` keeps the structured
result (spans, token figures).

    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.tools.scaledown import ScaleDownToolSpec

    agent = FunctionAgent(tools=ScaleDownToolSpec(root=".").to_tool_list(), llm=llm)
"""

# No "from __future__ import annotations": LlamaIndex reads the tool signatures at runtime.

import inspect
import os
from typing import Any, List, Optional, Sequence

from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.tools.types import ToolMetadata

from scaledown_core.agent import AgentTools
from scaledown_core.agent.schemas import (
    DEFAULT_READ_TOKENS,
    DEFAULT_SELECT_TOKENS,
    CompressTextInput,
    CompressTextResult,
    Context,
    FilePath,
    Language,
    MaxTokens,
    OptionalMaxTokens,
    Paths,
    Prompt,
    Query,
    Rate,
    ReadFileForInput,
    ReadFileResult,
    ReadMaxTokens,
    SelectCodeInput,
    SelectCodeResult,
)

__all__ = ["ScaleDownToolSpec"]

_INPUTS: dict[str, Any] = {"select_code": SelectCodeInput, "read_file_for": ReadFileForInput,
                           "compress_text": CompressTextInput}


class ScaleDownToolSpec(BaseToolSpec):
    """ScaleDown's agent tools, confined to ``root`` (a folder or a list; default: the current folder).

    ``agent_tools`` injects the operations instead (its roots and target model then apply).
    """

    spec_functions = ["select_code", "read_file_for", "compress_text"]

    def __init__(self, root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None, *,
                 target_model: str = "gpt-4o", agent_tools: AgentTools | None = None) -> None:
        self.agent_tools = agent_tools if agent_tools is not None else AgentTools(root, target_model=target_model)

    def get_metadata_from_fn_name(self, fn_name: str,
                                  spec_functions: Optional[List[SPEC_FUNCTION_TYPE]] = None) -> Optional[ToolMetadata]:
        """The tool's name, its docstring as the description (no signature dump) and the argument schema
        ``scaledown mcp`` publishes, constraints included."""
        return ToolMetadata(name=fn_name, description=inspect.getdoc(getattr(self, fn_name)) or fn_name,
                            fn_schema=_INPUTS[fn_name])

    def select_code(self, query: Query, paths: Paths, max_tokens: MaxTokens = DEFAULT_SELECT_TOKENS,
                    language: Language = None) -> SelectCodeResult:
        """Select the code a task needs from files or folders, within max_tokens: whole functions, methods
        and class lines in source order, the rest marked '# ...'. Use it to find code across a repository
        instead of reading whole files."""
        return self.agent_tools.select_code(query, paths, max_tokens, language)

    def read_file_for(self, query: Query, path: FilePath,
                      max_tokens: ReadMaxTokens = DEFAULT_READ_TOKENS) -> ReadFileResult:
        """Read one file cut down to what the query needs (the whole file when it fits within max_tokens).
        Use it instead of reading a whole file."""
        return self.agent_tools.read_file_for(query, path, max_tokens)

    def compress_text(self, context: Context, prompt: Prompt, max_tokens: OptionalMaxTokens = None,
                      rate: Rate = None) -> CompressTextResult:
        """Compress a long text (a document, a log, a tool output) to the passages a prompt needs. Give
        max_tokens for a hard ceiling or rate for the fraction to keep."""
        return self.agent_tools.compress_text(context, prompt, max_tokens, rate)
