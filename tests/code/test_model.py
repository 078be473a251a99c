"""The code model: units, spans, imports, calls, call graph, blocks, rendering and source loading."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scaledown_core.code import (
    ELISION,
    FILE_HEADER,
    CodeBase,
    load_sources,
    parse_source,
    render,
    shown_text,
    unit_lines,
)
from scaledown_core.exceptions import OptimizerError

SAMPLE = textwrap.dedent(
    '''\
    """Module docstring."""
    import os
    from .utils import helper as h, other
    from . import sibling

    LIMIT = 10
    NAMES = ["a", "b"]


    @decorate
    def top(x):
        """Top doc."""
        def inner():
            return os.path.join(x)
        return inner() + h(x)


    class Base:
        def shared(self):
            return 1


    class Widget(Base):
        """A widget."""

        size = 3
        # a comment between methods

        def __init__(self, n):
            self.n = n

        @property
        def area(self):
            return self.size * self.compute()

        def compute(self):
            return self.shared() + top(self.n) + sibling.run()

        class Inner:
            def deep(self):
                return Widget(1)


    if __name__ == "__main__":
        top(1)
    '''
)


@pytest.fixture()
def sample():
    return parse_source(SAMPLE, path="pkg/mod.py")


def _unit(sf, qualname):
    return next(u for u in sf.units if u.qualname == qualname)


def test_units_kinds_and_qualnames(sample):
    kinds = {u.qualname: u.kind for u in sample.units if u.kind != "module"}
    assert kinds == {
        "top": "function",
        "Base": "class",
        "Base.shared": "method",
        "Widget": "class",
        "Widget.__init__": "method",
        "Widget.area": "method",
        "Widget.compute": "method",
        "Widget.Inner": "class",
        "Widget.Inner.deep": "method",
    }
    # nested functions belong to their outer function
    assert not any(u.name == "inner" for u in sample.units)
    assert "def inner" in _unit(sample, "top").text


def test_spans_include_decorators_and_are_one_based(sample):
    lines = SAMPLE.splitlines()
    top = _unit(sample, "top")
    assert lines[top.start_line - 1] == "@decorate"
    assert lines[top.end_line - 1].strip() == "return inner() + h(x)"
    area = _unit(sample, "Widget.area")
    assert lines[area.start_line - 1].strip() == "@property"
    assert area.key == "pkg/mod.py::Widget.area"
    assert area.parent == "pkg/mod.py::Widget"
    assert top.docstring == "Top doc."
    assert top.signature == "@decorate\ndef top(x):"


def test_signature_lines_are_decorators_and_a_multi_line_class_line() -> None:
    # what a method is shown under when its class is not shown whole
    source = "@dataclass(\n    frozen=True)\nclass A(\n        Base):\n    \"\"\"Doc.\"\"\"\n\n    def m(self):\n        return 1\n"
    sf = parse_source(source, None)
    cls = next(u for u in sf.units if u.kind == "class")
    assert [sf.lines[n - 1] for n in cls.signature_lines()] == ["@dataclass(", "    frozen=True)", "class A(",
                                                                 "        Base):"]
    method = next(u for u in sf.units if u.kind == "method")
    assert method.signature_lines() == [7]


def test_class_header_owns_attributes_not_methods(sample):
    widget = _unit(sample, "Widget")
    shown = widget.text
    assert "class Widget(Base):" in shown and '"""A widget."""' in shown
    assert "size = 3" in shown and "# a comment between methods" in shown
    assert "def __init__" not in shown and "def compute" not in shown
    assert widget.bases == ("Base",)
    assert widget.docstring == "A widget."
    # the class header spans the whole class; its regions do not overlap any method
    method_lines = {n for u in sample.units if u.parent == widget.key for n in u.line_numbers()}
    assert not method_lines & set(widget.line_numbers())
    assert widget.end_line >= max(method_lines)


def test_every_line_belongs_to_at_most_one_unit(sample):
    seen: dict[int, str] = {}
    for u in sample.units:
        for n in u.line_numbers():
            assert n not in seen, f"line {n} in {seen.get(n)} and {u.key}"
            seen[n] = u.key
    blank = {i + 1 for i, line in enumerate(SAMPLE.splitlines()) if not line.strip()}
    nonblank = set(range(1, len(SAMPLE.splitlines()) + 1)) - blank
    assert nonblank <= set(seen)


def test_module_units_split_imports_from_constants(sample):
    modules = [u for u in sample.units if u.kind == "module"]
    imports = [u for u in modules if u.is_import]
    assert len(imports) == 1 and "from . import sibling" in imports[0].text
    consts = next(u for u in modules if "LIMIT = 10" in u.text)
    assert not consts.is_import and "import" not in consts.text
    assert "LIMIT" in consts.name
    main = next(u for u in modules if "__main__" in u.text)
    assert main.calls == ["top"]


def test_imports_map(sample):
    assert sample.imports["os"] == "os"
    assert sample.imports["h"] == ".utils.helper"
    assert sample.imports["other"] == ".utils.other"
    assert sample.imports["sibling"] == ".sibling"


def test_terms_calls_references(sample):
    compute = _unit(sample, "Widget.compute")
    assert compute.calls == ["self.shared", "top", "sibling.run"]
    assert {"shared", "compute", "widget"} <= set(compute.terms)
    assert "sibling" in compute.references
    assert "run" not in compute.references  # `sibling.run()` uses `sibling`, not a name `run`
    top = _unit(sample, "top")
    assert "os.path.join" in top.calls and "h" in top.calls


def test_calls_keep_source_order_on_every_parse():
    # tree-sitter hands captures back in a different order from one parse to the next
    from scaledown_core.code import clear_cache

    source = "def f():\n    a()\n    b.c()\n    d(e(), g.h())\n    a()\n"
    for _ in range(20):
        clear_cache()
        assert parse_source(source).units[0].calls == ["a", "b.c", "d", "e", "g.h"]


def test_callees_starting_at_the_same_place_keep_one_order():
    from scaledown_core.code import clear_cache

    # ``make0(k).run0`` and ``make0`` start at the same byte; many of them make the capture order vary
    source = "def f():\n" + "".join(f"    make{i}(k).run{i}()\n" for i in range(300))
    expected = [name for i in range(300) for name in (f"make{i}(k).run{i}", f"make{i}")]
    for _ in range(5):
        clear_cache()
        assert parse_source(source).units[0].calls == expected


def test_call_graph_scope(sample):
    cb = CodeBase([sample])
    key = "pkg/mod.py::"
    # self.x() resolves to the base class when the class lacks it
    assert cb.callees(key + "Widget.compute") == [key + "Base.shared", key + "top"]
    assert cb.callees(key + "Widget.area") == [key + "Widget.compute"]
    # a call to a class resolves to its header and __init__
    assert cb.callees(key + "Widget.Inner.deep") == [key + "Widget", key + "Widget.__init__"]
    assert set(cb.callers(key + "top")) == {key + "Widget.compute", key + "<module:44>"}


def test_self_call_prefers_own_class_over_module_function():
    src = textwrap.dedent(
        """\
        def run():
            return 0

        class A:
            def run(self):
                return 1

            def go(self):
                return self.run() + run()
        """
    )
    cb = CodeBase([parse_source(src)])
    assert cb.callees("A.go") == ["A.run", "run"]


def test_cross_file_imports_resolve(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "util.py").write_text("def helper():\n    return 1\n\nclass Tool:\n    def use(self):\n        return 2\n")
    (pkg / "main.py").write_text(
        "from .util import helper\nfrom pkg import util\n\n"
        "def entry():\n    return helper() + util.Tool().use() + util.helper()\n"
    )
    cb = CodeBase(load_sources(tmp_path))
    assert cb.callees("pkg/main.py::entry") == ["pkg/util.py::helper", "pkg/util.py::Tool"]
    assert cb.callers("pkg/util.py::helper") == ["pkg/main.py::entry"]


def test_repeated_names_get_unique_keys():
    src = "class P:\n    @property\n    def x(self):\n        return 1\n\n    @x.setter\n    def x(self, v):\n        pass\n"
    sf = parse_source(src)
    keys = [u.key for u in sf.units]
    assert len(keys) == len(set(keys)) == 3
    assert "P.x@6" in keys


def test_blocks_open_long_compound_statements():
    body = "\n".join(f"            v{i} = {i}" for i in range(15))
    src = (
        "def f(a):\n    '''Doc.'''\n    x = 1\n    if a:\n"
        f"{body.replace('            ', '        ')}\n    else:\n        y = 2\n    return x\n"
    )
    sf = parse_source(src)
    f = sf.units[0]
    blocks = sf.blocks(f)
    assert blocks[0].start_line == 3 and blocks[0].end_line == 3
    inner = [b for b in blocks if b.context == (4,)]
    assert len(inner) == 15  # the long ``if`` was opened; its header is the context
    assert blocks[-1].start_line == blocks[-1].end_line == len(src.splitlines())
    shown = unit_lines(f, [inner[3]])
    assert shown == [1, 2, 4, inner[3].start_line]


def test_render_elides_and_keeps_source_order(sample):
    lines = SAMPLE.splitlines()
    compute = _unit(sample, "Widget.compute")
    widget = _unit(sample, "Widget")
    chosen = unit_lines(compute) + list(range(widget.head[0], widget.head[1] + 1))
    out = render([sample], {sample.path: chosen})
    rows = out.splitlines()
    assert rows[0] == ELISION
    assert rows[1] == "class Widget(Base):"
    assert rows[3] == "    " + ELISION
    assert rows[-1] == "    " + ELISION
    # every non-marker line is an input line, in input order
    idx = [lines.index(r) for r in rows if r.strip() and r.strip() != ELISION]
    assert idx == sorted(idx)


def test_shown_text_is_the_unit_alone_with_its_gaps_marked(sample):
    widget = _unit(sample, "Widget")
    compute = _unit(sample, "Widget.compute")
    assert shown_text(sample, compute, unit_lines(compute)) == compute.text.rstrip("\n")
    head = list(range(widget.head[0], widget.head[1] + 1))
    text = shown_text(sample, widget, head + unit_lines(compute)).splitlines()
    assert text[0] == "class Widget(Base):"
    assert not any("def compute" in row for row in text), "lines of other units are not the unit's text"
    if len(head) < len(widget.line_numbers()):
        assert text[-1].strip() == ELISION


def test_render_headers_for_several_files(tmp_path: Path):
    (tmp_path / "a.py").write_text("def a():\n    return 1\n")
    (tmp_path / "b.py").write_text("def b():\n    return 2\n")
    files = load_sources(tmp_path)
    out = render(files, {"b.py": [1, 2]})
    assert out.splitlines() == [FILE_HEADER.format(path="b.py"), "def b():", "    return 2"]


def test_empty_source_has_no_units():
    sf = parse_source("")
    assert sf.units == [] and not sf.has_syntax_errors
    assert render([sf], {None: []}) == ""


def test_syntax_errors_keep_other_units():
    src = "def good():\n    return 1\n\ndef broken(:\n    pass\n\ndef also_good():\n    return 2\n"
    sf = parse_source(src)
    assert sf.has_syntax_errors
    names = {u.qualname for u in sf.units}
    assert {"good", "also_good"} <= names
    assert any("syntax errors" in w for w in sf.warnings)


def test_parse_is_cached_by_content():
    a = parse_source("def f():\n    pass\n", path="x.py")
    b = parse_source("def f():\n    pass\n", path="x.py")
    c = parse_source("def g():\n    pass\n", path="x.py")
    assert a is b and a is not c


def test_on_parse_sees_the_lines_of_each_new_source_before_it_is_parsed(tmp_path: Path):
    seen: list[tuple[str, list[str]]] = []
    text = "def on_parse_probe():\r\n    return 1\r\n"
    sf = parse_source(text, path="probe.py", on_parse=lambda t, lines: seen.append((t, list(lines))))
    assert seen == [(text, sf.lines)] and sf.lines == ["def on_parse_probe():", "    return 1"]
    parse_source(text, path="probe.py", on_parse=lambda t, lines: seen.append((t, lines)))
    assert len(seen) == 1  # a cached parse is not parsed again
    (tmp_path / "a.py").write_text("def on_parse_a():\n    pass\n")
    (tmp_path / "b.py").write_text("")  # nothing to parse
    load_sources(tmp_path, on_parse=lambda t, lines: seen.append((t, lines)))
    assert seen[1:] == [("def on_parse_a():\n    pass\n", ["def on_parse_a():", "    pass"])]


def test_crlf_lines_are_clean():
    sf = parse_source("def f():\r\n    return 1\r\n")
    assert sf.lines == ["def f():", "    return 1"]
    assert sf.units[0].end_line == 2


# --------------------------------------------------------------------------- load_sources


def test_missing_path_names_it(tmp_path: Path):
    missing = tmp_path / "nope.py"
    with pytest.raises(OptimizerError, match="nope.py"):
        load_sources(missing)


def test_binary_refused_alone_skipped_in_directory(tmp_path: Path):
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "ok.py").write_text("def ok():\n    pass\n")
    with pytest.raises(OptimizerError, match="blob.py"):
        load_sources(tmp_path / "blob.py")
    warnings: list[str] = []
    files = load_sources(tmp_path, warnings)
    assert [f.path for f in files] == ["ok.py"]
    assert any("blob.py" in w and "binary" in w for w in warnings)


def test_non_utf8_is_replaced_and_reported(tmp_path: Path):
    (tmp_path / "latin.py").write_bytes("def caf\u00e9():\n    return 1\n".encode("latin-1"))
    warnings: list[str] = []
    [sf] = load_sources(tmp_path / "latin.py", warnings)
    assert "\ufffd" in sf.text
    assert any("UTF-8" in w for w in warnings) and sf.warnings


def test_a_coding_line_is_honoured_as_python_does(tmp_path: Path):
    (tmp_path / "latin.py").write_bytes("# -*- coding: latin-1 -*-\ndef caf\u00e9():\n    return 1\n".encode("latin-1"))
    warnings: list[str] = []
    [sf] = load_sources(tmp_path / "latin.py", warnings)
    assert "def caf\u00e9():" in sf.text and warnings == [] and not sf.has_syntax_errors


def test_an_unreadable_file_in_a_directory_is_skipped_with_a_warning(tmp_path: Path):
    (tmp_path / "ok.py").write_text("def ok():\n    pass\n")
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing-target.py")
    warnings: list[str] = []
    files = load_sources(tmp_path, warnings)
    assert [f.path for f in files] == ["ok.py"]
    assert any("gone.py" in w and "skipped" in w for w in warnings)


def test_a_file_named_alone_and_inside_a_directory_is_read_once(tmp_path: Path):
    (tmp_path / "a.py").write_text("def a():\n    return 1\n")
    files = load_sources([tmp_path, tmp_path / "a.py"])
    assert [f.path for f in files] == ["a.py"]


def test_directory_walk_skips_envs_and_hidden(tmp_path: Path):
    for rel in ["src/a.py", "src/sub/b.py", ".hidden/c.py", "venv/lib/d.py", "build/e.py",
                "src/__pycache__/f.py", "env2/g.py", "notes.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x = 1\n")
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    files = load_sources(tmp_path)
    assert [f.path for f in files] == ["src/a.py", "src/sub/b.py"]


def test_list_of_paths_and_type_errors(tmp_path: Path):
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.py").write_text("b = 2\n")
    files = load_sources([str(tmp_path / "a.py"), tmp_path / "d"])
    assert [f.path for f in files] == [str(tmp_path / "a.py"), "b.py"]
    with pytest.raises(TypeError):
        load_sources(42)  # type: ignore[arg-type]


def test_two_folders_with_the_same_file_name_keep_both(tmp_path: Path):
    for folder, name in (("p1", "parse_date"), ("p2", "send_sms")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "util.py").write_text(f"def {name}():\n    return 1\n")
    files = load_sources([tmp_path / "p1", tmp_path / "p2"])
    assert [f.path for f in files] == ["p1/util.py", "p2/util.py"]
    assert [u.name for f in files for u in f.units] == ["parse_date", "send_sms"]


def test_a_symlink_loop_in_a_folder_is_skipped(tmp_path: Path):
    (tmp_path / "ok.py").write_text("def ok():\n    pass\n")
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    warnings: list[str] = []
    assert [f.path for f in load_sources(tmp_path, warnings)] == ["ok.py"]
    assert any("loop.py" in w for w in warnings)


def test_definitions_under_top_level_if_and_try_record_the_headers_they_sit_under():
    source = textwrap.dedent("""\
        import sys
        if sys.version_info >= (3, 11):
            def helper(x):
                return x
        else:
            def helper(x):
                return x + 1
        try:
            from fast import speedy
        except ImportError:
            class speedy:
                def go(self):
                    pass
        """)
    units = {(u.qualname, u.start_line): u for u in parse_source(source).units}
    assert units[("helper", 3)].guards == ((2, 2),)
    assert units[("helper", 6)].guards == ((2, 2), (5, 5))  # the `if` line and the `else:` line
    assert units[("speedy", 11)].guards == ((8, 8), (10, 10))
    assert units[("speedy.go", 12)].guards == ()  # a method is shown with its class, the class with its guards


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_any_python_line_ending_gives_the_same_units(newline: str):
    # Python ends lines at \r\n and at a bare \r (old Mac files) as at \n
    source = "import os\n\n\ndef top(x):\n    return os.path.join(x)\n\n\nclass K:\n    def m(self):\n        return 1\n"
    plain = parse_source(source)
    other = parse_source(source.replace("\n", newline))
    assert not other.has_syntax_errors
    assert [(u.qualname, u.regions) for u in other.units] == [(u.qualname, u.regions) for u in plain.units]
