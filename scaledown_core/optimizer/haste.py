"""HasteOptimizer: the code an LLM needs to answer a query, chosen from Python source under a hard budget.

Stages, each a short function in its own module: parse (``scaledown_core.code``, cached by content) -> index (BM25 over
units, per-line token counts, line and name maps; cached) -> read the query as an issue report
(``_evidence``) -> rank units, optional semantic rerank, expand over the call graph (``_rank``) -> plan
the candidates and pack under the budget (``_plan``, ``retrieval.packer.pack`` with an exact measure)
-> render with elision markers (``_render``). The unit table they share is ``_units``; a folder comes
from its persistent index (``scaledown_core.index``) unless ``use_index=False``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from ..code import SourceFile, render
from ..exceptions import OptimizerError
from ..retrieval.packer import pack
from ..tokens import get_counter
from ..types import OptimizationMetrics, OptimizedContext, SourceSpan
from ._evidence import Evidence, read_query
from ._inputs import IndexUse, read_request
from ._plan import _grow_partials, _plan, _refill, _shows_a_match, _smallest_view, _used_imports_only, _whole_plan
from ._files import file_values, lift_units, rank_files
from ._rank import _expand, _rank, _semantic
from ._render import _selection, _spans
from ._units import TokenCounts, _get_index, _Index

__all__ = ["HasteOptimizer"]


# --------------------------------------------------------------------------- the optimizer


class HasteOptimizer:
    """Select the Python code a query needs, under a hard token budget.

    ``top_k`` units seed the selection; ``bfs_depth`` steps over callees and callers add at most
    ``max_add`` more, ranked below the seeds that brought them in; what budget is left after them is
    filled with the next-ranked units (at most ``prefilter`` are considered). ``semantic=True`` fuses
    embedding similarity into the ranking (``sem_model``: an OpenAI model name, used with
    ``OPENAI_API_KEY``, or a local sentence-transformers model; the packaged MiniLM otherwise).
    ``max_tokens`` (default ``hard_cap``) is a hard budget on the whole output in ``target_model``
    tokens. A unit larger than ``soft_cap`` tokens is never shown whole: it is split at statement
    boundaries and shown in part (signature, docstring and the blocks that match the query); so is a
    unit too large for what is left of the budget.
    """

    def __init__(
        self,
        top_k: int = 6,
        prefilter: int = 300,
        bfs_depth: int = 1,
        max_add: int = 12,
        semantic: bool = False,
        sem_model: str = "text-embedding-3-small",
        hard_cap: int = 1200,
        soft_cap: int = 1800,
        target_model: str = "gpt-4o",
        use_index: bool = True,
        index_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        for name, value, low in (("top_k", top_k, 1), ("prefilter", prefilter, 1), ("bfs_depth", bfs_depth, 0),
                                 ("max_add", max_add, 0), ("hard_cap", hard_cap, 1), ("soft_cap", soft_cap, 1)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
            if value < low:
                raise ValueError(f"{name} must be >= {low}; got {value}")
        if not isinstance(target_model, str) or not target_model.strip():
            raise ValueError("target_model must be a model name such as 'gpt-4o'")
        if not isinstance(use_index, bool):
            raise TypeError(f"use_index must be True or False; got {type(use_index).__name__}")
        if index_dir is not None and not isinstance(index_dir, (str, os.PathLike)):
            raise TypeError(f"index_dir must be a folder path or None; got {type(index_dir).__name__}")
        self.use_index = use_index
        self.index_dir = os.fspath(index_dir) if index_dir is not None else None
        self.top_k = top_k
        self.prefilter = prefilter
        self.bfs_depth = bfs_depth
        self.max_add = max_add
        self.semantic = bool(semantic)
        self.sem_model = sem_model
        self.hard_cap = hard_cap
        self.soft_cap = soft_cap
        self.target_model = target_model
        get_counter(target_model)  # an unknown model warns now, not at the first call

    def __repr__(self) -> str:
        return (f"HasteOptimizer(top_k={self.top_k}, prefilter={self.prefilter}, bfs_depth={self.bfs_depth}, "
                f"max_add={self.max_add}, semantic={self.semantic}, sem_model={self.sem_model!r}, "
                f"hard_cap={self.hard_cap}, soft_cap={self.soft_cap}, target_model={self.target_model!r})")

    # ----------------------------------------------------------------- public
    def optimize(
        self,
        context: str = "",
        query: str | None = None,
        file_path: Any = None,
        max_tokens: int | None = None,
        *,
        context_path: str | None = None,
        **kwargs: Any,
    ) -> OptimizedContext:
        """The code of ``file_path`` (or of ``context`` when no path is given) that ``query`` needs.

        The output never exceeds ``max_tokens`` (default ``hard_cap``) ``target_model`` tokens.
        ``context_path`` names where ``context`` came from (``"pkg/module.py"``, or just ``"module.py"``);
        nothing is read from it, but traceback frames and ``file:line`` references in ``query`` are
        matched against it.
        """
        started = time.perf_counter()
        counter = get_counter(self.target_model)
        counting: TokenCounts = {}

        def count_while_parsing(text: str, lines: list[str]) -> None:
            counting[id(lines)] = counter.count_lines(lines, text, background=True)

        index = IndexUse(self.target_model, self.index_dir) if self.use_index else None
        req = read_request(context, query, file_path, max_tokens, kwargs, default_budget=self.hard_cap,
                           context_path=context_path, on_parse=count_while_parsing, index=index)
        if index is not None:
            from ..index import stored_counts

            for sf in req.files:  # a file from the index brings its token counts along
                stored = stored_counts(sf)
                if stored is not None:
                    counting[id(sf.lines)] = lambda stored=stored: stored
        budget = req.budget if req.budget is not None else self.hard_cap  # narrows the type: never None here
        return self._select(req.files, req.query, budget, req.warnings, started, req.multi, counting)

    async def aoptimize(
        self,
        context: str = "",
        query: str | None = None,
        file_path: Any = None,
        max_tokens: int | None = None,
        *,
        context_path: str | None = None,
        **kwargs: Any,
    ) -> OptimizedContext:
        """:meth:`optimize` in a worker thread (parsing and ranking are CPU work)."""
        return await asyncio.to_thread(self.optimize, context, query, file_path, max_tokens,
                                       context_path=context_path, **kwargs)

    # ----------------------------------------------------------------- stages
    def _select(self, files: list[SourceFile], query: str, budget: int, warnings: list[str], started: float,
                multi: bool, counting: TokenCounts) -> OptimizedContext:
        counter = get_counter(self.target_model)
        for sf in files:
            for w in sf.warnings:
                if w not in warnings:
                    warnings.append(w)
        if not files or not any(sf.units for sf in files):
            original = sum(counter.count(sf.text) for sf in files)
            return self._result("", files, [], [], {}, original, 0, "bm25", None, warnings, started, multi)
        index = _get_index(files, self.target_model, counting)
        ev = read_query(query)
        scores = _rank(index, ev)
        mode, model_used = "bm25", None
        if index.original_tokens <= budget:
            plan = _whole_plan(index)
            keys = list(plan.lines)
            content = render(index.files, _selection(plan, keys), headers=multi)
            tokens = counter.count(content)
            if tokens <= budget:  # everything fits: nothing to choose
                return self._result(content, files, keys, scores, plan.lines, index.original_tokens, tokens,
                                    mode, model_used, warnings, started, multi, index=index, ev=ev)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: max(self.prefilter, self.top_k)]
        if self.semantic and order:
            model_used = _semantic(index, ev, order, scores, self.sem_model, warnings)
            if model_used:
                mode = f"bm25+embedding:{model_used}"
                order.sort(key=lambda i: -scores[i])
        if not any(scores[i] > 0 for i in order):
            warnings.append("no unit matches the query; units are shown in source order")
        files_ranked = None
        if multi:  # a tree: rank its files, and let the likeliest files' units have the budget first
            values = file_values(index, scores, ev)
            files_ranked = rank_files(values)
            lift_units(index, scores, values)
            order.sort(key=lambda i: -scores[i])
        seeds = order[: self.top_k]
        added = _expand(index, scores, seeds, self.bfs_depth, self.max_add)
        pool = list(dict.fromkeys(order + added))
        pool.sort(key=lambda i: -scores[i])
        plan = _plan(index, ev, pool, scores, budget, self.soft_cap)

        shown: dict[tuple[tuple[str, str], ...], tuple[str, int]] = {}

        def show(keys: list[tuple[str, str]]) -> tuple[str, int]:
            """The output for ``keys`` and its exact token count."""
            # pack, refill and the result all measure the final selection: render and count it once
            hit = shown.get(tuple(keys))
            if hit is None:
                content = render(index.files, _selection(plan, keys), headers=multi)
                hit = shown[tuple(keys)] = (content, counter.count(content))
            return hit

        def measure(keys: list[tuple[str, str]]) -> int:
            return show(keys)[1]

        keys = pack(plan.candidates, budget, measure)
        keys = _used_imports_only(index, plan, _refill(plan, keys, budget, measure))
        if not _shows_a_match(keys, index, scores) and (not keys or scores[pool[0]] > 0):
            # nothing that matches fits whole: part of the best unit beats unrelated small ones
            view = _smallest_view(index, ev, plan, pool, budget, measure)
            keys = view or keys
            if view or not keys:
                warnings.append(f"max_tokens={budget} holds no matching unit whole; the best-ranked one is shown "
                                "in part" if view else f"max_tokens={budget} is too small to show any unit, even "
                                "in part: the output is empty")
        if any(kind == "p" for kind, _ in keys):
            # its trials rewrite the lines of one key: counted afresh, never through ``show``'s cache
            keys = _grow_partials(index, ev, plan, keys, budget, measure(keys),
                                  lambda ks: counter.count(render(index.files, _selection(plan, ks), headers=multi)))
        content, tokens = show(keys)
        if tokens > budget:  # the packer guarantees this; never ship over budget
            raise OptimizerError(f"internal error: selection of {tokens} tokens exceeds budget {budget}")
        return self._result(content, files, keys, [scores[i] for i in range(len(scores))], plan.lines,
                            index.original_tokens, tokens, mode, model_used, warnings, started, multi,
                            index=index, ev=ev, files_ranked=files_ranked)

    def _result(self, content: str, files: list[SourceFile], keys: list[tuple[str, str]], scores: list[float],
                lines: dict[tuple[str, str], tuple[str | None, list[int]]], original: int, tokens: int, mode: str,
                model_used: str | None, warnings: list[str], started: float, multi: bool,
                index: _Index | None = None, ev: Evidence | None = None,
                files_ranked: list[str] | None = None) -> OptimizedContext:
        spans: list[SourceSpan] = []
        if index is not None:
            spans = _spans(index, keys, scores, lines, get_counter(self.target_model))
        order = {sf.path: j for j, sf in enumerate(files)}
        spans.sort(key=lambda s: (order.get(s.path, 0), s.start_line))
        # imports are in the spans (they are shown) but they are not retrieved units
        imports = {(u.path, u.qualname) for u in index.units if u.is_import} if index is not None else set()
        ranked = [s for s in spans if (s.path, s.name) not in imports]
        extra: dict[str, Any] = {"ranked_units": sorted(ranked, key=lambda s: -s.score)}
        if files_ranked is not None:
            extra["ranked_files"] = files_ranked
        elif multi and index is not None and ev is not None:
            extra["ranked_files"] = rank_files(file_values(index, scores, ev))
        elif multi:
            extra["ranked_files"] = [str(sf.path) for sf in files]
        metrics = OptimizationMetrics(
            original_tokens=original,
            optimized_tokens=tokens,
            chunks_retrieved=len(spans),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            retrieval_mode=mode,
            spans=spans,
            model_used=model_used,
            warnings=warnings,
            extra=extra,
        )
        return OptimizedContext(content=content, metrics=metrics)

