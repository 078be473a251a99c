"""ScaleDownToolSpec: its tools' schemas, and the tools inside a LlamaIndex FunctionAgent driven by a mock LLM."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM

from llama_index.tools.scaledown import ScaleDownToolSpec
from scaledown_core.agent import ReadFileResult, SelectCodeResult

# FunctionAgent (a pydantic model) is walked with inspect.getmembers by llama-index workflows, which
# touches pydantic's deprecated attributes: LlamaIndex's warning, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")

SHOPFRONT = Path(__file__).resolve().parent.parent / "agent" / "data" / "shopfront"
TASK = "Customers say refund_order refuses returns inside the 30-day window; fix it"


def scripted_llm(turns: list[list[tuple[str, dict[str, Any]]]], seen: list[Sequence[ChatMessage]]) -> MockFunctionCallingLLM:
    """A function-calling mock LLM that makes the given tool calls, one turn after another, then answers."""
    script = iter(turns)

    def respond(messages: Sequence[ChatMessage], **_kwargs: Any) -> ChatMessage:
        seen.append(list(messages))
        calls = next(script, None)
        if calls is None:
            return ChatMessage(role=MessageRole.ASSISTANT, content="The refund deadline check is off by one.")
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[
            ToolCallBlock(tool_call_id=f"call-{i}", tool_name=name, tool_kwargs=kwargs)
            for i, (name, kwargs) in enumerate(calls)])

    return MockFunctionCallingLLM(response_generator=respond, is_chat_model=True)


def test_tool_list_names_schemas_and_descriptions() -> None:
    tools = {t.metadata.name: t for t in ScaleDownToolSpec(root=SHOPFRONT).to_tool_list()}
    assert set(tools) == {"select_code", "read_file_for", "compress_text"}
    select = tools["select_code"].metadata.fn_schema.model_json_schema()
    assert set(select["required"]) == {"query", "paths"}
    assert select["properties"]["max_tokens"]["minimum"] == 1
    assert tools["read_file_for"].metadata.description.startswith("Read one file cut down")


async def test_function_agent_calls_the_tools_and_reads_their_cut_output() -> None:
    seen: list[Sequence[ChatMessage]] = []
    llm = scripted_llm([
        [("select_code", {"query": TASK, "paths": ["shopfront"], "max_tokens": 300})],
        [("read_file_for", {"query": "return window", "path": "shopfront/billing/refunds.py", "max_tokens": 120}),
         ("read_file_for", {"query": "secrets", "path": "/etc/passwd"})],
    ], seen)
    agent = FunctionAgent(tools=ScaleDownToolSpec(root=SHOPFRONT).to_tool_list(), llm=llm)

    handler = agent.run(user_msg=TASK)
    results = [event async for event in handler.stream_events() if isinstance(event, ToolCallResult)]
    answer = await handler

    assert [r.tool_name for r in results] == ["select_code", "read_file_for", "read_file_for"]
    selected = results[0].tool_output.raw_output
    assert isinstance(selected, SelectCodeResult) and selected.output_tokens <= 300
    assert "refund_order" in {s.name for s in selected.spans}
    # the two calls of one turn run concurrently: their results arrive in the order they finish
    by_path = {r.tool_kwargs["path"]: r.tool_output for r in results[1:]}
    read = by_path["shopfront/billing/refunds.py"].raw_output
    assert isinstance(read, ReadFileResult) and read.output_tokens <= 120
    refused = by_path["/etc/passwd"]
    assert refused.is_error and "outside the folders" in refused.content
    # the LLM's next turn was shown the cut code, with its figures line
    shown = "\n".join(str(m.content) for m in seen[1] if m.role == MessageRole.TOOL)
    assert "def refund_order(" in shown and "[scaledown:" in shown
    assert "off by one" in str(answer)


def test_bad_arguments_are_refused() -> None:
    spec = ScaleDownToolSpec(root=SHOPFRONT)
    with pytest.raises(ValueError):
        spec.select_code("x", ["shopfront"], max_tokens=0)
    with pytest.raises(PermissionError):
        spec.read_file_for("x", "../../..")
