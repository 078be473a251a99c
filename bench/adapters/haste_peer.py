"""Upstream HASTE (``hastecontext`` 0.2.4, import name ``haste``) as its README shows it; runs in
bench/.venvs/haste.

Single file: ``select_from_file(path, query)`` with its defaults (top_k=6, prefilter=300, bfs_depth=1,
max_add=12, hard_cap=1200, soft_cap=1800); ``hard_cap``/``soft_cap`` size CAST chunks, they do not
bound the output, so HASTE has no budget knob and the harness cuts its ``code`` to the budget.
Repository: ``build_payload_from_repo(root, include_code=True, top_k=50, depth=1, query=...)``; the
files are ranked by the order of its scored ``nodes``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


class Haste:
    def __init__(self) -> None:
        import haste

        self.haste = haste
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-haste-")

    def warmup(self, suite: str) -> None:
        self.select("warm up", "def warm_up():\n    return 1\n", 100, "warm.py")

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        path = Path(self._tmp.name) / filename
        path.write_text(source, encoding="utf-8")
        return self.haste.select_from_file(str(path), query)["code"]

    def repo(self, query: str, root: str, budget: int) -> dict[str, Any]:
        payload = self.haste.build_payload_from_repo(root, include_code=True, top_k=50, depth=1, query=query)
        files: list[str] = []
        for node in payload.get("nodes", []):
            rel = os.path.relpath(node["path"], root).replace(os.sep, "/")
            if rel not in files:
                files.append(rel)
        return {"output": payload.get("code", ""), "files": files}
