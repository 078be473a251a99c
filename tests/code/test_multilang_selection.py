"""Selection in JavaScript, TypeScript, Go, Java and Rust end to end: the optimizers, the LangChain and
LlamaIndex code retrievers and the CLI, on real files, within the budget, elided in the file's own syntax."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaledown_core.optimizer import HasteOptimizer, SemanticOptimizer
from scaledown_core.tokens import get_counter

from .test_languages import GO, JAVA, JS, RUST, TS


def _tokens(text: str) -> int:
    return get_counter("gpt-4o").count(text)


def _padded(source: str, n: int, make: str) -> str:
    """``source`` with ``n`` unrelated functions appended, so that a small budget must choose."""
    return source + "".join(make.format(i=i) for i in range(n))


JAVA_BIG = _padded(JAVA[: JAVA.rindex("}")], 40,
                   "\n    public int unrelated{i}(int a) {{\n        int b = a * {i};\n        return b + {i};\n    }}\n") + "}\n"
GO_BIG = _padded(GO, 40, "\nfunc Unrelated{i}(a int) int {{\n\tb := a * {i}\n\treturn b + {i}\n}}\n")
RUST_BIG = _padded(RUST, 40, "\nfn unrelated_{i}(a: u32) -> u32 {{\n    let b = a * {i};\n    b + {i}\n}}\n")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    for rel, text in {"go/cart.go": GO_BIG, "java/Cart.java": JAVA_BIG, "rs/cart.rs": RUST_BIG, "js/app.js": JS,
                      "ts/tokenizer.ts": TS}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _shown_lines_are_source_lines(out: str, source: str, marker: str) -> None:
    lines = set(source.splitlines())
    assert all(line in lines or line.strip() == marker for line in out.splitlines() if line.strip()), out


@pytest.mark.parametrize("path, source, query, wanted", [
    ("Cart.java", JAVA_BIG, "java.lang.NullPointerException\n\tat com.shop.Cart.sum(Cart.java:16)\n"
                            "\tat com.shop.Cart.total(Cart.java:12)", "    private int sum(List<Item> xs) {"),
    ("cart.go", GO_BIG, "panic: runtime error: index out of range\n\ngoroutine 1 [running]:\n"
                        "shop.(*Cart).Total(0xc000010000)\n\t/src/shop/cart.go:17 +0x1d", "func (c *Cart) Total() int {"),
    ("src/cart.rs", RUST_BIG, "thread 'main' panicked at src/cart.rs:16:9:\n`Cart::empty` builds no items",
     "    fn empty() -> Self {"),
])
def test_haste_follows_each_language_stack_trace(path: str, source: str, query: str, wanted: str) -> None:
    result = HasteOptimizer().optimize(context=source, query=query, context_path=path, max_tokens=300)
    assert wanted in result.content.splitlines()
    assert result.metrics.optimized_tokens == _tokens(result.content) <= 300
    assert "// ..." in result.content and "# ..." not in result.content
    _shown_lines_are_source_lines(result.content, source, "// ...")


def test_haste_over_a_mixed_folder_names_the_files(shop: Path) -> None:
    result = HasteOptimizer().optimize(query="Where does the tokenizer create the lookahead state?",
                                       file_path=str(shop), max_tokens=400)
    assert "# file: ts/tokenizer.ts" in result.content
    assert "  createLookaheadState(state: State): State {" in result.content
    assert _tokens(result.content) <= 400


def test_semantic_optimizer_reads_other_languages(minilm_path: str) -> None:
    opt = SemanticOptimizer(model_name=minilm_path)
    result = opt.optimize(context=JS, query="render a template by name", context_path="lib/app.js", max_tokens=120)
    assert "app.render = function render(name, options, callback) {" in result.content
    assert _tokens(result.content) <= 120
    _shown_lines_are_source_lines(result.content, JS, "// ...")


def test_langchain_and_llamaindex_retrievers_over_a_rust_and_go_tree(shop: Path) -> None:
    from langchain_scaledown import ScaleDownCodeRetriever as LangChainRetriever
    from llama_index.retrievers.scaledown import ScaleDownCodeRetriever as LlamaRetriever

    query = "Cart::empty builds an empty cart"
    docs = LangChainRetriever(paths=[str(shop / "rs")], max_tokens=300).invoke(query)
    assert any(d.metadata["qualname"] == "Cart.empty" and d.metadata["source"].endswith("cart.rs") for d in docs)
    nodes = LlamaRetriever(paths=[str(shop / "go")], max_tokens=300).retrieve("Cart Total sums the prices")
    assert nodes and nodes[0].metadata["name"] == "Cart.Total"
    assert sum(n.metadata["tokens"] for n in nodes) <= 300


def test_cli_select_reads_a_java_file(shop: Path) -> None:
    path = shop / "java" / "Cart.java"
    exe = Path(sys.executable).parent / "scaledown"  # the console script installed beside the interpreter
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_")} | {"HF_HUB_OFFLINE": "1"}
    out = subprocess.run([str(exe), "select", str(path), "-q", "Cart.sum counts the items", "--budget", "200"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "    private int sum(List<Item> xs) {" in out.stdout
    assert _tokens(out.stdout.rstrip("\n")) <= 200


def test_langchain_document_compressor_sends_a_go_document_to_the_code_optimizer() -> None:
    from langchain_core.documents import Document
    from langchain_scaledown import ScaleDownDocumentCompressor

    doc = Document(page_content=GO_BIG, metadata={"source": "shop/cart.go"})
    (out,) = ScaleDownDocumentCompressor(max_tokens=250).compress_documents([doc], "Cart Total sums the prices")
    assert "func (c *Cart) Total() int {" in out.page_content.splitlines()
    assert "// ..." in out.page_content and _tokens(out.page_content) <= 250
    _shown_lines_are_source_lines(out.page_content, GO_BIG, "// ...")
