"""LocalCompressor: budgets, structure, nothing invented, shapes, rate='auto', preserve_words."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaledown_core import LocalCompressor
from scaledown_core.compressor.segment import ELISION
from scaledown_core.exceptions import BatchError
from scaledown_core.tokens import count_tokens

DOCS = "\n\n".join([
    "Ed Wood (film)\nEd Wood is a 1994 American biographical film directed by Tim Burton. "
    "It stars Johnny Depp as the cult filmmaker. The film was a box office failure.",
    "Scott Derrickson\nScott Derrickson (born July 16, 1966) is an American director. "
    "He lives in Los Angeles, California. He directed Doctor Strange in 2016.",
    "Bananas\nBananas are elongated fruit. They grow in clusters near the top of the plant. "
    "Most bananas are yellow when ripe.",
    "Weather\nIt rained in Seattle on Tuesday. Thunderstorms are common in the summer. "
    "The forecast for Friday is clear skies.",
])
PROMPT = "Answer the question using the documents above.\nQuestion: Where does Scott Derrickson live?\nAnswer:"


def pieces(output: str) -> list[str]:
    """The kept text between elision markers."""
    return [p.strip() for p in re.split(re.escape(ELISION), output) if p.strip()]


def test_keeps_the_relevant_document_and_its_title() -> None:
    r = LocalCompressor(rate=0.3).compress(DOCS, PROMPT)
    assert "He lives in Los Angeles, California." in r.content
    assert "Scott Derrickson\n" in r.content
    assert "Bananas" not in r.content
    assert r.metrics.compressed_prompt_tokens <= 0.3 * count_tokens(DOCS)
    assert r.metrics.rate == 0.3 and r.metrics.extra["engine"] == "local"


@pytest.mark.parametrize("rate", [0.5, 0.25, 0.1])
def test_output_within_rate_and_a_subsequence_of_the_input(rate: float) -> None:
    r = LocalCompressor(rate=rate).compress(DOCS, PROMPT)
    assert count_tokens(r.content) <= rate * count_tokens(DOCS)
    assert r.metrics.compressed_prompt_tokens == count_tokens(r.content)
    pos = 0
    for piece in pieces(r.content):  # each piece appears in the input, in order
        at = DOCS.find(piece, pos)
        assert at >= 0, piece
        pos = at + len(piece)


def test_max_tokens_is_a_hard_ceiling() -> None:
    r = LocalCompressor(rate=1.0).compress(DOCS, PROMPT, max_tokens=20)
    assert count_tokens(r.content) <= 20 and r.content
    with pytest.raises(ValueError, match="max_tokens"):
        LocalCompressor().compress(DOCS, PROMPT, max_tokens=0)


def test_rate_one_returns_the_context_unchanged() -> None:
    assert LocalCompressor(rate=1.0).compress(DOCS, PROMPT).content == DOCS


def test_include_prompt_appends_the_prompt_within_max_tokens() -> None:
    r = LocalCompressor(rate=0.5, include_prompt=True).compress(DOCS, PROMPT, max_tokens=60)
    assert r.content.endswith("\n\n" + PROMPT) and count_tokens(r.content) <= 60
    with pytest.raises(ValueError, match="cannot hold the prompt"):
        LocalCompressor(include_prompt=True).compress(DOCS, PROMPT, max_tokens=5)


def test_auto_rate_is_reported_and_bounded() -> None:
    r = LocalCompressor().compress(DOCS, PROMPT)
    assert 0.1 <= r.metrics.rate <= 0.5
    assert count_tokens(r.content) <= r.metrics.rate * count_tokens(DOCS)
    assert "Los Angeles" in r.content


def test_json_output_stays_valid_json_and_keeps_the_named_key() -> None:
    data = {f"key-{i:03d}-{'abcdef'[i % 6]}": f"value number {i}" for i in range(60)}
    context = "JSON data:\n" + json.dumps(data, indent=2)
    r = LocalCompressor(rate=0.1).compress(context, 'Key: "key-042-a"\nCorresponding value:')
    body = r.content[r.content.index("{"):]
    kept = json.loads(body)
    assert kept["key-042-a"] == "value number 42"
    assert 0 < len(kept) < len(data)
    assert r.content.startswith("JSON data:")


def test_json_after_a_label_on_the_same_line_is_json() -> None:
    context = "JSON data: " + json.dumps({"users": [{"id": i, "name": f"user{i}"} for i in range(300)]})
    r = LocalCompressor(rate=0.1).compress(context, "name of id 42")
    assert r.content.startswith("JSON data: ")
    users = json.loads(r.content[len("JSON data: "):])["users"]
    assert {"id": 42, "name": "user42"} in users and len(users) < 300


def test_nested_json_is_opened_and_stays_valid() -> None:
    data = {"meta": {"version": 3}, "users": [{"id": i, "name": f"user{i}", "bio": "x " * 30} for i in range(20)]}
    r = LocalCompressor(rate=0.2).compress(json.dumps(data, indent=1), "What is the name of user 7?")
    kept = json.loads(r.content)
    assert any(u.get("name") == "user7" for u in kept["users"])


def test_markdown_list_items_and_table_rows_are_units() -> None:
    md = ("# Shopping\n\n- apples from the market\n- bread from the bakery\n- milk from the farm\n"
          "- cheese from the deli\n\n| item | price |\n|---|---|\n| apples | 3 |\n| bread | 2 |\n"
          "| milk | 1 |\n| cheese | 9 |\n")
    r = LocalCompressor(rate=0.45).compress(md, "How much does cheese cost?")
    assert "| cheese | 9 |" in r.content
    assert "| item | price |\n|---|---|" in r.content  # the table header comes with its rows
    for line in r.content.splitlines():
        assert line == ELISION or line in md.splitlines()  # whole rows and items only


def test_code_is_cut_at_ast_units() -> None:
    code = "\n\n".join(
        f"def helper_{i}(x):\n    \"\"\"Helper {i}.\"\"\"\n    y = x * {i}\n    return y + {i}\n" for i in range(12)
    ) + "\n\ndef parse_config(path):\n    with open(path) as f:\n        return f.read()\n"
    r = LocalCompressor(rate=0.2).compress(code, "How does parse_config read the file?")
    assert "def parse_config(path):\n    with open(path) as f:\n        return f.read()" in r.content
    assert "code" in r.metrics.extra["block_kinds"]


def test_preserve_words_units_are_kept_first() -> None:
    r = LocalCompressor(rate=0.3, preserve_words=["Bananas are elongated fruit."]).compress(DOCS, PROMPT)
    assert "Bananas are elongated fruit." in r.content
    assert r.metrics.extra["warnings"] == []


HARBOUR = "\n\n".join([
    "Harbour\nThe ferry to the island leaves at noon every day. Gulls circle the pier. Nets dry in the sun.",
    "Island\nSheep graze on the hills of the island. A lighthouse stands on the cape. Code word: PELICAN. "
    "The keeper paints it white.",
    "Bakery\nThe bakery opens at six. Its rye bread sells out by nine. The baker is called Anna.",
    "Market\nThe market sells fish and apples. Stalls close at two. Prices rise in winter.",
])
HARBOUR_Q = "When does the ferry to the island leave?"


def test_preserve_words_do_not_change_how_the_rest_ranks() -> None:
    # a preserved unit is kept first; it must not pass for the best answer to the prompt, whose
    # neighbours and runner-up documents are raised relative to it
    from scaledown_core.compressor import local
    from scaledown_core.compressor.segment import segment

    seg = segment(HARBOUR)
    plain, preserved = (local._Scorer(seg, local._build_query(HARBOUR_Q, words), preserve_keywords=False,
                                      embed_scores=None).scores() for words in ([], ["PELICAN"]))
    pelican = next(i for i in range(len(seg.units)) if "PELICAN" in seg.unit_text(i))
    assert preserved[pelican] == pytest.approx(plain[pelican] + local.PRESERVE_WEIGHT)
    assert [s for i, s in enumerate(preserved) if i != pelican] == [s for i, s in enumerate(plain) if i != pelican]


def test_auto_rate_keeps_what_is_relevant_and_the_preserved_units() -> None:
    plain = LocalCompressor(rate="auto").compress(HARBOUR, HARBOUR_Q)
    kept = LocalCompressor(rate="auto", preserve_words=["PELICAN"]).compress(HARBOUR, HARBOUR_Q)
    assert "Code word: PELICAN." in kept.content and "PELICAN" not in plain.content
    sentences = [s.strip() for s in re.split(r"(?<=\.)\s", plain.content) if s.strip().endswith(".")]
    assert sentences and all(s in kept.content for s in sentences)
    assert kept.metrics.rate > plain.metrics.rate


def test_prompt_identifiers_win() -> None:
    context = " ".join(f"Order ORD-{i:05d} shipped to warehouse {i % 7}." for i in range(200))
    r = LocalCompressor(rate=0.05).compress(context, "Where did order ORD-00137 ship?")
    assert "ORD-00137 shipped to warehouse 4." in r.content


def test_shapes_and_order() -> None:
    c = LocalCompressor(rate=0.5)
    out = c.compress([DOCS, "Cats purr. Dogs bark."], PROMPT)
    assert isinstance(out, list) and len(out) == 2 and "Los Angeles" in out[0].content
    paired = c.compress(["Alpha is one. Beta is two.", "Gamma is three. Delta is four."],
                        ["What is Alpha?", "What is Delta?"])
    assert "Alpha" in paired[0].content and "Delta" in paired[1].content
    with pytest.raises(ValueError):
        c.compress([DOCS], ["a", "b"])
    with pytest.raises(ValueError):
        c.compress(DOCS, "")


def test_batch_error_carries_results(monkeypatch: pytest.MonkeyPatch) -> None:
    c = LocalCompressor(rate=0.5)
    real = c._compress_one

    def flaky(context: str, prompt: str, max_tokens: int | None, rate: object = None) -> object:
        if context == "boom":
            raise RuntimeError("item failed")
        return real(context, prompt, max_tokens)

    monkeypatch.setattr(c, "_compress_one", flaky)
    with pytest.raises(BatchError) as info:
        c.compress(["A is a.", "boom", "C is c."], "what is a?")
    assert info.value.results[1] is None and info.value.results[0] is not None
    assert isinstance(info.value.errors[1], RuntimeError)
    out = c.compress(["A is a.", "boom"], "what is a?", return_exceptions=True)
    assert isinstance(out[1], RuntimeError)


def test_acompress_matches_compress() -> None:
    c = LocalCompressor(rate=0.3)
    single = asyncio.run(c.acompress(DOCS, PROMPT))
    assert single.content == c.compress(DOCS, PROMPT).content
    many = asyncio.run(c.acompress([DOCS, DOCS], PROMPT))
    assert [m.content for m in many] == [single.content] * 2


def test_empty_context() -> None:
    r = LocalCompressor(rate=0.5).compress("", "anything?")
    assert r.content == "" and r.metrics.compressed_prompt_tokens == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sentences=st.lists(st.text(alphabet=st.sampled_from("abcdefgh XYZ019.,\n"), min_size=1, max_size=60),
                       min_size=1, max_size=25),
    rate=st.sampled_from([0.1, 0.3, 0.7]),
    cap=st.one_of(st.none(), st.integers(1, 40)),
)
def test_property_budget_and_no_invention(sentences: list[str], rate: float, cap: int | None) -> None:
    context = " ".join(sentences)
    r = LocalCompressor(rate=rate).compress(context, "abc XYZ 019?", max_tokens=cap)
    n = count_tokens(r.content)
    assert n <= max(rate * count_tokens(context), 0) or r.content == context and rate * count_tokens(context) >= n
    if cap is not None:
        assert n <= cap
    pos = 0
    for piece in pieces(r.content):
        at = context.find(piece, pos)
        assert at >= 0
        pos = at + len(piece)


@pytest.mark.parametrize("text, sentences", [
    ("Москва большая. Это столица России.", ["Москва большая.", "Это столица России."]),
    ("東京は首都です。人口は多い。", ["東京は首都です。", "人口は多い。"]),
    ("Ο Δίας ήταν θεός. Η Ήρα ήταν θεά.", ["Ο Δίας ήταν θεός.", "Η Ήρα ήταν θεά."]),
])
def test_sentences_end_in_any_script(text: str, sentences: list[str]) -> None:
    from scaledown_core.compressor.segment import segment

    seg = segment(text)
    assert [seg.unit_text(i) for i in range(len(seg.units))] == sentences


@pytest.mark.parametrize("text, sentences", [
    ("Roger Egeberg, M.D. (13 November 1902) was a physician. He served under Nixon.",
     ["Roger Egeberg, M.D. (13 November 1902) was a physician.", "He served under Nixon."]),
    ("The novel by J.R.R. Tolkien came out in 1954. It sold well.",
     ["The novel by J.R.R. Tolkien came out in 1954.", "It sold well."]),
    ("The shop closes at 5 p.m. The bar opens later.", ["The shop closes at 5 p.m.", "The bar opens later."]),
    ("Mr. A.M. Smith came. He moved.", ["Mr. A.M. Smith came.", "He moved."]),
])
def test_initialisms_do_not_end_a_sentence(text: str, sentences: list[str]) -> None:
    from scaledown_core.compressor.segment import segment

    seg = segment(text)
    assert [seg.unit_text(i) for i in range(len(seg.units))] == sentences


@pytest.mark.parametrize("text", [
    " ".join(f"the worker {i} retried the upload and then gave up, logging a timeout" for i in range(80)),
    "".join(f"東京{i}の人口は多く" for i in range(400)),
])
def test_a_budget_smaller_than_any_sentence_keeps_parts_of_sentences(text: str) -> None:
    result = LocalCompressor(rate=0.1).compress(text, "which worker 42 gave up?")
    assert 0 < result.metrics.compressed_prompt_tokens <= 0.1 * count_tokens(text)
    pos = 0
    for piece in pieces(result.content):
        pos = text.index(piece, pos) + len(piece)
    assert any("parts of it are kept" in w for w in result.metrics.extra["warnings"])


def test_the_part_kept_is_the_one_the_prompt_asks_for() -> None:
    text = " ".join(f"the worker {i} retried the upload and then gave up, logging a timeout" for i in range(80))
    text = text.replace("worker 42 retried the upload", "worker 42 retried the checksum")
    result = LocalCompressor(rate=0.1).compress(text, "which worker retried the checksum?")
    assert "worker 42 retried the checksum" in result.content


@pytest.mark.parametrize("max_tokens", [3, 5, 7])
def test_a_tiny_budget_keeps_whole_words_of_the_best_sentence(max_tokens: int) -> None:
    text = "Paris is the capital of France. Berlin is the capital of Germany. Rome is in Italy.\n"
    out = LocalCompressor().compress(text, "capital of France", max_tokens=max_tokens).content
    assert out and count_tokens(out) <= max_tokens
    assert out.rstrip(".").split()[-1] == "France"  # a piece of the best sentence, cut between words
    assert set(out.split()) <= set(text.split())
