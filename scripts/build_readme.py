"""Assemble README.md from docs/readme/*.md in name order (00-intro first)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["00-intro", "haste", "semantic", "compression", "pipeline", "cli", "langchain", "llamaindex", "bench"]


def main() -> None:
    parts = {p.stem: p.read_text(encoding="utf-8").strip() for p in (ROOT / "docs" / "readme").glob("*.md")}
    names = [n for n in ORDER if n in parts] + sorted(n for n in parts if n not in ORDER)
    (ROOT / "README.md").write_text("\n\n".join(parts[n] for n in names) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
