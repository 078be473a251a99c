"""The real packaged all-MiniLM-L6-v2: meaning, sharing, caching, prompts, token counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scaledown_core.retrieval.embeddings import Embedder, get_embedder

pytestmark = pytest.mark.slow


def test_related_texts_are_nearest(real_embedder: Embedder) -> None:
    docs = [
        "def load_config(path):\n    with open(path) as f:\n        return json.load(f)",
        "def send_request(url, payload):\n    return httpx.post(url, json=payload)",
        "def resize_image(img, width, height):\n    return img.resize((width, height))",
    ]
    d = real_embedder.embed_documents(docs)
    q = real_embedder.embed_queries(["read settings from a json file", "make an http post call",
                                     "scale a picture"])
    assert (q @ d.T).argmax(axis=1).tolist() == [0, 1, 2]
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    assert d.dtype == np.float32 and d.shape[1] == real_embedder.dim == 384


def test_model_is_loaded_once_and_shared(real_embedder: Embedder, minilm_path: str, tmp_path: Path) -> None:
    same = get_embedder(minilm_path, cache_dir=real_embedder.cache.directory)  # type: ignore[union-attr]
    assert same is real_embedder
    other_cache = get_embedder(minilm_path, cache_dir=tmp_path)
    assert other_cache is not real_embedder
    assert other_cache.model is real_embedder.model  # type: ignore[attr-defined]


def test_disk_cache_returns_identical_vectors(real_embedder: Embedder, minilm_path: str) -> None:
    texts = ["def cached_one(): return 1", "class CachedTwo:\n    pass"]
    first = real_embedder.embed_documents(texts)
    reader = get_embedder(minilm_path, cache_dir=real_embedder.cache.directory, use_cache=True)  # type: ignore[union-attr]
    from scaledown_core.retrieval.embedding_cache import CacheStats

    stats = CacheStats()
    again = reader.embed_documents(texts, stats=stats)
    assert stats.hits == 2 and stats.misses == 0
    np.testing.assert_array_equal(first, again)


def test_token_counts_include_special_tokens(real_embedder: Embedder) -> None:
    short, long = real_embedder.count_tokens(["hello world", "hello world " * 200])
    assert short == 4  # [CLS] hello world [SEP]
    assert long > real_embedder.max_seq_tokens == 256


def test_model_prompts_are_applied(minilm_path: str, tmp_path: Path) -> None:
    """A model whose config defines a query prompt (as Qwen3-Embedding does) gets it on queries only."""
    folder = tmp_path / "prompted"
    folder.mkdir()
    for src in Path(minilm_path).iterdir():
        (folder / src.name).symlink_to(src)
    config_path = folder / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    config_path.unlink()
    config["prompts"] = {"query": "Instruct: find the code\nQuery: ", "document": ""}
    config_path.write_text(json.dumps(config))
    emb = get_embedder(str(folder), cache_dir=tmp_path / "cache", fallback=False)
    assert emb.query_prompt_name == "query"  # type: ignore[attr-defined]
    text = "open a file"
    plain = get_embedder(minilm_path, cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(emb.embed_queries([text])[0],
                               plain.embed_documents(["Instruct: find the code\nQuery: " + text])[0], atol=1e-5)
    np.testing.assert_allclose(emb.embed_documents([text])[0], plain.embed_documents([text])[0], atol=1e-5)
    assert emb.model_key != plain.model_key or emb.model_used != plain.model_used


def test_fallback_false_still_raises_after_a_fallback_load_of_the_same_model(tmp_path: Path) -> None:
    from scaledown_core.exceptions import OptimizerError

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "modules.json").write_text("not json")  # looks like a model folder, cannot be loaded
    fell_back = get_embedder(str(broken), fallback=True, use_cache=False)
    assert fell_back.fallback_reason and fell_back.model_used != str(broken)
    with pytest.raises(OptimizerError):
        get_embedder(str(broken), fallback=False, use_cache=False)
