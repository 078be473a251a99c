"""Code-selection peers for the ``selection-multilang`` suite (JavaScript, TypeScript, Go, Java, Rust),
in the project's .venv. The language is taken from the record's file name, as a user's tool would.

- ``TreeSitterBM25``: rank_bm25's BM25Okapi over tree-sitter units (functions, methods, class headers,
  module runs as ``scaledown_core.code`` cuts them), best-first greedy fill.
- ``TreeSitterEmbedding``: the packaged all-MiniLM-L6-v2 over the same units, cosine to the query.
- ``CodeSplitterBM25Multi``: LlamaIndex's ``CodeSplitter`` (defaults) given the official grammar wheel's
  parser (it would otherwise look the grammar up in tree_sitter_language_pack), chunks ranked by BM25Okapi.
"""

from __future__ import annotations

from typing import Any

from bench.adapters.code_peers import BM25Units, EmbeddingUnits
from bench.adapters.common import Unit, pack, rank_by, render


def tree_sitter_units(source: str, filename: str) -> list[Unit]:
    """The units ScaleDown's tree-sitter code model finds, each as its own lines' text."""
    from scaledown_core.code import parse_source

    sf = parse_source(source, path=filename)
    return [Unit("", u.regions[0][0], u.regions[-1][1], u.text) for u in sf.units if u.text.strip()]


class TreeSitterBM25(BM25Units):
    """BM25Okapi (its defaults) over tree-sitter units."""

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        units = tree_sitter_units(source, filename)
        return render(pack(rank_by(units, self.scores(query, [u.text for u in units])), budget))


class TreeSitterEmbedding(EmbeddingUnits):
    """Packaged MiniLM over tree-sitter units."""

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        units = tree_sitter_units(source, filename)
        return render(pack(rank_by(units, self.scores(query, [u.text for u in units])), budget))


class CodeSplitterBM25Multi:
    """LlamaIndex ``CodeSplitter`` chunks of the file's language, ranked by BM25Okapi."""

    def __init__(self) -> None:
        self._splitters: dict[str, Any] = {}

    def _splitter(self, filename: str) -> Any:
        from llama_index.core.node_parser import CodeSplitter
        from tree_sitter import Parser

        from scaledown_core.code.languages import language_for_path, ts_language

        spec = language_for_path(filename)
        name = spec.name if spec is not None else "python"
        if name not in self._splitters:
            self._splitters[name] = CodeSplitter(language=name, parser=Parser(ts_language(name)))
        return self._splitters[name]

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        chunks = self._splitter(filename).split_text(source)
        units = [Unit("", i, i, c) for i, c in enumerate(chunks)]
        scores = BM25Units().scores(query, [u.text for u in units])
        return render(pack(rank_by(units, scores), budget))
