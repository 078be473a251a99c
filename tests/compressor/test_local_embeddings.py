"""LocalCompressor(embeddings=...) with the real packaged MiniLM: paraphrases, and lookups that skip it."""

from __future__ import annotations

from scaledown_core import LocalCompressor

CHEETAH = "\n\n".join([
    "Cheetah\nThe cheetah is a large cat native to Africa and central Iran. It can sprint at about 110 km/h, "
    "quicker than any other creature running on the ground. It hunts gazelles in open grassland.",
    "Racing pigeons\nRacing pigeons fly home over hundreds of kilometres. The fastest birds win prizes. "
    "Breeders keep records of each bird's land arrivals.",
])
QUESTION = "What is the top speed of a cheetah?"  # the answer sentence shares no word with it


def test_embedding_similarity_finds_a_paraphrased_answer(minilm_path: str) -> None:
    result = LocalCompressor(rate=0.5, embedding_model=minilm_path).compress(CHEETAH, QUESTION)
    assert "It can sprint at about 110 km/h" in result.content
    assert result.metrics.model_used == f"local:bm25+embedding:{minilm_path}"
    assert "embeddings_skipped" not in result.metrics.extra


def test_a_lookup_by_a_unique_key_skips_the_model(minilm_path: str) -> None:
    context = "JSON data:\n{\n" + ",\n".join(f'  "key-{i:04d}-aaaa": "value-{i}"' for i in range(40)) + "\n}"
    result = LocalCompressor(rate=0.1, embedding_model=minilm_path).compress(
        context, 'Extract the value.\nKey: "key-0017-aaaa"')
    assert '"key-0017-aaaa": "value-17"' in result.content
    assert result.metrics.model_used == "local:bm25"
    assert "key-0017-aaaa" in result.metrics.extra["embeddings_skipped"]
