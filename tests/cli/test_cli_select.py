"""`scaledown select`: files, directories, several paths, stdin, JSON with spans, errors, the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scaledown_core.optimizer import HasteOptimizer
from scaledown_core.tokens import get_counter

QUERY = "How are 429 responses retried, and how is the Retry-After header honoured?"
CLIENT = '''\
"""A small HTTP client with retries."""

import random
import time

MAX_RETRIES = 5
BASE_DELAY_S = 0.5


class RateLimited(Exception):
    """The service answered 429."""


def parse_retry_after(value):
    """Seconds to wait from a Retry-After header, or None."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def backoff_delay(attempt, retry_after=None):
    """Exponential backoff with jitter, honouring Retry-After when the server sent one."""
    if retry_after is not None:
        return retry_after
    return BASE_DELAY_S * (2 ** attempt) * (0.5 + random.random() / 2)


class Client:
    def __init__(self, transport):
        self.transport = transport

    def send(self, request):
        for attempt in range(MAX_RETRIES):
            response = self.transport.handle(request)
            if response.status == 429 or response.status >= 500:
                time.sleep(backoff_delay(attempt, parse_retry_after(response.headers.get("Retry-After"))))
                continue
            return response
        raise RateLimited(f"gave up after {MAX_RETRIES} attempts")

    def close(self):
        self.transport.close()
'''
REPORTS = "\n\n".join(
    f'''def render_report_{i}(rows, title="Report {i}"):
    """Render table {i} of the monthly report as text."""
    width = max(len(str(r)) for r in rows) if rows else 10
    lines = [title.center(width), "-" * width]
    for row in rows:
        lines.append(str(row).ljust(width))
    return "\\n".join(lines)
''' for i in range(30)
)
BUDGET = 250
SUMMARY = re.compile(r"^scaledown: (\d+) -> (\d+) tokens \(gpt-4o\), saved [\d.]+%, (\d+) spans, .+, \d+ ms$")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "client.py").write_text(CLIENT)
    (root / "pkg" / "reports.py").write_text(REPORTS)
    (root / "README.txt").write_text("not python")
    return root


def tokens(text: str) -> int:
    return get_counter("gpt-4o").count(text)


def test_select_a_file_prints_what_the_library_selects(run_cli, project: Path) -> None:
    path = project / "pkg" / "client.py"
    out = run_cli("select", str(path), "-q", QUERY, "--budget", str(BUDGET))
    assert out.returncode == 0, out.stderr
    library = HasteOptimizer().optimize(query=QUERY, file_path=str(path), max_tokens=BUDGET)
    assert out.stdout.rstrip("\n") == library.content.rstrip("\n")
    assert "def parse_retry_after" in out.stdout
    assert tokens(out.stdout.rstrip("\n")) <= BUDGET
    match = SUMMARY.match(out.stderr_lines[-1])
    assert match, out.stderr
    assert int(match.group(1)) == library.metrics.original_tokens
    assert int(match.group(2)) == library.metrics.optimized_tokens <= BUDGET
    assert int(match.group(3)) == len(library.metrics.spans) > 0


def test_select_a_directory_finds_the_relevant_file(run_cli, project: Path) -> None:
    out = run_cli("select", str(project), "-q", QUERY, "--budget", str(BUDGET))
    assert out.returncode == 0, out.stderr
    library = HasteOptimizer().optimize(query=QUERY, file_path=str(project), max_tokens=BUDGET)
    assert out.stdout.rstrip("\n") == library.content.rstrip("\n")
    assert "client.py" in out.stdout and "Retry-After" in out.stdout and "render_report" not in out.stdout
    assert tokens(out.stdout.rstrip("\n")) <= BUDGET


def test_select_several_paths_as_one_input(run_cli, project: Path) -> None:
    paths = [str(project / "pkg" / "reports.py"), str(project / "pkg" / "client.py")]
    out = run_cli("select", *paths, "-q", QUERY, "--budget", str(BUDGET))
    assert out.returncode == 0, out.stderr
    library = HasteOptimizer().optimize(query=QUERY, file_path=paths, max_tokens=BUDGET)
    assert out.stdout.rstrip("\n") == library.content.rstrip("\n")


def test_select_from_stdin(run_cli) -> None:
    out = run_cli("select", "-", "-q", QUERY, "--budget", str(BUDGET), stdin=CLIENT + "\n\n" + REPORTS)
    assert out.returncode == 0, out.stderr
    library = HasteOptimizer().optimize(context=CLIENT + "\n\n" + REPORTS, query=QUERY, max_tokens=BUDGET)
    assert out.stdout.rstrip("\n") == library.content.rstrip("\n")
    assert "def parse_retry_after" in out.stdout


def test_select_json_carries_the_spans(run_cli, project: Path) -> None:
    path = project / "pkg" / "client.py"
    out = run_cli("select", str(path), "-q", QUERY, "--budget", str(BUDGET), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert tokens(data["content"]) <= BUDGET
    spans = data["metrics"]["spans"]
    assert spans and {"path", "start_line", "end_line", "name", "score", "kind"} <= set(spans[0])
    names = {span["name"] for span in spans}
    assert any("parse_retry_after" in name for name in names), names
    lines = CLIENT.splitlines()
    for span in spans:
        assert 1 <= span["start_line"] <= span["end_line"] <= len(lines)
    assert [s["start_line"] for s in spans] == sorted(s["start_line"] for s in spans)  # source order
    assert data["savings_percent"] > 0


def test_a_missing_path_is_one_line_naming_it(run_cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    out = run_cli("select", str(missing), "-q", QUERY)
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and str(missing) in line
    assert out.stdout == ""


def test_an_empty_path_is_an_error_not_no_input(run_cli, project: Path) -> None:
    out = run_cli("select", "", "-q", QUERY)  # what "$UNSET_VARIABLE" gives
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and "empty path" in line


def test_undecodable_stdin_is_replaced_and_reported(run_cli) -> None:
    source = CLIENT.encode() + b"\n\n# caf\xe9\n"
    out = run_cli("select", "-", "-q", QUERY, "--budget", str(BUDGET), stdin=source)
    assert out.returncode == 0, out.stderr
    assert any("stdin is not valid UTF-8" in line for line in out.stderr_lines)
    assert "\ufffd" not in out.stdout or "caf\ufffd" in out.stdout


def test_an_empty_query_is_one_line(run_cli, project: Path) -> None:
    out = run_cli("select", str(project), "-q", "  ")
    assert out.returncode == 1
    (line,) = out.stderr_lines
    assert line.startswith("scaledown: error: ") and "query" in line
    assert "Traceback" not in out.stderr


def test_the_demo_command_runs(run_cli, repo_root: Path) -> None:
    """scripts/demo.sh runs exactly this."""
    out = run_cli(
        "select", "scaledown_core/compressor/client.py",
        "-q", "How are 429 and 5xx responses retried, and how is Retry-After honoured?", "--budget", "800",
        cwd=repo_root,
    )
    assert out.returncode == 0, out.stderr
    assert 0 < tokens(out.stdout.rstrip("\n")) <= 800
    assert "retry" in out.stdout.lower()
    assert SUMMARY.match(out.stderr_lines[-1]), out.stderr


@pytest.mark.slow
def test_select_with_the_semantic_engine(run_cli, project: Path, minilm_path: str) -> None:
    out = run_cli(
        "select", str(project), "-q", QUERY, "--budget", str(BUDGET), "--engine", "semantic",
        "--embedding-model", minilm_path,
    )
    assert out.returncode == 0, out.stderr
    assert tokens(out.stdout.rstrip("\n")) <= BUDGET
    assert "retry_after" in out.stdout
    assert SUMMARY.match(out.stderr_lines[-1]), out.stderr
    assert "embedding" in out.stderr_lines[-1]
