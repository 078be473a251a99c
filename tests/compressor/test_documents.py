"""compress_documents: a retrieved set compressed as one context, locally and through the server."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaledown_core import LocalCompressor, ScaleDownCompressor
from scaledown_core.compressor.documents import SMALL_DOCUMENT_TOKENS, parse_documents_response
from scaledown_core.exceptions import MalformedResponseError
from scaledown_core.retrieval import share_budget
from scaledown_core.server import create_app
from scaledown_core.tokens import get_counter

from .conftest import FaultServer, Reply

QUERY = "Which flaw in the primary mirror of the Hubble telescope blurred its first images?"
NEEDLE = "A flaw in its primary mirror blurred the first images and was corrected in 1993."
HUBBLE = ("Edwin Hubble\nEdwin Hubble was an American astronomer born in 1889 in Marshfield, Missouri. "
          "He studied law at Oxford as a Rhodes Scholar before returning to astronomy. "
          "In 1929 he showed that galaxies recede at speeds proportional to their distance. "
          "The space telescope launched in 1990 carries his name.")
TELESCOPE = ("Hubble Space Telescope\nThe Hubble Space Telescope orbits the Earth at about 540 kilometres. "
             "It was launched by the shuttle Discovery in April 1990. " + NEEDLE + " "
             "Five servicing missions replaced gyroscopes, cameras and batteries. "
             "Its deep field images revealed thousands of galaxies in a tiny patch of sky.")
BREAD = ("Sourdough\nSourdough bread rises with a culture of wild yeast and lactic acid bacteria. "
         "Bakers feed the starter with flour and water every day. "
         "A long cold fermentation gives the crumb its sour taste.")
SET = [HUBBLE, TELESCOPE, BREAD]
COUNT = get_counter("gpt-4o").count


def _sentences(text: str) -> set[str]:
    return {s.strip() for line in text.splitlines() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip()}


def _pieces(content: str) -> set[str]:
    """The sentences and lines of ``content``, elision markers aside."""
    return _sentences(content.replace("…", "\n"))


def test_the_set_is_ranked_jointly_and_mapped_back() -> None:
    result = LocalCompressor().compress_documents(SET, QUERY, max_tokens=40, ids=["h", "t", "b"],
                                                  scores=[0.9, 0.8, None])
    assert [d.index for d in result] == [0, 1, 2]
    assert [d.id for d in result] == ["h", "t", "b"] and [d.retriever_score for d in result] == [0.9, 0.8, None]
    telescope = result[1]
    assert NEEDLE in telescope.content and telescope.relevance == 1.0
    assert result[2].content == "" and result[2].relevance < 0.5
    assert sum(d.compressed_tokens for d in result) == result.metrics.compressed_prompt_tokens <= 40
    assert result.metrics.original_prompt_tokens == sum(COUNT(t) for t in SET)
    assert all(d.compressed_tokens == COUNT(d.content) for d in result)
    # the same budget shared by size, as the adapters did before, cuts the answer out
    share = 40 * COUNT(TELESCOPE) // sum(COUNT(t) for t in SET)
    assert NEEDLE not in LocalCompressor().compress(TELESCOPE, QUERY, max_tokens=share).content


def test_at_a_rate_it_selects_as_on_the_joined_context() -> None:
    local = LocalCompressor(rate=0.3)
    result = local.compress_documents(SET, QUERY)
    joined = local.compress("\n\n".join(SET), QUERY)
    assert result.metrics.rate == 0.3
    assert result.metrics.compressed_prompt_tokens <= int(0.3 * sum(COUNT(t) for t in SET))
    kept = {p for d in result for p in _pieces(d.content)}
    assert kept == _pieces(joined.content)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(sorted(_sentences(HUBBLE + "\n" + TELESCOPE + "\n" + BREAD))),
                          max_size=6).map(" ".join),
                 st.sampled_from(SET + ["  "])),
       st.integers(1, 120), st.sampled_from([None, "auto", 0.2, 1.0]))
def test_the_budget_is_a_promise_and_sentences_stay_whole(first: str, budget: int, rate: Any) -> None:
    texts = [first, *SET]
    before = list(texts)
    result = LocalCompressor().compress_documents(texts, QUERY, max_tokens=budget, rate=rate)
    assert texts == before
    assert sum(COUNT(d.content) for d in result) <= budget
    for text, doc in zip(texts, result):
        if any("cut inside a sentence" in w for w in doc.warnings):
            continue
        sentences = _sentences(text)
        assert all(p in sentences or p in text.splitlines() for p in _pieces(doc.content)), doc.content


def test_a_budget_smaller_than_any_sentence_cuts_at_words_with_a_warning() -> None:
    result = LocalCompressor().compress_documents(SET, QUERY, max_tokens=5)
    kept = [d for d in result if d.content]
    assert len(kept) == 1 and COUNT(kept[0].content) <= 5
    assert "cut inside a sentence" in kept[0].warnings[0]
    words = set(re.findall(r"\w+", TELESCOPE + HUBBLE + BREAD))
    assert set(re.findall(r"\w+", kept[0].content)) <= words
    assert any("does not fit the budget" in w for w in result.warnings)


def test_a_small_document_is_kept_or_dropped_whole() -> None:
    refund = "Customers may ask for a refund within 30 days of purchase. Our office is in Berlin."
    assert COUNT(refund) < SMALL_DOCUMENT_TOKENS
    local = LocalCompressor()
    assert local.compress_documents([refund], "How long do I have to get a refund?")[0].content == refund
    for budget in (COUNT(refund), 60):
        out = local.compress_documents([refund, TELESCOPE], "How long do I have to get a refund?", max_tokens=budget)
        assert out[0].content == refund
    # per document, a rate cut it inside the sentence that answers
    assert "30 days" not in local.compress(refund, "How long do I have to get a refund?").content


def test_auto_drops_the_irrelevant_and_keeps_the_relevant_whole() -> None:
    result = LocalCompressor().compress_documents(SET, QUERY)  # rate="auto" by default
    assert result[1].whole and result[1].content == TELESCOPE
    assert result[2].content == ""
    assert result.metrics.extra["documents_whole"] >= 1
    assert result.metrics.compressed_prompt_tokens < result.metrics.original_prompt_tokens


def test_blank_repeated_and_empty_inputs() -> None:
    local = LocalCompressor()
    empty = local.compress_documents([], QUERY)
    assert len(empty) == 0 and empty.metrics.compressed_prompt_tokens == 0
    result = local.compress_documents(["", "  \n", TELESCOPE, TELESCOPE], QUERY, rate=1.0)
    assert [d.content for d in result] == ["", "", TELESCOPE, ""]
    assert result[0].warnings == ["the document is empty or blank: nothing to keep"]
    assert result[3].warnings == ["the same text as document 2, which stands for both"]
    assert not result[2].warnings


@pytest.mark.parametrize("texts, kwargs, error", [
    ("one text", {}, TypeError),
    (["ok", 3], {}, TypeError),
    (["ok", None], {}, TypeError),
    (["a", "b"], {"ids": ["only one"]}, ValueError),
    (["a", "b"], {"scores": [0.1, "high"]}, TypeError),
    (["a"], {"rate": 1.5}, ValueError),
    (["a"], {"max_tokens": 0}, ValueError),
])
def test_misuse_is_a_clear_error(texts: Any, kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        LocalCompressor().compress_documents(texts, QUERY, **kwargs)
    with pytest.raises(ValueError, match="prompt"):
        LocalCompressor().compress_documents(["a"], "  ")


def test_code_documents_keep_their_lines_and_indentation() -> None:
    code = ("def backoff(attempt: int) -> float:\n    \"\"\"Seconds before a retry.\"\"\"\n"
            "    return 0.5 * 2 ** attempt\n\n\ndef parse(line: str) -> list[str]:\n"
            "    return line.split(';')\n")
    result = LocalCompressor().compress_documents([code, BREAD], "how long is the retry backoff?", max_tokens=30)
    lines = [ln for ln in result[0].content.splitlines() if ln.strip() and ln.strip() != "…"]
    assert "def backoff(attempt: int) -> float:" in lines
    assert all(ln in code.splitlines() for ln in lines)


def test_thousands_of_documents_in_bounded_time() -> None:
    many = [f"Item {i}\nWarehouse {i % 97} stores part number P-{i:05d} on shelf {i % 13}. "
            f"It was restocked on day {i % 28 + 1}. The supplier is vendor {i % 11}." for i in range(3000)]
    started = time.perf_counter()
    result = LocalCompressor().compress_documents(many, "Which shelf holds part number P-02417?", max_tokens=200)
    elapsed = time.perf_counter() - started
    assert len(result) == 3000 and result.metrics.compressed_prompt_tokens <= 200
    assert "P-02417" in result[2417].content
    assert elapsed < 60  # about 3 s on a quiet 2-core machine


async def test_async_matches_sync() -> None:
    local = LocalCompressor()
    sync = local.compress_documents(SET, QUERY, max_tokens=60)
    out = await local.acompress_documents(SET, QUERY, max_tokens=60)
    assert [d.content for d in out] == [d.content for d in sync]


# --------------------------------------------------------------------------- through the server


async def test_the_server_route_answers_one_entry_per_document() -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    transport = httpx.ASGITransport(app=create_app(["k"]))
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [record]}) as http:
        client = ScaleDownCompressor(api_key="k", api_url="http://t", async_http_client=http, rate=0.4)
        out = await client.acompress_documents(SET, QUERY, max_tokens=50, ids=["h", 7, None], scores=[0.5, 1, None])
        refused = await http.post("http://t/compress/documents/", json={"documents": [{"text": 1}], "prompt": "q",
                                                                          "scaledown": {"rate": 0.5}},
                                  headers={"x-api-key": "k"})
        unauthorised = await http.post("http://t/compress/documents/", json={}, headers={"x-api-key": "bad"})
    body = json.loads(sent[0].content)
    assert sent[0].url.path == "/compress/documents/" and sent[0].headers["x-api-key"] == "k"
    assert body == {"documents": [{"text": HUBBLE, "id": "h", "score": 0.5}, {"text": TELESCOPE, "id": "7", "score": 1},
                                  {"text": BREAD}],
                    "prompt": QUERY, "scaledown": {"rate": 0.4, "max_tokens": 50}, "model": "gpt-4o"}
    local = LocalCompressor(rate=0.4).compress_documents(SET, QUERY, max_tokens=50)
    assert [d.content for d in out] == [d.content for d in local]
    assert [d.id for d in out] == ["h", "7", None]
    assert out.metrics.compressed_prompt_tokens == local.metrics.compressed_prompt_tokens <= 50
    assert refused.status_code == 400 and unauthorised.status_code == 401


def test_over_a_real_socket(live_server: str) -> None:
    with ScaleDownCompressor(api_key="live-key", api_url=live_server) as client:
        out = client.compress_documents(SET, QUERY, max_tokens=40)
    assert NEEDLE in out[1].content and sum(d.compressed_tokens for d in out) <= 40


def test_a_server_without_the_route_gets_one_request_per_document(fault_server: FaultServer) -> None:
    fault_server.script(Reply(status=404, body={"detail": "Not Found"}), Reply())
    client = ScaleDownCompressor(api_key="k", api_url=fault_server.url, max_retries=0)
    out = client.compress_documents(SET + ["  "], QUERY, max_tokens=90)
    assert [s.path for s in fault_server.seen] == ["/compress/documents/"] + ["/compress/raw/"] * 3
    assert all("compressed on its own" in d.warnings[0] for d in out[:3])
    assert out[3].content == "" and "blank" in out[3].warnings[0]
    shares = share_budget([COUNT(t) for t in SET + ["  "]], 90)
    assert [s.body["scaledown"]["max_tokens"] for s in fault_server.seen[1:]] == shares[:3]  # by size


@pytest.mark.parametrize("body", [
    {"detail": "bad"},
    {"documents": [{"content": "x"}]},
    {"documents": [{"content": 1}, {"content": ""}]},
    {"documents": [{"content": "a", "index": 1}, {"content": "b", "index": 0}]},
    {"successful": False, "documents": [{"content": "a"}, {"content": "b"}]},
    "not json",
])
def test_a_malformed_answer_is_an_error(body: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse_documents_response(copy.deepcopy(body), 2, elapsed_ms=1.0)


def test_a_json_document_stays_valid_json() -> None:
    data = json.dumps({f"key{i}": f"value number {i} for the record" for i in range(40)}, indent=2)
    result = LocalCompressor().compress_documents(["Intro\nThe keys hold values.", data, "Bread is baked."],
                                                  'What is the value of "key17"?', max_tokens=40)
    assert json.loads(result[1].content)["key17"] == "value number 17 for the record"
    assert sum(d.compressed_tokens for d in result) <= 40
