"""Argument checks and input loading shared by the optimizers (one home for the stage protocol's inputs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..code import OnParse, SourceFile, load_sources, parse_source
from ..code.render import split_rendered
from ..limits import check_text_size
from ..retrieval.text import lone_surrogate

__all__ = ["Request", "check_arguments", "is_multi", "load_inputs", "read_request"]

_NO_PATH: tuple[Any, ...] = (None, "", [])


def check_arguments(context: Any, query: Any, file_path: Any, max_tokens: Any,
                    default_budget: int | None, context_path: Any = None) -> int | None:
    """The budget to use (``default_budget`` when ``max_tokens`` is None); misuse raises ValueError/TypeError."""
    if query is None:
        raise ValueError("query is required: pass the question or issue text the code should answer")
    if not isinstance(query, str):
        raise TypeError(f"query must be a string; got {type(query).__name__}")
    if not query.strip():
        raise ValueError("query must be a non-empty string")
    if not isinstance(context, str):
        raise TypeError(f"context must be a string; got {type(context).__name__}")
    if context and file_path not in _NO_PATH:
        raise ValueError("give either context or file_path, not both")
    check_text_size(context, "context")  # first: every later check reads the whole text
    for name, text in (("query", query), ("context", context)):
        surrogate = lone_surrogate(text)
        if surrogate is not None:  # as the client and the server refuse it: no output could be encoded
            raise ValueError(f"{name} holds a lone surrogate ({surrogate!r}) at offset {text.index(surrogate)}, "
                             "which is not valid Unicode; decode the text with errors='replace'")
    if context_path is not None:
        if not isinstance(context_path, str) or not context_path.strip():
            raise TypeError("context_path must be a non-empty string such as 'pkg/module.py'")
        if file_path not in _NO_PATH:
            raise ValueError("context_path names where context came from; with file_path, leave it out")
    if max_tokens is None:
        return default_budget
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise TypeError(f"max_tokens must be an integer; got {type(max_tokens).__name__}")
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be a positive number of tokens; got {max_tokens}")
    return max_tokens


def is_multi(file_path: Any) -> bool:
    """Whether the input is several files (a folder or a list of more than one path): output gets file headers."""
    if file_path in _NO_PATH:
        return False
    if isinstance(file_path, (list, tuple)):
        return len(file_path) > 1 or any(os.path.isdir(p) for p in file_path)
    return os.path.isdir(file_path)


def load_inputs(context: str, file_path: Any, warnings: list[str], context_path: str | None = None,
                on_parse: OnParse | None = None) -> list[SourceFile]:
    """The parsed sources: ``file_path`` when given, else ``context`` (named ``context_path``); their load
    warnings go to ``warnings``; ``on_parse`` as in :func:`~scaledown_core.code.parse_source`."""
    if file_path in _NO_PATH:
        files = _context_sources(context, context_path, on_parse)
        if not files:
            warnings.append("no source: context is empty and no file_path was given" if not context
                            else "no source: context is blank and no file_path was given")
    else:
        files = load_sources(file_path, warnings, on_parse)
    for sf in files:
        warnings.extend(w for w in sf.warnings if w not in warnings)
    return files


def _context_sources(context: str, context_path: str | None, on_parse: OnParse | None) -> list[SourceFile]:
    """``context`` as one source, or, when it is an optimizer's output with file headers (a pipeline's
    earlier stage), one source per header, so the files keep their names."""
    if not context.strip():
        return []
    sections = split_rendered(context) if context_path is None else None
    if sections is None:
        return [parse_source(context, path=context_path, on_parse=on_parse)]
    return [parse_source(text, path=path, on_parse=on_parse) for path, text in sections]


@dataclass
class Request:
    """One ``optimize`` call, checked and loaded: what an optimizer's selection stage works on."""

    query: str
    budget: int | None
    files: list[SourceFile]
    warnings: list[str]
    multi: bool


def read_request(context: Any, query: Any, file_path: Any, max_tokens: Any, extra: Mapping[str, Any],
                 default_budget: int | None, context_path: Any = None, on_parse: OnParse | None = None) -> Request:
    """Checks an ``optimize`` call's arguments and loads its sources; unknown ``extra`` arguments warn.
    ``on_parse`` as in :func:`~scaledown_core.code.parse_source`."""
    budget = check_arguments(context, query, file_path, max_tokens, default_budget, context_path)
    warnings: list[str] = []
    if extra:
        warnings.append(f"ignored unknown arguments: {', '.join(sorted(extra))}")
    files = load_inputs(context, file_path, warnings, context_path, on_parse)
    if file_path in _NO_PATH:  # context split at file headers keeps its headers in the output
        multi = context_path is None and any(sf.path is not None for sf in files)
    else:
        multi = is_multi(file_path)
    return Request(str(query), budget, files, warnings, multi)
