"""Aider's repository map (``aider-chat``'s ``RepoMap``) as Aider's chat loop calls it; runs in
bench/.venvs/aider with a temporary HOME and no network.

``RepoMap(map_tokens=budget, root=..., main_model=<o200k token counter>, io=<quiet IO>)`` and
``get_repo_map(chat_files=[], other_files=<every .py file>, mentioned_fnames, mentioned_idents)``,
where the mentions are taken from the query the way ``Coder.get_file_mentions`` /
``get_ident_mentions`` / ``get_ident_filename_matches`` take them from a chat message. Aider accepts a
map within 15% of ``map_tokens`` either side, so the harness still cuts it to the budget where it is
over. The map's gutter mark (a leading ``│``) is removed so that source lines can be compared.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

GUTTER = "\u2502"
# Coder.get_ident_filename_matches: identifiers and file stems shorter than this are not matched.
MIN_STEM = 5


class _Model:
    """The stand-in for aider's Model: only ``token_count`` is used by RepoMap (o200k_base)."""

    def __init__(self) -> None:
        import tiktoken

        self.encoding = tiktoken.get_encoding("o200k_base")

    def token_count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))


class _QuietIO:
    """The stand-in for aider's InputOutput: reads files, keeps messages to itself."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def read_text(self, filename: str, silent: bool = False) -> str | None:
        try:
            return Path(filename).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def tool_output(self, *args: Any, **kwargs: Any) -> None:
        self.messages.append(" ".join(map(str, args)))

    tool_warning = tool_error = tool_output


def mentions(query: str, rel_files: list[str]) -> tuple[set[str], set[str]]:
    """(mentioned file names, mentioned identifiers) as Aider's Coder takes them from a message."""
    idents = set(re.split(r"\W+", query))
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in query.split()}
    fnames = {f for f in rel_files if f in words}
    by_base: dict[str, list[str]] = {}
    for f in rel_files:
        base = os.path.basename(f)
        if any(c in base for c in "/\\._-"):
            by_base.setdefault(base, []).append(f)
    fnames |= {fs[0] for base, fs in by_base.items() if len(fs) == 1 and base in words}
    stems: dict[str, set[str]] = {}
    for f in rel_files:
        stem = Path(f).stem.lower()
        if len(stem) >= MIN_STEM:
            stems.setdefault(stem, set()).add(f)
    for ident in idents:
        if len(ident) >= MIN_STEM:
            fnames |= stems.get(ident.lower(), set())
    return fnames, idents


def strip_gutter(text: str) -> str:
    return "\n".join(line[1:] if line.startswith(GUTTER) else line for line in text.split("\n"))


class AiderRepoMap:
    def __init__(self) -> None:
        from aider.repomap import RepoMap

        self.repo_map_cls = RepoMap
        self.model = _Model()

    def warmup(self, suite: str) -> None:
        self.select("warm up", "def warm_up():\n    return 1\n", 100, "warm.py")

    def _map(self, root: str, budget: int, query: str) -> tuple[str, list[str]]:
        files = sorted(str(p) for p in Path(root).rglob("*.py"))
        rel = [os.path.relpath(f, root).replace(os.sep, "/") for f in files]
        fnames, idents = mentions(query, rel)
        repo_map = self.repo_map_cls(map_tokens=budget, root=root, main_model=self.model, io=_QuietIO())
        text = repo_map.get_repo_map([], files, mentioned_fnames=fnames, mentioned_idents=idents) or ""
        ranked = repo_map.get_ranked_tags([], files, fnames, idents)
        order: list[str] = []
        for tag in ranked:
            if tag[0] not in order:
                order.append(tag[0])
        order += [f for f in rel if f not in order]
        return strip_gutter(text), order

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        with tempfile.TemporaryDirectory(prefix="bench-aider-") as root:
            (Path(root) / filename).write_text(source, encoding="utf-8")
            return self._map(root, budget, query)[0]

    def repo(self, query: str, root: str, budget: int) -> dict[str, Any]:
        # A copy, so that Aider's tags cache (written under the root) starts cold for every call.
        import shutil

        with tempfile.TemporaryDirectory(prefix="bench-aider-") as tmp:
            copy = shutil.copytree(root, Path(tmp) / "repo")
            text, order = self._map(str(copy), budget, query)
        return {"output": text, "files": order}
