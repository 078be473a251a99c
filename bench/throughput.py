"""Client throughput: ScaleDownCompressor against ``scaledown serve`` over a real socket on 127.0.0.1.

  python -m bench throughput --data ../shared/bench-data [--n 100] [--concurrency 1,5,10] [--rate 0.25]

A batch of N NQ-20 contexts (about 2,300 tokens each) with their questions goes through the client's
``compress`` (threads) and ``acompress`` (asyncio) at each ``max_concurrency``; the same batch through
LocalCompressor in-process at the same concurrency is the baseline that shows what HTTP costs. Every
client output is checked against the in-process output (the server runs the same engine). Results go
to ``<results>/throughput/throughput.json``; ``python -m bench report`` puts them in BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from bench import data
from bench.suites import REPO_ROOT

SERVER_KEY = "bench-throughput-key"
SERVER_START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(port: int, max_concurrency: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_")}
    env.update(SCALEDOWN_SERVER_KEYS=SERVER_KEY, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-m", "scaledown_core.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--max-concurrency", str(max_concurrency), "--log-level", "warning"]
    return subprocess.Popen(command, env=env, cwd=REPO_ROOT)


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"scaledown serve exited with status {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"scaledown serve did not answer {url}/health within {SERVER_START_TIMEOUT_S:g} s")


def _items(data_dir: Path, n: int) -> tuple[list[str], list[str]]:
    scorer = data.load_scorer(str(data.default_scorer(data_dir)))
    items = data.compression_items(data_dir, "nq20", None, scorer)
    items = (items * (n // len(items) + 1))[:n]
    return [i["context"] for i in items], [i["prompt"] for i in items]


def _timed(run: Callable[[], list[Any]]) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    results = run()
    return time.perf_counter() - started, results


def measure(data_dir: Path, n: int, concurrencies: list[int], rate: float) -> dict[str, Any]:
    """Seconds and items/s of each path at each concurrency, and whether outputs matched in-process."""
    from scaledown_core import LocalCompressor, ScaleDownCompressor

    contexts, prompts = _items(data_dir, n)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(port, max(concurrencies))
    rows = []
    try:
        _wait_healthy(url, server)
        for c in concurrencies:
            local = LocalCompressor(rate=rate, include_prompt=True, max_concurrency=c)
            client = ScaleDownCompressor(rate=rate, api_key=SERVER_KEY, api_url=url, max_concurrency=c)
            client.compress(contexts[:c], prompts[:c])  # warm: connections, server threads
            local_s, expected = _timed(lambda: local.compress(contexts, prompts))
            sync_s, got = _timed(lambda: client.compress(contexts, prompts))
            async_s, got_async = _timed(lambda: asyncio.run(client.acompress(contexts, prompts)))
            same = sum(a.content == b.content == e.content for a, b, e in zip(got, got_async, expected))
            rows.append({"max_concurrency": c, "local_s": local_s, "client_s": sync_s, "client_async_s": async_s,
                         "identical": same})
    finally:
        server.terminate()
        server.wait(timeout=10)
    tokens = LocalCompressor().counter.count_many(contexts)
    return {"n": n, "rate": rate, "task": "nq20", "mean_context_tokens": sum(tokens) / len(tokens),
            "server_max_concurrency": max(concurrencies), "cpus": os.cpu_count(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "rows": rows}


def run(data_dir: Path, results_dir: Path, n: int, concurrencies: list[int], rate: float) -> Path:
    out = results_dir / "throughput" / "throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = measure(data_dir, n, concurrencies, rate)
    out.write_text(json.dumps(payload, indent=1))
    for row in payload["rows"]:
        print(f"max_concurrency={row['max_concurrency']}: client {n / row['client_s']:.1f} items/s "
              f"(async {n / row['client_async_s']:.1f}), in-process {n / row['local_s']:.1f} items/s, "
              f"identical {row['identical']}/{n}")
    return out
