"""Parse Python source into a :class:`SourceFile` of :class:`CodeUnit` s (tree-sitter, cached by content)."""

from __future__ import annotations

import hashlib
import operator
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..retrieval.text import terms as text_terms, terms_of_words, words as text_words

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Block", "CodeUnit", "SourceFile", "parse_source", "clear_cache", "UNIT_KINDS", "OnParse"]

UNIT_KINDS = ("function", "method", "class", "module")

OnParse = Callable[[str, list[str]], object]
"""Called with a source's text and lines just before tree-sitter parses it (see :func:`parse_source`)."""

# Parsed files kept in memory, keyed by (path, content hash): a file and a few dozen neighbours of
# the same session are re-ranked without re-parsing; a bound keeps a long-lived process small.
CACHE_SIZE = 256
# Module-level code is cut into blocks at statement boundaries so that one huge constant table
# does not ride along with the imports; this many lines at most per module unit.
MODULE_BLOCK_MAX_LINES = 40
# A line longer than this is not code a person wrote (minified, generated, a data blob): its file is
# kept as plain text, unparsed, since a parse of one line of a hundred thousand statements costs
# hundreds of bytes of memory per character and a line is shown whole or not at all anyway.
LONG_LINE_CHARS = 100_000
# A compound statement longer than this is opened into its clauses when a unit is split into blocks,
# so that a match deep inside a long ``if``/``for``/``try`` does not pull in the whole statement.
BLOCK_OPEN_LINES = 12

_DEF_TYPES = {"function_definition", "class_definition"}
# Top-level compound statements whose bodies may hold definitions (``if PY3: def u(x): ...``);
# Python's own qualified names ignore them, so their definitions are module-level units.
_DESCEND_TYPES = {"if_statement", "try_statement", "with_statement"}
_CLAUSE_TYPES = {"elif_clause", "else_clause", "except_clause", "except_group_clause", "finally_clause",
                 "case_clause"}
_IMPORT_TYPES = {"import_statement", "import_from_statement", "future_import_statement"}
_START_BYTE = operator.attrgetter("start_byte")


@dataclass(frozen=True)
class Block:
    """A statement-level piece of a unit, for showing the unit in part.

    ``start_line``/``end_line`` are 1-based and inclusive; ``context`` lists the lines of the enclosing
    compound-statement headers inside the unit (``if x:``, ``try:``, ``for ...:``) that make it readable.
    """

    start_line: int
    end_line: int
    context: tuple[int, ...] = ()

    def line_numbers(self) -> list[int]:
        return list(self.context) + list(range(self.start_line, self.end_line + 1))


@dataclass
class CodeUnit:
    """One selectable piece of a Python file.

    ``kind`` is ``function`` (module-level def, nested defs included), ``method``, ``class`` (the class
    header: decorators, ``class`` line, docstring, class attributes and comments; not its methods) or
    ``module`` (a run of module-level statements: imports, constants, assignments, ``if __name__``).
    ``start_line``/``end_line`` are 1-based, inclusive, decorators included; for a class header they span
    the whole class while ``regions`` are the line ranges the unit itself shows. ``head`` is the range
    always shown when the unit is shown in part (signature and docstring).
    """

    key: str
    path: str | None
    kind: str
    name: str
    qualname: str
    start_line: int
    end_line: int
    regions: tuple[tuple[int, int], ...]
    text: str
    signature: str
    docstring: str | None
    parent: str | None
    head: tuple[int, int]
    terms: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """Raw callee expressions in source order, distinct: ``foo``, ``self.bar``, ``mod.baz``."""
    references: frozenset[str] = frozenset()
    """The names the unit's text uses: identifiers and the first part of each dotted name (``x.copy()``
    uses ``x``, not ``copy``: an ``import copy`` is not what it needs)."""
    is_import: bool = False
    """A module unit made only of import statements."""
    bases: tuple[str, ...] = ()
    """For a class header: the base-class expressions as written."""
    guards: tuple[tuple[int, int], ...] = ()
    """For a definition inside a top-level ``if``/``try``/``with``: the line ranges of the headers it sits
    under (``if PY3:``, ``else:``), outermost first; shown with it, as a method's class line is."""

    def line_numbers(self) -> list[int]:
        """Every line the unit shows when shown whole, ascending."""
        return [n for a, b in self.regions for n in range(a, b + 1)]

    def signature_lines(self) -> list[int]:
        """The lines of the signature, decorators included (none for a module unit): for a class, the
        lines a method of it is shown under when the class is not shown whole."""
        return list(range(self.start_line, min(self.start_line + self.signature.count("\n"), self.head[1]) + 1))

    @property
    def n_lines(self) -> int:
        return sum(b - a + 1 for a, b in self.regions)


@dataclass
class SourceFile:
    """A parsed Python file: its lines, units in source order, imports and parse diagnostics.

    ``lines[i]`` is line ``i + 1`` (split on ``\\n``, a trailing ``\\r`` removed). ``imports`` maps a
    local name to the dotted thing it names (``os.path``, ``.utils.helper``, ``numpy``).
    """

    path: str | None
    text: str
    lines: list[str]
    units: list[CodeUnit]
    imports: dict[str, str]
    has_syntax_errors: bool
    warnings: list[str]
    digest: str
    _tree: Any = field(default=None, repr=False)
    _stmts: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _blocks: dict[str, tuple[Block, ...]] = field(default_factory=dict, repr=False)
    language: str = "python"
    """The language it was read as (``scaledown_core.code.languages``: python, javascript, typescript, tsx,
    go, java, rust)."""

    def __post_init__(self) -> None:
        self.by_key: dict[str, CodeUnit] = {u.key: u for u in self.units}

    @property
    def module_name(self) -> str | None:
        """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; ``pkg/__init__.py`` -> ``pkg``; None without a path."""
        return module_name_of(self.path)

    def unit_at(self, line: int) -> CodeUnit | None:
        """The unit that shows ``line`` (the innermost: a method before its class header)."""
        for unit in self.units:
            if any(a <= line <= b for a, b in unit.regions):
                return unit
        return None

    def blocks(self, unit: CodeUnit) -> tuple[Block, ...]:
        """``unit`` cut at statement boundaries (long compound statements opened), head excluded."""
        cached = self._blocks.get(unit.key)
        if cached is None:
            cached = _join_shared_lines(_split(self._stmts.get(unit.key, []), unit.head[1]))
            self._blocks[unit.key] = cached
        return cached

    def text_of(self, line_numbers: list[int]) -> str:
        return "\n".join(self.lines[n - 1] for n in line_numbers)


def module_name_of(path: str | None) -> str | None:
    if not path:
        return None
    p = path.replace("\\", "/")
    if p.endswith(".py"):
        p = p[:-3]
    parts = [s for s in p.split("/") if s and s != "."]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


# --------------------------------------------------------------------------- tree-sitter setup


@lru_cache(maxsize=1)
def _language() -> Any:
    import tree_sitter_python
    from tree_sitter import Language

    return Language(tree_sitter_python.language())


@lru_cache(maxsize=1)
def _query() -> Any:
    from tree_sitter import Query

    src = resources.files(__package__).joinpath("queries/python.scm").read_text(encoding="utf-8")
    return Query(_language(), src)


_local = threading.local()


def _parser() -> Any:
    # a Parser is not safe to share between threads (aoptimize runs in worker threads)
    parser = getattr(_local, "parser", None)
    if parser is None:
        from tree_sitter import Parser

        parser = _local.parser = Parser(_language())
    return parser


# --------------------------------------------------------------------------- cache

_cache: "OrderedDict[tuple[str | None, ...], SourceFile]" = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every parsed file."""
    with _cache_lock:
        _cache.clear()


_BARE_CR = re.compile(r"\r(?!\n)")


def parse_source(text: str, path: str | None = None, warnings: list[str] | None = None,
                 on_parse: OnParse | None = None, language: str | None = None) -> SourceFile:
    """Parse ``text`` (the source of ``path``, if any) into a :class:`SourceFile`.

    Never fails on bad Python: tree-sitter recovers and units outside the broken region still count
    (``has_syntax_errors`` says so). Results are cached by path and content hash (bounded LRU).
    ``on_parse`` is called with the text and lines the file will have just before a parse (not on a
    cache hit), so that work needing only those can run in another thread meanwhile.
    ``language`` (``"go"``, ``"ts"``, ...) overrides the one ``path``'s extension names; without either
    the text is Python.
    """
    if not isinstance(text, str):
        raise TypeError(f"source text must be str, got {type(text).__name__}")
    if "\r" in text:  # Python ends lines at \r too (old Mac files); tree-sitter reads only \n and \r\n
        text = _BARE_CR.sub("\n", text)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    spec = _language_of(path, language)
    key: tuple[str | None, ...] = (path, digest)
    if language is not None or spec is not None:
        key += (spec.name if spec is not None else "python",)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    if hit is not None:
        if warnings and not hit.warnings:
            hit.warnings = list(warnings)
        return hit
    if spec is not None:
        from .polyglot import build_other

        sf = build_other(text, path, digest, list(warnings or []), spec, on_parse)
    else:
        sf = _build_python(text, path, digest, warnings, on_parse)
    with _cache_lock:
        _cache[key] = sf
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return sf


def _language_of(path: str | None, language: str | None) -> "Any":
    """The spec of a language other than Python that ``language`` or ``path`` names; None for Python."""
    from .languages import get_language, language_for_path

    spec = get_language(language) if language is not None else language_for_path(path)
    return None if spec is None or spec.name == "python" else spec


def _build_python(text: str, path: str | None, digest: str, warnings: list[str] | None,
                  on_parse: OnParse | None) -> SourceFile:
    try:
        sf = _Builder(text, path, digest, list(warnings or [])).build(on_parse)
    except RecursionError:  # statements nested deeper than the walk's recursion can follow
        sf = _Builder(text, path, digest, list(warnings or [])).build_unparsed()
    return sf


# --------------------------------------------------------------------------- building units


def _row(node: "Node") -> int:
    return node.start_point[0] + 1


def _end_row(node: "Node") -> int:
    # a node that ends at column 0 ends on the previous line (a block swallowing its newline)
    row, col = node.end_point
    return row if col == 0 and row > node.start_point[0] else row + 1


def _starting_below(stmts: list["Node"], line: int) -> list["Node"]:
    """The statements of ``stmts`` (siblings, in source order) that start below ``line``."""
    for k, stmt in enumerate(stmts):
        if _row(stmt) > line:
            return stmts[k:]
    return []


def _definition(node: "Node") -> "Node | None":
    """The function/class definition that ``node`` is or decorates."""
    if node.type in _DEF_TYPES:
        return node
    if node.type == "decorated_definition":
        d = node.child_by_field_name("definition")
        if d is not None and d.type in _DEF_TYPES:
            return d
    return None


def _docstring_node(body: "Node | None") -> "Node | None":
    if body is None:
        return None
    for child in body.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1:
            inner = child.named_children[0]
            if inner.type in ("string", "concatenated_string"):
                return child
        return None
    return None


def _strip_string(literal: str) -> str:
    s = literal.strip()
    s = s.lstrip("rRbBuUfF")
    for q in ('"""', "'''", '"', "'"):
        if s.startswith(q) and s.endswith(q) and len(s) >= 2 * len(q):
            return s[len(q):-len(q)].strip()
    return s


class _Builder:
    def __init__(self, text: str, path: str | None, digest: str, warnings: list[str]) -> None:
        self.text = text
        self.path = path
        self.digest = digest
        self.warnings = warnings
        self.lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
        if self.lines and self.lines[-1] == "" and text.endswith("\n"):
            self.lines.pop()
        self.data = text.encode("utf-8", "surrogatepass")
        self.units: list[CodeUnit] = []
        self.stmts: dict[str, list[Node]] = {}
        self.used_keys: set[str] = set()

    # ----------------------------------------------------------------- helpers
    def node_text(self, node: "Node") -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def lines_text(self, regions: tuple[tuple[int, int], ...]) -> str:
        return "\n".join([line for a, b in regions for line in self.lines[a - 1:b]])

    def make_key(self, qualname: str, line: int) -> str:
        base = f"{self.path}::{qualname}" if self.path else qualname
        key = base if base not in self.used_keys else f"{base}@{line}"
        self.used_keys.add(key)
        return key

    # ----------------------------------------------------------------- build
    def build(self, on_parse: OnParse | None = None) -> SourceFile:
        if not self.text.strip():
            return SourceFile(self.path, self.text, self.lines, [], {}, False, self.warnings, self.digest)
        if on_parse is not None:
            on_parse(self.text, self.lines)
        longest = max(map(len, self.lines), default=0)
        if longest > LONG_LINE_CHARS:
            return self.build_unparsed(f"a line of {longest:,} characters (minified or generated code?)")
        tree = _parser().parse(self.data)
        root = tree.root_node
        module_pieces: list[tuple[int, int, Node]] = []
        self.walk_module(root.named_children, module_pieces)
        self.build_module_units(module_pieces)
        self.units.sort(key=lambda u: (u.regions[0][0], u.kind != "class"))
        imports, calls = self.run_query(root)
        self.attach_calls(calls)
        sf = SourceFile(self.path, self.text, self.lines, self.units, imports, root.has_error,
                        self.warnings, self.digest, _tree=tree, _stmts=self.stmts)
        if root.has_error:
            sf.warnings.append(
                f"{self.path or 'source'}: syntax errors; units outside the broken region are still used"
            )
        return sf

    def build_unparsed(self, why: str = "statements nested too deeply to parse") -> SourceFile:
        """The file as plain module code, in runs of ``MODULE_BLOCK_MAX_LINES`` lines (no definitions,
        calls or imports): for a file too deeply nested to walk, or with a line too long to parse."""
        for a in range(1, len(self.lines) + 1, MODULE_BLOCK_MAX_LINES):
            b = min(a + MODULE_BLOCK_MAX_LINES - 1, len(self.lines))
            key = self.make_key(f"<module:{a}>", a)
            self.units.append(self.unit(key, "module", "module code", f"<module:{a}>", a, b, ((a, b),), "", None,
                                        None, (a, a - 1)))
        self.warnings.append(f"{self.path or 'source'}: {why}; "
                             "its code is kept as plain text, without functions or classes")
        return SourceFile(self.path, self.text, self.lines, self.units, {}, True, self.warnings, self.digest)

    def walk_module(self, nodes: list["Node"], pieces: list[tuple[int, int, "Node"]],
                    guards: tuple[tuple[int, int], ...] = ()) -> None:
        for node in nodes:
            definition = _definition(node)
            if definition is not None:
                self.add_definition(node, definition, prefix="", parent=None, guards=guards)
            elif node.type in _DESCEND_TYPES and self.holds_definitions(node):
                self.walk_compound(node, pieces, guards)
            else:
                pieces.append((_row(node), _end_row(node), node))

    def holds_definitions(self, node: "Node") -> bool:
        for child in node.named_children:
            if child.type == "block" and any(_definition(s) is not None for s in child.named_children):
                return True
            if child.type in _CLAUSE_TYPES and self.holds_definitions(child):
                return True
        return False

    def walk_compound(self, node: "Node", pieces: list[tuple[int, int, "Node"]],
                      guards: tuple[tuple[int, int], ...] = ()) -> None:
        """A top-level if/try/with holding definitions: its headers are module lines, its defs units
        guarded by them (a def under ``else:`` by the ``if`` line and the ``else:`` line)."""
        first_body = None
        for child in node.children:
            if child.type == "block":
                first_body = child
                break
        header_end = (_row(first_body) - 1) if first_body is not None else _end_row(node)
        if header_end >= _row(node):
            pieces.append((_row(node), header_end, node))
            guards = guards + ((_row(node), header_end),)
        for child in node.named_children:
            if child.type == "block":
                self.walk_module(child.named_children, pieces, guards)
            elif child.type in _CLAUSE_TYPES:
                self.walk_compound(child, pieces, guards)

    def add_definition(self, outer: "Node", definition: "Node", prefix: str, parent: str | None,
                       guards: tuple[tuple[int, int], ...] = ()) -> None:
        name_node = definition.child_by_field_name("name")
        name = self.node_text(name_node) if name_node is not None else "?"
        qualname = f"{prefix}{name}"
        start, end = _row(outer), _end_row(outer)
        body = definition.child_by_field_name("body")
        doc = _docstring_node(body)
        sig_end = (_row(body) - 1) if body is not None and _row(body) > _row(definition) else _row(definition)
        sig_end = max(sig_end, _row(definition))
        head_end = _end_row(doc) if doc is not None else sig_end
        head_end = min(max(head_end, sig_end), end)
        signature = "\n".join(self.lines[start - 1:sig_end]).strip()
        docstring = _strip_string(self.node_text(doc)) if doc is not None else None
        key = self.make_key(qualname, start)
        if definition.type == "function_definition":
            kind = "method" if parent is not None else "function"
            regions = ((start, end),)
            stmts = [s for s in (body.named_children if body is not None else []) if doc is None or s != doc]
            self.stmts[key] = _starting_below(stmts, head_end)
            unit = self.unit(key, kind, name, qualname, start, end, regions, signature, docstring, parent,
                             (start, head_end))
            unit.guards = guards
            self.units.append(unit)
            return
        # class: a header unit owning the non-def lines, and one unit per method / nested class
        bases_node = definition.child_by_field_name("superclasses")
        bases = tuple(self.node_text(b) for b in bases_node.named_children) if bases_node is not None else ()
        own: list[tuple[int, int]] = [(start, head_end)]
        header_stmts: list[Node] = []
        for stmt in body.named_children if body is not None else []:
            if doc is not None and stmt == doc:
                continue
            inner = _definition(stmt)
            if inner is not None:
                self.add_definition(stmt, inner, prefix=f"{qualname}.", parent=key)
            elif _row(stmt) > head_end:
                own.append((_row(stmt), _end_row(stmt)))
                header_stmts.append(stmt)
        regions = _merge_ranges(own)
        self.stmts[key] = header_stmts
        unit = self.unit(key, "class", name, qualname, start, end, regions, signature, docstring, parent,
                         (start, head_end))
        unit.bases = bases
        unit.guards = guards
        self.units.append(unit)

    def build_module_units(self, pieces: list[tuple[int, int, "Node"]]) -> None:
        """Group module-level statements into units: runs between definitions, imports apart."""
        owned = sorted((a, b) for u in self.units for a, b in u.regions)
        starts = [a for a, _ in owned]
        import bisect

        def unit_between(a: int, b: int) -> bool:
            i = bisect.bisect_right(starts, a)
            return i < len(starts) and starts[i] < b

        group: list[tuple[int, int, Node]] = []
        # the group's kind, kept up to date as pieces join it (rescanning it per piece is quadratic)
        has_import, imports_or_comments = False, True

        def flush() -> None:
            nonlocal has_import, imports_or_comments
            if not group:
                return
            a, b = group[0][0], group[-1][1]
            only_imports = imports_or_comments and has_import
            has_import, imports_or_comments = False, True
            name = "imports" if only_imports else self.module_name(group)
            key = self.make_key(f"<module:{a}>", a)
            unit = self.unit(key, "module", name, f"<module:{a}>", a, b, _merge_ranges([(x, y) for x, y, _ in group]),
                             "", None, None, (a, a - 1))
            unit.is_import = only_imports
            self.stmts[key] = [n for _, _, n in group]
            self.units.append(unit)
            group.clear()

        for piece in sorted(pieces, key=lambda p: p[0]):
            a, b, node = piece
            node_type = node.type
            is_imp = node_type in _IMPORT_TYPES
            if group:
                ga, gb = group[0][0], group[-1][1]
                switch = node_type != "comment" and is_imp != (imports_or_comments and has_import)
                if unit_between(gb, a) or b - ga + 1 > MODULE_BLOCK_MAX_LINES or switch:
                    flush()
            group.append(piece)
            has_import = has_import or is_imp
            imports_or_comments = imports_or_comments and (is_imp or node_type == "comment")
        flush()

    def module_name(self, group: list[tuple[int, int, "Node"]]) -> str:
        names: list[str] = []
        for _, _, node in group:
            if node.type == "expression_statement" and node.named_child_count:
                inner = node.named_children[0]
                if inner.type == "assignment":
                    left = inner.child_by_field_name("left")
                    if left is not None:
                        names.append(self.node_text(left))
            elif node.type in ("if_statement",):
                names.append(self.node_text(node).split("\n", 1)[0].rstrip(":"))
        return ", ".join(names[:4]) if names else "module code"

    def unit(self, key: str, kind: str, name: str, qualname: str, start: int, end: int,
             regions: tuple[tuple[int, int], ...], signature: str, docstring: str | None, parent: str | None,
             head: tuple[int, int]) -> CodeUnit:
        text = self.lines_text(regions)
        found = text_words(text)
        unit_terms = terms_of_words(found)
        if kind != "module":
            unit_terms.extend(text_terms(qualname))
        return CodeUnit(key=key, path=self.path, kind=kind, name=name, qualname=qualname, start_line=start,
                        end_line=end, regions=regions, text=text, signature=signature, docstring=docstring,
                        parent=parent, head=head, terms=unit_terms, references=names_used(found))

    # ----------------------------------------------------------------- calls and imports
    def run_query(self, root: "Node") -> tuple[dict[str, str], list[tuple[int, str]]]:
        from tree_sitter import QueryCursor

        captures = QueryCursor(_query()).captures(root)
        # py-tree-sitter returns captures in an order that changes from parse to parse: sort by position,
        # the enclosing callee first when two start together (``super(K, self).run`` before ``super``)
        callees = sorted(captures.get("callee", []), key=lambda n: (n.start_byte, -n.end_byte))
        calls = [(n.start_point[0] + 1, self.node_text(n)) for n in callees]  # _row, inlined: many calls
        imports: dict[str, str] = {}
        for node in sorted(captures.get("import", []), key=_START_BYTE):
            self.read_import(node, imports)
        return imports, calls

    def read_import(self, node: "Node", out: dict[str, str]) -> None:
        if node.type == "import_statement":
            for child in node.named_children:
                if child.type == "aliased_import":
                    target = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    if target is not None and alias is not None:
                        out[self.node_text(alias)] = self.node_text(target)
                elif child.type == "dotted_name":
                    dotted = self.node_text(child)
                    out[dotted.split(".")[0]] = dotted.split(".")[0]
            return
        module_node = node.child_by_field_name("module_name")
        module = self.node_text(module_node) if module_node is not None else ""
        for child in node.named_children:
            if module_node is not None and child == module_node:
                continue
            if child.type == "aliased_import":
                target = child.child_by_field_name("name")
                alias = child.child_by_field_name("alias")
                if target is not None and alias is not None:
                    out[self.node_text(alias)] = _join(module, self.node_text(target))
            elif child.type == "dotted_name":
                name = self.node_text(child)
                out[name] = _join(module, name)

    def attach_calls(self, calls: list[tuple[int, str]]) -> None:
        if not calls or not self.units:
            return
        owner: dict[int, CodeUnit] = {}
        # class headers first so that a method's lines are claimed by the method
        for unit in sorted(self.units, key=lambda u: u.kind != "class"):
            for a, b in unit.regions:
                owner.update(dict.fromkeys(range(a, b + 1), unit))
        seen: dict[str, set[str]] = {}
        for row, callee in calls:
            unit = owner.get(row)
            if unit is None:
                continue
            callee = " ".join(callee.split())
            s = seen.setdefault(unit.key, set())
            if callee not in s:
                s.add(callee)
                unit.calls.append(callee)


def names_used(text_words: list[str]) -> frozenset[str]:
    """The names a text uses, from its :func:`~scaledown_core.retrieval.text.words`: each identifier
    and the first part of each dotted name (an attribute is no use of a module-level name)."""
    return frozenset(w.split(".", 1)[0] for w in set(text_words) if not w[0].isdigit())


def _join(module: str, name: str) -> str:
    if not module:
        return name
    return module + name if module.endswith(".") else f"{module}.{name}"


def _merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


# --------------------------------------------------------------------------- blocks


def _join_shared_lines(blocks: Iterator[Block]) -> tuple[Block, ...]:
    """Blocks that share a line (``a = 1; b = 2``, or a minified file's one line of thousands of
    statements) joined into one: a line is shown whole or not at all, and one block per statement would
    make scoring a line's blocks cost its length times its statements."""
    out: list[Block] = []
    for block in blocks:
        last = out[-1] if out else None
        if last is not None and block.start_line <= last.end_line and block.context == last.context:
            out[-1] = Block(last.start_line, max(last.end_line, block.end_line), last.context)
        else:
            out.append(block)
    return tuple(out)


def _split(stmts: list["Node"], head_end: int) -> Iterator[Block]:
    for stmt in stmts:
        yield from _open(stmt, (), head_end)


def _body_children(node: "Node") -> list["Node"]:
    """The body blocks and clauses of a compound statement, in order."""
    target = _definition(node) if node.type == "decorated_definition" else node
    if target is None:
        return []
    return [c for c in target.children if c.type == "block" or c.type in _CLAUSE_TYPES]


def _open(node: "Node", context: tuple[int, ...], head_end: int) -> Iterator[Block]:
    start, end = _row(node), _end_row(node)
    parts = _body_children(node)
    if end - start + 1 <= BLOCK_OPEN_LINES or not parts:
        if end > head_end:
            yield Block(max(start, head_end + 1), end, context)
        return
    cursor = start
    for part in parts:
        if part.type == "block":
            body_row = _row(part)
            header = tuple(range(cursor, body_row)) if body_row > cursor else ()
            if not header:  # body on the header line: cannot open
                yield Block(start, end, context)
                return
            inner_ctx = context + header
            for stmt in part.named_children:
                yield from _open(stmt, inner_ctx, head_end)
            cursor = _end_row(part) + 1
        else:
            yield from _open(part, context, head_end)
            cursor = _end_row(part) + 1
