"""ScaleDownCompressor against real servers: the project's own (ASGI in-process and a real socket) and a
scripted fault server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest

from scaledown_core import set_api_key
from scaledown_core.compressor import ScaleDownCompressor
from scaledown_core.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BatchError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from scaledown_core.server import create_app
from scaledown_core.tokens import count_tokens

from .conftest import NESTED_OK, FaultServer, Reply

KEY = "sk-test-secret-123"
FAST = dict(backoff=0.01, backoff_cap=0.02)
CONTEXT = ("The Eiffel Tower is in Paris. It was finished in 1889. Bananas are yellow. "
           "The Louvre is a museum. Rain falls in spring.")
PROMPT = "When was the Eiffel Tower finished?"


def client_for(server: FaultServer, **kw: object) -> ScaleDownCompressor:
    return ScaleDownCompressor(api_key=KEY, api_url=server.url, **{**FAST, **kw})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- what goes on the wire


def test_request_path_header_and_exact_body_keys(fault_server: FaultServer) -> None:
    fault_server.script(Reply())
    result = client_for(fault_server, rate=0.25).compress(CONTEXT, PROMPT)
    seen = fault_server.seen[0]
    assert seen.path == "/compress/raw/"
    assert seen.headers["x-api-key"] == KEY
    assert seen.headers["content-type"] == "application/json"
    assert "authorization" not in seen.headers
    assert seen.body == {"context": CONTEXT, "prompt": PROMPT, "scaledown": {"rate": 0.25}, "model": "gpt-4o"}
    assert result.content == "short context\n\nQ?"
    # token counts from results.*, not total_*
    assert (result.metrics.original_prompt_tokens, result.metrics.compressed_prompt_tokens) == (120, 30)
    assert result.metrics.rate == 0.25


def test_optional_fields_only_when_set(fault_server: FaultServer) -> None:
    fault_server.script(Reply())
    client_for(fault_server, temperature=0.2, preserve_keywords=True, preserve_words=["Paris"]).compress(
        CONTEXT, PROMPT, max_tokens=50)
    assert fault_server.seen[0].body["scaledown"] == {
        "rate": "auto", "temperature": 0.2, "preserve_keywords": True, "preserve_words": ["Paris"],
        "max_tokens": 50}


def test_flat_response_shape(fault_server: FaultServer) -> None:
    flat = {"compressed_prompt": "flat text", "original_prompt_tokens": 40, "compressed_prompt_tokens": 8,
            "successful": True, "latency_ms": 5, "request_metadata": {}}
    fault_server.script(Reply(body=flat))
    r = client_for(fault_server).compress(CONTEXT, PROMPT)
    assert r.content == "flat text" and r.metrics.original_prompt_tokens == 40
    assert r.compression_ratio == 5.0


@pytest.mark.parametrize("body", [
    {"detail": "prompt is required"},
    {**NESTED_OK, "successful": False},
    {"results": {"successful": True}, "successful": True},
    {"results": {"compressed_prompt": None}, "successful": True},
    {"results": {"compressed_prompt": ""}, "successful": True},
    ["not", "an", "object"],
])
def test_200_that_is_not_a_result_is_an_error(fault_server: FaultServer, body: object) -> None:
    fault_server.script(Reply(body=body))
    with pytest.raises(MalformedResponseError) as info:
        client_for(fault_server).compress(CONTEXT, PROMPT)
    assert info.value.status_code == 200 and info.value.body == body
    assert len(fault_server.seen) == 1  # not retried


@pytest.mark.parametrize("count", [float("nan"), float("inf"), -5])
def test_token_counts_that_are_not_counts_are_counted_locally(fault_server: FaultServer, count: float) -> None:
    body = {"results": {"compressed_prompt": "short context\n\nQ?", "original_prompt_tokens": count,
                        "compressed_prompt_tokens": count, "successful": True}, "successful": True}
    fault_server.script(Reply(raw=json.dumps(body).encode()))  # NaN and Infinity are what Python's json writes
    r = client_for(fault_server).compress(CONTEXT, PROMPT)
    assert r.metrics.compressed_prompt_tokens == count_tokens("short context\n\nQ?")
    assert r.metrics.extra["warnings"]


def test_malformed_json_is_an_error(fault_server: FaultServer) -> None:
    fault_server.script(Reply(raw=b"{not json"))
    with pytest.raises(MalformedResponseError) as info:
        client_for(fault_server).compress(CONTEXT, PROMPT)
    assert info.value.body == "{not json"


# --------------------------------------------------------------------------- retries


def test_429_with_retry_after_then_success(fault_server: FaultServer) -> None:
    fault_server.script(Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}), Reply())
    r = client_for(fault_server, max_retries=2).compress(CONTEXT, PROMPT)
    assert r.content == "short context\n\nQ?" and len(fault_server.seen) == 2


def test_429_every_time_raises_rate_limit_with_status_and_body(fault_server: FaultServer) -> None:
    fault_server.script(Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}))
    with pytest.raises(RateLimitError) as info:
        client_for(fault_server, max_retries=2).compress(CONTEXT, PROMPT)
    assert info.value.status_code == 429 and info.value.body == {"detail": "slow down"}
    assert len(fault_server.seen) == 3


def test_a_retry_after_longer_than_we_wait_is_reported_at_once(fault_server: FaultServer) -> None:
    fault_server.script(Reply(429, {"detail": "come back in an hour"}, {"Retry-After": "3600"}))
    started = time.perf_counter()
    with pytest.raises(RateLimitError, match="come back in an hour"):
        client_for(fault_server, max_retries=3).compress(CONTEXT, PROMPT)
    assert len(fault_server.seen) == 1 and time.perf_counter() - started < 5


def test_backoff_never_exceeds_its_cap(fault_server: FaultServer) -> None:
    from scaledown_core.compressor._core import retry_delay

    delays = [retry_delay(attempt, 1.0, 2.0) for attempt in range(6) for _ in range(50)]
    assert max(d for d in delays if d is not None) <= 2.0 and min(d for d in delays if d is not None) > 0


def test_500_retried_then_server_error(fault_server: FaultServer) -> None:
    fault_server.script(Reply(500, {"detail": "service unavailable"}))
    with pytest.raises(ServerError) as info:
        client_for(fault_server, max_retries=1).compress(CONTEXT, PROMPT)
    assert info.value.status_code == 500 and "service unavailable" in str(info.value)
    assert len(fault_server.seen) == 2


def test_400_is_not_retried(fault_server: FaultServer) -> None:
    fault_server.script(Reply(400, {"detail": "bad"}))
    with pytest.raises(APIError) as info:
        client_for(fault_server, max_retries=3).compress(CONTEXT, PROMPT)
    assert type(info.value) is APIError and info.value.status_code == 400
    assert len(fault_server.seen) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_authentication_error_without_the_key(fault_server: FaultServer, status: int) -> None:
    fault_server.script(Reply(status, {"detail": "invalid key"}))
    with pytest.raises(AuthenticationError) as info:
        client_for(fault_server).compress(CONTEXT, PROMPT)
    assert info.value.status_code == status and KEY not in str(info.value)


def test_slow_answer_past_timeout(fault_server: FaultServer) -> None:
    fault_server.script(Reply(delay=1.0))
    with pytest.raises(APITimeoutError):
        client_for(fault_server, timeout=0.2, max_retries=1).compress(CONTEXT, PROMPT)
    assert len(fault_server.seen) == 2


def test_connection_refused_is_connection_error() -> None:
    from .conftest import free_port

    c = ScaleDownCompressor(api_key=KEY, api_url=f"http://127.0.0.1:{free_port()}", max_retries=1, **FAST)
    with pytest.raises(APIConnectionError) as info:
        c.compress(CONTEXT, PROMPT)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("key", ["sk-SECRET\nX-Evil: 1", "sk-SÉCRET", "sk secret"])
def test_a_key_no_header_can_carry_is_refused_without_echoing_it(fault_server: FaultServer, key: str) -> None:
    fault_server.script(Reply())
    with pytest.raises(AuthenticationError) as info:
        ScaleDownCompressor(api_key=key, api_url=fault_server.url, **FAST).compress(CONTEXT, PROMPT)
    assert "SECRET" not in str(info.value).upper() and fault_server.seen == []


def test_key_never_in_logs_or_repr(fault_server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    fault_server.script(Reply(500, {"detail": "x"}), Reply())
    caplog.set_level(logging.DEBUG)
    c = client_for(fault_server, max_retries=1)
    c.compress(CONTEXT, PROMPT)
    assert "retry 1 of 1" in caplog.text
    assert KEY not in caplog.text and KEY not in repr(c)


# --------------------------------------------------------------------------- before any request


def test_missing_key_raises_before_any_request(fault_server: FaultServer) -> None:
    fault_server.script(Reply())
    with pytest.raises(AuthenticationError, match="SCALEDOWN_API_KEY"):
        ScaleDownCompressor(api_url=fault_server.url).compress(CONTEXT, PROMPT)
    assert fault_server.seen == []


def test_key_from_set_api_key_and_env(fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fault_server.script(Reply())
    monkeypatch.setenv("SCALEDOWN_API_KEY", "env-key")
    ScaleDownCompressor(api_url=fault_server.url).compress(CONTEXT, PROMPT)
    set_api_key("set-key")
    ScaleDownCompressor(api_url=fault_server.url).compress(CONTEXT, PROMPT)
    assert [s.headers["x-api-key"] for s in fault_server.seen] == ["env-key", "set-key"]


@pytest.mark.parametrize("context,prompt,error", [
    (CONTEXT, "", ValueError),
    (CONTEXT, "   ", ValueError),
    ([CONTEXT, CONTEXT], [PROMPT], ValueError),
    (CONTEXT, [PROMPT], ValueError),
    (42, PROMPT, TypeError),
])
def test_bad_arguments_raise_before_any_request(fault_server: FaultServer, context: object, prompt: object,
                                                error: type) -> None:
    fault_server.script(Reply())
    with pytest.raises(error):
        client_for(fault_server).compress(context, prompt)  # type: ignore[arg-type]
    assert fault_server.seen == []


@pytest.mark.parametrize("timeout", [0, -1, True, float("nan"), float("inf"), "30"])
def test_bad_timeout_is_refused_at_construction(timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        ScaleDownCompressor(api_key=KEY, timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0, 1.5, -0.1, "fast", True])
def test_bad_rate_is_refused_at_construction(rate: object) -> None:
    with pytest.raises(ValueError, match="rate must be 'auto' or a number in"):
        ScaleDownCompressor(rate=rate)  # type: ignore[arg-type]


def test_api_url_from_environment_strips_trailing_slash(fault_server: FaultServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fault_server.script(Reply())
    monkeypatch.setenv("SCALEDOWN_API_URL", fault_server.url + "/")
    ScaleDownCompressor(api_key=KEY).compress(CONTEXT, PROMPT)
    assert fault_server.seen[0].path == "/compress/raw/"


# --------------------------------------------------------------------------- batches


def test_batch_failure_keeps_the_others(fault_server: FaultServer) -> None:
    fault_server.script(Reply(), Reply(400, {"detail": "bad item"}), Reply())
    c = client_for(fault_server, max_concurrency=1)
    with pytest.raises(BatchError) as info:
        c.compress(["a", "b", "c"], PROMPT)
    err = info.value
    assert [r is None for r in err.results] == [False, True, False]
    assert list(err.errors) == [1] and isinstance(err.errors[1], APIError)
    assert err.__cause__ is err.errors[1]


def test_batch_return_exceptions_in_place(fault_server: FaultServer) -> None:
    fault_server.script(Reply(), Reply(400, {"detail": "bad item"}), Reply())
    out = client_for(fault_server, max_concurrency=1).compress(["a", "b", "c"], PROMPT, return_exceptions=True)
    assert isinstance(out[1], APIError) and out[0].content == out[2].content == "short context\n\nQ?"


def test_sync_batch_works_inside_a_running_loop(fault_server: FaultServer) -> None:
    fault_server.script(Reply())

    async def inside() -> list:
        return client_for(fault_server).compress(["a", "b"], PROMPT)  # type: ignore[return-value]

    assert len(asyncio.run(inside())) == 2


def test_list_and_list_pairs_in_order(live_server: str) -> None:
    c = ScaleDownCompressor(api_key="live-key", api_url=live_server, rate=0.5, max_concurrency=3)
    contexts = [f"Item {i} is number {i}. Unrelated filler sentence here. More filler text." for i in range(6)]
    prompts = [f"What is item {i}?" for i in range(6)]
    out = c.compress(contexts, prompts)
    assert [r.content.endswith(p) for r, p in zip(out, prompts)] == [True] * 6
    assert all(f"Item {i} is number {i}." in r.content for i, r in enumerate(out))


# --------------------------------------------------------------------------- against our own server


def test_against_own_server_over_a_real_socket(live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_API_URL", live_server)
    monkeypatch.setenv("SCALEDOWN_API_KEY", "live-key")
    r = ScaleDownCompressor(rate=0.6).compress(CONTEXT, PROMPT)
    assert "It was finished in 1889." in r.content and r.content.endswith("\n\n" + PROMPT)
    assert r.metrics.compressed_prompt_tokens < r.metrics.original_prompt_tokens
    assert r.metrics.model_used == "local:bm25"


async def test_async_against_own_server_in_process() -> None:
    app = create_app(["k"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        c = ScaleDownCompressor(api_key="k", api_url="http://testserver", async_http_client=http, rate=0.6)
        single = await c.acompress(CONTEXT, PROMPT)
        batch = await c.acompress([CONTEXT, "Cats purr. Dogs bark loudly at night."], PROMPT)
        bad = ScaleDownCompressor(api_key="wrong", api_url="http://testserver", async_http_client=http)
        with pytest.raises(AuthenticationError):
            await bad.acompress(CONTEXT, PROMPT)
    assert "1889" in single.content
    assert len(batch) == 2 and batch[0].content == single.content


async def test_async_batch_error_after_all_items(fault_server: FaultServer) -> None:
    fault_server.script(Reply(500, {"detail": "down"}), Reply(), Reply())
    c = client_for(fault_server, max_retries=0, max_concurrency=1)
    with pytest.raises(BatchError) as info:
        await c.acompress(["a", "b", "c"], PROMPT)
    assert [r is None for r in info.value.results] == [True, False, False]
    assert isinstance(info.value.errors[0], ServerError)
    await c.aclose()


def test_acompress_works_across_event_loops(live_server: str) -> None:
    c = ScaleDownCompressor(api_key="live-key", api_url=live_server, rate=0.6)
    for _ in range(3):  # each asyncio.run() closes its loop: a kept-alive connection of the last one is dead
        r = asyncio.run(c.acompress(CONTEXT, PROMPT))
        assert "It was finished in 1889." in r.content
    asyncio.run(c.aclose())


def test_text_with_a_lone_surrogate_is_refused_before_any_request() -> None:
    compressor = ScaleDownCompressor(api_key="k", api_url="http://127.0.0.1:9")  # nothing listens: none is sent
    with pytest.raises(ValueError, match="context holds a lone surrogate"):
        compressor.compress("Paris \ud800 is the capital.", "capital?")
    with pytest.raises(ValueError, match="prompt holds a lone surrogate"):
        compressor.compress("Paris is the capital.", "capital \udc00?")


def test_a_calls_own_service_options_replace_the_constructors_on_the_wire(fault_server: FaultServer) -> None:
    fault_server.script(Reply())
    client = client_for(fault_server, rate=0.5, preserve_words=["Paris"])
    client.compress(CONTEXT, PROMPT, rate="0.2", temperature=0.3, preserve_keywords=True, preserve_words=["Louvre"])
    asyncio.run(client.acompress(CONTEXT, PROMPT))
    sent, again = (seen.body for seen in fault_server.seen)
    assert sent["scaledown"] == {"rate": 0.2, "temperature": 0.3, "preserve_keywords": True,
                                 "preserve_words": ["Louvre"]}
    assert again["scaledown"] == {"rate": 0.5, "preserve_words": ["Paris"]}  # the constructor's, untouched


@pytest.mark.parametrize(("option", "error"), [({"rate": 2}, ValueError), ({"temperature": "hot"}, TypeError),
                                               ({"preserve_keywords": "yes"}, TypeError),
                                               ({"query": "q"}, TypeError), ({"file_path": "a.py"}, TypeError)])
def test_a_bad_or_unknown_call_option_raises_before_any_request(fault_server: FaultServer, option: dict,
                                                                 error: type[Exception]) -> None:
    fault_server.script(Reply())
    with pytest.raises(error, match=next(iter(option))):
        client_for(fault_server).compress(CONTEXT, PROMPT, **option)
    assert fault_server.seen == []
