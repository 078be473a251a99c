"""The protocol server: auth, limits, error shapes, the nested response, OpenAPI."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from scaledown_core.server import create_app, load_keys, serve

CONTEXT = ("Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes. "
           "Bananas are yellow. The Danube flows through Vienna.")
BODY = {"context": CONTEXT, "prompt": "Where was Marie Curie born?", "scaledown": {"rate": 0.5}}


@pytest.fixture()
def app():  # type: ignore[no-untyped-def]
    return create_app(["good-key"], max_body_bytes=50_000)


async def post(app, json=None, content=None, key="good-key", path="/compress/raw/"):  # type: ignore[no-untyped-def]
    headers = {"x-api-key": key} if key else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        if content is not None:
            return await c.post(path, content=content, headers={**headers, "content-type": "application/json"})
        return await c.post(path, json=json, headers=headers)


async def test_nested_response_shape(app) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, BODY)
    assert r.status_code == 200
    body = r.json()
    res = body["results"]
    assert res["successful"] is True and body["successful"] is True
    assert "Marie Curie was born in Warsaw in 1867." in res["compressed_prompt"]
    assert res["compressed_prompt"].endswith("\n\nWhere was Marie Curie born?")
    assert res["compressed_prompt_tokens"] < res["original_prompt_tokens"]
    assert body["total_original_tokens"] == res["original_prompt_tokens"]
    assert body["request_metadata"]["compression_rate"] == 0.5
    assert set(body) >= {"latency_ms", "model_used", "request_metadata"}


async def test_numeric_string_rate_and_max_tokens(app) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, {**BODY, "scaledown": {"rate": "0.9", "max_tokens": 25}, "model": "gpt-4o"})
    assert r.status_code == 200 and r.json()["results"]["compressed_prompt_tokens"] <= 25


@pytest.mark.parametrize("key", [None, "wrong-key"])
async def test_bad_key_is_401(app, key) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, BODY, key=key)
    assert r.status_code == 401 and r.json() == {"detail": "missing or invalid x-api-key"}


@pytest.mark.parametrize("body", [
    {"context": "x"},
    {"context": "x", "prompt": "", "scaledown": {"rate": 0.5}},
    {"context": "x", "prompt": "q", "scaledown": {"rate": 7}},
    {"context": "x", "prompt": "q", "scaledown": {"rate": "fast"}},
    {"context": 3, "prompt": "q", "scaledown": {"rate": 0.5}},
])
async def test_malformed_body_is_400_with_detail(app, body) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, body)
    assert r.status_code == 400 and "detail" in r.json()


@pytest.mark.parametrize("raw", [
    b'{"context": "Paris is the capital.", "prompt": "capital?", "scaledown": {"max_tokens": 1e400}}',
    b'{"context": "Paris is the capital.", "prompt": "capital?", "scaledown": {"rate": Infinity}}',
    b'{"context": "Paris \\ud800 is the capital.", "prompt": "capital?", "scaledown": {"rate": 0.5}}',
    b'{"context": "Paris is the capital.", "prompt": "capital \\udc00?", "scaledown": {"rate": 0.5}}',
    b'{"context": "Paris is the capital.", "prompt": "capital?", "scaledown": {"rate": true}}',
    b'{"context": "Paris is the capital.", "prompt": "capital?", "scaledown": {"preserve_keywords": "no"}}',
    b'{"context": "Paris is the capital.", "prompt": "capital?", "scaledown": {"max_tokens": true}}',
])
async def test_bodies_that_are_not_what_they_seem_are_400_not_500(app, raw) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, content=raw)
    assert r.status_code == 400, r.text
    assert "detail" in r.json()


async def test_invalid_json_is_400(app) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, content=b"{not json")
    assert r.status_code == 400 and isinstance(r.json()["detail"], list)


async def test_body_too_large_is_413_with_message(app) -> None:  # type: ignore[no-untyped-def]
    r = await post(app, {**BODY, "context": "word " * 20_000})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


async def test_request_timeout_is_503() -> None:
    app = create_app(["k"], request_timeout=0.001)
    r = await post(app, {**BODY, "context": "Some sentence about things. " * 20_000}, key="k")
    assert r.status_code == 503 and "timeout" in r.json()["detail"]


async def test_timed_out_compressions_keep_their_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading
    import time

    from scaledown_core.compressor.local import LocalCompressor

    running, peak, lock = [0], [0], threading.Lock()
    compress = LocalCompressor.compress

    def slow_compress(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.4)  # a long compression: its request times out first
            return compress(self, *args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(LocalCompressor, "compress", slow_compress)
    app = create_app(["k"], max_concurrency=1, request_timeout=0.1)
    replies = []
    for _ in range(3):  # one after another: each times out while the one before still compresses
        replies.append(await post(app, BODY, key="k"))
    assert [r.status_code for r in replies] == [503] * 3
    await asyncio.sleep(1.0)  # let the abandoned compression finish
    assert peak[0] == 1 and running[0] == 0


async def test_health_and_openapi(app) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        health = await c.get("/health")
        spec = await c.get("/openapi.json")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    responses = spec.json()["paths"]["/compress/raw/"]["post"]["responses"]
    assert {"200", "400", "401", "413", "503"} <= set(responses) and "422" not in responses


async def test_no_auth_app_accepts_requests_without_a_key() -> None:
    r = await post(create_app(no_auth=True), BODY, key=None)
    assert r.status_code == 200


def test_refuses_to_start_without_keys() -> None:
    with pytest.raises(ValueError, match="no API keys configured"):
        create_app([])
    with pytest.raises(ValueError, match="loopback"):
        serve(host="0.0.0.0", port=1, no_auth=True)
    with pytest.raises(ValueError, match="no API keys configured"):
        serve(host="127.0.0.1", port=1)


def test_keys_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_SERVER_KEYS", "a, b,")
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# comment\nc\n\nb\n", encoding="utf-8")
    assert load_keys(None, keys_file) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cannot read the keys file"):
        load_keys(None, tmp_path / "missing.txt")


def test_an_address_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"127.0.0.1:{port}.*--port"):
            serve(host="127.0.0.1", port=port, keys=["k"])
