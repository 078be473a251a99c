"""``scaledown mcp`` as a subprocess, driven by the MCP SDK's own client over stdio and streamable HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import anyio
import httpx
import jsonschema
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

TOOLS = {"select_code", "compress_text", "read_file_for", "index_repository"}
REFUND_TASK = "A refund is refused although the return window of refund_order has not closed yet"
KEY = "mcp-test-key"
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scaledown_exe() -> str:
    exe = shutil.which("scaledown", path=str(Path(sys.executable).parent)) or shutil.which("scaledown")
    assert exe, "the scaledown command is not installed"
    return exe


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server subprocess: offline, no ScaleDown settings but those given."""
    env = {k: v for k, v in os.environ.items()
           if (not k.startswith("SCALEDOWN_") or k == "SCALEDOWN_CACHE_DIR") and k != "OPENAI_API_KEY"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


def wait_for_port(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the MCP server did not start listening")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def stdio(root: Path, *extra: str) -> Client:
    params = StdioServerParameters(command=scaledown_exe(), args=["mcp", "--root", str(root), *extra],
                                   cwd=str(root), env=server_env())
    return Client(params, read_timeout_seconds=120)


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def check_tools_and_schemas(client: Client) -> dict[str, Any]:
    listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == TOOLS
    select = listed["select_code"].input_schema
    assert set(select["required"]) == {"query", "paths"}
    assert select["properties"]["paths"]["type"] == "array"
    assert select["properties"]["max_tokens"]["minimum"] == 1
    assert set(listed["read_file_for"].input_schema["required"]) == {"query", "path"}
    assert set(listed["compress_text"].input_schema["required"]) == {"context", "prompt"}
    assert listed["index_repository"].input_schema["required"] == ["path"]
    for name, tool in listed.items():
        wanted = "files" if name == "index_repository" else "output_tokens"
        assert tool.output_schema and wanted in tool.output_schema["properties"]
        # index_repository writes ScaleDown's own cache, never the user's files
        assert tool.annotations and tool.annotations.read_only_hint is (name != "index_repository")
        assert tool.annotations.destructive_hint is False
    return listed


async def test_stdio_tools_schemas_calls_and_errors(shopfront: Path) -> None:
    async with stdio(shopfront) as client:
        listed = await check_tools_and_schemas(client)

        select = await client.call_tool("select_code", {"query": REFUND_TASK, "paths": ["shopfront"], "max_tokens": 300})
        assert not select.is_error, text_of(select)
        data = select.structured_content
        jsonschema.validate(data, listed["select_code"].output_schema)
        assert data["output_tokens"] <= 300 and data["files"][0] == "shopfront/billing/refunds.py"
        assert any(s["name"] == "refund_order" for s in data["spans"])
        assert "def refund_order(" in text_of(select) and "[scaledown:" in text_of(select)

        read = await client.call_tool("read_file_for", {"query": "How long is the return window?",
                                                        "path": "docs/policies.md", "max_tokens": 60})
        assert not read.is_error, text_of(read)
        jsonschema.validate(read.structured_content, listed["read_file_for"].output_schema)
        assert read.structured_content["method"] == "text" and "30 days" in text_of(read)

        policies = (shopfront / "docs" / "policies.md").read_text()
        squeezed = await client.call_tool("compress_text", {"context": policies, "prompt": "Which payment methods are accepted?",
                                                            "max_tokens": 50})
        assert not squeezed.is_error, text_of(squeezed)
        jsonschema.validate(squeezed.structured_content, listed["compress_text"].output_schema)
        assert squeezed.structured_content["engine"] == "local" and "PayPal" in text_of(squeezed)

        outside = await client.call_tool("read_file_for", {"query": "x", "path": "/etc/hostname"})
        assert outside.is_error and "PathNotAllowedError" in text_of(outside)
        escape = await client.call_tool("select_code", {"query": "x", "paths": ["../.."]})
        assert escape.is_error and "outside the folders" in text_of(escape)
        missing = await client.call_tool("read_file_for", {"query": "x", "path": "nope.py"})
        assert missing.is_error and "OptimizerError" in text_of(missing)
        for bad in ({"query": "x", "paths": ["shopfront"], "max_tokens": 0}, {"query": "x"},
                    {"query": "x", "paths": "shopfront/cart.py", "max_tokens": "many"}):
            refused = await client.call_tool("select_code", bad)
            assert refused.is_error, bad
        unknown = await client.call_tool("select_code", {"query": "x", "paths": ["shopfront"], "language": "cobol"})
        assert unknown.is_error and "not supported" in text_of(unknown)

        seen: list[float] = []

        async def on_progress(progress: float, _total: float | None, _message: str | None) -> None:
            seen.append(progress)

        indexed = await client.call_tool("index_repository", {"path": "shopfront"}, progress_callback=on_progress)
        assert not indexed.is_error, text_of(indexed)
        jsonschema.validate(indexed.structured_content, listed["index_repository"].output_schema)
        assert indexed.structured_content["files"] >= 5 and "indexed shopfront" in text_of(indexed)
        assert seen, "no progress notification for index_repository"
        not_folder = await client.call_tool("index_repository", {"path": "shopfront/cart.py"})
        assert not_folder.is_error and "not a folder" in text_of(not_folder)

        # still serving after every error
        again = await client.call_tool("read_file_for", {"query": "tax rate", "path": "shopfront/billing/invoices.py",
                                                         "max_tokens": 120})
        assert not again.is_error and again.structured_content["output_tokens"] <= 120


def write_big_tree(root: Path, files: int = 160, functions: int = 40) -> None:
    package = root / "big"
    package.mkdir(parents=True)
    for f in range(files):
        body = "\n\n".join(f"def handler_{f}_{i}(request, limit={i}):\n    \"\"\"Handle case {i} of module {f}.\"\"\"\n"
                           f"    values = [request.get(k) for k in range(limit)]\n    return sum(v or 0 for v in values)\n"
                           for i in range(functions))
        (package / f"module_{f:03d}.py").write_text(body)
    (root / "small.py").write_text("def answer():\n    return 42\n")


async def test_stdio_progress_notifications_and_cancellation(tmp_path: Path) -> None:
    write_big_tree(tmp_path)
    async with stdio(tmp_path) as client:
        first_progress = anyio.Event()
        seen: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, _message: str | None) -> None:
            seen.append((progress, total))
            first_progress.set()

        with anyio.move_on_after(120) as scope:  # cancelled below, long before it ends
            async with anyio.create_task_group() as group:
                async def select_everything() -> None:
                    await client.call_tool("select_code", {"query": "handler of case 7", "paths": ["big"]},
                                           progress_callback=on_progress)
                    pytest.fail("the cancelled call returned a result")

                group.start_soon(select_everything)
                await first_progress.wait()
                group.cancel_scope.cancel()
        assert not scope.cancelled_caught and seen and seen[0][0] == 1

        # the server keeps serving: a small call answers at once
        with anyio.fail_after(30):
            small = await client.call_tool("select_code", {"query": "answer", "paths": ["small.py"]})
        assert not small.is_error and "return 42" in text_of(small)

        # the cancelled build stopped, keeping what it had parsed: the rest is parsed now, file by file
        after: list[tuple[float, float | None]] = []

        async def record(progress: float, total: float | None, _message: str | None) -> None:
            after.append((progress, total))

        done = await client.call_tool("select_code", {"query": "handler of case 7", "paths": ["big"], "max_tokens": 200},
                                      progress_callback=record)
        assert not done.is_error
        left = after[-1][1]
        assert after[-1][0] == left and after == [(float(d), left) for d in range(1, int(left) + 1)]
        # stopped at its first files, it left nearly all of them (a build left running would have parsed
        # about half of them meanwhile, racing this call)
        assert 120 < left < 160, f"{left} of 160 files were left to parse: the cancelled request ran on"


@pytest.fixture(scope="module")
def http_server(shopfront: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([scaledown_exe(), "mcp", "--transport", "http", "--port", str(port), "--root",
                                str(shopfront)], cwd=str(shopfront), env=server_env(SCALEDOWN_SERVER_KEYS=KEY),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(process, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


def http_client(url: str, key: str) -> Client:
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers={"x-api-key": key}))
    return Client(transport, read_timeout_seconds=120)


def test_http_refuses_requests_without_the_key(http_server: str) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}):
        answer = httpx.post(http_server, json=hello, headers=headers, timeout=30)
        assert answer.status_code == 401 and "API key" in answer.json()["detail"]


async def test_http_tools_calls_progress_and_errors(http_server: str) -> None:
    async with http_client(http_server, KEY) as client:
        await check_tools_and_schemas(client)
        seen: list[float] = []

        async def on_progress(progress: float, _total: float | None, _message: str | None) -> None:
            seen.append(progress)

        select = await client.call_tool("select_code", {"query": "checkout applies the coupon",
                                                        "paths": ["shopfront"], "max_tokens": 250},
                                        progress_callback=on_progress)
        assert not select.is_error, text_of(select)
        assert any(s["name"] == "Cart.checkout" for s in select.structured_content["spans"])
        assert seen, "no progress notification arrived over HTTP"
        outside = await client.call_tool("select_code", {"query": "x", "paths": ["/"]})
        assert outside.is_error and "PathNotAllowedError" in text_of(outside)
        read = await client.call_tool("read_file_for", {"query": "tax", "path": "shopfront/billing/invoices.py",
                                                        "max_tokens": 100})
        assert not read.is_error and read.structured_content["output_tokens"] <= 100


@pytest.mark.parametrize("args, message", [
    (["--transport", "http", "--host", "0.0.0.0", "--no-auth"], "only allowed on a loopback"),
    (["--transport", "http", "--port", "0"], "no API keys configured"),
    (["--keys-file", "keys.txt"], "apply to --transport http only"),
])
def test_cli_refuses_unsafe_or_meaningless_settings(args: list[str], message: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from scaledown_core.cli import main

    assert main(["mcp", *args]) == 1
    assert message in capsys.readouterr().err
