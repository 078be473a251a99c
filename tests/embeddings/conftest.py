"""Fixtures for the embedding layer: a deterministic word-vector encoder and the real packaged model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from scaledown_core.retrieval.embedding_cache import EmbeddingCache
from scaledown_core.retrieval.embeddings import Embedder

# Each known word owns one axis; a text's vector is the sum of its words' axes, so nearest
# neighbours follow shared words exactly.
VOCAB = ("parse", "config", "file", "send", "http", "request", "cache", "vector", "token", "budget")
_WORD = re.compile(r"[a-z]+")


class WordEmbedder(Embedder):
    """A fake model: bag of known words -> vector; records what it encoded."""

    def __init__(self, cache: EmbeddingCache | None = None, name: str = "fake-words") -> None:
        super().__init__(model_used=name, model_key=f"fake:{name}", max_seq_tokens=16, dim=len(VOCAB) + 1,
                         cache=cache)
        self.encoded: list[tuple[str, str]] = []

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        out = np.zeros((len(texts), len(VOCAB) + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            self.encoded.append((kind, text))
            for word in _WORD.findall(text.lower()):
                if word in VOCAB:
                    out[i, VOCAB.index(word)] += 1.0
            out[i, -1] = 0.01  # never a zero vector
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


@pytest.fixture
def word_embedder() -> type[WordEmbedder]:
    """The fake encoder class (tests build it with the cache they need)."""
    return WordEmbedder


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "cache")


@pytest.fixture(scope="session")
def real_embedder(minilm_path: str, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once for the session, caching under a session folder."""
    from scaledown_core.retrieval.embeddings import get_embedder

    return get_embedder(minilm_path, cache_dir=tmp_path_factory.mktemp("real-cache"), fallback=False)
