"""The same pipeline against a ScaleDown protocol server you run yourself (``scaledown serve``).

Starts ``scaledown serve`` on a free loopback port with one API key, points ScaleDownCompressor at it,
runs Haste -> ScaleDownCompressor, and stops the server. Against your own deployment, set
SCALEDOWN_API_URL and SCALEDOWN_API_KEY instead and keep only the pipeline part.

    python examples/pipeline_server.py
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scaledown_core import Pipeline, ScaleDownCompressor
from scaledown_core.optimizer import HasteOptimizer

SOURCE = Path(__file__).resolve().parent.parent / "scaledown_core" / "pipeline" / "_pipeline.py"
KEY = "example-key"
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    exe = shutil.which("scaledown", path=str(Path(sys.executable).parent)) or shutil.which("scaledown")
    env = {**os.environ, "SCALEDOWN_SERVER_KEYS": KEY}
    server = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


port = free_port()
server = start_server(port)
try:
    pipeline = Pipeline([
        ("haste", HasteOptimizer(top_k=5)),
        ("compressor", ScaleDownCompressor(target_model="gpt-4o", api_key=KEY, api_url=f"http://127.0.0.1:{port}")),
    ])
    result = pipeline.run(
        query="how does the pipeline route arguments to each stage?",
        file_path=str(SOURCE),
        prompt="Which arguments does a compressor stage receive?",
    )
    for step in result.history:
        print(f"{step.stage}: {step.input_tokens} -> {step.output_tokens} tokens")
    print(f"Savings: {result.savings_percent:.1f}%")
    print(result.final_content)
finally:
    server.terminate()
    server.wait(timeout=30)
