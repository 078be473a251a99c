"""How much one call reads, and what happens past it (README, "Limits").

One call of an optimizer (``context`` or every file under ``file_path``) or of ``LocalCompressor``
(each context of a batch) takes at most :func:`max_input_bytes` bytes of UTF-8 text; more raises
:class:`~scaledown_core.exceptions.InputTooLargeError` before any parsing, counting or embedding,
so that a call's time and memory stay bounded. ``SCALEDOWN_MAX_INPUT_BYTES`` raises or lowers the
limit for a process (read at call time). The command line reads stdin under the same limit.
"""

from __future__ import annotations

import os

from .exceptions import InputTooLargeError

__all__ = ["DEFAULT_MAX_INPUT_BYTES", "MAX_INPUT_BYTES_ENV", "max_input_bytes", "check_text_size", "Budget"]

# 16 MB: about 4 million tokens, several times the largest model window, and a large repository's
# Python sources; HasteOptimizer needs about 1.4 GB and under a minute for it (README, "Limits").
DEFAULT_MAX_INPUT_BYTES = 16_000_000
MAX_INPUT_BYTES_ENV = "SCALEDOWN_MAX_INPUT_BYTES"


def max_input_bytes() -> int:
    """The limit in effect: ``SCALEDOWN_MAX_INPUT_BYTES`` when set, else ``DEFAULT_MAX_INPUT_BYTES``."""
    raw = os.environ.get(MAX_INPUT_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_INPUT_BYTES_ENV} must be a positive whole number of bytes; got {raw!r}")
    return value


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counts its 3 bytes)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def check_text_size(text: str, what: str) -> None:
    """InputTooLargeError when ``text`` is over the limit; ``what`` names it in the message."""
    limit = max_input_bytes()
    if len(text) > limit or (len(text) * 4 > limit and utf8_size(text) > limit):
        raise InputTooLargeError(what, utf8_size(text), limit)


class Budget:
    """The bytes a multi-file call has left: files are charged before they are read."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.limit = max_input_bytes()
        self.used = 0

    def charge(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise InputTooLargeError(self.what, self.used, self.limit, at_least=True)
