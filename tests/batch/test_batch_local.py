"""The local engine (a process pool, no Ray): identical to in-process, exactly once, bad records kept."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scaledown_core.batch import BatchSummary, RecordFailedError, compress_file, select_file
from scaledown_core.exceptions import ScaleDownError
from scaledown_core.optimizer import HasteOptimizer

from .conftest import RATE, assert_identical, in_process, read_jsonl, write_jsonl


def test_results_identical_to_in_process_in_input_order(tmp_path: Path, records: list[dict[str, Any]],
                                                        expected: list[Any]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", records)
    summary = compress_file(src, tmp_path / "out.jsonl", workers=2, rate=RATE, batch_size=5)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert_identical(rows, records, expected)
    assert isinstance(summary, BatchSummary)
    assert (summary.records, summary.failed, summary.workers) == (len(records), 0, 2)
    assert summary.original_tokens == sum(e.metrics.original_prompt_tokens for e in expected)
    assert summary.output_tokens == sum(e.metrics.compressed_prompt_tokens for e in expected)
    assert summary.records_per_s > 0 and summary.tokens_per_s > summary.records_per_s


def test_bad_records_are_written_with_their_error_and_the_rest_is_compressed(
        tmp_path: Path, records: list[dict[str, Any]], expected: list[Any]) -> None:
    good = records[:6]
    lines: list[Any] = [good[0], "{not json", good[1], "[1, 2]", {"id": "n", "context": 7, "prompt": "p?"},
                        good[2], {"id": "q0", "context": "a", "prompt": "b?"}, {"context": "text", "prompt": "  "},
                        {"id": 3.5, "context": "x", "prompt": "y?"}, good[3], {"id": "m", "prompt": "p?"}]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    seen: list[tuple[int, int | None, int]] = []
    summary = compress_file(src, tmp_path / "out.jsonl", workers=2, rate=RATE, batch_size=3,
                            progress=lambda done, total, failed: seen.append((done, total, failed)))
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["index"] for r in rows] == list(range(len(lines)))
    errors = {r["index"]: r["error"] for r in rows if r["error"]}
    assert errors == {
        1: "ValueError: line 2 is not valid JSON (Expecting property name enclosed in double quotes: "
           "line 1 column 2 (char 1))",
        3: "TypeError: line 4 is a JSON list, not an object",
        4: "TypeError: the record's 'context' must be a string; got int",
        6: "ValueError: duplicate id 'q0' (first at record 0)",
        7: "ValueError: prompt must be a non-empty string: compression is query-aware and the service "
           "rejects an empty prompt",
        8: "TypeError: the record's 'id' must be a string or an integer; got float (written with its position as id)",
        10: "TypeError: the record has no 'context' string",
    }
    assert [r["id"] for r in rows] == ["q0", "1", "q1", "3", "n", "q2", "q0", "7", "8", "q3", "m"]
    for i, want in zip((0, 2, 5, 9), expected[:4]):
        assert rows[i]["content"] == want.content
    for i in errors:
        assert rows[i]["content"] is None and rows[i]["original_tokens"] is None and rows[i]["warnings"] == []
    assert (summary.records, summary.failed) == (11, 7)
    assert summary.first_error == f"1: {errors[1]}"
    assert seen[-1] == (11, 11, 7) and [s[0] for s in seen] == list(range(1, 12))


def test_strict_stops_at_the_first_failed_record_and_leaves_the_output_untouched(
        tmp_path: Path, records: list[dict[str, Any]]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [*records[:4], {"id": "bad", "context": None, "prompt": "p?"},
                                              *records[4:8]])
    out = tmp_path / "out.jsonl"
    out.write_text("previous run\n")
    with pytest.raises(RecordFailedError, match=r"record 'bad' \(#4\) failed: TypeError: the record has no "
                                                r"'context' string") as info:
        compress_file(src, out, workers=1, strict=True)
    assert info.value.errors.keys() == {4} and isinstance(info.value, ScaleDownError)
    assert out.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary file left


def test_parquet_in_and_out_with_a_fixed_prompt(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    prompt = "When was Norway founded?"
    table = pa.table({"doc_id": [1000 + i for i in range(12)], "context": [r["context"] for r in records[:12]]})
    pq.write_table(table, tmp_path / "in.parquet")
    compress_file(tmp_path / "in.parquet", tmp_path / "out.parquet", prompt=prompt, id_field="doc_id",
                  workers=2, rate=RATE, batch_size=4)
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    want = in_process([{"context": r["context"], "prompt": prompt} for r in records[:12]])
    assert [r["id"] for r in rows] == [str(1000 + i) for i in range(12)]
    assert [r["content"] for r in rows] == [w.content for w in want]
    assert [r["warnings"] for r in rows] == [w.metrics.extra["warnings"] for w in want]
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert str(schema.field("original_tokens").type) == "int64" and str(schema.field("id").type) == "string"


def test_a_killed_worker_process_loses_and_doubles_nothing(tmp_path: Path, records: list[dict[str, Any]],
                                                           expected: list[Any], caplog: pytest.LogCaptureFixture) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", records)
    killed: list[int] = []

    def kill_one(done: int, total: int | None, failed: int) -> None:
        if done == 3 and not killed:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    compress_file(src, tmp_path / "out.jsonl", workers=2, rate=RATE, batch_size=3, progress=kill_one)
    assert killed
    assert "a worker process died; restarting the pool" in caplog.text
    assert_identical(read_jsonl(tmp_path / "out.jsonl"), records, expected)


def test_select_one_task_per_repository(tmp_path: Path) -> None:
    repos = []
    for name, body in (("billing", "def charge(card, amount):\n    return gateway.post(card, amount)\n\n"
                                   "def refund(card, amount):\n    return gateway.post(card, -amount)\n"),
                       ("shipping", "def rate(weight):\n    return 5 + 2 * weight\n\n"
                                    "def label(address):\n    return address.upper()\n")):
        root = tmp_path / name
        root.mkdir()
        (root / "core.py").write_text(body * 6)
        repos.append(str(root))
    lines = [{"id": "b", "root": repos[0], "query": "how is a refund sent?"},
             {"id": "s", "root": repos[1], "query": "shipping rate by weight"},
             {"id": "x", "root": str(tmp_path / "missing"), "query": "anything"}]
    src = write_jsonl(tmp_path / "repos.jsonl", lines)
    summary = select_file(src, tmp_path / "sel.jsonl", workers=2, max_tokens=60)
    rows = read_jsonl(tmp_path / "sel.jsonl")
    optimizer = HasteOptimizer()
    for row, line in zip(rows[:2], lines[:2]):
        want = optimizer.optimize(query=line["query"], file_path=line["root"], max_tokens=60)
        assert (row["id"], row["root"], row["content"]) == (line["id"], line["root"], want.content)
        assert row["optimized_tokens"] == want.metrics.optimized_tokens <= 60
        assert row["spans"] and all(":" in s for s in row["spans"])
    assert rows[2]["error"].startswith("OptimizerError: ") and "missing" in rows[2]["error"]
    assert (summary.records, summary.failed) == (3, 1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"engine": "spark"}, "engine must be one of"),
    ({"workers": 0}, "workers must be >= 1"),
    ({"prompt": " "}, "prompt must be a non-empty string"),
])
def test_misuse_is_a_value_error(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"context": "a", "prompt": "b?"}])
    with pytest.raises(ValueError, match=message):
        compress_file(src, tmp_path / "out.jsonl", **kwargs)
    assert not (tmp_path / "out.jsonl").exists()


def test_unknown_formats_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        compress_file(tmp_path / "absent.jsonl", tmp_path / "out.jsonl")
    src = write_jsonl(tmp_path / "in.jsonl", [{"context": "a", "prompt": "b?"}])
    with pytest.raises(ValueError, match=r"cannot tell the format of .*out\.csv"):
        compress_file(src, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_importing_batch_imports_neither_ray_nor_pyarrow() -> None:
    code = ("import sys, scaledown_core.batch, scaledown_core.cli; "
            "print(json.dumps(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_a_line_that_is_not_utf8_is_a_failed_record(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(json.dumps(records[0]).encode() + b'\n{"context": "caf\xe9", "prompt": "p?"}\n')
    compress_file(src, tmp_path / "out.jsonl", workers=1)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert rows[0]["error"] is None
    assert rows[1]["error"] == "ValueError: line 2 is not valid UTF-8 (first bad byte at offset 16)"


def test_index_one_task_per_repository_then_an_update(tmp_path: Path) -> None:
    from scaledown_core.batch import index_roots

    roots = []
    for name, files in (("billing", 3), ("shipping", 2)):
        root = tmp_path / name
        root.mkdir()
        for i in range(files):
            (root / f"m{i}.py").write_text(f"def {name}_{i}(x):\n    return x + {i}\n")
        roots.append(str(root))
    cache = tmp_path / "index"
    first = index_roots(roots, tmp_path / "first.jsonl", workers=2, cache_dir=cache)
    rows = read_jsonl(tmp_path / "first.jsonl")
    assert [(r["id"], r["files"], r["new"], r["unchanged"]) for r in rows] == [(roots[0], 3, 3, 0), (roots[1], 2, 2, 0)]
    assert all(Path(r["index_path"]).parent == cache for r in rows) and first.failed == 0
    (Path(roots[1]) / "m0.py").write_text("def shipping_0(x):\n    return x * 2\n")
    index_roots(roots, tmp_path / "again.jsonl", workers=2, cache_dir=cache)
    again = read_jsonl(tmp_path / "again.jsonl")
    assert [(r["new"], r["changed"], r["unchanged"]) for r in again] == [(0, 0, 3), (0, 1, 1)]
    with pytest.raises(ValueError, match="non-empty list"):
        index_roots([], tmp_path / "none.jsonl")
