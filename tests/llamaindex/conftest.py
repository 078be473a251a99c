"""Shared parts of the LlamaIndex adapter tests: the packaged embedding model as a LlamaIndex
embedding, an LLM that records every prompt it is shown, and indexes over the test data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest

DATA = Path(__file__).resolve().parent / "data"
HANDBOOK = DATA / "handbook"
WEATHER = DATA / "weather"


@pytest.fixture(scope="session")
def handbook_dir() -> Path:
    """Five short help-centre pages (billing, security, storage, support, onboarding)."""
    return HANDBOOK


@pytest.fixture(scope="session")
def weather_dir() -> Path:
    """A small real Python package (fetch with retries, parse, cache, stats)."""
    return WEATHER


@pytest.fixture(scope="session")
def embed_model(minilm_path: str) -> Any:
    """A LlamaIndex embedding over the packaged all-MiniLM-L6-v2, loaded once per session."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr
    from sentence_transformers import SentenceTransformer

    class MiniLMEmbedding(BaseEmbedding):
        _model: Any = PrivateAttr()

        def __init__(self, model: Any) -> None:
            super().__init__(model_name="all-MiniLM-L6-v2")
            self._model = model

        def _encode(self, texts: List[str]) -> List[List[float]]:
            return self._model.encode(texts, normalize_embeddings=True).tolist()

        def _get_query_embedding(self, query: str) -> List[float]:
            return self._encode([query])[0]

        async def _aget_query_embedding(self, query: str) -> List[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> List[float]:
            return self._encode([text])[0]

        def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
            return self._encode(texts)

    return MiniLMEmbedding(SentenceTransformer(minilm_path, device="cpu"))


@pytest.fixture
def recording_llm() -> Any:
    """LlamaIndex's ``MockLLM`` that keeps every prompt it completes in ``llm.prompts``."""
    from llama_index.core.llms import CompletionResponse, MockLLM

    class RecordingLLM(MockLLM):
        prompts: List[str] = []  # pydantic copies the default: one list per instance

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            self.prompts.append(prompt)
            return super().complete(prompt, formatted=formatted, **kwargs)

    return RecordingLLM()


@pytest.fixture(scope="session")
def handbook_index(embed_model: Any, handbook_dir: Path) -> Any:
    """A VectorStoreIndex over the handbook pages (one node per page)."""
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

    documents = SimpleDirectoryReader(str(handbook_dir)).load_data()
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


@pytest.fixture(scope="session")
def weather_index(embed_model: Any, weather_dir: Path) -> Any:
    """A VectorStoreIndex over the weather package's source files (one node per file)."""
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

    documents = SimpleDirectoryReader(str(weather_dir), required_exts=[".py"]).load_data()
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)
