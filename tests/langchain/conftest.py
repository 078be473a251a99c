"""Shared parts of the LangChain adapter tests: the shop source tree and a fake tool-calling chat model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SHOP = Path(__file__).resolve().parent / "data" / "shop"


@pytest.fixture(scope="session")
def shop_dir() -> Path:
    """A small real Python package (cart, pricing, payments) to retrieve code from."""
    return SHOP


@pytest.fixture(scope="session")
def minilm_embeddings(minilm_path: str) -> Any:
    """LangChain ``Embeddings`` over the packaged all-MiniLM-L6-v2, loaded once per session."""
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path, device="cpu")

    class MiniLMEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return model.encode(texts, normalize_embeddings=True).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return MiniLMEmbeddings()


@pytest.fixture
def scripted_model() -> Any:
    """Factory of a chat model that replays scripted AIMessages and records what it was shown.

    LangChain's ``GenericFakeChatModel`` plus ``bind_tools`` (``create_agent`` binds the tools) and a
    record of each call's input messages in ``model.calls``.
    """
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, BaseMessage

    class ScriptedToolModel(GenericFakeChatModel):
        calls: list[list[BaseMessage]] = []

        def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedToolModel":
            return self

        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
            self.calls.append(list(messages))
            return super()._generate(messages, *args, **kwargs)

    def make(responses: list[AIMessage]) -> ScriptedToolModel:
        return ScriptedToolModel(messages=iter(responses), calls=[])

    return make
