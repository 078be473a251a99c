"""Retrieve the functions and classes a question needs straight from source files.

ScaleDownCodeRetriever needs no index and no embedding model (HasteOptimizer ranks code units with
identifier-aware BM25 and the call graph). Runs offline with LlamaIndex's MockLLM, which answers
with its prompt; use your own LLM in your app.
"""

from __future__ import annotations

from pathlib import Path

import scaledown_core
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine

from llama_index.retrievers.scaledown import ScaleDownCodeRetriever

CODE_DIR = Path(scaledown_core.__file__).parent / "compressor"  # point this at your own code


def main() -> None:
    retriever = ScaleDownCodeRetriever(paths=[CODE_DIR], max_tokens=1200, similarity_top_k=5)
    question = "How long does the client wait before retrying after HTTP 429?"

    for hit in retriever.retrieve(question):
        m = hit.metadata
        print(f"{hit.score:.2f}  {m['file_path']}:{m['start_line']}-{m['end_line']}  {m['name']}")

    query_engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    print(query_engine.query(question))  # MockLLM echoes its prompt: the selected units


if __name__ == "__main__":
    main()
