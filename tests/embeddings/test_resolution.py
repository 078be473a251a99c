"""Model resolution: packaged default, local folder, Hugging Face cache, offline fallback, OpenAI names."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

import pytest

from scaledown_core.exceptions import MissingDependencyError, OptimizerError
from scaledown_core.retrieval.embeddings import (
    PACKAGED_MODEL_NAME,
    get_embedder,
    is_openai_model,
    resolve_model,
)

LOGGER = "scaledown_core.retrieval.embeddings"


def _unique(prefix: str = "someone/missing-model") -> str:
    # fallback warnings are logged once per process and name: a fresh name per test
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_default_is_the_packaged_model(minilm_path: str) -> None:
    choice = resolve_model(None)
    assert choice.backend == "sentence-transformers"
    assert choice.name == PACKAGED_MODEL_NAME and choice.fallback_reason is None
    assert os.path.samefile(choice.location, minilm_path)
    assert resolve_model("all-MiniLM-L6-v2").fallback_reason is None


def test_local_folder_is_used_as_given(minilm_path: str) -> None:
    choice = resolve_model(minilm_path)
    assert choice.location == minilm_path and choice.name == minilm_path and choice.fallback_reason is None


def _fake_hf_cache(root: Path, repo_id: str, model_dir: str) -> None:
    """A Hugging Face hub cache entry for ``repo_id`` whose files are the packaged model's."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = root / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / revision
    for src in Path(model_dir).rglob("*"):
        if src.is_file():
            dst = snap / src.relative_to(model_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)


def test_name_in_the_local_hf_cache(tmp_path: Path, minilm_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hf_cache(tmp_path / "hub", "acme/code-embedder", minilm_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    choice = resolve_model("acme/code-embedder", fallback=False)
    assert choice.fallback_reason is None and choice.name == "acme/code-embedder"
    assert (Path(choice.location) / "modules.json").is_file()
    assert "snapshots" in choice.location


def test_offline_unknown_name_falls_back_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    name = _unique()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        first = resolve_model(name)
        second = resolve_model(name)
    assert first.name == second.name == PACKAGED_MODEL_NAME
    assert first.requested == name
    assert "HF_HUB_OFFLINE" in (first.fallback_reason or "")
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and name in warnings[0].getMessage()


def test_fallback_false_raises_naming_the_model() -> None:
    name = _unique()
    with pytest.raises(OptimizerError, match=name):
        resolve_model(name, fallback=False)
    with pytest.raises(OptimizerError, match="no such model folder"):
        get_embedder("./no/such/folder", fallback=False)


def test_a_folder_that_is_not_a_model_falls_back(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    choice = resolve_model(str(tmp_path))
    assert choice.name == PACKAGED_MODEL_NAME and "not a sentence-transformers model" in (choice.fallback_reason or "")


def test_openai_names_need_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_openai_model("text-embedding-3-small") and is_openai_model("openai/text-embedding-3-large")
    assert not is_openai_model("Qwen/Qwen3-Embedding-0.6B") and not is_openai_model(None)
    without = resolve_model("text-embedding-3-small")
    assert without.backend == "sentence-transformers" and "OPENAI_API_KEY" in (without.fallback_reason or "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with_key = resolve_model("text-embedding-3-small")
    assert with_key.backend == "openai" and with_key.name == "text-embedding-3-small"


def test_bad_model_name_type() -> None:
    with pytest.raises(TypeError):
        resolve_model(42)  # type: ignore[arg-type]


def test_missing_sentence_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"'semantic' extra.*'\.\[semantic\]'"):
        get_embedder(None, cache_dir=tmp_path)
