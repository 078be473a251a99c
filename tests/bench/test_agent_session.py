"""The scripted agent session (``python -m bench agent``): it runs the real tools and its report renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from bench import agent_session  # noqa: E402
from bench.report import agent_section  # noqa: E402
from scaledown_core.tokens import count_tokens  # noqa: E402


def test_shopfront_session_counts_what_the_model_reads_and_renders(tmp_path: Path) -> None:
    shopfront = next(s for s in agent_session.SESSIONS if s.folder == "shopfront")
    out = agent_session.run(tmp_path, (shopfront,))
    [session] = json.loads(out.read_text())["sessions"]
    assert len(session["tasks"]) == len(shopfront.tasks)
    for task in session["tasks"]:
        # select_code returns at most its default budget plus a figures line; both calls at most both budgets
        assert 0 < task["select_tokens"] <= task["scaledown_tokens"] <= 2_000 + 1_500 + 100
        assert task["baseline_calls"][0].startswith("grep") and task["scaledown_calls"][0].startswith("select_code")
        assert set(task["scaledown_found"]) <= set(task["needs"])
    refund = session["tasks"][0]
    refunds_py = (agent_session.SHOPFRONT / "shopfront" / "billing" / "refunds.py").read_text()
    assert refund["baseline_tokens"] >= count_tokens(refunds_py, "gpt-4o")  # it read the file whole
    assert refund["baseline_found"] == refund["needs"] == ["refund_order", "refund_deadline"]

    text = agent_section(tmp_path)
    assert "#### shopfront (test fixture): 4 tasks" in text
    assert f"| shopfront (test fixture) | {sum(t['baseline_tokens'] for t in session['tasks'])} |" in text
