"""The I/O-free core shared by every compressor: argument checks, batch shapes and batch outcomes,
the request payload, response parsing and the retry schedule of the ScaleDown protocol.

Nothing here touches the network or the event loop; ``compress``/``acompress`` are thin shells.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar, Union

from ..exceptions import (
    APIError,
    AuthenticationError,
    BatchError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from ..retrieval.text import lone_surrogate
from ..types import CompressedPrompt, CompressionMetrics

__all__ = [
    "Rate",
    "check_rate",
    "check_prompt",
    "check_max_tokens",
    "pairs_of",
    "run_batch",
    "arun_batch",
    "build_payload",
    "parse_response",
    "error_for_status",
    "retry_delay",
    "RETRY_STATUSES",
]

T = TypeVar("T")
Rate = Union[str, float]

# 429 and every 5xx are worth another try; other statuses are the caller's to fix.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The longest Retry-After we honour: a service asking for minutes is better reported than awaited.
MAX_RETRY_AFTER_S = 60.0
# Jitter spreads retries of a batch so they do not hit the service in lockstep.
JITTER = (0.5, 1.5)
# How much of an error body goes into an exception message (the whole body stays in ``.body``).
BODY_EXCERPT_CHARS = 300


# --------------------------------------------------------------------------- arguments


def check_rate(rate: Any) -> Rate:
    """``'auto'`` or a float in (0, 1]; numeric strings ("0.5") are accepted as the protocol allows."""
    if isinstance(rate, str):
        if rate.strip().lower() == "auto":
            return "auto"
        try:
            rate = float(rate)
        except ValueError:
            raise ValueError(f"rate must be 'auto' or a number in (0, 1]; got {rate!r}") from None
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0 < rate <= 1) or math.isnan(rate):
        raise ValueError(f"rate must be 'auto' or a number in (0, 1]; got {rate!r}")
    return float(rate)


def check_flag(name: str, value: Any) -> bool:
    """A switch must be True or False: ``bool("no")`` is True, so strings and other values are refused."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return value


def check_prompt(prompt: Any) -> str:
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string; got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("prompt must be a non-empty string: compression is query-aware and the service "
                         "rejects an empty prompt")
    return check_unicode("prompt", prompt)


def check_unicode(name: str, text: str) -> str:
    """``text`` unchanged; ValueError when it holds a lone surrogate, which no output could encode (every
    compressor and the server refuse it alike)."""
    surrogate = lone_surrogate(text)
    if surrogate is not None:
        raise ValueError(f"{name} holds a lone surrogate ({surrogate!r}) at offset {text.index(surrogate)}, "
                         "which is not valid Unicode and cannot be sent; decode the text with errors='replace'")
    return text


def check_max_tokens(max_tokens: Any) -> int | None:
    if max_tokens is None:
        return None
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive integer or None; got {max_tokens!r}")
    return max_tokens


def check_preserve_words(words: Any) -> list[str] | None:
    if words is None:
        return None
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise TypeError("preserve_words must be a list of strings")
    return [w for w in words if w.strip()] or None


def check_temperature(temperature: Any) -> float | None:
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise TypeError(f"temperature must be a finite number or None; got {temperature!r}")
    return float(temperature)


@dataclass(frozen=True)
class CallOptions:
    """The service's ``scaledown`` options for one call: the compressor's settings, or a call's own."""

    rate: Rate
    temperature: float | None
    preserve_keywords: bool
    preserve_words: list[str] | None

    def updated(self, rate: Any = None, temperature: Any = None, preserve_keywords: Any = None,
                preserve_words: Any = None) -> "CallOptions":
        """These options with a call's own values (those not None) in place, checked as the constructor
        checks them."""
        return CallOptions(
            rate=self.rate if rate is None else check_rate(rate),
            temperature=self.temperature if temperature is None else check_temperature(temperature),
            preserve_keywords=(self.preserve_keywords if preserve_keywords is None
                               else check_flag("preserve_keywords", preserve_keywords)),
            preserve_words=self.preserve_words if preserve_words is None else check_preserve_words(preserve_words),
        )


def check_concurrency(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"max_concurrency must be a positive integer; got {n!r}")
    return n


def pairs_of(context: Any, prompt: Any) -> tuple[list[tuple[str, str]], bool]:
    """The (context, prompt) pairs of a call and whether it is a batch.

    str + str is one call; list + list of equal length pairs them; list + str broadcasts the prompt.
    Prompts are checked here, before any work or request.
    """
    if isinstance(context, str):
        if not isinstance(prompt, str):
            raise ValueError("a single context takes a single prompt string; pass lists for a batch")
        return [(check_unicode("context", context), check_prompt(prompt))], False
    if not isinstance(context, (list, tuple)):
        raise TypeError(f"context must be a string or a list of strings; got {type(context).__name__}")
    if not all(isinstance(c, str) for c in context):
        raise TypeError("every context of a batch must be a string")
    for c in context:
        check_unicode("context", c)
    if isinstance(prompt, str):
        check_prompt(prompt)
        return [(c, prompt) for c in context], True
    if not isinstance(prompt, (list, tuple)):
        raise TypeError(f"prompt must be a string or a list of strings; got {type(prompt).__name__}")
    if len(prompt) != len(context):
        raise ValueError(f"a batch needs one prompt per context (or one prompt for all): got "
                         f"{len(context)} contexts and {len(prompt)} prompts")
    return [(c, check_prompt(p)) for c, p in zip(context, prompt)], True


# --------------------------------------------------------------------------- batches


def _outcome(results: list[Any], return_exceptions: bool) -> list[Any]:
    errors = {i: r for i, r in enumerate(results) if isinstance(r, BaseException)}
    if not errors or return_exceptions:
        return results
    for exc in errors.values():
        if not isinstance(exc, Exception):  # KeyboardInterrupt, CancelledError: never swallowed
            raise exc
    first = errors[min(errors)]
    raise BatchError([None if i in errors else r for i, r in enumerate(results)], errors) from first


def run_batch(fn: Callable[[str, str], T], pairs: Sequence[tuple[str, str]], max_concurrency: int,
              return_exceptions: bool) -> list[Any]:
    """Run ``fn`` over the pairs on up to ``max_concurrency`` threads; results in input order.

    Every item runs to the end. Then, if any failed and ``return_exceptions`` is false, a
    :class:`BatchError` is raised carrying the results and the per-item errors; with
    ``return_exceptions`` the exceptions stand in the list in place of the failed results.
    Threads, not an event loop: this works inside a running loop (Jupyter) as well.
    """

    def one(pair: tuple[str, str]) -> Any:
        try:
            return fn(*pair)
        except Exception as exc:  # noqa: BLE001 - collected per item, re-raised by _outcome
            return exc

    if len(pairs) <= 1 or max_concurrency == 1:
        results = [one(p) for p in pairs]
    else:
        with ThreadPoolExecutor(max_workers=min(max_concurrency, len(pairs))) as pool:
            results = list(pool.map(one, pairs))
    return _outcome(results, return_exceptions)


async def arun_batch(fn: Callable[[str, str], Awaitable[T]], pairs: Sequence[tuple[str, str]],
                     max_concurrency: int, return_exceptions: bool) -> list[Any]:
    """``run_batch`` for coroutines: at most ``max_concurrency`` in flight, results in input order."""
    gate = asyncio.Semaphore(max_concurrency)

    async def one(pair: tuple[str, str]) -> Any:
        async with gate:
            return await fn(*pair)

    results = await asyncio.gather(*(one(p) for p in pairs), return_exceptions=True)
    return _outcome(list(results), return_exceptions)


# --------------------------------------------------------------------------- protocol


def build_payload(context: str, prompt: str, rate: Rate, *, model: str | None = None,
                  temperature: float | None = None, preserve_keywords: bool = False,
                  preserve_words: list[str] | None = None, max_tokens: int | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /compress/raw/``: protocol fields only, optional ones only when set.

    Text with a lone surrogate (``"\\ud800"``, from broken decoding) cannot be sent as UTF-8: ValueError.
    """
    for name, text in (("context", context), ("prompt", prompt), *(("preserve_words", w) for w in preserve_words or ())):
        surrogate = lone_surrogate(text)
        if surrogate is not None:
            raise ValueError(f"{name} holds a lone surrogate ({surrogate!r}) at offset {text.index(surrogate)}, "
                             "which is not valid Unicode and cannot be sent; decode the text with errors='replace'")
    options: dict[str, Any] = {"rate": rate}
    if temperature is not None:
        options["temperature"] = temperature
    if preserve_keywords:
        options["preserve_keywords"] = True
    if preserve_words:
        options["preserve_words"] = list(preserve_words)
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    body: dict[str, Any] = {"context": context, "prompt": prompt, "scaledown": options}
    if model:
        body["model"] = model
    return body


def decode_body(content: bytes) -> Any:
    """The JSON of a response body, or its text when it is not JSON."""
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _excerpt(body: Any) -> str:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "…"


def error_for_status(status: int, body: Any) -> Exception:
    """The typed error for a non-200 answer (the caller decides whether to retry first)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    said = _excerpt(detail if detail is not None else body) if body not in (None, "") else "no body"
    if status in (401, 403):
        return AuthenticationError(f"the service rejected the API key (HTTP {status}): {said}", status, body)
    if status == 429:
        return RateLimitError(f"rate limited by the service after every retry: {said}", status, body)
    if status >= 500:
        return ServerError(f"the service failed after every retry: {said}", status, body)
    return APIError(f"the service refused the request: {said}", status, body)


def _first_int(*candidates: Any) -> int | None:
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            return int(value)
    return None


def parse_response(body: Any, *, status: int = 200, requested_rate: Rate, target_model: str,
                   elapsed_ms: float) -> CompressedPrompt:
    """A :class:`CompressedPrompt` from a 200 body of either shape; anything else is an error.

    A body with ``detail``, ``successful: false`` or no string ``compressed_prompt`` raises
    :class:`MalformedResponseError`. Token counts come from ``results.*``, then the flat fields,
    then ``total_*``.
    """
    if not isinstance(body, dict):
        raise MalformedResponseError(f"the service answered {status} with a body that is not a JSON "
                                     f"object: {_excerpt(body)}", status, body)
    if "detail" in body:
        raise MalformedResponseError(f"the service answered {status} with an error: "
                                     f"{_excerpt(body['detail'])}", status, body)
    results = body.get("results")
    nested = results if isinstance(results, dict) else {}
    if body.get("successful") is False or nested.get("successful") is False:
        raise MalformedResponseError("the service reported an unsuccessful compression "
                                     f"(successful: false): {_excerpt(body)}", status, body)
    text = nested.get("compressed_prompt", body.get("compressed_prompt"))
    if not isinstance(text, str):
        raise MalformedResponseError("the service's answer has no string compressed_prompt: "
                                     f"{_excerpt(body)}", status, body)
    if not text.strip():  # the protocol's compressed_prompt always holds at least the prompt
        raise MalformedResponseError(f"the service's compressed_prompt is empty: {_excerpt(body)}", status, body)
    original = _first_int(nested.get("original_prompt_tokens"), body.get("original_prompt_tokens"),
                          body.get("total_original_tokens"))
    compressed = _first_int(nested.get("compressed_prompt_tokens"), body.get("compressed_prompt_tokens"),
                            body.get("total_compressed_tokens"))
    warnings: list[str] = []
    if original is None or compressed is None:
        from ..tokens import get_counter

        warnings.append(f"the service sent no token counts; counted locally with {target_model}'s tokenizer "
                        "(compressed_prompt only: the original counts are unknown)" if original is None else
                        "the service sent no compressed token count; counted locally")
        compressed = get_counter(target_model).count(text) if compressed is None else compressed
        original = compressed if original is None else original
    meta = body.get("request_metadata") if isinstance(body.get("request_metadata"), dict) else {}
    service_rate = meta.get("compression_rate")
    rate = requested_rate if isinstance(requested_rate, float) else (
        float(service_rate) if isinstance(service_rate, (int, float)) and not isinstance(service_rate, bool)
        else None)
    latency = body.get("latency_ms")
    if not (isinstance(latency, (int, float)) and not isinstance(latency, bool) and math.isfinite(latency)):
        latency = None
    extra: dict[str, Any] = {"engine": "api", "round_trip_ms": elapsed_ms}
    if latency is not None:
        extra["service_latency_ms"] = float(latency)
    if meta:
        extra["request_metadata"] = meta
    if warnings:
        extra["warnings"] = warnings
    return CompressedPrompt(
        content=text,
        metrics=CompressionMetrics(
            original_prompt_tokens=original,
            compressed_prompt_tokens=compressed,
            latency_ms=float(latency) if latency is not None else elapsed_ms,
            model_used=str(body.get("model_used") or target_model),
            rate=rate,
            extra=extra,
        ),
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), if any.

    A value that is no valid delay (``nan``, ``inf``, a negative number, text) counts as absent, so the
    usual backoff applies; a date already past means "now".
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, base: float, cap: float, retry_after: str | None = None) -> float | None:
    """Seconds to sleep before retry number ``attempt`` (0-based), or None: do not retry.

    ``Retry-After`` wins when the service sends it; one longer than ``MAX_RETRY_AFTER_S`` gives None
    (the caller reports the error now). Otherwise exponential backoff ``base * 2**attempt`` with
    jitter, never above ``cap``.
    """
    told = retry_after_seconds(retry_after)
    if told is not None:
        return told if told <= MAX_RETRY_AFTER_S else None
    return min(cap, base * (2**attempt) * random.uniform(*JITTER))
