"""Pipeline with the real stages: HasteOptimizer, SemanticOptimizer, LocalCompressor, ScaleDownCompressor."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from scaledown_core import LocalCompressor, Pipeline, PipelineError, ScaleDownCompressor
from scaledown_core.optimizer import HasteOptimizer
from scaledown_core.tokens import get_counter

QUERY = "how is a failing stage reported?"
PROMPT = "How does the pipeline report a stage that raised?"
EXAMPLE_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def source(repo_root: Path) -> Path:
    """A real file of this repository, large enough that selection matters."""
    return repo_root / "scaledown_core" / "pipeline" / "_pipeline.py"


def tokens(text: str) -> int:
    return get_counter("gpt-4o").count(text)


def test_haste_then_local_compressor_chain(source: Path) -> None:
    haste, local = HasteOptimizer(top_k=5), LocalCompressor(rate=0.5)
    result = Pipeline([("haste", haste), ("compress", local)]).run(
        query=QUERY, file_path=str(source), prompt=PROMPT, max_tokens=600
    )
    selected, compressed = result.stage_results
    alone = haste.optimize(query=QUERY, file_path=str(source), max_tokens=600)
    assert selected.content == alone.content  # the first stage read the file with the pipeline's arguments
    again = local.compress(selected.content, PROMPT, max_tokens=600)
    assert compressed.content == again.content == result.final_content  # the second read the first's output
    first, second = result.history
    assert first.input_tokens == selected.metrics.original_tokens == result.metrics.original_tokens
    assert first.input_tokens == tokens(source.read_text())
    assert first.output_tokens == tokens(selected.content) == second.input_tokens <= 600
    assert second.output_tokens == result.metrics.total_tokens == tokens(result.final_content)
    assert result.metrics.total_tokens < first.output_tokens
    assert result.savings_percent > 70
    assert "_stage_failed" in selected.content or "PipelineError" in selected.content


async def test_arun_gives_the_same_result(source: Path) -> None:
    pipeline = Pipeline([("haste", HasteOptimizer()), ("compress", LocalCompressor(rate=0.5))])
    sync = pipeline.run(query=QUERY, file_path=str(source), prompt=PROMPT, max_tokens=500)
    result = await pipeline.arun(query=QUERY, file_path=str(source), prompt=PROMPT, max_tokens=500)
    assert result.final_content == sync.final_content
    assert [r.output_tokens for r in result.history] == [r.output_tokens for r in sync.history]


def test_a_missing_file_is_the_optimizers_own_error_naming_the_stage(tmp_path: Path) -> None:
    from scaledown_core import OptimizerError

    pipeline = Pipeline([("haste", HasteOptimizer()), ("compress", LocalCompressor())])
    with pytest.raises(OptimizerError, match="^stage 'haste' \\(HasteOptimizer, optimizer\\): ") as info:
        pipeline.run(query=QUERY, file_path=str(tmp_path / "gone.py"), prompt=PROMPT)
    assert not isinstance(info.value, PipelineError)
    assert info.value.stage == "haste"
    assert "gone.py" in str(info.value)


# ----------------------------------------------------------------- what reaches the API


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append({"path": self.path, "headers": dict(self.headers), "body": body})
        kept = body["context"][: len(body["context"]) // 2]
        reply = json.dumps({
            "results": {"compressed_prompt": kept, "original_prompt_tokens": 100,
                        "compressed_prompt_tokens": 50, "successful": True, "compression_ratio": 2.0},
            "successful": True, "latency_ms": 1.0, "model_used": "recorder",
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.bodies
    server.shutdown()
    server.server_close()


def test_only_protocol_fields_reach_the_service(source: Path, recorder: tuple[str, list[dict[str, Any]]]) -> None:
    url, requests = recorder
    pipeline = Pipeline([
        ("haste", HasteOptimizer(top_k=5)),
        ("compressor", ScaleDownCompressor(api_key="k-123", api_url=url)),
    ])
    result = pipeline.run(query=QUERY, file_path=str(source), prompt=PROMPT, max_tokens=700)
    (request,) = requests
    assert request["path"] == "/compress/raw/"
    assert request["headers"]["x-api-key"] == "k-123"
    body = request["body"]
    assert set(body) <= {"context", "prompt", "scaledown", "model"}
    assert set(body["scaledown"]) <= {"rate", "temperature", "preserve_keywords", "preserve_words", "max_tokens"}
    assert body["context"] == result.stage_results[0].content  # Haste's output, not the file
    assert body["prompt"] == PROMPT
    text = json.dumps(body)
    assert str(source) not in text and QUERY not in text
    assert result.final_content == body["context"][: len(body["context"]) // 2]


# ----------------------------------------------------------------- the README examples


def run_example(repo_root: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo_root / "examples" / name)], capture_output=True, text=True,
        timeout=EXAMPLE_TIMEOUT_S, cwd=repo_root, check=False,
    )


def test_custom_stages_example(repo_root: Path) -> None:
    out = run_example(repo_root, "pipeline_custom_stages.py")
    assert out.returncode == 0, out.stderr
    stages = [line.split()[0] for line in out.stdout.splitlines()[:4]]
    assert stages == ["select", "no-comments", "squeeze", "compress"]
    total = out.stdout.splitlines()[4]
    assert total.startswith("total: ") and "% saved" in total


def test_server_example(repo_root: Path) -> None:
    out = run_example(repo_root, "pipeline_server.py")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("haste: ") and "\ncompressor: " in out.stdout
    assert "Savings: " in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pipeline_quickstart.py", "pipeline_history.py"])
def test_seed_readme_examples_run_offline(repo_root: Path, name: str) -> None:
    out = run_example(repo_root, name)
    assert out.returncode == 0, out.stderr
    if name == "pipeline_quickstart.py":
        lines = out.stdout.splitlines()
        original = int(lines[0].removeprefix("Original: ").removesuffix(" tokens"))
        final = int(lines[1].removeprefix("Final: ").removesuffix(" tokens"))
        assert 0 < final < original and lines[2].startswith("Savings: ")
    else:
        history = [line for line in out.stdout.splitlines() if " → " in line]
        assert [line.split(":")[0] for line in history] == ["code_selection", "semantic_filter", "compression"]


@pytest.mark.slow
def test_haste_then_semantic_then_compress(source: Path, minilm_path: str) -> None:
    from scaledown_core.optimizer import SemanticOptimizer

    pipeline = Pipeline([
        ("haste", HasteOptimizer(top_k=8)),
        ("semantic", SemanticOptimizer(model_name=minilm_path, top_k=3)),
        ("compress", LocalCompressor()),
    ])
    result = pipeline.run(query=QUERY, file_path=str(source), prompt=PROMPT, max_tokens=800)
    haste, semantic, compress = result.history
    assert semantic.input_tokens == haste.output_tokens and compress.input_tokens == semantic.output_tokens
    assert result.metrics.total_tokens <= 800
    assert semantic.metrics.model_used  # the model actually used is on record


@pytest.fixture
def two_rates(tmp_path: Path) -> Path:
    """A project whose two files share a name, each with a rate function and unrelated code."""
    for folder, arg, formula in (("billing", "order", "order.price * 1.2"),
                                 ("shipping", "parcel", "parcel.weight * parcel.km * 0.01")):
        (tmp_path / "proj" / folder).mkdir(parents=True)
        (tmp_path / "proj" / folder / "rates.py").write_text(
            f'def compute_rate({arg}):\n    """Rate for an {arg}."""\n    return {formula}\n\n\n'
            f'def log_{folder}(message, level="info", stream=None):\n'
            f'    """Write one {folder} log line to the stream, standard error by default."""\n'
            f'    target = stream if stream is not None else sys.stderr\n'
            f'    target.write(f"[{{level}}] {folder}: {{message}}\\n")\n'
        )
    return tmp_path / "proj"


@pytest.mark.slow
@pytest.mark.parametrize("second", ["semantic", "haste"])
def test_a_later_optimizer_keeps_the_file_headers(two_rates: Path, second: str) -> None:
    from scaledown_core.optimizer import SemanticOptimizer

    stage = SemanticOptimizer(model_name=None, top_k=2) if second == "semantic" else HasteOptimizer()
    query = "how is the rate computed"
    result = Pipeline([("first", HasteOptimizer()), ("next", stage)]).run(query=query, file_path=str(two_rates),
                                                                          max_tokens=80)
    first, last = result.stage_results
    assert "# file: billing/rates.py" in first.content and "# file: shipping/rates.py" in first.content
    assert "log_billing" not in first.content  # the first stage chose: the second reads rendered text
    assert result.final_content.startswith("# file: billing/rates.py\ndef compute_rate(order):")
    assert "# file: shipping/rates.py\ndef compute_rate(parcel):" in result.final_content
    assert {s.path for s in last.metrics.spans} == {"billing/rates.py", "shipping/rates.py"}
    assert result.metrics.total_tokens <= 80


def test_every_stage_warning_reaches_the_pipeline_result(tmp_path: Path) -> None:
    (tmp_path / "legacy.py").write_bytes(b"def report_stage():\n    return 'caf\xe9 failed'\n")
    (tmp_path / "notes").mkdir()  # a folder without Python: a warning of its own
    pipe = Pipeline([("haste", HasteOptimizer()), ("compress", LocalCompressor(rate=0.5))])
    result = pipe.run(query=QUERY, file_path=[str(tmp_path / "legacy.py"), str(tmp_path / "notes")], prompt=PROMPT)
    haste_warnings = result.history[0].metrics.warnings
    assert haste_warnings and result.metrics.warnings[: len(haste_warnings)] == [f"haste: {w}" for w in haste_warnings]
    compress_warnings = result.history[1].metrics.extra["warnings"]
    assert result.metrics.warnings[len(haste_warnings):] == [f"compress: {w}" for w in compress_warnings]
