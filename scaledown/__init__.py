"""``import scaledown``: the specification's import name for ScaleDown.

Every name here is the very object ``scaledown_core`` defines: ``scaledown.ScaleDownCompressor is
scaledown_core.ScaleDownCompressor``, and each submodule is the same module object under both names
(``scaledown.optimizer is scaledown_core.optimizer``). This package holds no logic of its own.
Submodules are aliased on first import, so ``import scaledown`` stays as light as ``import scaledown_core``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Sequence

import scaledown_core as _core

__all__ = list(_core.__all__)
__version__ = _core.__version__

_ALIAS = __name__
_TARGET = _core.__name__


class _AliasLoader(importlib.abc.Loader):
    """Loads ``scaledown.X`` as the module ``scaledown_core.X`` itself, not a copy."""

    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the target module ran when it was imported under its own name."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``scaledown.<sub>`` for every ``scaledown_core.<sub>`` that exists."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_ALIAS + "."):
            return None
        real = _TARGET + fullname[len(_ALIAS):]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
    sys.meta_path.append(_AliasFinder())


def __getattr__(name: str) -> Any:
    # every public name resolves in scaledown_core, on first use, so the lazy ones stay lazy
    if name in __all__:
        value = getattr(_core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
