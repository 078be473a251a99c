"""ScaleDownCompressor against a ScaleDown-protocol server.

With a hosted key you would only set SCALEDOWN_API_KEY. To stay offline, this example starts the
project's own server (``scaledown serve``) on a free loopback port and points the client at it.
"""

import os
import socket
import threading
import time

import uvicorn

from scaledown_core import ScaleDownCompressor
from scaledown_core.server import create_app

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(create_app(["demo-key"]), host="127.0.0.1", port=port, log_level="warning"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.05)

os.environ["SCALEDOWN_API_URL"] = f"http://127.0.0.1:{port}"   # same as `scaledown serve --port PORT`
os.environ["SCALEDOWN_API_KEY"] = "demo-key"

with ScaleDownCompressor(target_model="gpt-4o", rate=0.5, timeout=10, max_retries=2) as compressor:
    result = compressor.compress(
        "Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes. Bananas are yellow.",
        "Where was Marie Curie born?",
    )
print(result.content)   # compressed context followed by the prompt: the protocol's compressed_prompt
result.print_stats()
assert "Warsaw" in result.content

server.should_exit = True
