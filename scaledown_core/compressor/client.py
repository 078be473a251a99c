"""ScaleDownCompressor: the client of the ScaleDown compression API (``POST {base}/compress/raw/``).

One shared connection pool per compressor (an ``httpx.Client`` for ``compress`` and an
``httpx.AsyncClient`` for ``acompress``, both created on first use or injected). Every HTTP call goes
through one helper per flavour that retries 429, 5xx, timeouts and connection errors with
exponential backoff and jitter (honouring ``Retry-After``) and turns httpx exceptions into ours.
Payload building and response parsing are the plain functions of :mod:`._core`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple, Sequence

import httpx

from ..config import resolve_api_key, resolve_api_url
from ..exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    MalformedResponseError,
    ScaleDownError,
)
from ..types import CompressedDocuments, CompressedPrompt
from . import _core, documents

__all__ = ["ScaleDownCompressor", "ENDPOINT", "SOURCE_HEADER"]

logger = logging.getLogger(__name__)

ENDPOINT = "/compress/raw/"
SOURCE_HEADER = "scaledown-python"
DEFAULT_TIMEOUT_S = 30.0  # the service's observed latency is seconds; docs' example shows 2.3 s
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5
DEFAULT_BACKOFF_CAP_S = 8.0
# The largest answer read: a compressed prompt is smaller than the request, and our own server
# accepts at most 2 MB; a reply far past that is a fault, not a result.
DEFAULT_MAX_RESPONSE_BYTES = 16_000_000

_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.TransportError)
_NO_ROUTE = frozenset({404, 405})  # a server without the documents extension (the hosted service)


class ScaleDownCompressor:
    """Compress context with the ScaleDown service (or any server speaking its protocol).

    Args:
        target_model: the model the compressed prompt is for (sent as ``model``).
        rate: ``"auto"`` or the fraction of tokens to keep, in (0, 1].
        api_key: the key; else ``set_api_key()``, else ``SCALEDOWN_API_KEY`` (read at call time).
        temperature, preserve_keywords, preserve_words: service options, sent only when set.
        api_url: base URL; else ``SCALEDOWN_API_URL``, else ``https://api.scaledown.xyz``.
        timeout: seconds allowed to connect, and for each read and write of an attempt (httpx's
            timeouts; ``deadline`` bounds the whole call).
        max_retries: extra attempts after a retryable failure (429, 5xx, timeouts, connection errors).
        deadline: seconds one call may take in all, attempts and backoff included; past it the call
            raises :class:`~scaledown_core.exceptions.APITimeoutError`, even against a server that
            trickles its answer a byte at a time. Default: ``timeout * (max_retries + 1) +
            backoff_cap * max_retries``, what the retries could take without a trickle. A sync call
            checks it between the reads of the body (each read waits at most the time left); an async
            call is cancelled at it.
        max_response_bytes: the largest answer read (16 MB by default); a larger one raises
            :class:`~scaledown_core.exceptions.MalformedResponseError` without being read to the end.
        max_concurrency: requests in flight for a batch.
        backoff, backoff_cap: first backoff and its ceiling in seconds (doubled per retry, jittered,
            never above the ceiling). A ``Retry-After`` up to 60 s is honoured as sent; a longer one
            ends the retries at once with the service's error.
        http_client, async_http_client: injected httpx clients (tests, proxies); their own timeout
            applies and they are not closed by us.

    ``compress(context, prompt, max_tokens=None)``: str + str -> :class:`CompressedPrompt`; list + list
    (paired) or list + str (broadcast) -> list in input order. ``content`` is the service's
    ``compressed_prompt``, which stands for context **and** prompt together.
    """

    def __init__(
        self,
        target_model: str = "gpt-4o",
        rate: str | float = "auto",
        api_key: str | None = None,
        temperature: float | None = None,
        preserve_keywords: bool = False,
        preserve_words: Sequence[str] | None = None,
        api_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrency: int = 5,
        *,
        backoff: float = DEFAULT_BACKOFF_S,
        backoff_cap: float = DEFAULT_BACKOFF_CAP_S,
        deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not isinstance(target_model, str) or not target_model.strip():
            raise ValueError("target_model must be a non-empty model name such as 'gpt-4o'")
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ValueError("api_key must be a non-empty string or None (then SCALEDOWN_API_KEY is used)")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
            raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0; got {max_retries!r}")
        backoff = _seconds("backoff", backoff)
        backoff_cap = _seconds("backoff_cap", backoff_cap)
        if deadline is not None and _seconds("deadline", deadline) == 0:
            raise ValueError("deadline must be a positive number of seconds or None; got 0")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int) or max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be a positive integer; got {max_response_bytes!r}")
        self.target_model = target_model
        self.rate = _core.check_rate(rate)
        self._api_key = api_key.strip() if api_key else None
        self.temperature = _core.check_temperature(temperature)
        self.preserve_keywords = _core.check_flag("preserve_keywords", preserve_keywords)
        self.preserve_words = _core.check_preserve_words(preserve_words)
        self._api_url = api_url
        if api_url is not None:
            resolve_api_url(api_url)  # fail now on a malformed URL
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.max_concurrency = _core.check_concurrency(max_concurrency)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.deadline = float(deadline) if deadline is not None else (
            self.timeout * (max_retries + 1) + backoff_cap * max_retries)
        self.max_response_bytes = max_response_bytes
        self._client = http_client
        self._aclient = async_http_client
        self._aclient_loop: asyncio.AbstractEventLoop | None = None
        self._owns_client = http_client is None
        self._owns_aclient = async_http_client is None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        key = "set" if resolve_api_key(self._api_key) else "missing"
        return (f"ScaleDownCompressor(target_model={self.target_model!r}, rate={self.rate!r}, "
                f"api_url={self.api_url!r}, api_key=<{key}>)")

    @property
    def api_url(self) -> str:
        """The base URL in effect now (argument, else ``SCALEDOWN_API_URL``, else the hosted service)."""
        return resolve_api_url(self._api_url)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection pool this compressor created (injected clients are left open)."""
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close both pools this compressor created."""
        self.close()
        if self._aclient is not None and self._owns_aclient:
            if self._aclient_loop is asyncio.get_running_loop():
                await self._aclient.aclose()
            self._aclient = None  # a pool of a finished event loop closed with it

    def __enter__(self) -> "ScaleDownCompressor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "ScaleDownCompressor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, limits=self._limits())
            return self._client

    def _async_client(self) -> httpx.AsyncClient:
        # an async pool belongs to the event loop it was made in: each asyncio.run() gets its own
        loop = asyncio.get_running_loop()
        if self._aclient is None or (self._owns_aclient and self._aclient_loop is not loop):
            self._aclient = httpx.AsyncClient(timeout=self.timeout, limits=self._limits())
            self._aclient_loop = loop
        return self._aclient

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)

    # ------------------------------------------------------------------ public shells

    def compress(self, context: str | list[str], prompt: str | list[str], max_tokens: int | None = None,
                 *, return_exceptions: bool = False, rate: str | float | None = None,
                 temperature: float | None = None, preserve_keywords: bool | None = None,
                 preserve_words: Sequence[str] | None = None) -> CompressedPrompt | list[Any]:
        """Compress one context or a batch (see the class docstring).

        ``rate``, ``temperature``, ``preserve_keywords`` and ``preserve_words`` are the service's
        ``scaledown`` options for this call, in place of the constructor's; any other keyword is a
        ``TypeError`` naming it (nothing else is ever sent).

        A batch sends up to ``max_concurrency`` requests at a time on worker threads (so it works
        inside a running event loop too). Every item finishes; then, if some failed,
        :class:`~scaledown_core.exceptions.BatchError` is raised with ``results`` (``None`` where an
        item failed) and ``errors`` (index -> exception); ``return_exceptions=True`` returns the
        exceptions in place instead.
        """
        pairs, batch = _core.pairs_of(context, prompt)
        max_tokens = _core.check_max_tokens(max_tokens)
        options = self._options.updated(rate, temperature, preserve_keywords, preserve_words)
        key = self._key()
        if not batch:
            return self._one(key, *pairs[0], max_tokens, options)
        return _core.run_batch(lambda c, p: self._one(key, c, p, max_tokens, options), pairs,
                               self.max_concurrency, return_exceptions)

    async def acompress(self, context: str | list[str], prompt: str | list[str], max_tokens: int | None = None,
                        *, return_exceptions: bool = False, rate: str | float | None = None,
                        temperature: float | None = None, preserve_keywords: bool | None = None,
                        preserve_words: Sequence[str] | None = None) -> CompressedPrompt | list[Any]:
        """``compress`` with the async pool; a batch has at most ``max_concurrency`` requests in flight."""
        pairs, batch = _core.pairs_of(context, prompt)
        max_tokens = _core.check_max_tokens(max_tokens)
        options = self._options.updated(rate, temperature, preserve_keywords, preserve_words)
        key = self._key()

        async def one(c: str, p: str) -> CompressedPrompt:
            return await self._aone(key, c, p, max_tokens, options)

        if not batch:
            return await one(*pairs[0])
        return await _core.arun_batch(one, pairs, self.max_concurrency, return_exceptions)

    def compress_documents(self, texts: Sequence[str], prompt: str, max_tokens: int | None = None, *,
                           rate: str | float | None = None, ids: Sequence[str | int | None] | None = None,
                           scores: Sequence[float | None] | None = None) -> CompressedDocuments:
        """A retrieved set compressed as one context by the server, in one request.

        Sent to ``POST /compress/documents/`` (a ScaleDown server extension that ``scaledown serve``
        offers; see :mod:`scaledown_core.server.documents`): the documents keep their boundaries, the
        server selects jointly and answers one entry per document. Same arguments and result as
        :meth:`LocalCompressor.compress_documents`. A server without that route (404/405, such as
        the hosted service today) gets one ``/compress/raw/`` request per document instead, with the
        budget shared by size, and every result says so in its warnings.
        """
        texts, ids_, scores_ = documents.check_documents(texts, ids, scores)
        prompt, max_tokens, rate = self._documents_args(prompt, max_tokens, rate)
        if not texts:
            return documents.empty_result(self.target_model)
        key = self._key()
        url, headers, payload = self._documents_request(key, texts, prompt, rate, max_tokens, ids_, scores_)
        started = time.perf_counter()
        with _redacting(key):
            response = self._send(key, url, headers, payload)
            if response.status_code not in _NO_ROUTE:
                return self._documents_result(response, len(texts), started)
        return self._documents_one_by_one(texts, prompt, max_tokens, ids_, scores_)

    async def acompress_documents(self, texts: Sequence[str], prompt: str, max_tokens: int | None = None, *,
                                  rate: str | float | None = None, ids: Sequence[str | int | None] | None = None,
                                  scores: Sequence[float | None] | None = None) -> CompressedDocuments:
        """``compress_documents`` with the async pool."""
        texts, ids_, scores_ = documents.check_documents(texts, ids, scores)
        prompt, max_tokens, rate = self._documents_args(prompt, max_tokens, rate)
        if not texts:
            return documents.empty_result(self.target_model)
        key = self._key()
        url, headers, payload = self._documents_request(key, texts, prompt, rate, max_tokens, ids_, scores_)
        started = time.perf_counter()
        with _redacting(key):
            response = await self._asend(key, url, headers, payload)
            if response.status_code not in _NO_ROUTE:
                return self._documents_result(response, len(texts), started)
        return await self._adocuments_one_by_one(texts, prompt, max_tokens, ids_, scores_)

    def _documents_args(self, prompt: Any, max_tokens: Any, rate: Any) -> tuple[str, int | None, Any]:
        return (_core.check_prompt(prompt), _core.check_max_tokens(max_tokens),
                self.rate if rate is None else _core.check_rate(rate))

    def _documents_request(self, key: str, texts: list[str], prompt: str, rate: Any, max_tokens: int | None,
                           ids: list[str | None], scores: list[float | None]) -> tuple[str, dict, dict]:
        payload = documents.build_documents_payload(
            texts, prompt, rate, ids=ids, scores=scores, model=self.target_model,
            preserve_keywords=self.preserve_keywords, preserve_words=self.preserve_words, max_tokens=max_tokens)
        headers = {"x-api-key": key, "Content-Type": "application/json", "x-source": SOURCE_HEADER}
        return self.api_url + documents.DOCUMENTS_ENDPOINT, headers, payload

    def _documents_result(self, response: "_Answer", n: int, started: float) -> CompressedDocuments:
        body = _core.decode_body(response.content)
        if response.status_code != 200:
            raise _core.error_for_status(response.status_code, body)
        return documents.parse_documents_response(body, n, elapsed_ms=(time.perf_counter() - started) * 1000.0)

    def _share(self, texts: list[str], max_tokens: int | None) -> list[int | None]:
        from ..retrieval import share_budget
        from ..tokens import get_counter

        return share_budget(get_counter(self.target_model).count_many(texts), max_tokens)

    def _documents_one_by_one(self, texts: list[str], prompt: str, max_tokens: int | None,
                              ids: list[str | None], scores: list[float | None]) -> CompressedDocuments:
        """The fallback for a server without the documents route: one request per non-blank document."""
        logger.warning("%s has no %s route: each document is compressed on its own", self.api_url,
                       documents.DOCUMENTS_ENDPOINT)
        ceilings = self._share(texts, max_tokens)
        singles: list[Any] = [
            self.compress(t, prompt, c) if t.strip() and c != 0 else None for t, c in zip(texts, ceilings)
        ]
        return documents.from_singles(texts, singles, ids, scores, ceilings)

    async def _adocuments_one_by_one(self, texts: list[str], prompt: str, max_tokens: int | None,
                                     ids: list[str | None], scores: list[float | None]) -> CompressedDocuments:
        """``_documents_one_by_one`` on the async pool, at most ``max_concurrency`` requests in flight."""
        logger.warning("%s has no %s route: each document is compressed on its own", self.api_url,
                       documents.DOCUMENTS_ENDPOINT)
        ceilings = self._share(texts, max_tokens)
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(text: str, ceiling: int | None) -> Any:
            if not text.strip() or ceiling == 0:
                return None
            async with gate:
                return await self.acompress(text, prompt, ceiling)

        singles = await asyncio.gather(*(one(t, c) for t, c in zip(texts, ceilings)))
        return documents.from_singles(texts, list(singles), ids, scores, ceilings)

    # ------------------------------------------------------------------ one request

    def _key(self) -> str:
        key = resolve_api_key(self._api_key)
        if not key:
            raise AuthenticationError(
                "no ScaleDown API key: pass api_key=, call scaledown_core.set_api_key(), or set "
                "SCALEDOWN_API_KEY (or use LocalCompressor, which needs no key)"
            )
        if not (key.isascii() and key.isprintable()) or any(ch.isspace() for ch in key):
            # never echo it: the message would leak the key
            raise AuthenticationError("the ScaleDown API key holds characters an HTTP header cannot carry "
                                      "(spaces, control or non-ASCII characters); check how it was set")
        return key

    @property
    def _options(self) -> _core.CallOptions:
        """The constructor's service options (a call may replace some)."""
        return _core.CallOptions(self.rate, self.temperature, self.preserve_keywords, self.preserve_words)

    def _request(self, key: str, context: str, prompt: str, max_tokens: int | None,
                 options: _core.CallOptions) -> tuple[str, dict, dict]:
        payload = _core.build_payload(
            context, prompt, options.rate, model=self.target_model, temperature=options.temperature,
            preserve_keywords=options.preserve_keywords, preserve_words=options.preserve_words,
            max_tokens=max_tokens,
        )
        headers = {"x-api-key": key, "Content-Type": "application/json", "x-source": SOURCE_HEADER}
        return self.api_url + ENDPOINT, headers, payload

    def _one(self, key: str, context: str, prompt: str, max_tokens: int | None,
             options: _core.CallOptions) -> CompressedPrompt:
        url, headers, payload = self._request(key, context, prompt, max_tokens, options)
        started = time.perf_counter()
        with _redacting(key):
            return self._result(self._send(key, url, headers, payload), started, options.rate)

    async def _aone(self, key: str, context: str, prompt: str, max_tokens: int | None,
                    options: _core.CallOptions) -> CompressedPrompt:
        url, headers, payload = self._request(key, context, prompt, max_tokens, options)
        started = time.perf_counter()
        with _redacting(key):
            return self._result(await self._asend(key, url, headers, payload), started, options.rate)

    def _send(self, key: str, url: str, headers: dict, payload: dict) -> "_Answer":
        """POST with bounded retries (429, 5xx, transport errors) within the call's deadline; the final
        answer, whatever its status. Callers run it under :func:`_redacting`."""
        client = self._sync_client()
        ends = time.monotonic() + self.deadline
        for attempt in range(self.max_retries + 1):
            try:
                answer = self._attempt(client, url, headers, payload, ends)
            except _RETRYABLE_TRANSPORT as exc:
                time.sleep(self._transport_delay(exc, url, attempt, key, ends))
                continue
            delay = self._answer_delay(answer, attempt, ends)
            if delay is None:
                return answer
            time.sleep(delay)
        raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover

    async def _asend(self, key: str, url: str, headers: dict, payload: dict) -> "_Answer":
        """``_send`` on the async pool."""
        client = self._async_client()
        ends = time.monotonic() + self.deadline
        for attempt in range(self.max_retries + 1):
            try:
                answer = await asyncio.wait_for(self._aattempt(client, url, headers, payload, ends),
                                                max(ends - time.monotonic(), 0.0))
            except asyncio.TimeoutError:
                raise self._deadline_error(url) from None
            except _RETRYABLE_TRANSPORT as exc:
                await asyncio.sleep(self._transport_delay(exc, url, attempt, key, ends))
                continue
            delay = self._answer_delay(answer, attempt, ends)
            if delay is None:
                return answer
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover

    def _attempt(self, client: httpx.Client, url: str, headers: dict, payload: dict, ends: float) -> "_Answer":
        """One POST, its body read in chunks under the size cap and the deadline."""
        with client.stream("POST", url, json=payload, headers=headers,
                           **self._timeout_arg(self._owns_client, ends)) as response:
            cap = _Capped(self.max_response_bytes, response, url)
            for chunk in response.iter_bytes():
                cap.add(chunk)
                if time.monotonic() > ends:
                    raise self._deadline_error(url)
            return _Answer(response.status_code, response.headers, cap.content())

    async def _aattempt(self, client: httpx.AsyncClient, url: str, headers: dict, payload: dict,
                        ends: float) -> "_Answer":
        async with client.stream("POST", url, json=payload, headers=headers,
                                 **self._timeout_arg(self._owns_aclient, ends)) as response:
            cap = _Capped(self.max_response_bytes, response, url)
            async for chunk in response.aiter_bytes():
                cap.add(chunk)
            return _Answer(response.status_code, response.headers, cap.content())

    def _deadline_error(self, url: str) -> APITimeoutError:
        return APITimeoutError(f"no complete answer from {url} within the call's deadline of {self.deadline:g} s")

    def _transport_delay(self, exc: Exception, url: str, attempt: int, key: str, ends: float) -> float:
        """Seconds to wait before retrying after ``exc``; raises it (as ours) when no retry is left."""
        error = _transport_error(exc, url, attempt + 1, key)
        if attempt == self.max_retries:
            raise error from exc
        delay = self._delay(attempt, None, type(exc).__name__) or 0.0
        if time.monotonic() + delay >= ends:
            raise error from exc
        return delay

    def _answer_delay(self, answer: "_Answer", attempt: int, ends: float) -> float | None:
        """Seconds to wait before retrying ``answer``; None when it is final (no retry or no time left)."""
        if attempt == self.max_retries:
            return None
        delay = self._retry_delay(answer, attempt)
        if delay is not None and time.monotonic() + delay >= ends:
            return None
        return delay

    def _timeout_arg(self, owned: bool, ends: float) -> dict[str, Any]:
        # an injected client keeps its own timeout configuration; ours never waits past the deadline
        return {"timeout": max(min(self.timeout, ends - time.monotonic()), 0.001)} if owned else {}

    def _delay(self, attempt: int, retry_after: str | None, why: str) -> float | None:
        """Seconds to wait before the next attempt; None when the service asks for longer than we wait."""
        delay = _core.retry_delay(attempt, self.backoff, self.backoff_cap, retry_after)
        if delay is None:
            logger.warning("ScaleDown API %s asks to retry after %s s; not waiting that long", why, retry_after)
            return None
        logger.warning("ScaleDown API %s; retry %d of %d in %.2fs", why, attempt + 1, self.max_retries, delay)
        return delay

    def _retry_delay(self, response: "_Answer", attempt: int) -> float | None:
        """Seconds to wait before retrying ``response``; None when it is final."""
        if response.status_code not in _core.RETRY_STATUSES:
            return None
        return self._delay(attempt, response.headers.get("retry-after"), f"HTTP {response.status_code}")

    def _result(self, response: "_Answer", started: float, rate: _core.Rate) -> CompressedPrompt:
        body = _core.decode_body(response.content)
        if response.status_code != 200:
            raise _core.error_for_status(response.status_code, body)
        return _core.parse_response(body, status=200, requested_rate=rate, target_model=self.target_model,
                                    elapsed_ms=(time.perf_counter() - started) * 1000.0)


class _Answer(NamedTuple):
    """What one attempt received: status, headers and the whole body."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class _Capped:
    """A response body gathered chunk by chunk, refused as soon as it passes ``limit`` bytes."""

    def __init__(self, limit: int, response: httpx.Response, url: str) -> None:
        self.limit, self.url, self.parts, self.size = limit, url, [], 0
        self.status = response.status_code
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            self.refuse(int(declared))

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.refuse(self.size)
        self.parts.append(chunk)

    def content(self) -> bytes:
        return b"".join(self.parts)

    def refuse(self, size: int) -> None:
        raise MalformedResponseError(f"the answer of {self.url} is larger than max_response_bytes "
                                     f"({size} > {self.limit} bytes); not read further", self.status)


def _seconds(name: str, value: Any) -> float:
    """A finite number of seconds >= 0, checked now rather than when ``time.sleep`` fails on it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds; got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0; got {value!r}")
    return float(value)


def redact(exc: BaseException, key: str) -> BaseException:
    """``exc`` with ``key`` replaced by ``<api key>`` in its text, its body and every exception chained to it
    (an httpx error's request carries the key in its headers)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(_scrub(a, key) for a in current.args)
        if isinstance(current, (APIError, AuthenticationError)):
            current.body = _scrub(current.body, key)
        request = getattr(current, "_request", None)
        if isinstance(request, httpx.Request) and "x-api-key" in request.headers:
            request.headers["x-api-key"] = REDACTED
        current = current.__cause__ or current.__context__
    return exc


REDACTED = "<api key>"


@contextmanager
def _redacting(key: str) -> Iterator[None]:
    """Every ScaleDownError raised inside: with ``key`` redacted (see :func:`redact`)."""
    try:
        yield
    except ScaleDownError as exc:
        raise redact(exc, key)


def _scrub(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace(key, REDACTED)
    if isinstance(value, dict):
        return {_scrub(k, key): _scrub(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v, key) for v in value)
    return value


def _transport_error(exc: Exception, url: str, attempts: int, key: str) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"no answer from {url} within the timeout ({type(exc).__name__}) "
                               f"after {attempts} attempt(s)")
    said = str(exc).replace(key, REDACTED)  # transport errors may quote the request's headers
    return APIConnectionError(f"could not reach {url} ({type(exc).__name__}: {said}) after {attempts} attempt(s)")
