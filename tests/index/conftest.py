"""Trees to index: copies of real code with the odd files a real checkout holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import scaledown_core.optimizer._units as units
from scaledown_core.code import clear_cache
from scaledown_core.index import clear_loaded

FIXTURE = Path(__file__).resolve().parent.parent / "haste" / "fixtures" / "inventory"


def forget_everything() -> None:
    """Drop every in-memory cache, so that the next call works from the disk (or the index) alone."""
    units._index_cache.clear()
    clear_cache()
    clear_loaded()


@pytest.fixture()
def odd_tree(tmp_path: Path) -> Path:
    """The inventory package plus a non-UTF-8 file, a binary .py, a syntax error, an empty file, a
    symlink loop and a file outside the walk (hidden folder)."""
    root = tmp_path / "tree"
    shutil.copytree(FIXTURE, root / "inventory")
    (root / "latin.py").write_bytes("def caf\u00e9():\n    return 'cr\u00e8me'\n".encode("latin-1"))
    (root / "blob.py").write_bytes(b"\x00\x01binary")
    (root / "broken.py").write_text("def ok():\n    return 1\n\ndef broken(:\n    pass\n", encoding="utf-8")
    (root / "empty.py").write_text("", encoding="utf-8")
    (root / "inventory" / "loop").symlink_to(root, target_is_directory=True)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.py").write_text("def secret():\n    pass\n", encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    forget_everything()
