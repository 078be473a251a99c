"""ScaleDownToolOutputMiddleware in real LangChain 1.x agent loops (create_agent + a scripted chat model)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, ToolException, tool

from langchain_scaledown import ScaleDownToolOutputMiddleware
from scaledown_core import LocalCompressor
from scaledown_core.tokens import get_counter

QUESTION = "Why did the billing job fail for invoice INV-4471?"
NEEDLE = "ERROR billing.charge invoice=INV-4471 card declined: insufficient funds (issuer code 51)"


def _log_lines() -> str:
    lines = [
        f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z INFO worker-{i % 7} request {i} served in {20 + i % 13} ms"
        for i in range(400)
    ]
    lines.insert(237, f"2024-05-01T10:03:57Z {NEEDLE}")
    return "\n".join(lines)


LOGS = _log_lines()


@tool
def fetch_logs(service: str) -> str:
    """Fetch the recent log lines of a service."""
    return LOGS


@tool
def service_status(service: str) -> str:
    """One-line health status of a service."""
    return f"{service}: degraded since 10:03"


def _call(name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def _tool_messages(state: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def test_long_tool_output_is_compressed_with_the_conversation_as_prompt(scripted_model: Any) -> None:
    model = scripted_model([_call("fetch_logs", "call_1", service="billing"), AIMessage("Card declined.")])
    middleware = ScaleDownToolOutputMiddleware(threshold_tokens=500, max_tokens=300)
    agent = create_agent(model, tools=[fetch_logs], middleware=[middleware])

    state = agent.invoke({"messages": [HumanMessage(QUESTION)]})

    [message] = _tool_messages(state)
    expected = LocalCompressor().compress(LOGS, f"{QUESTION}\nbilling", max_tokens=300)
    assert message.content == expected.content
    assert NEEDLE in message.content
    assert message.tool_call_id == "call_1"
    assert message.name == "fetch_logs"
    counter = get_counter("gpt-4o")
    assert message.response_metadata["scaledown"] == {
        "original_tokens": counter.count(LOGS),
        "compressed_tokens": counter.count(message.content),
    }
    assert counter.count(message.content) <= 300
    # the model's second turn read the compressed output, not the raw logs
    assert model.calls[1][-1].content == message.content
    assert state["messages"][-1].content == "Card declined."


def test_short_outputs_and_unlisted_tools_pass_through(scripted_model: Any) -> None:
    model = scripted_model(
        [
            _call("service_status", "call_1", service="billing"),
            _call("fetch_logs", "call_2", service="billing"),
            AIMessage("ok"),
        ]
    )
    middleware = ScaleDownToolOutputMiddleware(threshold_tokens=500, tool_names=["search_docs"])
    agent = create_agent(model, tools=[fetch_logs, service_status], middleware=[middleware])

    state = agent.invoke({"messages": [HumanMessage(QUESTION)]})

    status, logs = _tool_messages(state)
    assert status.content == "billing: degraded since 10:03"
    assert logs.content == LOGS
    assert "scaledown" not in status.response_metadata
    assert "scaledown" not in logs.response_metadata


async def test_async_agent_compresses_through_acompress(scripted_model: Any) -> None:
    model = scripted_model([_call("fetch_logs", "call_9", service="billing"), AIMessage("done")])
    agent = create_agent(
        model, tools=[fetch_logs], middleware=[ScaleDownToolOutputMiddleware(threshold_tokens=500)]
    )

    state = await agent.ainvoke({"messages": [HumanMessage(QUESTION)]})

    [message] = _tool_messages(state)
    expected = await LocalCompressor().acompress(LOGS, f"{QUESTION}\nbilling")
    assert message.content == expected.content
    assert NEEDLE in message.content
    assert message.response_metadata["scaledown"]["compressed_tokens"] < (
        message.response_metadata["scaledown"]["original_tokens"]
    )


def test_tool_errors_are_not_compressed(scripted_model: Any) -> None:
    error_text = "gateway unreachable; " * 400

    def flaky(service: str) -> str:
        raise ToolException(error_text)

    flaky_tool = StructuredTool.from_function(
        flaky, name="flaky", description="Always fails.", handle_tool_error=True
    )
    model = scripted_model([_call("flaky", "call_1", service="billing"), AIMessage("gave up")])
    agent = create_agent(
        model, tools=[flaky_tool], middleware=[ScaleDownToolOutputMiddleware(threshold_tokens=10)]
    )

    state = agent.invoke({"messages": [HumanMessage(QUESTION)]})

    [message] = _tool_messages(state)
    assert message.status == "error"
    assert message.content == error_text
    assert "scaledown" not in message.response_metadata


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"threshold_tokens": -1}, ValueError),
        ({"threshold_tokens": 1.5}, ValueError),
        ({"max_tokens": 0}, ValueError),
        ({"tool_names": "fetch_logs"}, TypeError),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ScaleDownToolOutputMiddleware(**kwargs)


def test_agent_with_the_code_retriever_tool(scripted_model: Any, shop_dir: Any) -> None:
    from langchain_core.tools import create_retriever_tool

    from langchain_scaledown import ScaleDownCodeRetriever

    retriever = ScaleDownCodeRetriever(paths=[str(shop_dir)], k=6)
    search_code = create_retriever_tool(retriever, "search_code", "Find the code relevant to a question.")
    question = "How long does GatewayClient.charge wait between retries?"
    model = scripted_model(
        [_call("search_code", "call_1", query="charge retry backoff delay"), AIMessage("Exponential backoff.")]
    )
    agent = create_agent(
        model, tools=[search_code], middleware=[ScaleDownToolOutputMiddleware(threshold_tokens=100)]
    )

    state = agent.invoke({"messages": [HumanMessage(question)]})

    [message] = _tool_messages(state)
    raw = "\n\n".join(d.page_content for d in retriever.invoke("charge retry backoff delay"))
    assert get_counter("gpt-4o").count(raw) > 100
    expected = LocalCompressor().compress(raw, f"{question}\ncharge retry backoff delay")
    assert message.content == expected.content
    assert message.response_metadata["scaledown"]["compressed_tokens"] < get_counter("gpt-4o").count(raw)
    assert message.response_metadata["scaledown"]["original_tokens"] == get_counter("gpt-4o").count(raw)
