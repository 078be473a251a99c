"""ScaleDown's local embeddings as a LlamaIndex embedding model: ``Settings.embed_model`` offline.

:class:`ScaleDownEmbedding` is ScaleDown's embedder (the packaged all-MiniLM-L6-v2 by default, or any
model ScaleDown resolves: a local folder, a cached sentence-transformers model, an OpenAI model name with
a key), so an index and the ScaleDown postprocessors can run with no model download and no API key.
"""

from .base import ScaleDownEmbedding

__all__ = ["ScaleDownEmbedding"]
