"""The OpenAI-compatible embeddings client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from scaledown_core.exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from scaledown_core.retrieval.embeddings import OpenAIEmbedder, get_embedder


def _vector(text: str) -> list[float]:
    # unnormalised on purpose: the client must normalise
    return [float(len(text)), float(sum(map(ord, text)) % 97), 3.0]


class EmbeddingsServer:
    """Answers ``POST /embeddings`` like OpenAI (indices shuffled), or with queued failures first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: list[tuple[int, Any]] = []
        self.delay_s = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                if outer.failures:
                    status, payload = outer.failures.pop(0)
                else:
                    rows = [{"object": "embedding", "index": i, "embedding": _vector(t)}
                            for i, t in enumerate(body["input"])]
                    status, payload = 200, {"object": "list", "data": rows[::-1], "model": body["model"]}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client timed out and went away

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[EmbeddingsServer]:
    s = EmbeddingsServer()
    yield s
    s.close()


@pytest.fixture
def openai_env(server: EmbeddingsServer, monkeypatch: pytest.MonkeyPatch) -> EmbeddingsServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    return server


def test_get_embedder_calls_the_endpoint_in_batches(openai_env: EmbeddingsServer, tmp_path: Path) -> None:
    emb = get_embedder("text-embedding-3-small", cache_dir=tmp_path)
    assert isinstance(emb, OpenAIEmbedder) and emb.model_used == "text-embedding-3-small"
    texts = [f"def f{i}(): return {i}" for i in range(300)]
    vecs = emb.embed_documents(texts)
    reqs = openai_env.requests
    assert len(reqs) == 2  # 256 + 44 inputs: many inputs per request
    assert [len(r["body"]["input"]) for r in reqs] == [256, 44]
    assert reqs[0]["path"] == "/v1/embeddings" and reqs[0]["auth"] == "Bearer sk-test-123"
    assert set(reqs[0]["body"]) == {"model", "input", "encoding_format"}
    assert reqs[0]["body"]["model"] == "text-embedding-3-small"
    expected = np.asarray([_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vecs, expected, rtol=1e-6)  # input order despite shuffled indices


def test_documents_are_cached_and_queries_are_not(openai_env: EmbeddingsServer, tmp_path: Path) -> None:
    emb = get_embedder("text-embedding-3-small", cache_dir=tmp_path)
    emb.embed_documents(["alpha", "beta"])
    emb.embed_documents(["beta", "alpha"])
    assert len(openai_env.requests) == 1
    emb.embed_queries(["alpha"])
    emb.embed_queries(["alpha"])
    assert len(openai_env.requests) == 3


def _direct(server: EmbeddingsServer, **kw: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder("text-embedding-3-small", "sk-x", base_url=server.url, **kw)


def test_server_errors_are_retried_then_succeed(server: EmbeddingsServer) -> None:
    server.failures = [(500, {"error": {"message": "boom"}})]
    vec = _direct(server, max_retries=1).embed_queries(["hello"])
    assert vec.shape == (1, 3) and len(server.requests) == 2


def test_error_statuses_map_to_our_exceptions(server: EmbeddingsServer) -> None:
    server.failures = [(401, {"error": {"message": "Incorrect API key provided"}})]
    with pytest.raises(AuthenticationError, match="Incorrect API key") as auth:
        _direct(server, max_retries=2).embed_queries(["x"])
    assert auth.value.status_code == 401 and len(server.requests) == 1  # never retried

    server.failures = [(429, {"error": {"message": "slow down"}})] * 2
    with pytest.raises(RateLimitError) as rate:
        _direct(server, max_retries=1).embed_queries(["x"])
    assert rate.value.status_code == 429

    server.failures = [(503, "unavailable")] * 2
    with pytest.raises(ServerError):
        _direct(server, max_retries=1).embed_queries(["x"])


def test_a_200_without_data_is_malformed(server: EmbeddingsServer) -> None:
    server.failures = [(200, {"detail": "model not found"})]
    with pytest.raises(MalformedResponseError, match="model not found"):
        _direct(server, max_retries=0).embed_queries(["x"])
    server.failures = [(200, {"data": [{"index": 0, "embedding": [1.0]}]})]
    with pytest.raises(MalformedResponseError, match="1 vectors for 2 inputs"):
        _direct(server, max_retries=0).embed_queries(["x", "y"])


def test_timeout_and_connection_failures(server: EmbeddingsServer) -> None:
    server.delay_s = 1.0
    with pytest.raises(APITimeoutError):
        _direct(server, max_retries=0, timeout=0.2).embed_queries(["x"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(APIConnectionError, match="cannot reach"):
        OpenAIEmbedder("text-embedding-3-small", "sk-x", base_url=f"http://127.0.0.1:{port}/v1",
                       max_retries=0).embed_queries(["x"])


def test_bad_configuration() -> None:
    with pytest.raises(ValueError, match="api_key"):
        OpenAIEmbedder("text-embedding-3-small", "")
    with pytest.raises(ValueError, match="http"):
        OpenAIEmbedder("text-embedding-3-small", "sk", base_url="ftp://example")
