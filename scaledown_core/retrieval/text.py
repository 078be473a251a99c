"""Identifier-aware terms: code and prose are reduced to the same lower-case vocabulary.

``parseHTTPResponse`` -> ``parsehttpresponse, parse, http, response``; ``os.path.join`` ->
``os.path.join, os, path, join``; ``max_retries`` -> ``max_retries, max, retries``. The original form is
kept beside its parts so that an exact identifier match outscores a match on its pieces.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain

__all__ = ["terms", "terms_of_words", "words", "query_terms", "split_identifier", "lone_surrogate",
           "without_surrogates", "STOPWORDS"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|\d+(?:\.\d+)?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# English function words and Python keywords that say nothing about which code is meant.
STOPWORDS = frozenset(
    """a an the of in on at to for and or is are was were be been being by with as from that this these
    those it its into than then there here when which who whom what why how not no but if else elif
    do does did done can could should would will shall may might must have has had having i we you he
    she they me us them my our your his her their so such also just only very any all some each
    self cls def return pass none true false import lambda yield async await try except finally raise
    while class global nonlocal del assert get set use using used new""".split()
)


@lru_cache(maxsize=65536)
def split_identifier(word: str) -> tuple[str, ...]:
    """The lower-case parts of one identifier or dotted name, the whole form first."""
    if word.isascii() and word.isalpha() and word.islower():  # most words: nothing to split
        return (word,)
    whole = word.lower()
    parts: list[str] = [whole]
    for dotted in word.split("."):
        if dotted.lower() != whole:
            parts.append(dotted.lower())
        for snake in dotted.split("_"):
            if not snake:
                continue
            # a lower-case word is one piece; only mixed case and digits need the regex
            pieces = [snake] if snake.isalpha() and snake.islower() and snake.isascii() else (
                _CAMEL.findall(snake) or [snake])
            if len(pieces) > 1 or snake.lower() != dotted.lower():
                parts.append(snake.lower())
            if len(pieces) > 1:
                parts.extend(p.lower() for p in pieces)
    seen: dict[str, None] = {}
    for p in parts:
        if p and p not in seen:
            seen[p] = None
    return tuple(seen)


# One cache per stopword mode, keyed by the word alone: identifiers repeat massively within and
# across files, and a one-argument cache can be mapped over a word list without a Python frame.
@lru_cache(maxsize=65536)
def _content_terms(word: str) -> tuple[str, ...]:
    """The terms one word contributes: its parts, short and stop words removed."""
    return tuple([p for p in split_identifier(word) if (len(p) >= 2 or p.isdigit()) and p not in STOPWORDS])


@lru_cache(maxsize=65536)
def _all_terms(word: str) -> tuple[str, ...]:
    """The terms one word contributes: its parts, short words removed."""
    return tuple([p for p in split_identifier(word) if len(p) >= 2 or p.isdigit()])


def words(text: str) -> list[str]:
    """The words of ``text`` in order: identifiers and dotted names as written, numbers."""
    return _WORD.findall(text)


def terms_of_words(text_words: list[str], keep_stopwords: bool = False) -> list[str]:
    """:func:`terms` of a text whose :func:`words` are ``text_words``."""
    word_terms = _all_terms if keep_stopwords else _content_terms
    return list(chain.from_iterable(map(word_terms, text_words)))


def terms(text: str, keep_stopwords: bool = False) -> list[str]:
    """Every term of ``text``: identifiers with their parts, numbers, lower-cased words."""
    word_terms = _all_terms if keep_stopwords else _content_terms
    return list(chain.from_iterable(map(word_terms, _WORD.findall(text))))


def query_terms(text: str) -> list[str]:
    """The distinct terms of a query, in first-seen order."""
    return list(dict.fromkeys(terms(text)))


# Surrogate code points (lone ones, e.g. undecodable bytes read with ``surrogateescape``) are valid in a
# str, but neither UTF-8 (a JSON body, an answer) nor a model's tokenizer can encode them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """The first surrogate code point in ``text``, or None."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def without_surrogates(text: str) -> str:
    """``text`` with each surrogate code point replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)
