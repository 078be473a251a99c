"""A compressor factory for Ray tests that records where each actor runs (its pid and node)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scaledown_core import LocalCompressor

from .conftest import RATE


def recording_compressor(folder: str) -> Any:
    """``LocalCompressor(rate=RATE)``, after writing ``<pid>@<node id>`` into ``folder``."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    (Path(folder) / f"{os.getpid()}@{node}").touch()
    return LocalCompressor(rate=RATE)


def actors(folder: Path) -> list[tuple[int, str]]:
    """(pid, node id) of every actor started so far."""
    return [(int(p.name.split("@")[0]), p.name.split("@")[1]) for p in folder.iterdir()]
