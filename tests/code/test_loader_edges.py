"""Source loading at the edges: empty path entries, bytes, pipes, empty folders, folder symlinks,
several folders, deeply nested files, and text rendered with file headers read back."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from scaledown_core.code import FILE_HEADER, load_sources, parse_source, render
from scaledown_core.code.render import split_rendered
from scaledown_core.exceptions import OptimizerError

DEF = "def {name}():\n    return 1\n"


def _write(root: Path, rel: str, name: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEF.format(name=name))
    return path


# ----------------------------------------------------------------- path arguments


@pytest.mark.parametrize("entry", ["", "   "])
def test_an_empty_path_entry_is_refused_not_read_as_the_current_folder(
        entry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "here.py", "here")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is empty"):
        load_sources([entry])


@pytest.mark.parametrize("paths", [b"x.py", [b"x.py"]])
def test_bytes_paths_are_a_clear_type_error(paths: object) -> None:
    with pytest.raises(TypeError, match="not bytes"):
        load_sources(paths)  # type: ignore[arg-type]


# ----------------------------------------------------------------- files that are not regular


def _load_in_thread(target: object) -> tuple[list[object], list[BaseException], list[str]]:
    """Runs ``load_sources(target)`` in a daemon thread so that a blocking read cannot hang the suite."""
    out: list[object] = []
    errors: list[BaseException] = []
    warnings: list[str] = []

    def work() -> None:
        try:
            out.append(load_sources(target, warnings))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "load_sources blocked on a pipe"
    return out, errors, warnings


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_in_a_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, "ok.py", "ok")
    os.mkfifo(tmp_path / "pipe.py")
    out, errors, warnings = _load_in_thread(tmp_path)
    assert not errors
    assert [sf.path for sf in out[0]] == ["ok.py"]  # type: ignore[attr-defined]
    assert any("pipe.py" in w and "not a regular file" in w for w in warnings)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_alone_is_an_error_naming_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    _, errors, _ = _load_in_thread(tmp_path / "pipe.py")
    assert len(errors) == 1 and isinstance(errors[0], OptimizerError)
    assert "pipe.py" in str(errors[0]) and "not a regular file" in str(errors[0])


# ----------------------------------------------------------------- folders


def test_a_folder_without_python_files_warns_naming_it(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("no code here\n")
    for folder in ("empty", "docs"):
        warnings: list[str] = []
        assert load_sources(tmp_path / folder, warnings) == []
        assert len(warnings) == 1 and folder in warnings[0] and "no Python files" in warnings[0]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_folder_symlinks_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    outside = tmp_path / "shared"
    _write(outside, "pay.py", "charge")
    root = tmp_path / "app"
    _write(root, "main.py", "main")
    (root / "lib").symlink_to(outside, target_is_directory=True)
    (root / "lib2").symlink_to(outside, target_is_directory=True)  # a second way into the same folder
    (outside / "back").symlink_to(root, target_is_directory=True)  # a loop back to the root
    (root / "venv").symlink_to(outside, target_is_directory=True)  # skip rules still apply to links
    warnings: list[str] = []
    files = load_sources(root, warnings)
    assert [sf.path for sf in files] == ["main.py", "lib/pay.py"]
    assert warnings == []


def test_several_folders_name_every_file_behind_its_folder(tmp_path: Path) -> None:
    _write(tmp_path, "proj/billing/rates.py", "bill")
    _write(tmp_path, "proj/billing/tax/vat.py", "vat")
    _write(tmp_path, "proj/shipping/rates.py", "ship")
    two = load_sources([tmp_path / "proj" / "billing", tmp_path / "proj" / "shipping"])
    assert [sf.path for sf in two] == ["billing/rates.py", "billing/tax/vat.py", "shipping/rates.py"]
    one = load_sources(tmp_path / "proj" / "billing")  # a single folder keeps today's names
    assert [sf.path for sf in one] == ["rates.py", "tax/vat.py"]
    mixed = load_sources([tmp_path / "proj" / "billing", tmp_path / "proj" / "shipping" / "rates.py"])
    assert [sf.path for sf in mixed] == ["rates.py", "tax/vat.py", str(tmp_path / "proj" / "shipping" / "rates.py")]


# ----------------------------------------------------------------- deeply nested files


def _nested(levels: int) -> str:
    return "".join("    " * i + f"if a{i}:\n" + "    " * (i + 1) + f"def g{i}(): pass\n" for i in range(levels))


def test_a_file_nested_too_deeply_is_kept_as_text_with_a_warning(tmp_path: Path) -> None:
    deep = tmp_path / "src"
    deep.mkdir()
    (deep / "gen.py").write_text(_nested(600))
    _write(deep, "good.py", "good")
    warnings: list[str] = []
    gen, good = load_sources(deep, warnings)  # one such file must not abort the folder
    assert [u.name for u in good.units] == ["good"]
    assert gen.path == "gen.py" and gen.has_syntax_errors
    assert gen.units and all(u.kind == "module" for u in gen.units)
    assert sorted(n for u in gen.units for n in u.line_numbers()) == list(range(1, len(gen.lines) + 1))
    assert any("gen.py" in w and "nested too deeply" in w for w in gen.warnings)


# ----------------------------------------------------------------- rendered text read back


def test_rendered_text_splits_back_into_its_files() -> None:
    a = parse_source(DEF.format(name="bill") + "\n\n" + DEF.format(name="tax"), path="billing/rates.py")
    b = parse_source(DEF.format(name="ship"), path="shipping/rates.py")
    text = render([a, b], {a.path: [1, 2, 6, 7], b.path: [1, 2]})
    assert text.startswith(FILE_HEADER.format(path="billing/rates.py"))
    sections = split_rendered(text)
    assert sections is not None and [path for path, _ in sections] == ["billing/rates.py", "shipping/rates.py"]
    again = [parse_source(body, path=path) for path, body in sections]
    assert render(again, {sf.path: range(1, len(sf.lines) + 1) for sf in again}) == text


@pytest.mark.parametrize("text", [
    "# file: notes\ndef f():\n    return 1\n",                # a comment, not a header naming a .py file
    "x = 1\n# file: a.py\ndef f():\n    return 1\n",          # a header that does not open the text
    "# file: a.py\nx = 1\n\n# file: a.py\ny = 2\n",           # a path twice: not our output
    "#  file: a.py\nx = 1\n",                                 # not the header format exactly
])
def test_text_that_is_not_rendered_output_is_not_split(text: str) -> None:
    assert split_rendered(text) is None


def test_a_header_inside_a_section_needs_the_blank_line_render_puts_before_it() -> None:
    sections = split_rendered("# file: a.py\nx = 1\n# file: b.py\ny = 2\n")
    assert sections == [("a.py", "x = 1\n# file: b.py\ny = 2\n")]
