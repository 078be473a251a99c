"""The languages the code model reads: file extensions -> tree-sitter grammar, query and comment syntax.

Python's grammar is a core dependency; the others come with the ``code`` extra
(the ``code`` extra, ``'.[code]'`` from a checkout: the official ``tree-sitter-<lang>`` wheels, never a grammar
downloaded at run time). A language whose grammar is missing is reported by :func:`grammar_problem`,
so a caller can warn and keep the file as plain text instead of returning nothing.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..exceptions import install_hint

__all__ = ["LanguageSpec", "LANGUAGES", "EXTENSIONS", "CODE_EXTRA", "language_for_path", "get_language",
           "grammar_problem", "ts_language", "ts_query", "source_extensions", "is_source_code"]

CODE_EXTRA = "scaledown[code]"


@dataclass(frozen=True)
class LanguageSpec:
    """One language: its ``name``, file ``extensions``, grammar module and function, query file, the
    prefix of a line comment (for elision markers) and the languages tried when a file parses badly."""

    name: str
    label: str
    extensions: tuple[str, ...]
    module: str
    function: str
    query: str
    comment: str
    fallbacks: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return self.module.replace("_", "-")


LANGUAGES: dict[str, LanguageSpec] = {s.name: s for s in (
    LanguageSpec("python", "Python", (".py", ".pyi", ".pyw"), "tree_sitter_python", "language", "python.scm", "#"),
    LanguageSpec("javascript", "JavaScript", (".js", ".mjs", ".cjs", ".jsx"), "tree_sitter_javascript", "language",
                 "javascript.scm", "//", fallbacks=("tsx",)),
    # a .ts file that is really JavaScript (JSX, or syntax the TypeScript grammar rejects) falls back
    LanguageSpec("typescript", "TypeScript", (".ts", ".mts", ".cts"), "tree_sitter_typescript",
                 "language_typescript", "typescript.scm", "//", fallbacks=("tsx", "javascript")),
    LanguageSpec("tsx", "TSX", (".tsx",), "tree_sitter_typescript", "language_tsx", "typescript.scm", "//",
                 fallbacks=("typescript", "javascript")),
    LanguageSpec("go", "Go", (".go",), "tree_sitter_go", "language", "go.scm", "//"),
    LanguageSpec("java", "Java", (".java",), "tree_sitter_java", "language", "java.scm", "//"),
    LanguageSpec("rust", "Rust", (".rs",), "tree_sitter_rust", "language", "rust.scm", "//"),
)}

EXTENSIONS: dict[str, str] = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}
# Names a caller may use for a language besides its own (``language="ts"``).
_ALIASES = {"js": "javascript", "ts": "typescript", "py": "python", "golang": "go", "rs": "rust", "jsx": "javascript"}


def get_language(name: str) -> LanguageSpec:
    """The language called ``name`` (or an alias: ``js``, ``ts``, ``rs``); ValueError naming the choices."""
    if not isinstance(name, str):
        raise TypeError(f"language must be a string such as 'go'; got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower())
    spec = LANGUAGES.get(key)
    if spec is None:
        raise ValueError(f"unknown language {name!r}; choose from {', '.join(LANGUAGES)}")
    return spec


def language_for_path(path: str | os.PathLike[str] | None) -> LanguageSpec | None:
    """The language of a file by its extension (``.go`` -> Go); None for an unknown extension or no path."""
    if path is None:
        return None
    ext = os.path.splitext(os.fspath(path))[1].lower()
    name = EXTENSIONS.get(ext)
    return LANGUAGES[name] if name else None


def source_extensions() -> frozenset[str]:
    """Every file extension a folder walk reads."""
    return frozenset(EXTENSIONS)


@lru_cache(maxsize=None)
def grammar_problem(name: str) -> str | None:
    """Why ``name``'s grammar cannot be loaded (not installed), or None when it can."""
    spec = LANGUAGES[name]
    try:
        importlib.import_module(spec.module)
    except ImportError:
        return (f"the {spec.label} grammar is not installed ({CODE_EXTRA}: {install_hint('code')}; "
                f"or install the {spec.package} package)")
    return None


@lru_cache(maxsize=None)
def ts_language(name: str) -> Any:
    """The tree-sitter ``Language`` of ``name`` (ImportError when its grammar is not installed)."""
    from tree_sitter import Language

    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.function)())


@lru_cache(maxsize=None)
def ts_query(name: str) -> Any:
    """The compiled query of ``name`` (``queries/<lang>.scm``)."""
    from tree_sitter import Query

    src = resources.files(__package__).joinpath("queries", LANGUAGES[name].query).read_text(encoding="utf-8")
    return Query(ts_language(name), src)


# A line that opens a Python definition: text without one is prose, not worth a parse.
_PYTHON_DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+\w", re.M)
_DEFINED_KINDS = frozenset({"function", "class", "method"})


def is_source_code(text: str, *, language: Any = None, path: Any = None) -> bool:
    """Whether a retrieved document is source code (for a code optimizer) rather than prose.

    By its ``language`` metadata when it has one (a language this module reads; an enum's ``value`` is
    read), else by ``path``'s extension, else by parsing ``text`` as Python: code when it parses cleanly
    and defines a function or class. The adapters route documents by this one rule.
    """
    if language:
        name = str(getattr(language, "value", language)).lower()
        return _ALIASES.get(name, name) in LANGUAGES
    if isinstance(path, (str, os.PathLike)) and language_for_path(path) is not None:
        return True
    if not isinstance(text, str) or not _PYTHON_DEFINITION.search(text):
        return False
    from .model import parse_source

    parsed = parse_source(text)
    return not parsed.has_syntax_errors and any(u.kind in _DEFINED_KINDS for u in parsed.units)
