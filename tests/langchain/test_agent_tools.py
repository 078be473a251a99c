"""ScaleDown's agent tools for LangChain: the standard tool suites, and the tools inside create_agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_scaledown.tools import (
    ScaleDownCompressTextTool,
    ScaleDownReadFileTool,
    ScaleDownSelectCodeTool,
    scaledown_tools,
)
from scaledown_core.tokens import count_tokens

SHOPFRONT = Path(__file__).resolve().parent.parent / "agent" / "data" / "shopfront"
POLICIES = (SHOPFRONT / "docs" / "policies.md").read_text()
TASK = "Customers say refund_order refuses returns inside the 30-day window; fix it"


class _SelectCode:
    tool_constructor = ScaleDownSelectCodeTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"root": str(SHOPFRONT)}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": TASK, "paths": ["shopfront"], "max_tokens": 300}


class _ReadFile(_SelectCode):
    tool_constructor = ScaleDownReadFileTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "how is tax computed?", "path": "shopfront/billing/invoices.py", "max_tokens": 150}


class _CompressText(_SelectCode):
    tool_constructor = ScaleDownCompressTextTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"context": POLICIES, "prompt": "Which payment methods are accepted?", "max_tokens": 60}


class TestSelectCodeUnit(_SelectCode, ToolsUnitTests):
    pass


class TestSelectCodeIntegration(_SelectCode, ToolsIntegrationTests):
    pass


class TestReadFileUnit(_ReadFile, ToolsUnitTests):
    pass


class TestReadFileIntegration(_ReadFile, ToolsIntegrationTests):
    pass


class TestCompressTextUnit(_CompressText, ToolsUnitTests):
    pass


class TestCompressTextIntegration(_CompressText, ToolsIntegrationTests):
    pass


def _call(name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def _tool_messages(state: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def test_create_agent_calls_every_tool_and_the_model_reads_the_cut_output(scripted_model: Any) -> None:
    model = scripted_model([
        _call("select_code", "c1", query=TASK, paths=["shopfront"], max_tokens=300),
        _call("read_file_for", "c2", query="return window", path="docs/policies.md", max_tokens=50),
        _call("compress_text", "c3", context=POLICIES, prompt="Which payment methods are accepted?", max_tokens=40),
        _call("read_file_for", "c4", query="secrets", path="/etc/passwd"),
        AIMessage("The deadline comparison in refund_order is off by one."),
    ])
    agent = create_agent(model, tools=scaledown_tools(root=SHOPFRONT))

    state = agent.invoke({"messages": [HumanMessage(TASK)]})

    select, read, squeezed, refused = _tool_messages(state)
    assert [m.tool_call_id for m in (select, read, squeezed, refused)] == ["c1", "c2", "c3", "c4"]
    assert "def refund_order(" in select.content
    assert select.artifact["output_tokens"] <= 300
    assert ("shopfront/billing/refunds.py", "refund_order") in {(s["path"], s["name"]) for s in select.artifact["spans"]}
    assert read.artifact["method"] == "text" and "30 days" in read.content
    assert squeezed.artifact["engine"] == "local" and "PayPal" in squeezed.content
    assert count_tokens(squeezed.artifact["content"], "gpt-4o") <= 40
    # a path outside the root reaches the model as an error it can act on; the agent goes on
    assert refused.status == "error" and "PathNotAllowedError" in refused.content
    assert state["messages"][-1].content.startswith("The deadline comparison")
    # the model's second turn read select_code's cut output, not the files
    assert model.calls[1][-1].content == select.content


async def test_tools_run_asynchronously_too() -> None:
    tool = ScaleDownReadFileTool(root=str(SHOPFRONT))
    message = await tool.ainvoke({"type": "tool_call", "id": "a1", "name": "read_file_for",
                                  "args": {"query": "coupon discount", "path": "shopfront/cart.py", "max_tokens": 120}})
    assert "def checkout(" in message.content and message.artifact["output_tokens"] <= 120


def test_arguments_are_checked_by_the_schema() -> None:
    tool = ScaleDownSelectCodeTool(root=str(SHOPFRONT))
    with pytest.raises(Exception, match="max_tokens"):
        tool.invoke({"query": "x", "paths": ["shopfront"], "max_tokens": 0})
    with pytest.raises(Exception):
        ScaleDownSelectCodeTool(root=str(SHOPFRONT), unknown_option=1)
