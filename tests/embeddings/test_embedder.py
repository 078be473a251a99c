"""Embedder behaviour with a deterministic word-vector encoder, and the FAISS index over its vectors."""

from __future__ import annotations

import numpy as np
import pytest

from scaledown_core.retrieval.embedding_cache import CacheStats, EmbeddingCache
from scaledown_core.retrieval.embeddings import VectorIndex


def test_documents_are_normalised_float32_rows_in_input_order(word_embedder, cache: EmbeddingCache) -> None:
    emb = word_embedder(cache)
    vecs = emb.embed_documents(["parse config", "send http request", "parse config"])
    assert vecs.shape == (3, emb.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(vecs[0], vecs[2])
    assert vecs[0] @ vecs[1] < 0.01
    # the duplicate text is encoded once
    assert [t for _, t in emb.encoded] == ["parse config", "send http request"]


def test_second_call_is_served_from_the_disk_cache(word_embedder, cache: EmbeddingCache) -> None:
    first = word_embedder(cache)
    a = first.embed_documents(["parse config file", "cache vector"])
    again = word_embedder(EmbeddingCache(cache.directory))  # a fresh process would see the same file
    stats = CacheStats()
    b = again.embed_documents(["cache vector", "parse config file", "token budget"], stats=stats)
    np.testing.assert_array_equal(a[0], b[1])
    assert again.encoded == [("document", "token budget")]
    assert (stats.hits, stats.misses) == (2, 1)
    assert again.cache is not None and again.cache.stats.hits == 2


def test_models_keep_separate_cache_entries(word_embedder, cache: EmbeddingCache) -> None:
    word_embedder(cache, name="a").embed_documents(["parse"])
    other = word_embedder(cache, name="b")
    other.embed_documents(["parse"])
    assert other.encoded == [("document", "parse")]


def test_queries_are_never_cached(word_embedder, cache: EmbeddingCache) -> None:
    emb = word_embedder(cache)
    emb.embed_queries(["parse config"])
    emb.embed_queries(["parse config"])
    assert emb.encoded == [("query", "parse config")] * 2
    assert cache.count() == 0


def test_without_cache_every_call_encodes(word_embedder) -> None:
    emb = word_embedder(None)
    emb.embed_documents(["parse"])
    emb.embed_documents(["parse"])
    assert len(emb.encoded) == 2


def test_progress_reports_every_embedded_text(word_embedder, cache: EmbeddingCache) -> None:
    emb = word_embedder(cache)
    done: list[tuple[int, int]] = []
    emb.embed_documents([f"parse {i}" for i in range(300)], progress=lambda d, t: done.append((d, t)))
    assert len(done) >= 2 and done[-1] == (300, 300) and all(t == 300 for _, t in done)
    assert [d for d, _ in done] == sorted(d for d, _ in done)
    done.clear()
    emb.embed_documents([f"parse {i}" for i in range(299)] + ["token"], progress=lambda d, t: done.append((d, t)))
    assert done == [(1, 1)]  # only the new text is embedded


def test_bad_and_empty_input(word_embedder) -> None:
    emb = word_embedder(None)
    with pytest.raises(TypeError):
        emb.embed_documents("parse config")  # a string, not a list of strings
    with pytest.raises(TypeError):
        emb.embed_queries([b"bytes"])  # type: ignore[list-item]
    assert emb.embed_documents([]).shape == (0, emb.dim)
    assert emb.embed_queries([]).shape == (0, emb.dim)


def test_index_finds_exact_nearest_neighbours(word_embedder) -> None:
    emb = word_embedder(None)
    docs = ["parse config file", "send http request", "cache vector", "token budget"]
    index = VectorIndex(emb.embed_documents(docs))
    scores, ids = index.search(emb.embed_queries(["http request", "budget token", "config"]), k=2)
    assert ids[:, 0].tolist() == [1, 3, 0]
    assert scores.shape == (3, 2) and np.all(scores[:, 0] >= scores[:, 1])
    assert scores[1, 0] == pytest.approx(1.0, abs=1e-3)


def test_index_edges() -> None:
    vecs = np.eye(3, dtype=np.float32)
    index = VectorIndex(vecs)
    scores, ids = index.search(vecs[1], k=10)  # k beyond the size, 1-D query
    assert ids.shape == (1, 3) and ids[0, 0] == 1
    empty = VectorIndex(np.zeros((0, 3), dtype=np.float32))
    assert len(empty) == 0 and empty.search(vecs[0], k=5)[1].shape == (1, 0)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(4, dtype=np.float32), k=1)
    with pytest.raises(ValueError, match="positive"):
        index.search(vecs[0], k=0)
    with pytest.raises(ValueError, match="2-D"):
        VectorIndex(np.ones(3, dtype=np.float32))
