"""The copy-paste examples of docs/readme/compression.md run offline with no API key."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest


@pytest.mark.parametrize("name", ["compress_local.py", "compress_api.py"])
def test_example_runs(repo_root: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(repo_root / "examples" / name), run_name="__main__")
    assert "tokens:" in capsys.readouterr().out
