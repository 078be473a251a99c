"""ScaleDownCompressor against servers that fault on purpose (real sockets on 127.0.0.1): a total
deadline per call, a cap on the answer's size, no API key in any error, settings checked up front."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from typing import Callable

import pytest

from scaledown_core.cli import main
from scaledown_core.compressor import ScaleDownCompressor, _core
from scaledown_core.exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MalformedResponseError,
    ScaleDownError,
)

from .conftest import RawServer, Script

KEY = "sk-live-SECRET-0123456789"
OK_BODY = json.dumps({"results": {"compressed_prompt": "c\n\nq", "original_prompt_tokens": 10,
                                  "compressed_prompt_tokens": 3, "successful": True}}).encode()


def head(status: int = 200, length: int | None = None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{size}{extra}\r\n".encode()


def trickle_body(conn: socket.socket, _request: bytes) -> None:
    conn.sendall(head(200, 1000))
    for _ in range(200):
        conn.sendall(b" ")
        time.sleep(0.3)


def trickle_head(conn: socket.socket, _request: bytes) -> None:
    for byte in head(200, 1000):
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


def compressor(url: str, **kw: object) -> ScaleDownCompressor:
    return ScaleDownCompressor(api_key=KEY, api_url=url, **{"backoff": 0.01, "backoff_cap": 0.02, **kw})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- deadline


@pytest.mark.parametrize("script", [trickle_body, trickle_head], ids=["body", "head"])
def test_async_call_ends_at_its_deadline_against_a_trickling_server(
        raw_server: Callable[[Script], RawServer], script: Script) -> None:
    server = raw_server(script)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="deadline of 1.5 s"):
        asyncio.run(compressor(server.url, timeout=1, max_retries=0, deadline=1.5).acompress("ctx", "q"))
    assert time.monotonic() - started < 3.0


def test_sync_call_ends_at_its_deadline_against_a_trickled_body(raw_server: Callable[[Script], RawServer]) -> None:
    server = raw_server(trickle_body)
    started = time.monotonic()
    # before: timeout=2, max_retries=0 was still waiting after 30 s (each byte restarts the read timeout)
    with pytest.raises(APITimeoutError, match="deadline of 2 s"):
        compressor(server.url, timeout=2, max_retries=0).compress("ctx", "q")
    assert time.monotonic() - started < 3.5


def test_default_deadline_is_what_the_retries_could_take() -> None:
    c = ScaleDownCompressor(api_key=KEY, timeout=10, max_retries=2, backoff_cap=4)
    assert c.deadline == 10 * 3 + 4 * 2


def test_no_retry_is_started_that_the_deadline_cannot_wait_for(raw_server: Callable[[Script], RawServer]) -> None:
    def busy(conn: socket.socket, _request: bytes) -> None:
        conn.sendall(head(503, 2, "Retry-After: 30\r\n") + b"{}")

    server = raw_server(busy)
    started = time.monotonic()
    with pytest.raises(APIError) as info:
        compressor(server.url, max_retries=3, deadline=2).compress("ctx", "q")
    assert info.value.status_code == 503
    assert time.monotonic() - started < 1.5 and len(server.requests) == 1


# --------------------------------------------------------------------------- response size


def flood(declared: bool) -> Script:
    def script(conn: socket.socket, _request: bytes) -> None:
        size = 50_000_000
        conn.sendall(head(200, size if declared else None, "" if declared else "Connection: close\r\n"))
        block = b"x" * 65536
        for _ in range(size // len(block)):
            conn.sendall(block)

    return script


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_an_answer_over_the_size_cap_is_refused_unread(raw_server: Callable[[Script], RawServer],
                                                        declared: bool) -> None:
    server = raw_server(flood(declared))
    started = time.monotonic()
    with pytest.raises(MalformedResponseError, match="larger than max_response_bytes"):
        compressor(server.url, max_retries=0, max_response_bytes=1_000_000).compress("ctx", "q")
    assert time.monotonic() - started < 5.0


async def test_async_answer_over_the_size_cap_is_refused(raw_server: Callable[[Script], RawServer]) -> None:
    server = raw_server(flood(False))
    with pytest.raises(MalformedResponseError, match="larger than max_response_bytes"):
        await compressor(server.url, max_retries=0, max_response_bytes=1_000_000).acompress("ctx", "q")


def test_an_answer_under_the_cap_still_works(raw_server: Callable[[Script], RawServer]) -> None:
    server = raw_server(lambda conn, _r: conn.sendall(head(200, len(OK_BODY)) + OK_BODY))
    assert compressor(server.url, max_response_bytes=len(OK_BODY)).compress("ctx", "q").content == "c\n\nq"


# --------------------------------------------------------------------------- the key never leaks


def echo_key(status: int, field: str = "detail") -> Script:
    def script(conn: socket.socket, request: bytes) -> None:
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"x-api-key:"))
        body = json.dumps({field: f"bad key {key.decode()} for this request"}).encode()
        conn.sendall(head(status, len(body)) + body)

    return script


def chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def assert_no_key(exc: BaseException) -> None:
    for e in chain(exc):
        assert KEY not in str(e) and KEY not in repr(e.args)
        assert KEY not in json.dumps(getattr(e, "body", None), default=str)
        request = getattr(e, "_request", None)
        if request is not None:
            assert KEY not in str(dict(request.headers))


@pytest.mark.parametrize("status", [400, 401, 200])
def test_a_key_echoed_by_the_server_is_redacted(raw_server: Callable[[Script], RawServer], status: int) -> None:
    server = raw_server(echo_key(status))
    with pytest.raises(ScaleDownError) as info:
        compressor(server.url, max_retries=0).compress("ctx", "q")
    assert "<api key>" in str(info.value)
    assert_no_key(info.value)


def test_the_key_is_not_in_the_chained_httpx_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    with pytest.raises(APIConnectionError) as info:
        compressor(f"http://127.0.0.1:{port}", max_retries=0).compress("ctx", "q")
    assert len(chain(info.value)) > 1  # the httpx error is still chained, for debugging
    assert_no_key(info.value)


def test_the_cli_does_not_print_an_echoed_key(raw_server: Callable[[Script], RawServer], tmp_path, monkeypatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    server = raw_server(echo_key(400))
    doc = tmp_path / "doc.txt"
    doc.write_text("some context")
    monkeypatch.setenv("SCALEDOWN_API_KEY", KEY)
    assert main(["compress", str(doc), "-p", "q", "--api", "--api-url", server.url]) == 1
    out = capsys.readouterr()
    assert KEY not in out.err + out.out and "<api key>" in out.err


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"backoff_cap": math.nan}, ValueError),
    ({"backoff": 1e308, "backoff_cap": math.inf}, ValueError),
    ({"backoff": "1"}, TypeError),
    ({"backoff": -1}, ValueError),
    ({"backoff": True}, TypeError),
    ({"deadline": 0}, ValueError),
    ({"deadline": math.inf}, ValueError),
    ({"max_response_bytes": 0}, ValueError),
])
def test_bad_retry_settings_are_refused_at_construction(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        ScaleDownCompressor(api_key=KEY, **kwargs)


@pytest.mark.parametrize("value", ["nan", "-30", "inf", "-inf", "soon"])
def test_a_bad_retry_after_is_ignored_and_backoff_applies(value: str) -> None:
    assert _core.retry_after_seconds(value) is None
    assert _core.retry_delay(0, 0.4, 1.0, value) >= 0.2  # backoff with jitter, not 0


def test_a_bad_retry_after_backs_off_on_the_wire(raw_server: Callable[[Script], RawServer]) -> None:
    replies = iter([head(503, 2, "Retry-After: nan\r\n") + b"{}", head(200, len(OK_BODY)) + OK_BODY])
    server = raw_server(lambda conn, _r: conn.sendall(next(replies)))
    started = time.monotonic()
    compressor(server.url, max_retries=1, backoff=0.4, backoff_cap=0.4).compress("ctx", "q")
    assert time.monotonic() - started >= 0.2 and len(server.requests) == 2
