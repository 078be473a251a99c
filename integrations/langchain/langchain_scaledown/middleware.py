"""``ScaleDownToolOutputMiddleware``: compress long tool outputs before the agent's model reads them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.types import AgentMiddleware, AgentState, ContextT, ResponseT
from langchain_core.messages import HumanMessage, ToolMessage

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from langchain.agents.middleware.types import ToolCallRequest
    from langgraph.types import Command

__all__ = ["ScaleDownToolOutputMiddleware"]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD_TOKENS = 1000
"""Outputs shorter than this are passed through: they cost little, and a short output is usually the
exact answer the agent asked the tool for."""


class ScaleDownToolOutputMiddleware(AgentMiddleware[AgentState[ResponseT], ContextT, ResponseT]):
    """Compress each tool output over ``threshold_tokens`` with a ScaleDown compressor.

    The compression prompt is taken from the conversation: the latest user message, plus the string
    arguments of the tool call (what the agent asked the tool for). The compressed text replaces the
    ``ToolMessage`` content; ``response_metadata["scaledown"]`` records ``original_tokens`` and
    ``compressed_tokens``. Error results, ``Command`` results and non-text content pass through.

    Example:
        .. code-block:: python

            from langchain.agents import create_agent
            from langchain_scaledown import ScaleDownToolOutputMiddleware

            agent = create_agent(
                model, tools=[search], middleware=[ScaleDownToolOutputMiddleware(threshold_tokens=500)]
            )
    """

    def __init__(
        self,
        compressor: Any = None,
        *,
        threshold_tokens: int = DEFAULT_THRESHOLD_TOKENS,
        max_tokens: int | None = None,
        tool_names: Iterable[str] | None = None,
    ) -> None:
        """Create the middleware.

        Args:
            compressor: ``LocalCompressor`` (the default, offline) or ``ScaleDownCompressor``.
            threshold_tokens: Outputs with more target-model tokens than this are compressed.
            max_tokens: Hard ceiling on a compressed output (the compressor's rate decides if None).
            tool_names: Only these tools' outputs are compressed (all tools if None).
        """
        super().__init__()
        if isinstance(threshold_tokens, bool) or not isinstance(threshold_tokens, int) or threshold_tokens < 0:
            raise ValueError(f"threshold_tokens must be a non-negative integer; got {threshold_tokens!r}")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise ValueError(f"max_tokens must be a positive integer or None; got {max_tokens!r}")
        if isinstance(tool_names, str):
            raise TypeError("tool_names must be a collection of tool names, not one string")
        if compressor is None:
            from scaledown_core import LocalCompressor

            compressor = LocalCompressor()
        self.compressor = compressor
        self.threshold_tokens = threshold_tokens
        self.max_tokens = max_tokens
        self.tool_names = frozenset(tool_names) if tool_names is not None else None

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Run the tool, then compress its output if it is long."""
        result = handler(request)
        if not self._should_compress(request, result):
            return result
        compressed = self.compressor.compress(result.content, _prompt(request), max_tokens=self.max_tokens)
        return _replace_content(result, compressed)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Run the tool, then compress its output if it is long (through the compressor's async path)."""
        result = await handler(request)
        if not self._should_compress(request, result):
            return result
        compressed = await self.compressor.acompress(
            result.content, _prompt(request), max_tokens=self.max_tokens
        )
        return _replace_content(result, compressed)

    def _should_compress(self, request: ToolCallRequest, result: Any) -> bool:
        if not isinstance(result, ToolMessage) or result.status == "error":
            return False
        if self.tool_names is not None and request.tool_call["name"] not in self.tool_names:
            return False
        if not isinstance(result.content, str):
            logger.debug("tool %r returned non-text content; not compressed", request.tool_call["name"])
            return False
        from scaledown_core.tokens import get_counter

        return get_counter(self.compressor.target_model).count(result.content) > self.threshold_tokens


def _prompt(request: ToolCallRequest) -> str:
    """The latest user message and the tool call's string arguments: what the output must answer."""
    parts: list[str] = []
    for message in reversed(_messages(request.state)):
        if isinstance(message, HumanMessage):
            parts.append(message.text)
            break
    args = request.tool_call.get("args") or {}
    parts.extend(v for v in args.values() if isinstance(v, str))
    prompt = "\n".join(p for p in parts if p.strip())
    return prompt or request.tool_call["name"]


def _messages(state: Any) -> list[Any]:
    if isinstance(state, dict):
        return list(state.get("messages", []))
    return list(getattr(state, "messages", []) or [])


def _replace_content(message: ToolMessage, compressed: Any) -> ToolMessage:
    """A copy of ``message`` holding the compressed text and its figures."""
    figures = {
        "original_tokens": compressed.metrics.original_prompt_tokens,
        "compressed_tokens": compressed.metrics.compressed_prompt_tokens,
    }
    return message.model_copy(
        update={
            "content": compressed.content,
            "response_metadata": {**message.response_metadata, "scaledown": figures},
        }
    )
