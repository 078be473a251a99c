"""The code model: source parsed once (tree-sitter) into units that every optimizer shares.

Python, JavaScript, TypeScript/TSX, Go, Java and Rust (``languages``: extension -> grammar wheel,
``queries/<lang>.scm``, line comment; the non-Python grammars come with the ``code`` extra). Python is
built by ``model``; the others from their query captures by ``polyglot``, into the same units.

API::

    parse_source(text, path=None, language=None) -> SourceFile
        # cached by (path, content hash), bounded LRU; the language from path's extension (Python when
        # none is known), or ``language`` ("go", "ts", ...)
        # on_parse=f: f(text, lines) is called just before a (not cached) parse: start work that
        # needs only the text (token counts) in another thread while tree-sitter runs
    load_sources(paths, warnings=None, on_parse=None) -> list[SourceFile]
        # a file, a directory (every .py below it; virtual envs, build, hidden, __pycache__ and
        # site-packages skipped; folder symlinks followed once; paths shown relative to the directory,
        # behind its name when several directories are given) or a list of both.
        # Missing/unreadable path -> OptimizerError naming it; binary or non-regular file refused
        # alone, skipped (warning) in a directory; a directory with no .py file warns; non-UTF-8
        # decoded with replacement and reported in warnings.
    split_rendered(text) -> [(path, text)] | None      # render's multi-file output, back into its files
    CodeBase(files)                                    # units by key + call graph
        .units: dict[key, CodeUnit]; .file_of: dict[key, SourceFile]
        .callees(key) -> [key]; .callers(key) -> [key]; .resolve(unit, "self.x") -> [key]
    SourceFile.blocks(unit) -> tuple[Block, ...]       # the unit cut at statement boundaries
    unit_lines(unit, blocks=None) -> [line]            # whole unit, or head + blocks (+ their context)
    render(files, {path: lines}, headers=None) -> str  # source order, "# ..." ("// ..." in C-like
                                                       # languages) for removed regions,
                                                       # "# file: <path>" headers when several files
    shown_text(sf, unit, lines) -> str                 # the unit's shown lines, "# ..." for its hidden runs

``CodeUnit``: ``key`` (``"path::Qual.name"``, or ``"Qual.name"`` without a path; a repeated name gets
``@line``), ``path``, ``kind`` (``function`` | ``method`` | ``class`` = the class header: decorators,
``class`` line, docstring, class attributes | ``module`` = a run of module-level statements; imports are
their own ``module`` units with ``is_import``), ``name``, ``qualname`` (``Class.method``; nested functions
belong to their outer function; ``<module:LINE>`` for module units), ``start_line``/``end_line`` (1-based,
inclusive, decorators included; a class header spans its whole class), ``regions`` (the line ranges the
unit shows when shown whole), ``head`` (the signature and docstring lines, shown when the unit is shown in
part), ``text`` (the lines of ``regions``), ``signature``, ``docstring``, ``parent`` (key of the enclosing
class header), ``terms`` (identifier-aware, ``scaledown_core.retrieval.text.terms`` of text + qualname),
``calls`` (raw callee expressions: ``foo``, ``self.bar``, ``mod.baz``), ``references`` (identifiers used),
``bases`` (class headers).

``SourceFile``: ``path``, ``language``, ``text``, ``lines`` (``lines[i]`` is line ``i + 1``), ``units`` (source order,
a class header before its methods), ``by_key``, ``imports`` (local name -> dotted target, e.g.
``{"np": "numpy", "helper": ".utils.helper"}``), ``has_syntax_errors``, ``warnings``, ``digest``,
``module_name``, ``unit_at(line)``.

Every line of a file belongs to at most one unit; blank lines between units belong to none. Units of a
file with syntax errors are still produced for the parts tree-sitter could recover.
"""

from .graph import CodeBase
from .loader import SKIP_DIRS, load_sources
from .model import UNIT_KINDS, Block, CodeUnit, OnParse, SourceFile, clear_cache, module_name_of, parse_source
from .render import ELISION, FILE_HEADER, render, shown_text, unit_lines

__all__ = [
    "Block",
    "CodeBase",
    "CodeUnit",
    "OnParse",
    "ELISION",
    "FILE_HEADER",
    "SKIP_DIRS",
    "SourceFile",
    "UNIT_KINDS",
    "clear_cache",
    "load_sources",
    "module_name_of",
    "parse_source",
    "render",
    "shown_text",
    "unit_lines",
]
