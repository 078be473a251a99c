"""Cached embeddings are validated: a damaged vector (NaN, infinite, wrong dimension) in an otherwise
valid cache is embedded again with a warning, never used for ranking."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from scaledown_core.retrieval.embedding_cache import EmbeddingCache, content_hash

pytestmark = pytest.mark.slow

DOCS = ["def parse_config(path): read the settings file", "def send_request(url): post over http",
        "the budget packer fits units under a token limit"]


def damage(cache_path: Path, text: str, blob: bytes, dim: int) -> None:
    with sqlite3.connect(cache_path) as conn:
        changed = conn.execute("UPDATE embeddings SET vector = ?, dim = ? WHERE digest = ?",
                               (blob, dim, content_hash(text))).rowcount
    assert changed == 1


@pytest.mark.parametrize("kind", ["nan", "inf", "wrong-dimension"])
def test_a_damaged_cached_vector_is_embedded_again(minilm_path: str, tmp_path: Path, kind: str,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from scaledown_core.retrieval.embeddings import get_embedder

    embedder = get_embedder(minilm_path, cache_dir=tmp_path, fallback=False)
    fresh = embedder.embed_documents(DOCS)
    cache: EmbeddingCache = embedder.cache
    dim = fresh.shape[1]
    if kind == "wrong-dimension":
        blob, stored_dim = np.ones(dim // 2, dtype="<f4").tobytes(), dim // 2
    else:
        bad = fresh[1].copy()
        bad[3] = np.nan if kind == "nan" else np.inf
        blob, stored_dim = bad.astype("<f4").tobytes(), dim
    damage(cache.path, DOCS[1], blob, stored_dim)

    with caplog.at_level(logging.WARNING, logger="scaledown_core"):
        again = embedder.embed_documents(DOCS)
    assert np.isfinite(again).all()
    np.testing.assert_allclose(again, fresh, atol=1e-5)  # the damaged one embedded again, the others served
    assert any("1 invalid vector" in r.getMessage() for r in caplog.records)
    # repaired on disk: the next lookup is a clean hit
    assert set(cache.get_many(embedder.model_key, [content_hash(d) for d in DOCS], dim)) == \
        {content_hash(d) for d in DOCS}
