"""The agent operations layer: budgets kept, paths confined to the roots, typed errors, each engine used."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pydantic
import pytest

from scaledown_core.agent import AgentTools, OperationCancelled, Roots
from scaledown_core.exceptions import OptimizerError, PathNotAllowedError
from scaledown_core.tokens import count_tokens

REFUND_TASK = "A refund is refused although the return window of refund_order has not closed yet"


@pytest.fixture(scope="module")
def tools(shopfront: Path) -> AgentTools:
    return AgentTools(shopfront)


def test_select_code_keeps_the_budget_and_names_files_from_the_root(tools: AgentTools) -> None:
    result = tools.select_code(REFUND_TASK, ["shopfront"], max_tokens=250)
    assert 0 < result.output_tokens <= 250
    assert count_tokens(result.content, "gpt-4o") == result.output_tokens
    assert result.original_tokens > result.output_tokens
    names = {(s.path, s.name) for s in result.spans}
    assert ("shopfront/billing/refunds.py", "refund_order") in names
    assert result.files[0] == "shopfront/billing/refunds.py"
    for span in result.spans:  # every span path can be handed back to read_file_for as given
        assert (tools.roots.paths[0] / span.path).is_file(), span.path
        assert span.start_line <= span.end_line


def test_select_code_over_files_and_folders_together(tools: AgentTools) -> None:
    result = tools.select_code("checkout applies the coupon discount", ["shopfront/cart.py", "shopfront/billing"],
                               max_tokens=400)
    assert any(s.path == "shopfront/cart.py" and s.name == "Cart.checkout" for s in result.spans)
    assert all(s.path.startswith("shopfront/") for s in result.spans)
    assert result.output_tokens <= 400


def test_select_code_reports_progress_per_file_and_stops_when_cancelled(shopfront: Path, tmp_path: Path) -> None:
    """A folder is read through its index: the first call indexes it file by file; a cancelled call keeps
    the files it parsed, so the next one parses only the rest."""
    from scaledown_core.optimizer import HasteOptimizer

    python_files = len(list((shopfront / "shopfront").rglob("*.py")))
    fresh = AgentTools(shopfront, optimizer=HasteOptimizer(index_dir=str(tmp_path / "a")))
    seen: list[tuple[int, int | None]] = []
    fresh.select_code(REFUND_TASK, ["shopfront"], progress=lambda done, total, _msg: seen.append((done, total)))
    assert seen == [(done, python_files) for done in range(1, python_files + 1)]
    seen.clear()
    fresh.select_code(REFUND_TASK, ["shopfront"], progress=lambda done, total, _msg: seen.append((done, total)))
    assert seen == [(1, 1)]  # the index is current: nothing parsed again

    cancelled = AgentTools(shopfront, optimizer=HasteOptimizer(index_dir=str(tmp_path / "b")))
    cancel = threading.Event()

    def cancel_after_first(done: int, _total: int | None, _msg: str) -> None:
        cancel.set()

    with pytest.raises(OperationCancelled):
        cancelled.select_code(REFUND_TASK, ["shopfront"], progress=cancel_after_first, cancel=cancel)
    seen.clear()
    result = cancelled.select_code(REFUND_TASK, ["shopfront"], progress=lambda d, t, _m: seen.append((d, t)))
    assert seen[-1] == (python_files - 1, python_files - 1) and result.spans


def test_select_code_without_an_index_reports_each_parse(shopfront: Path) -> None:
    from scaledown_core.code import clear_cache
    from scaledown_core.optimizer import HasteOptimizer

    clear_cache()
    direct = AgentTools(shopfront, optimizer=HasteOptimizer(use_index=False))
    seen: list[tuple[int, int | None]] = []
    direct.select_code(REFUND_TASK, ["shopfront"], progress=lambda done, total, _msg: seen.append((done, total)))
    python_files = len(list((shopfront / "shopfront").rglob("*.py")))
    assert seen[-1] == (python_files, python_files)
    dones = [done for done, _ in seen[:-1]]  # one per parse (an empty file may need none)
    assert dones == list(range(1, len(dones) + 1)) and python_files - 1 <= len(dones) <= python_files


def test_index_repository_builds_then_updates_and_stays_in_the_roots(shopfront: Path, tmp_path: Path) -> None:
    from scaledown_core.optimizer import HasteOptimizer

    tools = AgentTools(shopfront, optimizer=HasteOptimizer(index_dir=str(tmp_path / "index")))
    seen: list[int] = []
    built = tools.index_repository("shopfront", progress=lambda done, _total, _msg: seen.append(done))
    python_files = len(list((shopfront / "shopfront").rglob("*.py")))
    assert (built.files, built.new, built.unchanged) == (python_files, python_files, 0)
    assert built.units > 0 and built.tokens > 0 and seen[-1] == python_files
    assert built.path == "shopfront" and "shopfront: " in built.for_model()
    again = tools.index_repository("shopfront")
    assert (again.new, again.changed, again.unchanged) == (0, 0, python_files)
    with pytest.raises(PathNotAllowedError):
        tools.index_repository("..")
    with pytest.raises(ValueError, match="not a folder"):
        tools.index_repository("shopfront/cart.py")


@pytest.mark.parametrize("path", ["/etc", "..", "../../..", "shopfront/../../outside"])
def test_paths_outside_the_roots_are_refused(tools: AgentTools, path: str) -> None:
    with pytest.raises(PathNotAllowedError, match="outside the folders"):
        tools.select_code("anything", [path])
    with pytest.raises(PermissionError):  # PathNotAllowedError is a PermissionError too
        tools.read_file_for("anything", path)


def test_symlinks_out_of_the_roots_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text("API_TOKEN = 'hunter2'\n")
    (root / "pkg" / "ok.py").write_text("def ok():\n    return 1\n")
    os.symlink(outside / "secret.py", root / "leak.py")
    os.symlink(outside, root / "pkg" / "linked")
    tools = AgentTools(root)
    with pytest.raises(PathNotAllowedError):
        tools.read_file_for("token", "leak.py")
    with pytest.raises(PathNotAllowedError, match="symlink"):  # the folder walk would follow pkg/linked
        tools.select_code("token", ["pkg"])
    with pytest.raises(PathNotAllowedError):
        tools.select_code("token", ["."])


def test_bad_arguments_raise_typed_errors(tools: AgentTools) -> None:
    with pytest.raises(OptimizerError, match="no such file"):
        tools.select_code("x", ["shopfront/nothing_here.py"])
    with pytest.raises(pydantic.ValidationError):
        tools.select_code("x", ["shopfront"], max_tokens=0)
    with pytest.raises(pydantic.ValidationError):
        tools.select_code("", ["shopfront"])
    with pytest.raises(pydantic.ValidationError):
        tools.select_code("x", [])
    with pytest.raises(ValueError, match="not supported"):
        tools.select_code("x", ["shopfront"], language="rust")
    with pytest.raises(ValueError, match="is a folder"):
        tools.read_file_for("x", "shopfront")
    with pytest.raises(pydantic.ValidationError):
        tools.compress_text("some text", "question", rate=1.5)
    with pytest.raises(ValueError):
        Roots([])
    with pytest.raises(ValueError, match="file system's root"):  # a client that starts servers in "/"
        Roots(["/"])


def test_read_file_for_cuts_python_to_the_query(tools: AgentTools) -> None:
    result = tools.read_file_for("how is the invoice tax computed for a country?",
                                 "shopfront/billing/invoices.py", max_tokens=150)
    assert result.method == "code" and result.path == "shopfront/billing/invoices.py"
    assert result.output_tokens <= 150 < result.original_tokens
    assert "def tax(self)" in result.content
    assert any(s.name == "Invoice.tax" for s in result.spans)


def test_read_file_for_returns_a_small_file_whole(tools: AgentTools, shopfront: Path) -> None:
    result = tools.read_file_for("refunds", "shopfront/billing/refunds.py", max_tokens=5000)
    assert result.method == "whole"
    assert result.content.rstrip("\n") == (shopfront / "shopfront/billing/refunds.py").read_text().rstrip("\n")


def test_read_file_for_compresses_text_files(tools: AgentTools) -> None:
    result = tools.read_file_for("How long do customers have to return an item?", "docs/policies.md", max_tokens=60)
    assert result.method == "text" and result.spans == []
    assert result.output_tokens <= 60 < result.original_tokens
    assert "30 days" in result.content


def test_read_file_for_refuses_binary_files(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01binary")
    with pytest.raises(OptimizerError, match="binary"):
        AgentTools(tmp_path).read_file_for("x", "blob.bin")


def test_compress_text_runs_locally_without_a_key(tools: AgentTools, shopfront: Path) -> None:
    text = (shopfront / "docs/policies.md").read_text()
    result = tools.compress_text(text, "Which payment methods are accepted?", max_tokens=50)
    assert result.engine == "local"
    assert result.output_tokens <= 50
    assert "PayPal" in result.content


def test_compress_text_uses_the_service_when_a_key_is_configured(shopfront: Path, live_server: str) -> None:
    tools = AgentTools(shopfront, api_key="live-key", api_url=live_server)
    text = (shopfront / "docs/policies.md").read_text()
    result = tools.compress_text(text, "Which payment methods are accepted?", rate=0.3)
    assert result.engine == "api"
    assert "PayPal" in result.content and result.output_tokens < result.original_tokens
