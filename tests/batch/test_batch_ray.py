"""The ray engine on a real local Ray instance (2 CPUs): identical to in-process, a killed actor, bad records."""

from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is part of dev")
import cloudpickle  # noqa: E402  (comes with ray)

from scaledown_core.batch import compress_dataset, compress_file, default_compressor, select_file  # noqa: E402

from . import _ray_helpers  # noqa: E402
from .conftest import RATE, assert_identical, in_process, read_jsonl, write_jsonl  # noqa: E402

OBJECT_STORE_BYTES = 100 * 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    cloudpickle.register_pickle_by_value(_ray_helpers)  # the test package is not importable on workers
    cloudpickle.register_pickle_by_value(sys.modules[_ray_helpers.__name__.rsplit(".", 1)[0] + ".conftest"])
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
             log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_engine_identical_to_in_process_with_bad_records(tmp_path: Path, records: list[dict[str, Any]],
                                                            expected: list[Any]) -> None:
    lines: list[Any] = [*records[:20], "{oops", {"id": "n", "context": 3, "prompt": "p?"}, *records[20:]]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    summary = compress_file(src, tmp_path / "out.jsonl", engine="ray", workers=2, rate=RATE, batch_size=6)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert rows[20]["error"].startswith("ValueError: line 21 is not valid JSON")
    assert rows[21]["error"] == "TypeError: the record's 'context' must be a string; got int"
    assert [r["index"] for r in rows] == list(range(len(lines)))
    good = rows[:20] + rows[22:]
    for row in good:
        row["index"] -= 2 if row["index"] > 21 else 0
    assert_identical(good, records, expected)
    assert (summary.engine, summary.workers, summary.records, summary.failed) == ("ray", 2, len(lines), 2)
    local = compress_file(src, tmp_path / "local.jsonl", workers=1, rate=RATE)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "latency_ms"} for r in rs]  # noqa: E731
    assert strip(read_jsonl(tmp_path / "local.jsonl")) == strip(read_jsonl(tmp_path / "out.jsonl"))
    assert local.original_tokens == summary.original_tokens


def test_a_killed_actor_is_restarted_and_nothing_is_lost_or_doubled(tmp_path: Path, records: list[dict[str, Any]],
                                                                    expected: list[Any]) -> None:
    pids = tmp_path / "actors"
    pids.mkdir()
    src = write_jsonl(tmp_path / "in.jsonl", records)
    killed: list[int] = []

    def kill_one(done: int, total: int | None, failed: int) -> None:
        if done == 1 and not killed:
            pid = _ray_helpers.actors(pids)[0][0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    factory = functools.partial(_ray_helpers.recording_compressor, str(pids))
    compress_file(src, tmp_path / "out.jsonl", engine="ray", workers=2, compressor=factory, batch_size=2,
                  progress=kill_one)
    assert killed
    assert len(_ray_helpers.actors(pids)) >= 3  # the two actors, and the one started in place of the killed one
    assert_identical(read_jsonl(tmp_path / "out.jsonl"), records, expected)


def test_compress_dataset_keeps_the_id_column(records: list[dict[str, Any]]) -> None:
    prompt = "What was founded in 1901?"
    items = [{"doc": i, "text": r["context"]} for i, r in enumerate(records[:10])]
    dataset = ray.data.from_items(items)
    out = compress_dataset(dataset, prompt=prompt, context_column="text", compressor=default_compressor(rate=RATE),
                           workers=2, batch_size=3)
    rows = sorted(out.take_all(), key=lambda r: r["doc"])
    want = in_process([{"context": r["context"], "prompt": prompt} for r in records[:10]])
    assert [r["doc"] for r in rows] == list(range(10))
    assert [r["content"] for r in rows] == [w.content for w in want]
    assert "text" not in rows[0] and rows[0]["error"] is None


def test_select_runs_one_ray_task_per_repository(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "m.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    src = write_jsonl(tmp_path / "r.jsonl", [{"root": str(root), "query": "subtract"}, {"root": 5, "query": "x"}])
    summary = select_file(src, tmp_path / "out.jsonl", engine="ray", workers=2)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert "def sub" in rows[0]["content"] and rows[0]["error"] is None
    assert rows[1]["error"] == "TypeError: the record's 'root' must be a string; got int"
    assert (summary.records, summary.failed) == (2, 1)


def test_more_workers_than_cluster_cpus_is_refused_not_a_hang(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", records[:2])
    with pytest.raises(ValueError, match="workers=3 actors of 1 CPU each cannot all start: the Ray cluster has 2 CPUs"):
        compress_file(src, tmp_path / "out.jsonl", engine="ray", workers=3)
    assert not (tmp_path / "out.jsonl").exists()


def test_cli_ray_engine(tmp_path: Path, records: list[dict[str, Any]], expected: list[Any],
                        capsys: pytest.CaptureFixture[str]) -> None:
    from scaledown_core.cli import main

    src = write_jsonl(tmp_path / "in.jsonl", records[:6])
    code = main(["batch", "compress", str(src), str(tmp_path / "out.parquet"), "--engine", "ray", "--workers", "1",
                 "--rate", str(RATE)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "scaledown: 6 records -> " in err and "engine ray with 1 workers" in err
    assert "Running Dataset" not in err  # Ray Data's INFO progress logs are kept off the terminal
    import pyarrow.parquet as pq

    assert [r["content"] for r in pq.read_table(tmp_path / "out.parquet").to_pylist()] == \
        [e.content for e in expected[:6]]


def test_index_runs_one_ray_task_per_repository(tmp_path: Path) -> None:
    from scaledown_core.batch import index_roots
    from scaledown_core.index import load_tree

    roots = []
    for name in ("api", "web"):
        root = tmp_path / name
        root.mkdir()
        (root / "m.py").write_text(f"def {name}_handler(request):\n    return request\n")
        roots.append(str(root))
    cache = tmp_path / "shared-index"
    summary = index_roots([*roots, str(tmp_path / "missing")], tmp_path / "idx.jsonl", engine="ray", workers=2,
                          cache_dir=cache)
    rows = read_jsonl(tmp_path / "idx.jsonl")
    assert [(r["id"], r["files"], r["new"]) for r in rows[:2]] == [(roots[0], 1, 1), (roots[1], 1, 1)]
    assert rows[2]["error"].startswith("OptimizerError: ") and (summary.records, summary.failed) == (3, 1)
    files, _ = load_tree(roots[1], cache_dir=cache)  # written where the caller said, readable by anyone
    assert files[0].units[0].name == "web_handler"
