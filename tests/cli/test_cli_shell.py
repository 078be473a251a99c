"""The command-line shell itself: help, usage errors, one-line errors, bench pass-through, progress."""

from __future__ import annotations

import io
import json
import os
import pty
import sys
import time
from pathlib import Path

import pytest

from scaledown_core import cli

COMMANDS = ("select", "compress", "serve", "bench", "mcp")


def test_top_level_help_lists_every_command_with_examples(run_cli) -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in out.stdout
    assert "examples:\n  scaledown select" in out.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_shows_an_example(run_cli, command: str) -> None:
    out = run_cli(command, "--help")
    assert out.returncode == 0, out.stderr
    assert f"usage: scaledown {command}" in out.stdout
    examples = out.stdout.split("examples:\n", 1)[1]
    assert examples.lstrip().startswith(f"scaledown {command}") or f"scaledown {command}" in examples.splitlines()[0]


def test_version(run_cli) -> None:
    from scaledown_core import __version__

    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"scaledown {__version__}"


def test_no_command_prints_help_and_fails(run_cli) -> None:
    out = run_cli()
    assert out.returncode == 2
    assert out.stdout == "" and "usage: scaledown" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("select", "x.py"), "the following arguments are required: -q/--query"),
        (("select", "x.py", "-q", "q", "--budget", "0"), "expected a positive integer; got '0'"),
        (("select", "x.py", "-q", "q", "--engine", "magic"), "invalid choice: 'magic'"),
        (("compress", "-p", "q", "--rate", "lots"), "rate must be 'auto' or a number in (0, 1]"),
        (("serve", "--port", "70000"), "port must be in 0..65535"),
        (("select", "x.py", "-q", "q", "--frobnicate"), "unrecognized arguments: --frobnicate"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_traceback(run_cli, args: tuple[str, ...], message: str) -> None:
    out = run_cli(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_a_missing_input_file_is_one_line(run_cli, tmp_path: Path) -> None:
    out = run_cli("compress", str(tmp_path / "nope.txt"), "-p", "q")
    assert out.returncode == 1
    assert out.stderr_lines == [f"scaledown: error: no such file: {tmp_path / 'nope.txt'}"]
    assert out.stdout == ""


def test_a_directory_is_no_compress_input(run_cli, tmp_path: Path) -> None:
    out = run_cli("compress", str(tmp_path), "-p", "q")
    assert out.returncode == 1
    assert out.stderr_lines == [f"scaledown: error: {tmp_path} is a directory; compress takes one file or stdin"]


def test_api_url_without_api_is_refused(run_cli) -> None:
    out = run_cli("compress", "-p", "q", "--api-url", "http://127.0.0.1:9", stdin="text")
    assert out.returncode == 1
    assert out.stderr_lines == ["scaledown: error: --api-url needs --api (without it the local compressor runs offline)"]


def test_stdin_mixed_with_paths_is_refused(run_cli, tmp_path: Path) -> None:
    out = run_cli("select", "-", str(tmp_path), "-q", "q", stdin="x = 1\n")
    assert out.returncode == 1
    assert out.stderr_lines == ["scaledown: error: '-' (read the source from stdin) cannot be mixed with paths"]


# ----------------------------------------------------------------- bench pass-through


def test_bench_passes_every_argument_to_the_runner(run_cli, tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    (bench / "__main__.py").write_text(
        "import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}))\nsys.exit(3)\n"
    )
    out = run_cli("bench", "run", "--quick", "--suite", "code", "-x", cwd=tmp_path)
    assert out.returncode == 3  # the runner's own exit status
    seen = json.loads(out.stdout)
    assert seen["argv"] == ["run", "--quick", "--suite", "code", "-x"]
    assert Path(seen["cwd"]) == tmp_path
    assert run_cli("bench", "--help-runner", cwd=tmp_path).stdout.count("--help") == 1


def test_bench_without_a_checkout_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "scaledown_core" / "cli.py"))
    assert cli.main(["bench", "run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scaledown: error: scaledown bench needs the bench/ folder of a source checkout")
    assert err.count("\n") == 1


# ----------------------------------------------------------------- progress


def test_progress_is_silent_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    stream = io.StringIO()
    with cli._progress("indexing", stream):
        time.sleep(0.3)
    assert stream.getvalue() == ""


def test_progress_shows_on_a_terminal_and_clears_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w")
    try:
        with cli._progress("indexing src", terminal):
            seen = b""
            deadline = time.monotonic() + 10
            while b"indexing src" not in seen and time.monotonic() < deadline:
                seen += os.read(master, 1024)
        seen += os.read(master, 1024)
    finally:
        terminal.close()
        os.close(master)
    assert b"\rscaledown: indexing src " in seen
    assert seen.endswith(b"\r\x1b[K")


def test_in_process_main_matches_the_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["select", "--help"])
    assert info.value.code == 0
    assert "examples:" in capsys.readouterr().out
    assert sys.modules["scaledown_core.cli"] is cli


def test_in_process_compress_is_the_library_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scaledown_core import LocalCompressor

    text = "Alpha beta gamma. " * 20 + "The deploy key rotates every 90 days. " + "Delta epsilon. " * 20
    path = tmp_path / "doc.txt"
    path.write_text(text)
    assert cli.main(["compress", str(path), "-p", "How often does the deploy key rotate?", "--rate", "0.2"]) == 0
    out, err = capsys.readouterr()
    expected = LocalCompressor(rate=0.2).compress(text, "How often does the deploy key rotate?").content
    assert out.rstrip("\n") == expected.rstrip("\n") and "90 days" in out
    assert err.startswith("scaledown: ") and err.count("\n") == 1
