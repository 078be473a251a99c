"""``scaledown batch compress|select``: exit codes, the summary line, the output file, the progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from scaledown_core.batch.cli import _bar
from scaledown_core.cli import main

from .conftest import RATE, read_jsonl, write_jsonl


def test_compress_writes_every_record_and_reports_failures(tmp_path: Path, records: list[dict[str, Any]],
                                                           expected: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [*records[:5], {"id": "bad", "prompt": "p?"}])
    code = main(["batch", "compress", str(src), str(tmp_path / "out.jsonl"), "--workers", "1", "--rate", str(RATE),
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert (summary["records"], summary["failed"], summary["engine"], summary["workers"]) == (6, 1, "local", 1)
    assert summary["first_error"] == "bad: TypeError: the record has no 'context' string"
    assert err.startswith("scaledown: 6 records -> ") and "1 failed (first: bad: TypeError" in err
    assert "records/s" in err and "tokens/s" in err
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r["content"] for r in rows[:5]] == [e.content for e in expected[:5]]


def test_strict_exits_1_and_writes_nothing(tmp_path: Path, records: list[dict[str, Any]],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [records[0], "{"])
    code = main(["batch", "compress", str(src), str(tmp_path / "out.jsonl"), "--workers", "1", "--strict"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("scaledown: error: record '1' (#1) failed: ValueError: line 2 is not valid JSON")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--address", "auto"], "--address needs --engine ray"),
    (["--rate", "1.5"], "rate must be 'auto' or a number in (0, 1]"),
])
def test_misuse_exits_1_with_one_line(tmp_path: Path, extra: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"context": "a", "prompt": "b?"}])
    assert main(["batch", "compress", str(src), str(tmp_path / "out.jsonl"), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scaledown: error: ") and message in err and len(err.splitlines()) == 1


def test_select_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.py").write_text("def area(r):\n    return 3.14 * r * r\n\n\ndef name():\n    return 'circle'\n")
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 7, "root": str(tmp_path / "m.py"), "query": "area of a circle"}])
    assert main(["batch", "select", str(src), str(tmp_path / "out.jsonl"), "--workers", "1", "--budget", "40"]) == 0
    row = read_jsonl(tmp_path / "out.jsonl")[0]
    assert row["id"] == "7" and "def area" in row["content"] and row["optimized_tokens"] <= 40
    assert "1 records -> " in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only() -> None:
    screen = _Terminal()
    with _bar("compressing", screen) as progress:
        assert progress is not None
        progress(5, 10, 1)
        progress(10, 10, 1)
    text = screen.getvalue()
    assert "compressing [###############...............] 5/10 records" in text and ", 1 failed" in text
    assert "10/10 records" in text and text.endswith("\r\033[K")
    with _bar("compressing", io.StringIO()) as progress:
        assert progress is None


def test_index_prints_one_json_line_per_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    code = main(["batch", "index", str(root), str(tmp_path / "gone"), "--workers", "1"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["root"] for r in rows] == [str(root), str(tmp_path / "gone")]
    assert (rows[0]["files"], rows[0]["error"]) == (1, None) and rows[1]["error"].startswith("OptimizerError")
    assert err.startswith("scaledown: 2 records -> stdout, 1 failed") and "indexed" in err
    assert Path(rows[0]["index_path"]).is_relative_to(tmp_path / "cache")
