"""Keep only the code each retrieved node needs for the question, with HasteNodePostprocessor.

Indexes ScaleDown's own compressor package as the code base. Runs offline (packaged MiniLM
embeddings, LlamaIndex's MockLLM, which answers with its prompt); use your own models in your app.
"""

from __future__ import annotations

from pathlib import Path

import scaledown_core
from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.llms import MockLLM

from llama_index.embeddings.scaledown import ScaleDownEmbedding
from llama_index.postprocessor.scaledown import HasteNodePostprocessor

CODE_DIR = Path(scaledown_core.__file__).parent / "compressor"  # point this at your own code


def main() -> None:
    documents = SimpleDirectoryReader(str(CODE_DIR), required_exts=[".py"]).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=ScaleDownEmbedding())
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
