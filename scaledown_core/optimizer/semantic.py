"""SemanticOptimizer: embedding search over the shared code model's units, cached and budgeted.

Stages: sources -> units (``scaledown_core.code``) -> windows (a unit longer than the embedding model's
maximum sequence is cut at statement boundaries, each window its head plus a run of blocks, so nothing
is silently truncated) -> document vectors (disk-cached by model + content hash) -> FAISS inner-product
search -> a unit scores as its best window -> ``top_k`` units packed under ``max_tokens`` by
``retrieval.packer.pack`` with the exact rendered count -> rendered in source order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..code import CodeUnit, SourceFile, render, shown_text, unit_lines
from ..exceptions import OptimizerError
from ..retrieval.embedding_cache import CacheStats
from ..retrieval.packer import Candidate, pack
from ..tokens import get_counter
from ..types import OptimizationMetrics, OptimizedContext, SourceSpan
from ._inputs import read_request

__all__ = ["SemanticOptimizer", "DEFAULT_MODEL"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3-Embedding-0.6B"
# What the specification searches for when no query is given: the code that does the main work.
DEFAULT_QUERY = "main logic"
# Built indexes (windows, vectors, FAISS index) kept in memory, keyed by model and file contents, so a
# second query over the same code embeds only the query; bounded to keep a long-lived process small.
INDEX_CACHE_SIZE = 16
# A progress bar (on a terminal only) when at least this many windows must be embedded: a few seconds
# of work on a laptop CPU with the packaged model.
PROGRESS_MIN_WINDOWS = 256
# A unit's head (signature + docstring) repeats in each of its windows; beyond this share of the
# model's sequence it would crowd out the code, so only the first head line is repeated.
HEAD_SHARE = 0.5
# Keys of packing candidates: a unit whole, a unit in part, a class signature shown with its methods.
WHOLE, PART, CLASS_LINE = "w", "p", "c"
# Value of anything kept from the first packing pass when the second pass adds partial units: far
# above any similarity, so the second pass never trades a whole unit for a part of another.
KEPT_VALUE = 1e6
# Value per token of the unit ranked r is RANK_DECAY ** r: packing follows the ranking (on the dev set,
# best-first fill beat value-by-similarity, whose weak calibration let small units crowd out big ones).
RANK_DECAY = 0.97

Key = tuple[str, str]


@dataclass
class _Window:
    """A piece of one unit as the embedding model sees it."""

    unit: int
    lines: list[int]
    text: str
    partial: bool


@dataclass
class _Index:
    files: list[SourceFile]
    units: list[CodeUnit]
    file_of: list[SourceFile]
    windows: list[_Window]
    vectors: Any  # VectorIndex
    truncated: int
    """Windows longer than the model's sequence even after splitting (a single huge line)."""
    build_stats: CacheStats
    original_tokens: dict[str, int] = field(default_factory=dict)
    unit_windows: list[list[int]] = field(default_factory=list)


_indexes: "OrderedDict[tuple[Any, ...], _Index]" = OrderedDict()
_indexes_lock = threading.Lock()


def clear_index_cache() -> None:
    """Forget every in-memory index (the disk cache of vectors is kept)."""
    with _indexes_lock:
        _indexes.clear()


# --------------------------------------------------------------------------- windows


def _line_tokens(embedder: Any, sf: SourceFile) -> tuple[list[int], int]:
    """Model tokens of each line of ``sf`` (prompt and special tokens excluded) and that overhead."""
    overhead = embedder.count_tokens([""])[0]
    counts = embedder.count_tokens(sf.lines) if sf.lines else []
    # +1: the newline joining lines may be a token of its own in byte-level BPE vocabularies
    return [max(c - overhead, 0) + 1 for c in counts], overhead


def _runs(lines: list[int], cost: Callable[[int], int], room: int) -> list[list[int]]:
    """``lines`` cut into consecutive runs of at most ``room`` tokens (a single longer line stands alone)."""
    runs: list[list[int]] = [[]]
    used = 0
    for n in lines:
        c = cost(n)
        if runs[-1] and used + c > room:
            runs.append([])
            used = 0
        runs[-1].append(n)
        used += c
    return [r for r in runs if r]


def _unit_windows(sf: SourceFile, unit: CodeUnit, ui: int, line_tok: list[int], overhead: int,
                  max_tokens: int) -> tuple[list[_Window], int]:
    """The windows of one unit and how many of them still exceed ``max_tokens``."""

    def cost(n: int) -> int:
        return line_tok[n - 1] if 0 < n <= len(line_tok) else 0

    whole = unit.line_numbers()
    room = max_tokens - overhead
    if sum(cost(n) for n in whole) <= room:
        return [_Window(ui, whole, unit.text, False)], 0
    head = list(range(unit.head[0], unit.head[1] + 1)) if unit.head[1] >= unit.head[0] else []
    if head and sum(cost(n) for n in head) > room * HEAD_SHARE:
        head = head[:1]
    head_cost = sum(cost(n) for n in head)
    # pieces: the unit's statement blocks (with their enclosing headers), cut by lines when too long
    pieces: list[list[int]] = []
    for block in sf.blocks(unit):
        lines = [n for n in block.line_numbers() if n not in head]
        if sum(cost(n) for n in lines) + head_cost <= room:
            pieces.append(lines)
        else:
            pieces.extend(_runs(lines, cost, max(room - head_cost, 1)))
    if not pieces:  # a unit without statement blocks (a long module table): cut by lines
        pieces = _runs([n for n in whole if n not in head], cost, max(room - head_cost, 1))
    windows: list[_Window] = []
    group: list[int] = []
    used = head_cost
    for piece in pieces:
        c = sum(cost(n) for n in piece)
        if group and used + c > room:
            windows.append(_window(sf, ui, head, group))
            group, used = [], head_cost
        group.extend(piece)
        used += c
    if group:
        windows.append(_window(sf, ui, head, group))
    too_long = sum(1 for w in windows if sum(cost(n) for n in w.lines) > room)
    return windows, too_long


def _window(sf: SourceFile, ui: int, head: list[int], body: list[int]) -> _Window:
    lines = sorted(set(head) | set(body))
    return _Window(ui, lines, sf.text_of(lines), True)


# --------------------------------------------------------------------------- index


def _searchable(unit: CodeUnit) -> bool:
    # import blocks say what a file uses, not what it does; they match every query a little
    return not unit.is_import


def _build_index(files: list[SourceFile], embedder: Any, progress: bool) -> _Index:
    from ..retrieval.vector_index import VectorIndex

    units: list[CodeUnit] = []
    file_of: list[SourceFile] = []
    windows: list[_Window] = []
    unit_windows: list[list[int]] = []
    truncated = 0
    for sf in files:
        searchable = [u for u in sf.units if _searchable(u)]
        if not searchable:
            continue
        line_tok, overhead = _line_tokens(embedder, sf)
        for unit in searchable:
            ui = len(units)
            units.append(unit)
            file_of.append(sf)
            ws, too_long = _unit_windows(sf, unit, ui, line_tok, overhead, embedder.max_seq_tokens)
            unit_windows.append(list(range(len(windows), len(windows) + len(ws))))
            windows.extend(ws)
            truncated += too_long
    stats = CacheStats()
    bar = _ProgressBar(progress)
    try:
        vectors = embedder.embed_documents([w.text for w in windows], stats=stats, progress=bar.update)
    finally:
        bar.close()
    return _Index(files, units, file_of, windows, VectorIndex(vectors), truncated, stats,
                  unit_windows=unit_windows)


class _ProgressBar:
    """A tqdm bar on stderr, only on a terminal and only for long indexing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.shown = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total < PROGRESS_MIN_WINDOWS:
            return
        if self.bar is None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.enabled = False
                return
            self.bar = tqdm(total=total, desc="embedding code units", unit="unit", file=sys.stderr, leave=False)
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _get_index(files: list[SourceFile], embedder: Any, progress: bool) -> tuple[_Index, CacheStats]:
    """The index of ``files`` for ``embedder`` (built once) and this call's cache figures."""
    key = (embedder.model_key, embedder.max_seq_tokens, tuple((sf.path, sf.digest) for sf in files))
    with _indexes_lock:
        index = _indexes.get(key)
        if index is not None:
            _indexes.move_to_end(key)
    if index is not None:
        return index, CacheStats(hits=len({w.text for w in index.windows}), misses=0)
    index = _build_index(files, embedder, progress)
    with _indexes_lock:
        _indexes[key] = index
        while len(_indexes) > INDEX_CACHE_SIZE:
            _indexes.popitem(last=False)
    return index, index.build_stats


def _query_is_cut(embedder: Any, query: str) -> bool:
    """Whether ``query`` is longer than the model's sequence, so the model sees only its start.

    That is deliberate: issue reports put their gist (title, first paragraph) first, and averaging in
    the tracebacks and logs that follow drifts the vector away from it (dev selection set at
    1000/2000/4000 tokens: 45.0/65.6/78.6 with the start, 42.0/61.8/77.9 with the mean of all parts,
    42.0/63.4/78.6 cut at a line boundary, since a first paragraph is often one long line).
    """
    return embedder.count_tokens([query])[0] > embedder.max_seq_tokens


def _unit_scores(index: _Index, qv: np.ndarray) -> tuple[list[float], list[int]]:
    """Each unit's best window similarity, and that window, from one FAISS search over all windows."""
    scores = [-1.0] * len(index.units)
    best = [-1] * len(index.units)
    if not index.windows:
        return scores, best
    sims, ids = index.vectors.search(qv, k=len(index.windows))
    for s, wi in zip(sims[0].tolist(), ids[0].tolist()):
        if wi < 0:
            continue
        ui = index.windows[wi].unit
        if best[ui] < 0:  # results come best first: the first window seen is the unit's best
            scores[ui], best[ui] = float(s), int(wi)
    return scores, best


# --------------------------------------------------------------------------- packing


@dataclass
class _Plan:
    lines: dict[Key, tuple[int, list[int]]] = field(default_factory=dict)
    """Each candidate key -> (file index, lines it shows)."""
    candidates: list[Candidate[Key]] = field(default_factory=list)


def _class_line(sf: SourceFile, unit: CodeUnit) -> tuple[Key, list[int]] | None:
    """The signature lines of the class that holds ``unit`` (so a method reads inside its class)."""
    if unit.kind != "method" or not unit.parent:
        return None
    parent = sf.by_key.get(unit.parent)
    if parent is None:
        return None
    return (CLASS_LINE, parent.key), parent.signature_lines()


def _context_lines(sf: SourceFile, fi: int, unit: CodeUnit) -> list[tuple[Key, list[int]]]:
    """What ``unit`` is shown inside: the ``if``/``else:`` lines it (or its class) sits under, then its
    class line; worth nothing alone."""
    cls = _class_line(sf, unit)
    holder = sf.by_key.get(unit.parent) if cls is not None and unit.parent else unit
    guards = [((CLASS_LINE, f"{fi}:{a}"), list(range(a, b + 1))) for a, b in (holder.guards if holder else ())]
    return guards + ([cls] if cls is not None else [])


class SemanticOptimizer:
    """Selects the code units nearest in meaning to a query, under a token budget.

    Args:
        model_name: a local model folder, a Hugging Face model name (used from the local cache, or
            downloaded where the network allows), an OpenAI embedding model name (with
            ``OPENAI_API_KEY``), or None for the packaged all-MiniLM-L6-v2. A model that cannot be
            had falls back to the packaged one (see ``metrics.model_used`` and ``metrics.warnings``).
        top_k: how many units to select (the best ``top_k`` by similarity); None keeps every unit that
            ``max_tokens`` holds, best first (every unit when there is no budget).
        target_model: the LLM whose tokenizer measures ``max_tokens`` and the metrics.
        fallback: False makes an unavailable model an ``OptimizerError`` instead of a fallback.
        cache_dir: the folder of the embedding disk cache (default ``$SCALEDOWN_CACHE_DIR`` or the
            user cache folder); ``use_cache=False`` turns the disk cache off.
        device: the torch device for a local model (default: sentence-transformers' choice).
        embedder: an embedder object to use instead of resolving ``model_name`` (testing, sharing).
        progress: show a progress bar on a terminal while indexing many units.
    """

    def __init__(
        self,
        model_name: str | None = DEFAULT_MODEL,
        top_k: int | None = 3,
        target_model: str = "gpt-4o",
        *,
        fallback: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
        device: str | None = None,
        embedder: Any = None,
        progress: bool = True,
    ) -> None:
        if model_name is not None and (not isinstance(model_name, str) or not model_name.strip()):
            raise ValueError("model_name must be a model name or folder, or None for the packaged model")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive integer or None; got {top_k!r}")
        if not isinstance(target_model, str) or not target_model.strip():
            raise ValueError("target_model must be a model name such as 'gpt-4o'")
        get_counter(target_model)  # an unknown target model warns now, not mid-query
        self.model_name = model_name
        self.top_k = top_k
        self.target_model = target_model
        self.fallback = fallback
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.use_cache = use_cache
        self.device = device
        self.progress = progress
        self._embedder = embedder
        self._embedder_lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"SemanticOptimizer(model_name={self.model_name!r}, top_k={self.top_k}, "
                f"target_model={self.target_model!r})")

    @property
    def embedder(self) -> Any:
        """The embedder in use, loaded on first use (the model is shared across the process)."""
        with self._embedder_lock:
            if self._embedder is None:
                from ..retrieval.embeddings import get_embedder

                self._embedder = get_embedder(self.model_name, fallback=self.fallback, cache_dir=self.cache_dir,
                                              device=self.device, use_cache=self.use_cache)
            return self._embedder

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
        """The ``top_k`` units of ``file_path`` (or of ``context`` when no path is given) nearest to ``query``
        (``DEFAULT_QUERY``, ``"main logic"``, when none is given, with a warning saying so).

        ``max_tokens`` (optional) is a hard budget on the output in ``target_model`` tokens; units that
        do not fit whole are shown in part (head plus their best-matching window) or left out.
        ``context_path`` names where ``context`` came from; the result's spans carry it as their path.
        """
        started = time.perf_counter()
        req = read_request(context, DEFAULT_QUERY if query is None else query, file_path, max_tokens, kwargs,
                           default_budget=None, context_path=context_path)
        if query is None:
            req.warnings.append(f"no query given: searched for {DEFAULT_QUERY!r}, the default")
        return self._select(req.files, req.query, req.budget, req.warnings, started, req.multi)

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
        """:meth:`optimize` in a worker thread (embedding and search are CPU work)."""
        return await asyncio.to_thread(self.optimize, context, query, file_path, max_tokens,
                                       context_path=context_path, **kwargs)

    # ----------------------------------------------------------------- stages
    def _select(self, files: list[SourceFile], query: str, budget: int | None, warnings: list[str],
                started: float, multi: bool) -> OptimizedContext:
        counter = get_counter(self.target_model)
        embedder = self.embedder
        if embedder.fallback_reason:
            warnings.append(f"embedding model fallback: {embedder.fallback_reason}")
        if not files or not any(_searchable(u) for sf in files for u in sf.units):
            if files and any(sf.text.strip() for sf in files):
                warnings.append("no code units to search (only imports, comments or blank lines)")
            original = sum(counter.count(sf.text) for sf in files)
            return self._result("", [], original, 0, embedder, CacheStats(), None, {}, warnings, started)
        index, stats = _get_index(files, embedder, self.progress)
        if index.truncated:
            warnings.append(f"{index.truncated} window(s) hold a single line longer than the embedding "
                            f"model's {embedder.max_seq_tokens} tokens; the model saw their start only")
        cache = getattr(embedder, "cache", None)
        if cache is not None and getattr(cache, "error", None):
            warnings.append(f"embedding cache disabled: {cache.error}")
        original = index.original_tokens.get(self.target_model)
        if original is None:
            original = index.original_tokens[self.target_model] = sum(counter.count(sf.text) for sf in index.files)
        query_cut = _query_is_cut(embedder, query)
        scores, best = _unit_scores(index, embedder.embed_queries([query])[0])
        ranked = sorted(range(len(index.units)), key=lambda i: (-scores[i], i))
        top = ranked[: self.top_k] if self.top_k is not None else ranked
        plan = _plan(index, top, scores, best)
        multi = multi or len(index.files) > 1

        def show(keys: list[Key]) -> str:
            return render(index.files, _selection(index, plan, keys), headers=multi)

        def measure(keys: list[Key]) -> int:
            return counter.count(show(keys))

        keys = _fit(plan, top, budget, measure)
        content = show(keys)
        tokens = counter.count(content)
        if budget is not None and tokens > budget:  # the packer guarantees this; never ship over budget
            raise OptimizerError(f"internal error: selection of {tokens} tokens exceeds budget {budget}")
        if budget is not None and top and not content:
            warnings.append(f"max_tokens={budget} is too small to show any matching unit, even in part: "
                            "the output is empty")
        elif budget is not None and self.top_k is not None and \
                len({k[1] for k in keys if k[0] != CLASS_LINE}) < len(top):
            warnings.append(f"max_tokens={budget} holds {len([k for k in keys if k[0] != CLASS_LINE])} of the "
                            f"top {len(top)} units")
        ranked_files = _rank_files(index, scores) if multi else None
        position = {sf.path: i for i, sf in enumerate(index.files)}
        spans = sorted(_spans(index, plan, keys, scores, counter), key=lambda s: (position[s.path], s.start_line))
        return self._result(content, spans, original, tokens, embedder, stats, ranked_files,
                            {"windows": len(index.windows), "units_indexed": len(index.units),
                             "query_truncated": query_cut},
                            warnings, started)

    def _result(self, content: str, spans: list[SourceSpan], original: int, tokens: int, embedder: Any,
                stats: CacheStats, ranked_files: list[str] | None, figures: dict[str, Any], warnings: list[str],
                started: float) -> OptimizedContext:
        """The result; ``spans`` are in source order (input files in their given order)."""
        extra: dict[str, Any] = {
            "ranked_units": sorted(spans, key=lambda s: -s.score),
            "cache_hits": stats.hits,
            "cache_misses": stats.misses,
            "cache_hit_rate": round(stats.hit_rate, 4),
            **figures,
        }
        if ranked_files is not None:
            extra["ranked_files"] = ranked_files
        metrics = OptimizationMetrics(
            original_tokens=original,
            optimized_tokens=tokens,
            chunks_retrieved=len(spans),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            retrieval_mode=f"embedding:{embedder.model_used}",
            spans=spans,
            model_used=embedder.model_used,
            warnings=warnings,
            extra=extra,
        )
        return OptimizedContext(content=content, metrics=metrics)


# --------------------------------------------------------------------------- helpers


def _plan(index: _Index, top: list[int], scores: list[float], best: list[int]) -> _Plan:
    plan = _Plan()
    fi_of = {id(sf): i for i, sf in enumerate(index.files)}
    for rank, ui in enumerate(top):
        unit = index.units[ui]
        sf = index.file_of[ui]
        fi = fi_of[id(sf)]
        requires: tuple[Key, ...] = ()
        for ckey, clines in _context_lines(sf, fi, unit):
            if ckey not in plan.lines:
                plan.lines[ckey] = (fi, clines)
                plan.candidates.append(Candidate(ckey, 0.0, _approx(sf, clines), group=None))
            requires += (ckey,)
        whole = unit.line_numbers()
        cost = _approx(sf, whole)
        # similarity is poorly calibrated across units, so rank decides: value per token falls with
        # rank, and the packer fills the budget best-first, skipping what no longer fits
        value = cost * RANK_DECAY ** rank
        plan.lines[(WHOLE, unit.key)] = (fi, whole)
        plan.candidates.append(Candidate((WHOLE, unit.key), value, cost, requires, group=unit.key))
        window = index.windows[best[ui]] if best[ui] >= 0 else None
        if window is not None and window.partial:
            plan.lines[(PART, unit.key)] = (fi, window.lines)
            part_cost = _approx(sf, window.lines)
            plan.candidates.append(Candidate((PART, unit.key), part_cost * RANK_DECAY ** rank, part_cost, requires,
                                             group=unit.key))
        elif len(whole) > 1:
            part = unit_lines(unit, [])  # head only: the signature and docstring
            if part and len(part) < len(whole):
                plan.lines[(PART, unit.key)] = (fi, part)
                part_cost = _approx(sf, part)
                plan.candidates.append(Candidate((PART, unit.key), part_cost * RANK_DECAY ** rank, part_cost,
                                                 requires, group=unit.key))
    return plan


def _approx(sf: SourceFile, lines: list[int]) -> int:
    """A cheap estimate of the tokens ``lines`` render to (the packer checks the exact count)."""
    # about 4 characters per token for code in o200k/cl100k; +1 per line for the newline
    return max(1, sum(len(sf.lines[n - 1]) for n in lines if 0 < n <= len(sf.lines)) // 4 + len(lines))


def _fit(plan: _Plan, top: list[int], budget: int | None, measure: Callable[[list[Key]], int]) -> list[Key]:
    """Whole units first; then, in what is left, parts of the top units that did not fit whole."""
    wholes = [c for c in plan.candidates if c.key[0] != PART]
    if budget is None:
        return [c.key for c in wholes]
    keys = pack(wholes, budget, measure)
    kept = set(keys)
    shown_units = {k[1] for k in keys if k[0] == WHOLE}
    parts = [c for c in plan.candidates if c.key[0] == PART and c.key[1] not in shown_units]
    if not parts:
        return keys
    second = [Candidate(c.key, KEPT_VALUE + c.value, c.cost, c.requires, c.group) if c.key in kept else c
              for c in wholes if c.key in kept or c.key[0] == CLASS_LINE] + parts
    return pack(second, budget, measure)


def _selection(index: _Index, plan: _Plan, keys: list[Key]) -> dict[str | None, list[int]]:
    out: dict[str | None, list[int]] = {}
    for k in keys:
        fi, lines = plan.lines[k]
        out.setdefault(index.files[fi].path, []).extend(lines)
    return out


def _spans(index: _Index, plan: _Plan, keys: list[Key], scores: list[float], counter: Any) -> list[SourceSpan]:
    """One span per shown unit, with its shown text (a class line kept for a method merges with its header)."""
    shown: dict[str, set[int]] = {}
    for kind, ukey in keys:
        if kind != CLASS_LINE:
            shown.setdefault(ukey, set()).update(plan.lines[(kind, ukey)][1])
    for kind, ukey in keys:
        if kind == CLASS_LINE and ukey in shown:
            shown[ukey].update(plan.lines[(kind, ukey)][1])
    pos = {u.key: i for i, u in enumerate(index.units)}
    spans: list[SourceSpan] = []
    for ukey, visible in shown.items():
        ui = pos[ukey]
        unit = index.units[ui]
        sf = index.file_of[ui]
        own = unit.line_numbers()
        kept = [n for n in own if n in visible] or sorted(visible)
        text = shown_text(sf, unit, kept)
        spans.append(SourceSpan(path=unit.path, start_line=min(kept), end_line=max(kept), name=unit.qualname,
                                score=round(scores[ui], 4), kind=unit.kind, partial=len(kept) < len(own),
                                tokens=counter.count(text), text=text))
    return spans


# A file with a second relevant unit beats one with a single equally good unit, by this share.
FILE_SECOND_WEIGHT = 0.3


def _rank_files(index: _Index, scores: list[float]) -> list[str]:
    per: dict[str | None, list[float]] = {}
    for ui, sf in enumerate(index.file_of):
        per.setdefault(sf.path, []).append(scores[ui])
    value: dict[str, float] = {}
    for sf in index.files:
        if sf.path is None:
            continue
        s = sorted(per.get(sf.path, [-1.0]), reverse=True)
        value[sf.path] = s[0] + (FILE_SECOND_WEIGHT * s[1] if len(s) > 1 else 0.0)
    return sorted(value, key=lambda p: -value[p])
