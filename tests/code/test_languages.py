"""The code model beyond Python: JavaScript, TypeScript/TSX, Go, Java and Rust read with the official
grammar wheels into the same units, calls and imports, and their bad input (syntax errors, a .ts file
that is JavaScript, BOMs and mixed line endings, minified code, a grammar that is not installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scaledown_core.code import CodeBase, load_sources, parse_source, render
from scaledown_core.code.languages import LANGUAGES, get_language, grammar_problem, language_for_path
from scaledown_core.code.render import split_rendered

GO = """package shop

import (
	"fmt"
	str "strings"
)

// Cart holds the items a customer picked.
type Cart struct {
	items []Item
}

// Total sums the prices.
func (c *Cart) Total() int {
	sum := 0
	for _, it := range c.items {
		sum += it.Price
	}
	c.log(sum)
	return sum
}

func (c Cart) log(n int) {
	fmt.Println(str.Repeat("=", n))
}

func NewCart() *Cart {
	return &Cart{}
}
"""

JAVA = """package com.shop;

import java.util.List;
import static java.lang.Math.max;

/** A cart. */
public class Cart extends Base implements Priced {
    private final List<Item> items;

    @Override
    public int total() {
        return sum(items);
    }

    private int sum(List<Item> xs) {
        return xs.size();
    }

    static class Item {
        Item(int price) { this.check(price); }
        void check(int p) {}
    }
}
"""

RUST = """use crate::money::{Price, Currency as Cur};
use std::fmt;

/// A cart.
#[derive(Debug, Clone)]
pub struct Cart {
    items: Vec<Item>,
}

impl Cart {
    pub fn new() -> Self {
        Self::empty()
    }

    fn empty() -> Self {
        Cart { items: vec![] }
    }
}

impl fmt::Display for Cart {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.items.len())
    }
}

pub fn total(c: &Cart) -> u32 {
    helper(c)
}

fn helper(_c: &Cart) -> u32 { 0 }

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(1, 1);
    }
}
"""

JS = """const path = require('path');
import { render as draw, mount } from './view';

/**
 * Renders a template.
 */
app.render = function render(name, options, callback) {
  this.lookup(name);
  return draw(name);
};

class Dayjs {
  startOf(units) {
    return this.clone();
  }

  clone() {
    return new Dayjs();
  }
}

export const plus = (a, b) => {
  return a + b;
};
"""

TS = """import { Token } from "./tokens";

export interface State {
  pos: number;
}

export class Tokenizer {
  state: State;

  @trace()
  createLookaheadState(state: State): State {
    return { pos: state.pos };
  }

  next(): Token {
    return this.createLookaheadState(this.state) as unknown as Token;
  }
}

export function isFirst(node: Token): boolean {
  return node !== null;
}
"""

TSX = """import React from "react";

export function Button(props: { label: string }) {
  return <button onClick={() => go(props.label)}>{props.label}</button>;
}

function go(label: string): void {
  console.log(label);
}
"""


def _qualnames(sf) -> dict[str, str]:
    return {u.qualname: u.kind for u in sf.units if u.kind != "module"}


def test_every_language_grammar_ships_with_the_code_extra() -> None:
    for name in LANGUAGES:
        assert grammar_problem(name) is None, name
    assert language_for_path("a/b.go").name == "go"
    assert language_for_path("x.TSX").name == "tsx"
    assert language_for_path("notes.txt") is None
    assert get_language("ts").name == "typescript"
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        get_language("cobol")


def test_go_units_are_qualified_by_their_receiver() -> None:
    sf = parse_source(GO, path="shop/cart.go")
    assert sf.language == "go"
    assert _qualnames(sf) == {"Cart": "class", "Cart.Total": "method", "Cart.log": "method", "NewCart": "function"}
    total = next(u for u in sf.units if u.qualname == "Cart.Total")
    # comments above a definition stay module lines: a long Javadoc would ride along with every partial view
    assert total.start_line == 14 and total.end_line == 21 and total.docstring is None
    assert sf.imports == {"fmt": "fmt", "str": "strings"}
    # the package line with the imports; the two doc comments
    assert [u.is_import for u in sf.units if u.kind == "module"] == [True, False, False]
    cart = next(u for u in sf.units if u.qualname == "Cart")
    assert sf.lines[cart.start_line - 1] == "type Cart struct {" and cart.signature_lines() == [cart.start_line]


def test_java_nested_classes_constructors_and_annotations() -> None:
    sf = parse_source(JAVA, path="Cart.java")
    assert _qualnames(sf) == {"Cart": "class", "Cart.total": "method", "Cart.sum": "method",
                              "Cart.Item": "class", "Cart.Item.Item": "method", "Cart.Item.check": "method"}
    total = next(u for u in sf.units if u.qualname == "Cart.total")
    assert sf.lines[total.start_line - 1].strip() == "@Override"
    cart = next(u for u in sf.units if u.qualname == "Cart")
    assert cart.bases == ("Base", "Priced")
    assert sf.imports == {"List": "java.util.List", "max": "java.lang.Math.max"}


def test_rust_impl_blocks_traits_attributes_and_modules() -> None:
    sf = parse_source(RUST, path="src/cart.rs")
    names = [(u.qualname, u.kind) for u in sf.units if u.kind != "module"]
    assert names == [("Cart", "class"), ("Cart", "class"), ("Cart.new", "method"), ("Cart.empty", "method"),
                     ("Cart", "class"), ("Cart.fmt", "method"), ("total", "function"), ("helper", "function"),
                     ("tests", "class"), ("tests.adds", "method")]
    struct = sf.units[[u.qualname for u in sf.units].index("Cart")]
    assert sf.lines[struct.start_line - 1].startswith("#[derive") and sf.lines[struct.start_line - 2] == "/// A cart."
    # a Rust doc comment is an attribute of its item (#[doc]): a function's goes with it
    (add,) = [u for u in parse_source("/// Adds.\n#[inline]\nfn add() {}\n", path="a.rs").units if u.kind != "module"]
    assert (add.start_line, add.docstring) == (1, "Adds.")
    display = [u for u in sf.units if u.qualname == "Cart"][2]
    assert display.bases == ("fmt::Display",)
    assert sf.imports == {"Price": "crate.money.Price", "Cur": "crate.money.Currency", "fmt": "std.fmt"}


def test_javascript_functions_bound_to_names_classes_and_imports() -> None:
    sf = parse_source(JS, path="lib/app.js")
    assert _qualnames(sf) == {"app.render": "function", "Dayjs": "class", "Dayjs.startOf": "method",
                              "Dayjs.clone": "method", "plus": "function"}
    assert sf.imports == {"path": "path", "draw": "./view.render", "mount": "./view.mount"}
    render_unit = next(u for u in sf.units if u.qualname == "app.render")
    assert sf.lines[render_unit.start_line - 1].startswith("app.render = function")


@pytest.mark.parametrize("path, source, expected", [
    ("src/tokenizer.ts", TS, {"State": "class", "Tokenizer": "class", "Tokenizer.createLookaheadState": "method",
                              "Tokenizer.next": "method", "isFirst": "function"}),
    ("src/button.tsx", TSX, {"Button": "function", "go": "function"}),
])
def test_typescript_and_tsx(path: str, source: str, expected: dict[str, str]) -> None:
    sf = parse_source(source, path=path)
    assert not sf.has_syntax_errors
    assert _qualnames(sf) == expected


def test_calls_resolve_within_type_then_file_then_imports() -> None:
    go = parse_source(GO, path="shop/cart.go")
    other = parse_source("package shop\n\nfunc Checkout() int {\n\treturn NewCart().Total()\n}\n", path="shop/pay.go")
    cb = CodeBase([go, other])
    assert cb.callees("shop/cart.go::Cart.Total") == ["shop/cart.go::Cart.log"]  # c.log: the receiver's method
    assert cb.callees("shop/pay.go::Checkout") == ["shop/cart.go::NewCart"]  # same package, another file
    java = CodeBase([parse_source(JAVA, path="Cart.java")])
    assert java.callees("Cart.java::Cart.total") == ["Cart.java::Cart.sum"]
    assert java.callees("Cart.java::Cart.Item.Item") == ["Cart.java::Cart.Item.check"]
    rust = CodeBase([parse_source(RUST, path="src/cart.rs")])
    assert rust.callees("src/cart.rs::Cart.new") == ["src/cart.rs::Cart.empty"]
    assert rust.callees("src/cart.rs::total") == ["src/cart.rs::helper"]
    view = parse_source("export function render(n) {\n  return n;\n}\n", path="lib/view.js")
    js = CodeBase([parse_source(JS, path="lib/app.js"), view])
    assert js.callees("lib/app.js::app.render") == ["lib/view.js::render"]  # draw is view's render
    assert js.callees("lib/app.js::Dayjs.startOf") == ["lib/app.js::Dayjs.clone"]


def test_elision_uses_the_language_comment_and_rendered_text_reads_back() -> None:
    go = parse_source(GO, path="shop/cart.go")
    py = parse_source("def f():\n    return 1\n\n\ndef g():\n    return 2\n", path="shop/util.py")
    total = next(u for u in go.units if u.qualname == "Cart.Total")
    out = render([go, py], {go.path: total.line_numbers(), py.path: [1, 2]})
    assert "\n// ...\n" in out and out.rstrip().endswith("# ...")
    assert [p for p, _ in split_rendered(out)] == ["shop/cart.go", "shop/util.py"]


def test_a_folder_mixing_languages_is_read_whole(tmp_path: Path) -> None:
    for rel, text in {"go/cart.go": GO, "java/Cart.java": JAVA, "rs/cart.rs": RUST, "js/app.js": JS,
                      "ts/tok.ts": TS, "ts/button.tsx": TSX, "py/util.py": "def f():\n    return 1\n",
                      "README.md": "# docs\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    files = load_sources(tmp_path)
    assert {sf.path: sf.language for sf in files} == {
        "go/cart.go": "go", "java/Cart.java": "java", "js/app.js": "javascript", "py/util.py": "python",
        "rs/cart.rs": "rust", "ts/button.tsx": "tsx", "ts/tok.ts": "typescript"}


def test_language_overrides_the_extension() -> None:
    sf = parse_source(GO, path="snippet.txt", language="go")
    assert sf.language == "go" and "Cart.Total" in _qualnames(sf)
    assert parse_source(GO, path="snippet.txt").language == "python"


# ----------------------------------------------------------------- bad input


def test_a_ts_file_that_is_javascript_with_jsx_falls_back_and_says_so() -> None:
    src = "export function App() {\n  return <div className=\"a\">{go()}</div>;\n}\n\nfunction go() {\n  return 1;\n}\n"
    sf = parse_source(src, path="src/app.ts")
    assert not sf.has_syntax_errors
    assert _qualnames(sf) == {"App": "function", "go": "function"}
    assert any("not valid TypeScript; read as TSX" in w for w in sf.warnings)


def test_syntax_errors_keep_the_units_outside_the_broken_region() -> None:
    broken = GO.replace("func NewCart() *Cart {", "func NewCart() *Cart {{{ (")
    sf = parse_source(broken, path="cart.go")
    assert sf.has_syntax_errors
    assert {"Cart.Total", "Cart.log"} <= set(_qualnames(sf))
    assert any("syntax errors" in w for w in sf.warnings)


def test_bom_and_mixed_line_endings(tmp_path: Path) -> None:
    text = GO.replace("\n", "\r\n", 10).replace("fmt.Println", "fmt.Println", 1)
    text = text.replace("func NewCart", "func NewCart", 1)
    lines = text.split("\n")
    lines[20] = lines[20] + "\r"  # one CRLF more, far from the others
    path = tmp_path / "cart.go"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).replace("\r\n}", "\r}", 1).encode())
    (sf,) = load_sources(path)
    assert not sf.text.startswith("\ufeff")
    assert "Cart.Total" in _qualnames(sf) and not sf.has_syntax_errors
    assert all("\r" not in line for line in sf.lines)


def test_minified_javascript_is_not_parsed_and_says_so() -> None:
    unit = "function f%d(a,b){var c=a+b;if(c>10){return g(c)}return c*2};"
    src = "".join(unit % i for i in range(50_000))  # 3 MB on one line
    sf = parse_source(src, path="dist/app.min.js")
    assert sf.units == []
    assert any("minified" in w for w in sf.warnings)


def test_a_language_without_its_grammar_warns_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter_go", None)  # as if the wheel were not installed
    grammar_problem.cache_clear()
    try:
        sf = parse_source(GO + "\n// other\n", path="cart.go")
        assert sf.language == "go"
        assert any("Go grammar is not installed" in w and "scaledown[code]" in w for w in sf.warnings)
        assert sf.units and "func (c *Cart) Total() int {" in sf.units[0].text  # kept as plain text
    finally:
        grammar_problem.cache_clear()


@pytest.mark.parametrize(("text", "language", "path", "expected"), [
    ("Customers may ask for a refund within 30 days.", None, None, False),
    ("def refund(order):\n    return order.total\n", None, None, True),
    ("def refund(order) this is not Python", None, None, False),
    ("anything", "go", None, True),
    ("anything", "TS", None, True),
    ("def f():\n    pass\n", "markdown", None, False),  # the metadata decides when it is there
    ("package shop\n\nfunc Total() int { return 1 }\n", None, "shop/cart.go", True),
    ("plain words", None, "notes/readme.md", False),
])
def test_is_source_code_decides_by_metadata_then_extension_then_parsing(text: str, language: str | None,
                                                                        path: str | None, expected: bool) -> None:
    from scaledown_core.code.languages import is_source_code

    assert is_source_code(text, language=language, path=path) is expected
