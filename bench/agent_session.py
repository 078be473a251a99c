"""A scripted agent session: the tokens tool results put before the model, with and without ScaleDown.

  python -m bench agent [--results DIR]

A fake coding agent works through fixed tasks over two trees: this repository's ``scaledown_core`` and
the shopfront fixture of the agent tests. Each task names the functions its fix needs. Two fixed
scripts per task:

- without ScaleDown (grep, then read): the agent searches the folder for the task's term, gets the
  matching file paths, and reads each matching file whole (at most ``MAX_READS``), as coding agents do
  with plain search and read tools;
- with ScaleDown: the agent calls ``select_code(task, [folder])`` and then ``read_file_for(task, top
  file)`` with the tools' default budgets, through ``scaledown mcp``'s server (the MCP SDK's in-process
  client), so the text counted is exactly what an MCP client hands its model.

Counted: the tokens (gpt-4o) of every tool result the model reads (for ScaleDown also after
``select_code`` alone); whether each needed function's ``def name(`` line is among them. Results go to ``<results>/agent/agent.json``; ``python -m bench report``
renders them.
"""

from __future__ import annotations

import json
import platform
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.suites import REPO_ROOT

TARGET_MODEL = "gpt-4o"
MAX_READS = 6  # files an agent reads whole after a search before it narrows the search down
SHOPFRONT = REPO_ROOT / "tests" / "agent" / "data" / "shopfront"


@dataclass(frozen=True)
class Task:
    query: str
    grep: str  # the term a plain agent searches for (case-insensitive)
    needs: tuple[str, ...]  # functions the fix needs: their ``def name(`` line must reach the model


@dataclass(frozen=True)
class Session:
    name: str
    root: Path
    folder: str  # below root: where the agent looks
    tasks: tuple[Task, ...]


SESSIONS = (
    Session("scaledown_core (this repository)", REPO_ROOT, "scaledown_core", (
        Task("A 429 response whose Retry-After header is an HTTP date is retried at once instead of after "
             "that date", "retry-after", ("retry_after_seconds",)),
        Task("Counting tokens for an unknown model name should fall back to o200k_base and log a warning; "
             "where is the encoding chosen?", "o200k", ("encoding_name_for",)),
        Task("scaledown serve --no-auth must refuse to bind a host that is not a loopback address",
             "no_auth", ("_is_loopback", "serve")),
        Task("A pipeline stage that raises should surface as PipelineError naming the stage, with its "
             "exception chained", "PipelineError", ("_stage_failed",)),
        Task("A binary file inside a folder should be skipped with a warning instead of being parsed",
             "binary", ("_read",)),
        Task("The BM25 idf must stay positive on a small corpus where a term occurs in half of the units",
             "idf", ("idf",)),
    )),
    Session("shopfront (test fixture)", SHOPFRONT, "shopfront", (
        Task("refund_order refuses returns that arrive inside the 30-day return window", "refund",
             ("refund_order", "refund_deadline")),
        Task("The coupon discount is applied to orders of exactly 50; checkout should require more than 50",
             "coupon", ("checkout",)),
        Task("Invoice.tax raises for a country without a tax rate, so orders from Belgium fail", "tax_rates",
             ("tax",)),
        Task("Reserving more items than are in stock must raise ValueError naming how many are left",
             "stock", ("reserve",)),
    )),
)


@dataclass
class TaskResult:
    query: str
    baseline_tokens: int
    select_tokens: int  # select_code's result alone
    scaledown_tokens: int  # select_code's and read_file_for's results
    baseline_found: list[str]
    select_found: list[str]
    scaledown_found: list[str]
    needs: list[str]
    baseline_calls: list[str] = field(default_factory=list)
    scaledown_calls: list[str] = field(default_factory=list)
    scaledown_ms: float = 0.0


def _found(texts: list[str], needs: tuple[str, ...]) -> list[str]:
    seen = "\n".join(texts)
    return [name for name in needs if re.search(rf"\bdef {re.escape(name)}\(", seen)]


def _baseline(session: Session, task: Task) -> tuple[list[str], list[str]]:
    """grep (files with matches), then read each matching file whole: the texts the model reads."""
    from scaledown_core.code import SKIP_DIRS

    folder = session.root / session.folder
    pattern = re.compile(re.escape(task.grep), re.IGNORECASE)
    hits = [p for p in sorted(folder.rglob("*.py"))
            if not any(part in SKIP_DIRS for part in p.parts) and pattern.search(p.read_text(encoding="utf-8"))]
    names = [p.relative_to(session.root).as_posix() for p in hits]
    texts = ["\n".join(names)]
    calls = [f"grep {task.grep!r} {session.folder} -> {len(names)} files"]
    for path, name in list(zip(hits, names))[:MAX_READS]:
        texts.append(path.read_text(encoding="utf-8"))
        calls.append(f"read {name}")
    return texts, calls


async def _with_scaledown(client: Any, session: Session, task: Task) -> tuple[list[str], list[str]]:
    """select_code over the folder, then read_file_for on the file it ranks first."""
    selected = await client.call_tool("select_code", {"query": task.query, "paths": [session.folder]})
    if selected.is_error:
        raise RuntimeError(selected.content[0].text)
    texts = [selected.content[0].text]
    top = selected.structured_content["files"][0]
    read = await client.call_tool("read_file_for", {"query": task.query, "path": top})
    if read.is_error:
        raise RuntimeError(read.content[0].text)
    texts.append(read.content[0].text)
    return texts, [f"select_code {session.folder}", f"read_file_for {top}"]


async def _run_session(session: Session) -> dict[str, Any]:
    from mcp import Client

    from scaledown_core.agent import AgentTools, build_server
    from scaledown_core.tokens import count_tokens

    def tokens(texts: list[str]) -> int:
        return sum(count_tokens(t, TARGET_MODEL) for t in texts)

    results: list[TaskResult] = []
    async with Client(build_server(AgentTools(session.root, target_model=TARGET_MODEL))) as client:
        for task in session.tasks:
            plain, plain_calls = _baseline(session, task)
            started = time.perf_counter()
            ours, our_calls = await _with_scaledown(client, session, task)
            elapsed = (time.perf_counter() - started) * 1000.0
            results.append(TaskResult(task.query, tokens(plain), tokens(ours[:1]), tokens(ours),
                                      _found(plain, task.needs), _found(ours[:1], task.needs), _found(ours, task.needs),
                                      list(task.needs), plain_calls, our_calls, elapsed))
    return {"name": session.name, "folder": session.folder, "tasks": [asdict(r) for r in results]}


def run(results_dir: Path, sessions: tuple[Session, ...] = SESSIONS) -> Path:
    """Run ``sessions`` (default: every one) and write ``<results_dir>/agent/agent.json``."""
    import anyio

    ran = [anyio.run(_run_session, session) for session in sessions]
    out = results_dir / "agent" / "agent.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"target_model": TARGET_MODEL, "max_reads": MAX_READS, "sessions": ran,
                               "python": platform.python_version(), "command": "python -m bench agent"},
                              indent=2) + "\n")
    return out
