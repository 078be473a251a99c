"""ScaleDownEmbedding: an offline ``Settings.embed_model`` for LlamaIndex with the packaged model."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex

from llama_index.embeddings.scaledown import ScaleDownEmbedding

pytestmark = pytest.mark.slow


def test_an_index_retrieves_the_relevant_document_offline() -> None:
    embed = ScaleDownEmbedding(use_cache=False)
    docs = [Document(text="The cat sat on the warm windowsill all afternoon."),
            Document(text="Quarterly revenue rose by eight percent."),
            Document(text="Rust's borrow checker rejects two mutable references at once.")]
    index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    (hit,) = index.as_retriever(similarity_top_k=1).retrieve("How did sales develop this quarter?")
    assert hit.node.get_content().startswith("Quarterly revenue")
    assert embed.model_used == "sentence-transformers/all-MiniLM-L6-v2"


def test_sync_and_async_vectors_agree() -> None:
    embed = ScaleDownEmbedding(use_cache=False)
    texts = ["refund within 30 days", "office in Berlin"]
    sync = embed.get_text_embedding_batch(texts)
    asynced = asyncio.run(embed.aget_text_embedding_batch(texts))
    assert np.allclose(sync, asynced, atol=1e-6)
    assert np.allclose(embed.get_query_embedding("refund"), asyncio.run(embed.aget_query_embedding("refund")), atol=1e-6)
    assert len(sync[0]) == 384
