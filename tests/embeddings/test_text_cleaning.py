"""Texts the tokenizer cannot encode (lone surrogates) are cleaned; other texts reach the model unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from scaledown_core.retrieval.embeddings import Embedder

pytestmark = pytest.mark.slow

BAD = "parse the config \udc80 file"
REPLACED = "parse the config \ufffd file"


def test_lone_surrogates_are_replaced_before_the_model(real_embedder: Embedder) -> None:
    np.testing.assert_array_equal(real_embedder.embed_queries([BAD]), real_embedder.embed_queries([REPLACED]))
    np.testing.assert_array_equal(real_embedder.embed_documents([BAD, "\ud800"]),
                                  real_embedder.embed_documents([REPLACED, "\ufffd"]))
    assert real_embedder.count_tokens([BAD]) == real_embedder.count_tokens([REPLACED])


def test_normal_text_is_embedded_as_the_model_does_it(real_embedder: Embedder) -> None:
    texts = ["def load(path):\n    return json.load(open(path))", "naïve café ☕ \U0001d518\U0001d52b\U0001d526"]
    direct = real_embedder.model.encode(texts, normalize_embeddings=True,  # type: ignore[attr-defined]
                                        convert_to_numpy=True, show_progress_bar=False)
    np.testing.assert_allclose(real_embedder.embed_queries(texts), direct, rtol=1e-5, atol=1e-6)
