"""Build a :class:`SourceFile` for a language other than Python from its tree-sitter query captures.

Each ``queries/<lang>.scm`` marks definitions (``@definition.function``, ``@definition.method``,
``@definition.class``, ``@definition.impl``, each with a ``@name``; a Go method also has a ``@receiver``),
calls (``@callee``) and imports (``@import``). From these the builder makes the same units Python has:
functions; methods qualified by their class, impl type or Go receiver (``Type.method``); class-like
headers (classes, interfaces, structs, enums, traits, impl blocks, Rust modules: the lines that are not
their members'); and module units (runs of top-level lines, imports apart). A definition's leading doc
comments, decorators, annotations and ``#[attributes]`` belong to it; a definition nested in a function
belongs to that function, as in Python.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .languages import LanguageSpec, grammar_problem, ts_language, ts_query
from .model import MODULE_BLOCK_MAX_LINES, OnParse, SourceFile, _Builder, _end_row, _merge_ranges, _row

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["build_other", "plain_source"]

# Sibling nodes just above a definition that belong to it: its annotations, decorators and attributes.
_ATTRIBUTE_TYPES = frozenset({"attribute_item", "decorator", "marker_annotation", "annotation"})
_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
# Parents a definition's unit widens to: ``export``, ``const f = () => {}``, ``obj.f = function () {}``.
_WRAPPER_TYPES = frozenset({"export_statement", "lexical_declaration", "variable_declaration",
                            "expression_statement", "ambient_declaration"})
_CONTAINER_KINDS = frozenset({"class", "impl"})
# Bodies that only wrap the statements (Go's block holds a statement_list).
_STATEMENT_LISTS = frozenset({"statement_list"})
# A line this long is no source a reader wrote: a file mostly made of such lines is minified or generated.
# No token budget shows such a line, and parsing megabytes of it costs seconds, so it is not parsed.
MINIFIED_LINE_CHARS = 10_000
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*\*?|\*/|\*|///?!?|//!)\s?|\s*\*/\s*$")


class _Def:
    __slots__ = ("node", "kind", "name", "qualname", "start", "end", "parent", "body", "member_of", "key")

    def __init__(self, node: "Node", kind: str, name: str) -> None:
        self.node, self.kind, self.name = node, kind, name
        self.qualname = name
        self.start, self.end = _row(node), _end_row(node)
        self.parent: _Def | None = None
        self.body: Node | None = None
        self.member_of: str | None = None
        self.key = ""


def plain_source(text: str, path: str | None, digest: str, warnings: list[str], spec: LanguageSpec,
                 reason: str) -> SourceFile:
    """The file as plain module code in runs of lines (no definitions, calls or imports), warned with ``reason``."""
    builder = _Builder(text, path, digest, warnings)
    sf = builder.build_unparsed()
    sf.warnings[-1] = f"{path or 'source'}: {reason}; its code is kept as plain text, without functions or classes"
    sf.language = spec.name
    return sf


def build_other(text: str, path: str | None, digest: str, warnings: list[str], spec: LanguageSpec,
                on_parse: OnParse | None = None) -> SourceFile:
    """Parse ``text`` as ``spec``'s language (its fallbacks when it parses with errors and they do not)."""
    problem = grammar_problem(spec.name)
    if problem is not None:
        return plain_source(text, path, digest, warnings, spec, problem)
    builder = _OtherBuilder(text, path, digest, list(warnings), spec)
    if not text.strip():
        sf = SourceFile(path, text, builder.lines, [], {}, False, builder.warnings, digest)
        sf.language = spec.name
        return sf
    long_chars = sum(len(line) for line in builder.lines if len(line) > MINIFIED_LINE_CHARS)
    if long_chars * 2 > len(text):
        builder.warnings.append(f"{path or 'source'}: minified or generated code (lines over "
                                f"{MINIFIED_LINE_CHARS} characters) not parsed; no part of it can be selected")
        sf = SourceFile(path, text, builder.lines, [], {}, False, builder.warnings, digest)
        sf.language = spec.name
        return sf
    if on_parse is not None:
        on_parse(text, builder.lines)
    tree = builder.parse(spec.name)
    used = spec
    if tree.root_node.has_error:
        for name in spec.fallbacks:
            if grammar_problem(name) is None:
                other = builder.parse(name)
                if not other.root_node.has_error:
                    tree, used = other, _spec(name)
                    builder.warnings.append(f"{path or 'source'}: not valid {spec.label}; read as {used.label}")
                    break
    try:
        return builder.build_tree(tree, used.name)
    except RecursionError:
        return plain_source(text, path, digest, list(warnings), spec, "statements nested too deeply to parse")


def _spec(name: str) -> LanguageSpec:
    from .languages import LANGUAGES

    return LANGUAGES[name]


class _OtherBuilder(_Builder):
    def __init__(self, text: str, path: str | None, digest: str, warnings: list[str], spec: LanguageSpec) -> None:
        super().__init__(text, path, digest, warnings)
        self.spec = spec
        self.claimed: set[int] = set()
        self.members: dict[int, list[_Def]] = {}  # id of a class-like definition -> its members

    def parse(self, name: str) -> Any:
        from tree_sitter import Parser

        return Parser(ts_language(name)).parse(self.data)

    def build_tree(self, tree: Any, name: str) -> SourceFile:
        from tree_sitter import QueryCursor

        root = tree.root_node
        captures = QueryCursor(ts_query(name)).captures(root)
        defs = self.definitions(captures)
        for d in defs:
            if d.parent is not None:
                self.members.setdefault(id(d.parent), []).append(d)
        for d in defs:
            self.add(d)
        import_nodes = sorted(captures.get("import", []), key=lambda n: n.start_byte)
        self.module_units(root, {n.id for n in import_nodes})
        self.units.sort(key=lambda u: (u.regions[0][0], u.kind != "class"))
        self.attach_calls([(_row(n), c) for n in sorted(captures.get("callee", []), key=lambda n: n.start_byte)
                           if (c := self.callee_text(n))])
        imports: dict[str, str] = {}
        for node in import_nodes:
            _read_import(self.spec.name if name not in ("tsx",) else "typescript", self.node_text(node), imports)
        sf = SourceFile(self.path, self.text, self.lines, self.units, imports, root.has_error, self.warnings,
                        self.digest, _tree=tree, _stmts=self.stmts)
        sf.language = self.spec.name
        if root.has_error:
            sf.warnings.append(f"{self.path or 'source'}: syntax errors; units outside the broken region are still used")
        return sf

    # ----------------------------------------------------------------- definitions
    def definitions(self, captures: dict[str, list["Node"]]) -> list[_Def]:
        """The kept definitions, outer before inner, qualified and nested."""
        found: dict[int, _Def] = {}
        for cap, nodes in captures.items():
            if not cap.startswith("definition."):
                continue
            kind = cap.split(".", 1)[1]
            for node in nodes:
                if node.id not in found:
                    found[node.id] = _Def(node, kind, "")
        names: dict[int, Node] = {}
        for node in captures.get("name", []):
            names.setdefault(self.owner_id(node, found), node)
        receivers = {self.owner_id(n, found): self.node_text(n) for n in captures.get("receiver", [])}
        ordered = sorted(found.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte))
        out: list[_Def] = []
        stack: list[_Def] = []
        for d in ordered:
            name_node = names.get(d.node.id)
            if name_node is None:
                continue
            d.name = self.node_text(name_node)
            self.widen(d)
            while stack and stack[-1].node.end_byte <= d.node.start_byte:
                stack.pop()
            outer = stack[-1] if stack else None
            stack.append(d)
            if outer is not None and (outer.kind not in _CONTAINER_KINDS or outer not in out):
                continue  # nested in a function (or in something dropped): part of it
            if any(n in self.claimed for n in range(d.start, d.end + 1)):
                continue  # shares a line with a unit already made (minified code, one-liners)
            d.parent = outer
            leaf = d.name.split(".")[-1]
            if outer is not None:
                d.qualname = f"{outer.qualname}.{leaf}"
                d.kind = "method" if d.kind in ("function", "method") else d.kind
            elif d.node.id in receivers:
                d.qualname, d.kind, d.member_of = f"{receivers[d.node.id]}.{leaf}", "method", receivers[d.node.id]
            else:
                d.qualname = d.name
                d.kind = "function" if d.kind == "method" else d.kind
            d.name = leaf
            d.body = self.body_of(d.node)
            self.claim(d)
            out.append(d)
        return out

    @staticmethod
    def owner_id(node: "Node", found: dict[int, _Def]) -> int:
        """The id of the innermost captured definition node holding ``node``."""
        cur = node.parent
        while cur is not None and cur.id not in found:
            cur = cur.parent
        return cur.id if cur is not None else -1

    def widen(self, d: _Def) -> None:
        """Take in the wrapper statement (``export``, ``const``) and the doc comments and annotations above."""
        top = d.node
        while top.parent is not None and top.parent.type in _WRAPPER_TYPES and top.parent.named_child_count <= 2:
            top = top.parent
        d.start, d.end = min(d.start, _row(top)), max(d.end, _end_row(top))
        prev = top.prev_named_sibling
        # Comments above a definition stay outside it (a long Javadoc would ride along with every partial
        # view), except Rust's doc comments: the language makes them attributes of the item (#[doc]).
        while prev is not None and _end_row(prev) >= d.start - 1 and (
                prev.type in _ATTRIBUTE_TYPES or self.spec.name == "rust" and prev.type in _COMMENT_TYPES
                and d.kind not in _CONTAINER_KINDS
                and self.node_text(prev).startswith(("///", "/**"))):
            if _row(prev) in self.claimed or (prev.prev_named_sibling is not None
                                               and _end_row(prev.prev_named_sibling) == _row(prev)):
                break  # a trailing comment of the line above
            d.start = _row(prev)
            prev = prev.prev_named_sibling

    def body_of(self, node: "Node") -> "Node | None":
        body = node.child_by_field_name("body")
        if body is None and node.type in ("variable_declarator", "assignment_expression"):
            value = node.child_by_field_name("value") or node.child_by_field_name("right")
            body = value.child_by_field_name("body") if value is not None else None
        if body is None and node.type == "type_declaration":
            spec = next((c for c in node.named_children if c.type == "type_spec"), None)
            kind = spec.child_by_field_name("type") if spec is not None else None
            body = next((c for c in kind.named_children if c.type.endswith("_list")), None) if kind else None
        if body is not None and body.named_child_count == 1 and body.named_children[0].type in _STATEMENT_LISTS:
            body = body.named_children[0]
        return body

    def claim(self, d: _Def) -> None:
        if d.kind in _CONTAINER_KINDS:
            head_end = self.head_end(d)
            self.claimed.update(range(d.start, head_end + 1))
            self.claimed.add(d.end)
        else:
            self.claimed.update(range(d.start, d.end + 1))

    def head_end(self, d: _Def) -> int:
        """The last line of the signature: the line the body opens on (or the whole unit without a body)."""
        if d.body is None:
            return d.end
        return max(_row(d.body), _row(d.node)) if d.body.type not in _STATEMENT_LISTS else _row(d.body) - 1

    def doc_of(self, d: _Def) -> str | None:
        rows = range(d.start, _row(d.node))
        text = [_COMMENT_MARKS.sub("", self.lines[r - 1]).strip() for r in rows
                if self.lines[r - 1].lstrip().startswith(("/", "*"))]
        doc = "\n".join(t for t in text if t).strip()
        return doc or None

    def add(self, d: _Def) -> None:
        head_end = min(max(self.head_end(d), d.start), d.end)
        # a class-like unit's signature lines (shown above its members) start at its attributes
        first = d.start if d.kind in _CONTAINER_KINDS else _row(d.node)
        signature = "\n".join(self.lines[first - 1:head_end]).strip()
        parent_key = d.parent.key if d.parent is not None else None
        key = self.make_key(d.qualname, d.start)
        d.key = key
        body_stmts = [s for s in (d.body.named_children if d.body is not None else []) if _row(s) > head_end]
        if d.kind in _CONTAINER_KINDS:
            member_rows = {r for m in self.members.get(id(d), ()) for r in range(m.start, m.end + 1)}
            own = [(d.start, head_end)] + [(r, r) for r in range(head_end + 1, d.end + 1) if r not in member_rows]
            regions = _merge_ranges(own)
            self.stmts[key] = [s for s in body_stmts if _row(s) not in member_rows]
            kind = "class"
        else:
            regions = ((d.start, d.end),)
            self.stmts[key] = body_stmts
            kind = d.kind
        unit = self.unit(key, kind, d.name, d.qualname, d.start, d.end, regions, signature, self.doc_of(d),
                         parent_key, (d.start, head_end))
        if d.kind == "impl":
            trait = d.node.child_by_field_name("trait")
            unit.bases = (self.node_text(trait),) if trait is not None else ()
        elif d.kind == "class":
            unit.bases = self.bases_of(d.node)
        self.units.append(unit)

    def bases_of(self, node: "Node") -> tuple[str, ...]:
        out: list[str] = []
        for field in ("superclass", "interfaces", "extends"):
            n = node.child_by_field_name(field)
            if n is not None:
                out.extend(re.findall(r"[A-Za-z_$][\w$.]*", self.node_text(n).replace("extends", " ")
                                      .replace("implements", " ")))
        for child in node.named_children:
            if child.type == "class_heritage":
                out.extend(w for w in re.findall(r"[A-Za-z_$][\w$.]*", self.node_text(child))
                           if w not in ("extends", "implements"))
        return tuple(dict.fromkeys(out))

    # ----------------------------------------------------------------- module code
    def module_units(self, root: "Node", import_ids: set[int]) -> None:
        """Top-level lines no definition owns, as module units: runs between definitions, imports apart."""
        owned: set[int] = set()
        for u in self.units:
            for a, b in u.regions:
                owned.update(range(a, b + 1))
        pieces: list[tuple[int, int, bool]] = []  # (start, end, is import)
        for node in root.named_children:
            is_imp = node.id in import_ids or node.type in ("import_declaration", "use_declaration",
                                                            "import_statement", "package_clause",
                                                            "package_declaration")
            run: list[int] = []
            for r in range(_row(node), _end_row(node) + 1):
                if r in owned or not self.lines[r - 1].strip():
                    if run:
                        pieces.append((run[0], run[-1], is_imp))
                        run = []
                    continue
                run.append(r)
                owned.add(r)
            if run:
                pieces.append((run[0], run[-1], is_imp))
        starts = sorted(a for u in self.units for a, _ in u.regions)
        group: list[tuple[int, int, bool]] = []

        def flush() -> None:
            if not group:
                return
            a, b = group[0][0], group[-1][1]
            only_imports = all(p[2] for p in group)
            key = self.make_key(f"<module:{a}>", a)
            unit = self.unit(key, "module", "imports" if only_imports else "module code", f"<module:{a}>", a, b,
                             _merge_ranges([(x, y) for x, y, _ in group]), "", None, None, (a, a - 1))
            unit.is_import = only_imports
            self.stmts[key] = []
            self.units.append(unit)
            group.clear()

        for piece in sorted(pieces):
            if group:
                ga, gb = group[0][0], group[-1][1]
                between = any(gb < s < piece[0] for s in starts)
                if between or piece[1] - ga + 1 > MODULE_BLOCK_MAX_LINES or piece[2] != group[-1][2]:
                    flush()
            group.append(piece)
        flush()

    # ----------------------------------------------------------------- calls
    def callee_text(self, node: "Node") -> str:
        if node.type == "method_invocation":  # Java: object.name(args)
            obj, name = node.child_by_field_name("object"), node.child_by_field_name("name")
            if name is None:
                return ""
            return f"{self.node_text(obj)}.{self.node_text(name)}" if obj is not None else self.node_text(name)
        text = self.node_text(node)
        if len(text) > 200:
            return ""
        return text.replace("::", ".").replace("?.", ".").replace("->", ".")


# --------------------------------------------------------------------------- imports

_JS_FROM = re.compile(r"import\s+(?:type\s+)?(.*?)\s+from\s+['\"]([^'\"]+)['\"]", re.S)
_JS_REQUIRE = re.compile(r"(?:const|let|var)\s+(\{[^}]*\}|[\w$]+)\s*=\s*require\(\s*['\"]([^'\"]+)['\"]")
_GO_SPEC = re.compile(r"(?:([\w.]+)\s+)?\"([^\"]+)\"")
_JAVA_IMPORT = re.compile(r"import\s+(?:static\s+)?([\w.]+)(\.\*)?\s*;")
_RUST_USE = re.compile(r"use\s+(.*?);", re.S)


def _read_import(language: str, text: str, out: dict[str, str]) -> None:
    """Add the local names an import statement binds to ``out`` (local name -> dotted target)."""
    if language in ("javascript", "typescript"):
        m = _JS_FROM.search(text) or _JS_REQUIRE.search(text)
        if m:
            _js_names(m.group(1), m.group(2), out)
    elif language == "go":
        for alias, target in _GO_SPEC.findall(text):
            local = alias or target.rstrip("/").split("/")[-1]
            if local not in ("_", "."):
                out[local] = target.replace("/", ".")
    elif language == "java":
        m = _JAVA_IMPORT.search(text)
        if m and not m.group(2):
            out[m.group(1).split(".")[-1]] = m.group(1)
    elif language == "rust":
        m = _RUST_USE.search(text)
        if m:
            _rust_names(m.group(1).strip(), "", out)


def _js_names(clause: str, module: str, out: dict[str, str]) -> None:
    clause = clause.strip()
    brace = re.search(r"\{([^}]*)\}", clause)
    if brace:
        for part in brace.group(1).split(","):
            bits = part.replace("type ", "").split(" as ")
            name = bits[0].strip().split(":")[0].strip()
            local = bits[-1].strip().split(":")[-1].strip()
            if name and local:
                out[local] = f"{module}.{name}"
        clause = clause[:brace.start()] + clause[brace.end():]
    star = re.search(r"\*\s+as\s+([\w$]+)", clause)
    if star:
        out[star.group(1)] = module
        clause = clause[:star.start()] + clause[star.end():]
    default = clause.strip().strip(",").strip()
    if re.fullmatch(r"[\w$]+", default or "-"):
        out[default] = module


def _rust_names(tree: str, prefix: str, out: dict[str, str]) -> None:
    tree = tree.strip()
    if tree.endswith("}") and "{" in tree:
        head, _, inner = tree.partition("{")
        head = head.strip().rstrip(":").strip(":")
        base = f"{prefix}::{head}" if prefix and head else (head or prefix)
        depth, cur, parts = 0, "", []
        for ch in inner[:-1]:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        for p in parts:
            if p.strip():
                _rust_names(p, base, out)
        return
    path, _, alias = tree.partition(" as ")
    full = f"{prefix}::{path.strip()}" if prefix else path.strip()
    leaf = alias.strip() or full.split("::")[-1]
    if leaf and leaf not in ("*", "self", "_"):
        out[leaf] = full.replace("::", ".")

