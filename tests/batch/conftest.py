"""Records shaped like retrieved-passage QA (NQ-20 style), made here: titled documents and a question."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from scaledown_core import LocalCompressor

RATE = 0.25
SUBJECTS = ["Chamonix", "Norway", "the Rhine", "Ada Lovelace", "the printing press", "Mount Kenya", "jazz",
            "the Hanseatic League", "photosynthesis", "the Silk Road", "Kyoto", "the steam engine"]
VERBS = ["was founded in", "is known for", "was first described in", "grew rapidly after", "declined during",
         "was renamed in", "hosted an exhibition in", "exported grain until"]
OBJECTS = ["1901", "the nineteenth century", "a treaty with Sweden", "the winter of 1924", "its river port",
           "a famous letter", "the industrial era", "a royal charter", "the first census", "1848"]


def make_record(seed: int) -> dict[str, Any]:
    """A context of 8 titled documents of 3-5 sentences, and a question about one of its facts."""
    rng = random.Random(seed)
    docs, facts = [], []
    for d in range(8):
        subject = rng.choice(SUBJECTS)
        sentences = []
        for _ in range(rng.randint(3, 5)):
            fact = (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS))
            facts.append(fact)
            sentences.append(f"{fact[0][0].upper()}{fact[0][1:]} {fact[1]} {fact[2]}.")
        docs.append(f"Document [{d + 1}](Title: {subject}) " + " ".join(sentences))
    subject, verb, _ = rng.choice(facts)
    return {"context": "\n\n".join(docs), "prompt": f"What {subject} {verb.split()[0]} {' '.join(verb.split()[1:])}?"}


def make_records(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"q{i}", **make_record(i)} for i in range(start, start + n)]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def in_process(records: list[dict[str, Any]], rate: float = RATE) -> list[Any]:
    """What LocalCompressor gives for each record when called directly."""
    compressor = LocalCompressor(rate=rate)
    return [compressor.compress(r["context"], r["prompt"]) for r in records]


def assert_identical(rows: list[dict[str, Any]], records: list[dict[str, Any]], expected: list[Any]) -> None:
    """Each record written once, in input order, with its id, and the in-process compressor's output."""
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["index"] for r in rows] == list(range(len(records)))
    for row, want in zip(rows, expected):
        assert row["error"] is None
        assert row["content"] == want.content
        assert row["original_tokens"] == want.metrics.original_prompt_tokens
        assert row["compressed_tokens"] == want.metrics.compressed_prompt_tokens
        assert row["rate"] == want.metrics.rate
        assert row["warnings"] == want.metrics.extra["warnings"]


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    return make_records(48)


@pytest.fixture(scope="session")
def expected(records: list[dict[str, Any]]) -> list[Any]:
    return in_process(records)
