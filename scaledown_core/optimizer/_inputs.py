"""Argument checks and input loading shared by the optimizers (one home for the stage protocol's inputs)."""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping

from ..code import OnParse, SourceFile, load_sources, parse_source
from ..code.loader import path_items
from ..code.render import split_rendered
from ..limits import check_text_size
from ..retrieval.text import lone_surrogate

__all__ = ["IndexUse", "Request", "check_arguments", "is_multi", "load_inputs", "read_request"]

logger = logging.getLogger(__name__)

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
    if context and file_path not in _NO_PATH:
        _path_of_context(file_path)
    if max_tokens is None:
        return default_budget
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise TypeError(f"max_tokens must be an integer; got {type(max_tokens).__name__}")
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be a positive number of tokens; got {max_tokens}")
    return max_tokens


def _path_of_context(file_path: Any) -> str:
    """The one file ``context`` is the text of, when both are given; ValueError when ``file_path`` names
    a folder or several files (which of them would the text be?)."""
    items = path_items(file_path)
    if len(items) != 1 or os.path.isdir(items[0]):
        raise ValueError("with context given, file_path names the one file the context is the text of; "
                         f"got {'a folder' if len(items) == 1 else f'{len(items)} paths'}. Pass the folder "
                         "or the paths alone (context='') to read them")
    return os.fspath(items[0])


def is_multi(file_path: Any) -> bool:
    """Whether the input is several files (a folder or a list of more than one path): output gets file headers."""
    if file_path in _NO_PATH:
        return False
    if isinstance(file_path, (list, tuple)):
        return len(file_path) > 1 or any(os.path.isdir(p) for p in file_path)
    return os.path.isdir(file_path)


@dataclass(frozen=True)
class IndexUse:
    """Read a folder through its persistent index (:mod:`scaledown_core.index`) in ``cache_dir``."""

    target_model: str
    cache_dir: str | None = None


def indexed_folder(file_path: Any) -> Any:
    """The folder ``file_path`` names alone (a path, or a list of one), which an index can serve; else None."""
    if isinstance(file_path, (list, tuple)) and len(file_path) == 1:
        file_path = file_path[0]
    if isinstance(file_path, (str, os.PathLike)) and os.fspath(file_path).strip() and os.path.isdir(file_path):
        return file_path
    return None


def _load_indexed(folder: Any, index: IndexUse, warnings: list[str]) -> list[SourceFile] | None:
    """The folder's sources from its index (brought up to date), or None when the index cannot be used."""
    from ..index import load_tree

    try:
        files, load_warnings = load_tree(folder, index.target_model, index.cache_dir)
    except (OSError, sqlite3.Error) as exc:  # a full disk or a wedged database must not lose the query
        message = f"index of {os.fspath(folder)} unusable ({exc}); the folder was read directly"
        logger.warning(message)
        warnings.append(message)
        return None
    warnings.extend(load_warnings)
    return files


def load_inputs(context: str, file_path: Any, warnings: list[str], context_path: str | None = None,
                on_parse: OnParse | None = None, index: IndexUse | None = None) -> list[SourceFile]:
    """The parsed sources: ``file_path`` when given, else ``context`` (named ``context_path``); their load
    warnings go to ``warnings``; ``on_parse`` as in :func:`~scaledown_core.code.parse_source`. With
    ``index``, a folder named alone is read through its persistent index (same files, same order)."""
    folder = indexed_folder(file_path) if index is not None else None
    files: list[SourceFile] | None = None
    if folder is not None and index is not None:
        files = _load_indexed(folder, index, warnings)
    if files is not None:
        pass
    elif file_path in _NO_PATH:
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
                 default_budget: int | None, context_path: Any = None, on_parse: OnParse | None = None,
                 index: IndexUse | None = None) -> Request:
    """Checks an ``optimize`` call's arguments and loads its sources; unknown ``extra`` arguments are a
    TypeError naming them. ``on_parse`` as in :func:`~scaledown_core.code.parse_source`; ``index`` as in
    :func:`load_inputs`."""
    budget = check_arguments(context, query, file_path, max_tokens, default_budget, context_path)
    if context and file_path not in _NO_PATH:  # the text of that file, as an editor buffer would give it
        context_path, file_path = _path_of_context(file_path), None
    if extra:
        raise TypeError(f"optimize() got unexpected keyword argument(s) {', '.join(map(repr, sorted(extra)))}; it "
                        "takes context, query, file_path, max_tokens and context_path (settings such as top_k "
                        "belong to the optimizer's constructor)")
    warnings: list[str] = []
    files = load_inputs(context, file_path, warnings, context_path, on_parse, index)
    if file_path in _NO_PATH:  # context split at file headers keeps its headers in the output
        multi = context_path is None and any(sf.path is not None for sf in files)
    else:
        multi = is_multi(file_path)
    return Request(str(query), budget, files, warnings, multi)
