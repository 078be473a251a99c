from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaledown_core import tokens
from scaledown_core.tokens import TokenCounter, count_tokens, encoding_name_for, get_counter


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Token counting must never touch the network: any socket use fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# Token ids published by tiktoken for these encodings.
@pytest.mark.parametrize(
    ("model", "text", "ids"),
    [
        ("gpt-4o", "hello world", [24912, 2375]),
        ("o200k_base", "hello world", [24912, 2375]),
        ("gpt-4", "hello world", [15339, 1917]),
        ("gpt-3.5-turbo", "hello world", [15339, 1917]),
        ("cl100k_base", "tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ],
)
def test_known_token_ids(model: str, text: str, ids: list[int]) -> None:
    assert get_counter(model).encode(text) == ids
    assert count_tokens(text, model) == len(ids)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
    ],
)
def test_model_families(model: str, encoding: str) -> None:
    assert encoding_name_for(model) == encoding


def test_unknown_model_falls_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="scaledown_core.tokens"):
        counter = TokenCounter("claude-sonnet-unknown-xyz")
    assert counter.encoding_name == "o200k_base"
    assert "claude-sonnet-unknown-xyz" in caplog.text


def test_every_result_counted_for_an_unknown_model_says_so() -> None:
    from scaledown_core import LocalCompressor

    assert TokenCounter("gpt-4o").warning is None and TokenCounter("gpt-3.5-turbo").warning is None
    for _ in range(2):  # the log line comes once per name; each result's metrics carry it every time
        result = LocalCompressor(target_model="claude-like-model", rate=0.5).compress(
            "The sky is blue. Grass is green. Snow is white.", "What colour is grass?")
        assert any("claude-like-model" in w and "o200k_base" in w for w in result.metrics.extra["warnings"])


def test_special_token_text_is_counted_not_refused() -> None:
    assert count_tokens("<|endoftext|>") > 1


def test_empty_and_invalid() -> None:
    assert count_tokens("") == 0
    with pytest.raises(ValueError):
        TokenCounter("")


def test_truncate_respects_the_limit() -> None:
    counter = get_counter("gpt-4o")
    text = "héllo 世界 " * 50
    for limit in (0, 1, 3, 17, 500):
        cut = counter.truncate(text, limit)
        assert counter.count(cut) <= limit
        assert text.startswith(cut)
    assert counter.truncate(text, 10_000) == text


def test_count_many_matches_count() -> None:
    counter = get_counter("gpt-4")
    texts = ["a b c", "def f(x):\n    return x", ""]
    assert counter.count_many(texts) == [counter.count(t) for t in texts]


def test_one_megabyte_counts() -> None:
    text = "def compress(context, prompt):\n    return context[:10]  # é\n" * 17_000
    assert len(text) > 1_000_000
    assert count_tokens(text) > 100_000


# Characters that sit on every pre-tokeniser rule the joined count relies on: letters, digits (runs of
# 1-3), spaces and tabs, punctuation that absorbs newlines and slashes, contractions, and non-ASCII.
_LINE_ALPHABET = "aZq19_ (/)'\"s.t\t:#-=\\,!~lLvdmre0é中\r"


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.text(alphabet=_LINE_ALPHABET, max_size=14), max_size=40))
def test_count_each_matches_count_line_by_line(model: str, lines: list[str]) -> None:
    counter = get_counter(model)
    assert counter.count_each(lines) == [counter.count(line) for line in lines]


def test_count_each_counts_source_lines_in_one_pass() -> None:
    source = Path(__file__).read_text(encoding="utf-8").split("\n") + ["x = 1234", "é = 1  ", "   ", ""]
    counter = get_counter("gpt-4o")
    joinable = [line for line in dict.fromkeys(source) if line and line.isascii() and not line[-1].isspace()]
    # the joined pass must have counted every plain line (no fallback), and agree with count
    after = ["a\n" if line[-1].isdigit() else "1\n" for line in joinable]
    ids = counter.encoding.encode_ordinary("".join(map(str.__add__, joinable, after)))
    known, end = counter._split_joined(joinable, after, ids)
    assert set(known) == set(joinable) and end == len(ids)
    assert counter.count_each(source) == [counter.count(line) for line in source]


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.text(alphabet=_LINE_ALPHABET, max_size=14), max_size=30),
       whole=st.text(alphabet=_LINE_ALPHABET + "\n \u3000/", max_size=60))
def test_count_lines_counts_the_lines_and_the_whole_text_exactly(model: str, lines: list[str], whole: str) -> None:
    counter = get_counter(model)
    expected = ([counter.count(line) for line in lines], counter.count(whole))
    assert counter.count_lines(lines, whole)() == expected
    assert counter.count_lines(lines, whole, background=True)() == expected


def test_count_lines_of_a_source_file_in_the_background() -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    lines = text.split("\n")
    counter = get_counter("gpt-4o")
    pending = [counter.count_lines(lines, text, background=True) for _ in range(4)]  # some wait in the queue
    for counts in pending:
        assert counts() == ([counter.count(line) for line in lines], counter.count(text))


def _encoded_by() -> str:
    names: list[str] = []
    tokens._later(lambda text: names.append(threading.current_thread().name) or [1], "x", background=True)()
    return names[0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_counts_in_a_worker_of_its_own() -> None:
    assert _encoded_by().startswith("scaledown-tokens")  # the parent's worker exists before the fork
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_encoded_by).startswith("scaledown-tokens")


def test_counting_in_the_background_while_the_interpreter_shuts_down() -> None:
    # an atexit handler (or a thread still at work) asks after the executors stopped taking jobs
    code = ("import atexit\n"
            "from scaledown_core.tokens import get_counter\n"
            "counter = get_counter('gpt-4o')\n"
            "atexit.register(lambda: print(counter.count_lines(['def f():', '    return 1'], 'x = 1',"
            " background=True)()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    counter = get_counter("gpt-4o")
    expected = ([counter.count("def f():"), counter.count("    return 1")], counter.count("x = 1"))
    assert done.stdout.strip() == str(expected)
    assert "Error" not in done.stderr
