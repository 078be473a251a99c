"""ScaleDownEmbeddings: langchain-tests' standard embedding suite and retrieval with the packaged model."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_scaledown import ScaleDownEmbeddings

pytestmark = pytest.mark.slow


class TestScaleDownEmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[ScaleDownEmbeddings]:
        return ScaleDownEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"use_cache": False}


def test_nearest_text_is_the_relevant_one_with_the_packaged_model() -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    embeddings = ScaleDownEmbeddings(use_cache=False)
    store = InMemoryVectorStore.from_texts(
        ["The cat sat on the warm windowsill all afternoon.", "Quarterly revenue rose by eight percent.",
         "Rust's borrow checker rejects two mutable references at once."], embeddings)
    (hit,) = store.similarity_search("How did sales develop this quarter?", k=1)
    assert hit.page_content.startswith("Quarterly revenue")
    assert embeddings.model_used == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(embeddings.embed_query("x")) == 384


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="model"):
        ScaleDownEmbeddings(model="all-MiniLM-L6-v2")
