"""Compress retrieved nodes before LlamaIndex synthesizes the answer prompt.

Runs offline: the embedding model is the packaged all-MiniLM-L6-v2 and the LLM is LlamaIndex's
MockLLM (which answers with the prompt it was given, so you can see what the LLM would read).
In your application, use your usual embedding model and LLM instead.
"""

from __future__ import annotations

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.llms import MockLLM

from llama_index.embeddings.scaledown import ScaleDownEmbedding
from llama_index.postprocessor.scaledown import ScaleDownCompressorPostprocessor

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
    index = VectorStoreIndex.from_documents(DOCUMENTS, embed_model=ScaleDownEmbedding())
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
