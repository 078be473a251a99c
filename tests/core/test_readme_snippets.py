"""The README's LangChain and LlamaIndex snippets run as printed, offline, with the extras they name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _snippet_after(readme: str, heading: str) -> str:
    section = readme[readme.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("heading", ["### Compress retrieved documents",
                                     "### Compress retrieved nodes: `ScaleDownCompressorPostprocessor`"])
def test_snippet_runs_as_printed(repo_root: Path, heading: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = _snippet_after((repo_root / "README.md").read_text(encoding="utf-8"), heading)
    monkeypatch.chdir(repo_root)  # the LlamaIndex snippet reads the repository's docs/
    exec(compile(code, heading, "exec"), {"__name__": "__main__"})  # noqa: S102 - the README's own code
    out = capsys.readouterr().out
    assert re.search(r"\d+ -> \d+", out), out
