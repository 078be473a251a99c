"""Fixtures for SemanticOptimizer: a deterministic code-word encoder, sample sources, the real model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest

from scaledown_core.retrieval.embedding_cache import EmbeddingCache
from scaledown_core.retrieval.embeddings import Embedder

DATA = Path(__file__).parent / "data"
# Each word owns one axis of the fake vector space, so similarity is shared vocabulary, exactly.
VOCAB = ("invoice", "tax", "discount", "cart", "payment", "refund", "email", "retry", "shipping", "coupon")
_WORD = re.compile(r"[a-z]+")
SPECIAL_TOKENS = 2  # like [CLS] ... [SEP]


class CodeWordEmbedder(Embedder):
    """Bag of known words -> vector; sees only its first ``max_seq_tokens`` tokens, as a real model does."""

    def __init__(self, cache: EmbeddingCache | None = None, max_seq_tokens: int = 512,
                 name: str = "fake-code-words") -> None:
        super().__init__(model_used=name, model_key=f"fake:{name}:{max_seq_tokens}",
                         max_seq_tokens=max_seq_tokens, dim=len(VOCAB) + 1, cache=cache)
        self.encoded: list[tuple[str, str]] = []

    @staticmethod
    def _tokens(text: str) -> list[str]:
        return _WORD.findall(text.lower())

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        out = np.zeros((len(texts), len(VOCAB) + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            self.encoded.append((kind, text))
            for word in self._tokens(text)[: self.max_seq_tokens - SPECIAL_TOKENS]:
                if word in VOCAB:
                    out[i, VOCAB.index(word)] += 1.0
            out[i, -1] = 0.05  # never a zero vector
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._tokens(t)) + SPECIAL_TOKENS for t in texts]

    def documents_encoded(self) -> list[str]:
        return [t for kind, t in self.encoded if kind == "document"]


@pytest.fixture(autouse=True)
def _fresh_index_cache() -> Iterator[None]:
    from scaledown_core.optimizer.semantic import clear_index_cache

    clear_index_cache()
    yield
    clear_index_cache()


@pytest.fixture
def fake(tmp_path: Path) -> CodeWordEmbedder:
    return CodeWordEmbedder(EmbeddingCache(tmp_path / "cache"))


@pytest.fixture
def make_fake(tmp_path: Path):
    def make(max_seq_tokens: int = 512, cache_dir: Path | None = None) -> CodeWordEmbedder:
        return CodeWordEmbedder(EmbeddingCache(cache_dir or tmp_path / "cache"), max_seq_tokens=max_seq_tokens)

    return make


@pytest.fixture
def shop_dir() -> Path:
    return DATA / "shop"


@pytest.fixture
def billing_source() -> str:
    return (DATA / "shop" / "billing.py").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def real_optimizer_factory(minilm_path: str, tmp_path_factory: pytest.TempPathFactory):
    """SemanticOptimizer with the packaged model (loaded once per process) and a session cache folder."""
    cache_dir = tmp_path_factory.mktemp("semantic-real-cache")

    def make(**kw):
        from scaledown_core.optimizer.semantic import SemanticOptimizer

        kw.setdefault("model_name", minilm_path)
        return SemanticOptimizer(cache_dir=cache_dir, **kw)

    return make
