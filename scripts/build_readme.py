"""Assemble README.md from docs/readme/*.md (00-intro first) and append every examples/*.py verbatim.

The sections explain; the appendix holds the copy-paste examples exactly as the tests run them.
`tests/core/test_readme.py` fails when README.md is older than its sources: run this script then.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["00-intro", "haste", "languages", "index", "semantic", "compression", "pipeline", "cli", "langchain", "llamaindex", "agents", "batch", "limits", "bench"]


def _sections() -> list[str]:
    parts = {p.stem: p.read_text(encoding="utf-8").strip() for p in (ROOT / "docs" / "readme").glob("*.md")}
    names = [n for n in ORDER if n in parts] + sorted(n for n in parts if n not in ORDER)
    return [parts[n] for n in names]


def _examples() -> str:
    out = [
        "## Runnable examples",
        "",
        "Each file in `examples/` runs offline with no API key from the repository root "
        "(`.venv/bin/python examples/NAME.py`), and the test suite runs every one of them.",
    ]
    for path in sorted((ROOT / "examples").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else path.stem
        out += ["", f"### `examples/{path.name}`", "", summary, "", "```python", source.rstrip(), "```"]
    return "\n".join(out)


def render() -> str:
    return "\n\n".join([*_sections(), _examples()]) + "\n"


def main() -> None:
    (ROOT / "README.md").write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
