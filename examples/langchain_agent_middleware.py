"""Compress long tool outputs in a LangChain 1.x agent before the model reads them.

Runs offline: a scripted chat model stands in for a real one. With a real model write
``create_agent("openai:gpt-4o", tools=[fetch_logs], middleware=[...])``.
"""

from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from langchain_scaledown import ScaleDownToolOutputMiddleware


@tool
def fetch_logs(service: str) -> str:
    """Fetch the recent log lines of a service."""
    lines = [f"10:{i // 60:02d}:{i % 60:02d} INFO {service} request {i} served in {20 + i % 13} ms" for i in range(300)]
    lines.insert(180, "10:03:00 ERROR billing invoice=INV-4471 card declined: insufficient funds")
    return "\n".join(lines)


class ScriptedModel(GenericFakeChatModel):
    """Stand-in for a chat model: asks for the logs, then answers."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


model = ScriptedModel(
    messages=iter(
        [
            AIMessage("", tool_calls=[{"name": "fetch_logs", "args": {"service": "billing"}, "id": "call_1"}]),
            AIMessage("The card for INV-4471 was declined for insufficient funds."),
        ]
    )
)

agent = create_agent(
    model,
    tools=[fetch_logs],
    # outputs over 500 tokens are compressed against the user's question (LocalCompressor, offline)
    middleware=[ScaleDownToolOutputMiddleware(threshold_tokens=500, max_tokens=200)],
)

state = agent.invoke({"messages": [("user", "Why did the billing job fail for invoice INV-4471?")]})
tool_message = next(m for m in state["messages"] if isinstance(m, ToolMessage))
print(tool_message.response_metadata["scaledown"])
print(tool_message.content)
