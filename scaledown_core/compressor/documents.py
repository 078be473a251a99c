"""A retrieved set compressed as one context: many texts, one query, one budget, joint selection.

Stages, each a short function:

1. check    - the texts (strings), optional ids and retriever scores, the budget;
2. join     - each document is segmented on its own (:func:`.segment.segment`: prose, JSON, code) and
              the segmentations are laid end to end as one, so no unit crosses a document boundary.
              A blank document and a repeat of an earlier one take no part; a document under
              ``SMALL_DOCUMENT_TOKENS`` is one unit (kept or dropped whole);
3. score    - the engine's own ranking over the joined set (:class:`.local.LocalCompressor`):
              coarse per document, fine per sentence, second hop, priors;
4. budget   - ``rate`` x the set's tokens, ``max_tokens`` as a ceiling; ``rate="auto"`` keeps the
              relevant documents whole while they fit (see :func:`_auto_whole`);
5. select   - the one packer under the exact count of what is handed on: the sum over documents of
              each one's rendered text;
6. split    - the kept units of each document rendered apart: one result per input, in input order.

The wire form (``POST /compress/documents/``, a ScaleDown server extension) is built and read here
too, so that the client and ``scaledown serve`` share it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Sequence

from ..exceptions import MalformedResponseError
from ..retrieval.text import lone_surrogate
from ..types import CompressedDocuments, CompressionMetrics, DocumentCompression
from . import _core
from .segment import Block, Segmentation, Unit, _JsonContainer, _JsonEntry, segment

if TYPE_CHECKING:
    from .local import LocalCompressor

__all__ = [
    "DOCUMENTS_ENDPOINT",
    "SMALL_DOCUMENT_TOKENS",
    "check_documents",
    "compress_documents",
    "build_documents_payload",
    "parse_documents_response",
    "documents_response_body",
    "empty_result",
    "from_singles",
]

DOCUMENTS_ENDPOINT = "/compress/documents/"
SEPARATOR = "\n\n"  # between documents in the joined text: a paragraph break, never inside a unit
# A document shorter than this is one statement or two (a chunk of a FAQ, a short passage): cutting it
# saves a few tokens and risks leaving its answer behind ("refund ... within 30 days" without "30
# days"), so it is one unit, kept or dropped whole. About two average English sentences.
SMALL_DOCUMENT_TOKENS = 32
# rate="auto": a document whose best unit scores under the engine's ``AUTO_RELEVANCE`` share of the
# best document's is clearly irrelevant and dropped; one scoring at least this share is kept whole
# while the auto budget holds it (best first); the packer picks the sentences of the others.
WHOLE_DOCUMENT_RELEVANCE = 0.8
# A unit of a document kept whole outranks every other unit in the packer (the engine's scores are
# on a 0..~13 scale with preserve_words).
WHOLE_DOCUMENT_LIFT = 100.0


@dataclass(frozen=True)
class _Joined:
    """The documents taking part, joined: one segmentation, each block's document, each document's units."""

    seg: Segmentation
    members: list[int]
    """Input indices of the documents in the joined text, in input order."""
    doc_of_block: list[int]

    def doc_of(self, unit: int) -> int:
        return self.doc_of_block[self.seg.units[unit].block]

    def units_by_doc(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {d: [] for d in self.members}
        for i in range(len(self.seg.units)):
            out[self.doc_of(i)].append(i)
        return out


# --------------------------------------------------------------------------- checks


def check_documents(texts: Any, ids: Any = None, scores: Any = None) -> tuple[list[str], list[str | None],
                                                                            list[float | None]]:
    """The texts, ids and retriever scores of a call, checked: a clear TypeError/ValueError on misuse."""
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a list of strings (one per document); got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a string; got {type(t).__name__}")
    n = len(texts)
    return list(texts), _parallel("ids", ids, n, (str, int)), _parallel("scores", scores, n, (int, float))


def _parallel(name: str, values: Any, n: int, kinds: tuple[type, ...]) -> list[Any]:
    if values is None:
        return [None] * n
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or len(values) != n:
        raise ValueError(f"{name} must be a list with one entry per document ({n}); got {values!r:.80}")
    for i, v in enumerate(values):
        if v is not None and (isinstance(v, bool) or not isinstance(v, kinds)):
            raise TypeError(f"{name}[{i}] must be {' or '.join(k.__name__ for k in kinds)} or None; "
                            f"got {type(v).__name__}")
    return [str(v) if name == "ids" and v is not None else v for v in values]


# --------------------------------------------------------------------------- join


def _one_unit(seg: Segmentation) -> Segmentation:
    """A short document as one unit under its title, if it has one: kept or dropped whole."""
    header = seg.blocks[0].header
    body = [u for u in seg.units if u.index != header]
    start, end = body[0].start, body[-1].end
    units = [Unit(0, 0, seg.units[header].start, seg.units[header].end, "header", 0)] if header is not None else []
    units.append(Unit(len(units), 0, start, end, "sentence", len(units)))
    block = Block(0, "prose", units[0].start, end, units=[u.index for u in units],
                  header=0 if header is not None else None)
    return Segmentation(seg.text, [block], units)


def _own_segmentation(text: str, size: int) -> Segmentation:
    seg = segment(text)
    body = [u for u in seg.units if u.kind != "header"]
    if size < SMALL_DOCUMENT_TOKENS and len(body) > 1 and all(b.kind == "prose" for b in seg.blocks):
        return _one_unit(seg)
    return seg


def _shift_json(node: _JsonContainer, chars: int, units: int) -> _JsonContainer:
    return _JsonContainer(node.start + chars, node.end + chars, node.opener, [
        _JsonEntry(e.start + chars, e.end + chars, _shift_json(e.value, chars, units) if e.value else None,
                   e.unit + units if e.unit is not None else None)
        for e in node.entries
    ])


def _join(texts: list[str], members: list[int], sizes: list[int]) -> _Joined:
    """Each member segmented on its own, laid end to end with ``SEPARATOR`` between them."""
    parts: list[str] = []
    blocks: list[Block] = []
    units: list[Unit] = []
    labels: dict[int, str] = {}
    parents: dict[int, int] = {}
    calls: dict[int, list[str]] = {}
    doc_of_block: list[int] = []
    chars = 0
    for d in members:
        seg = _own_segmentation(texts[d], sizes[d])
        nb, nu = len(blocks), len(units)
        for u in seg.units:
            units.append(Unit(u.index + nu, u.block + nb, u.start + chars, u.end + chars, u.kind, u.position))
        for b in seg.blocks:
            blocks.append(Block(
                b.index + nb, b.kind, b.start + chars, b.end + chars, [i + nu for i in b.units],
                b.header + nu if b.header is not None else None, b.closer + nu if b.closer is not None else None,
                _shift_json(b.json_root, chars, nu) if b.json_root is not None else None,
            ))
            doc_of_block.append(d)
        labels.update({i + nu: v for i, v in seg.labels.items()})
        parents.update({i + nu: p + nu for i, p in seg.parents.items()})
        calls.update({i + nu: v for i, v in seg.calls.items()})
        parts.append(texts[d])
        chars += len(texts[d]) + len(SEPARATOR)
    joined = Segmentation(SEPARATOR.join(parts), blocks, units, labels, parents, calls)
    return _Joined(joined, members, doc_of_block)


class _SetMeasure:
    """The exact tokens handed on for a selection: each document's kept units rendered apart, summed.

    Renders are cached per document and selection, so the packer's repeated measures of selections
    that differ in one document re-render that document only.
    """

    def __init__(self, joined: _Joined, engine: "LocalCompressor") -> None:
        self.joined = joined
        self.engine = engine
        self._cache: dict[tuple[int, ...], tuple[str, int]] = {}

    def render(self, keys: Sequence[int]) -> tuple[str, int]:
        key = tuple(sorted(keys))
        if key not in self._cache:
            text = self.joined.seg.render(key, self.engine.elision_marker)
            self._cache[key] = (text, self.engine.counter.count(text))
        return self._cache[key]

    def by_doc(self, keys: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for k in keys:
            out.setdefault(self.joined.doc_of(k), []).append(k)
        return out

    def __call__(self, keys: list[int]) -> int:
        return sum(self.render(ks)[1] for ks in self.by_doc(keys).values())


# --------------------------------------------------------------------------- the entry


def compress_documents(engine: "LocalCompressor", texts: Sequence[str], prompt: str,
                       max_tokens: int | None = None, *, rate: Any = None, ids: Sequence[Any] | None = None,
                       scores: Sequence[Any] | None = None) -> CompressedDocuments:
    """The retrieved set ``texts`` compressed for ``prompt`` as one context by ``engine``.

    See :meth:`LocalCompressor.compress_documents`.
    """
    started = time.perf_counter()
    texts, doc_ids, retriever = check_documents(texts, ids, scores)
    prompt = _core.check_prompt(prompt)
    max_tokens = _core.check_max_tokens(max_tokens)
    rate = engine.rate if rate is None else _core.check_rate(rate)
    warnings: list[str] = [engine.counter.warning] if engine.counter.warning else []
    sizes = engine.counter.count_many(texts) if texts else []
    notes: list[list[str]] = [[] for _ in texts]
    members = _members(texts, notes)
    n_total = sum(sizes)
    joined = _join(texts, members, sizes)
    kept, chosen_rate, budget, relevance, joined = _select(engine, joined, prompt, rate, max_tokens, n_total,
                                                           warnings)
    measure = _SetMeasure(joined, engine)
    picked = measure.by_doc(kept)
    units = joined.units_by_doc()
    docs: list[DocumentCompression] = []
    for i, text in enumerate(texts):
        content, n_out = measure.render(picked[i]) if picked.get(i) else ("", 0)
        whole = bool(picked.get(i)) and len(picked[i]) == len(units.get(i, ()))
        if picked.get(i) and any(k in joined.seg.part_of for k in picked[i]):
            notes[i].append("cut inside a sentence: a single sentence is larger than the budget")
        docs.append(DocumentCompression(i, content, sizes[i], n_out, doc_ids[i], round(relevance.get(i, 0.0), 4),
                                        retriever[i], whole, notes[i]))
    n_kept = sum(d.compressed_tokens for d in docs)
    return CompressedDocuments(docs, CompressionMetrics(
        original_prompt_tokens=n_total, compressed_prompt_tokens=n_kept,
        latency_ms=(time.perf_counter() - started) * 1000.0, model_used=_model_used(engine),
        rate=chosen_rate, extra={
            "engine": "local", "budget_tokens": budget, "documents_total": len(texts),
            "documents_kept": sum(1 for d in docs if d.content), "documents_whole": sum(1 for d in docs if d.whole),
            "units_total": len(joined.seg.units), "units_kept": len(kept), "warnings": warnings,
        }))


def _model_used(engine: "LocalCompressor") -> str:
    used = getattr(engine._embedder, "model_used", None) if engine.embeddings else None
    return "local:bm25" + (f"+embedding:{used}" if used else "")


def _members(texts: list[str], notes: list[list[str]]) -> list[int]:
    """The documents that take part: not blank, and not a repeat of an earlier one (kept once, first)."""
    seen: dict[str, int] = {}
    members: list[int] = []
    for i, text in enumerate(texts):
        if not text.strip():
            notes[i].append("the document is empty or blank: nothing to keep")
            continue
        key = " ".join(text.split())
        if key in seen:
            notes[i].append(f"the same text as document {seen[key]}, which stands for both")
            continue
        seen[key] = i
        members.append(i)
    return members


def _select(engine: "LocalCompressor", joined: _Joined, prompt: str, rate: Any, max_tokens: int | None,
            n_total: int, warnings: list[str]) -> tuple[list[int], float, int, dict[int, float], _Joined]:
    """The kept units of the joined set, the rate aimed at, the budget, each document's relevance."""
    from .local import (AUTO_RELEVANCE, PIECE_MIN_CHARS, PIECE_SHARE, TITLES_MIN_RATE, _alias_title,
                        _build_query, _preserved_units)

    seg = joined.seg
    if not seg.units:
        return [], 1.0 if rate == "auto" else float(rate), 0, {}, joined
    query = _build_query(prompt, engine.preserve_words)
    scores, _, _ = engine._scores(seg, query, prompt, warnings)
    costs = engine.counter.count_many([seg.unit_text(i) for i in range(len(seg.units))])
    relevance = _relevance(joined, scores)
    measure = _SetMeasure(joined, engine)
    chosen_rate = float(rate) if rate != "auto" else \
        engine._auto_rate(seg, scores, costs, n_total, _preserved_units(seg, query))
    budget = math.floor(chosen_rate * n_total)
    top = max(range(len(seg.units)), key=scores.__getitem__)
    if rate == "auto":  # "keep what is relevant": never less than the best unit whole
        budget = max(budget, measure([top, *_needs(seg, top)]))
    if max_tokens is not None:
        budget = min(budget, max_tokens)
    skip: frozenset[int] = frozenset()
    if rate == "auto":
        scores = _auto_whole(joined, scores, relevance, budget, measure)
        skip = frozenset(i for i in range(len(seg.units)) if relevance[joined.doc_of(i)] < AUTO_RELEVANCE)
    everything = [i for i in range(len(seg.units)) if i not in skip]
    if measure(everything) <= budget:
        return everything, chosen_rate, budget, relevance, joined
    # a tight budget shows sentences, not titles, whether a rate or max_tokens made it tight
    effective = budget / n_total if n_total else 1.0
    titles = frozenset(range(len(seg.blocks))) if effective > TITLES_MIN_RATE else _alias_title(seg, scores, costs)
    kept = engine._select(seg, scores, costs, budget, titles=titles, measure=measure, skip=skip)
    if budget > 0 and top not in kept:
        kept = engine._best_unit_alone(seg, scores, costs, budget, titles, top, kept, warnings, measure)
    if budget > 0 and top not in kept and (not kept or costs[top] > budget):
        # the best sentence alone is larger than the budget: its best pieces, cut at clauses or spaces
        text_len = len(seg.text)
        joined = replace(joined, seg=seg.refined(max(PIECE_MIN_CHARS, int(budget * PIECE_SHARE * text_len
                                                                           / max(n_total, 1)))))
        scores, _, _ = engine._scores(joined.seg, query, prompt, warnings)
        kept = engine._select_parts(joined.seg, scores, budget, titles, top, warnings, _SetMeasure(joined, engine))
    engine._check_preserved(joined.seg, kept, query, warnings)
    return kept, chosen_rate, budget, relevance, joined


def _needs(seg: Segmentation, i: int) -> tuple[int, ...]:
    block = seg.blocks[seg.units[i].block]
    return (block.header,) if block.header is not None and block.header != i else ()


def _relevance(joined: _Joined, scores: list[float]) -> dict[int, float]:
    """Each document's best unit score, relative to the best document's."""
    best: dict[int, float] = {}
    for i, s in enumerate(scores):
        d = joined.doc_of(i)
        best[d] = max(best.get(d, 0.0), s)
    top = max(best.values(), default=0.0)
    return {d: (s / top if top > 0 else 0.0) for d, s in best.items()}


def _auto_whole(joined: _Joined, scores: list[float], relevance: dict[int, float], budget: int,
                measure: _SetMeasure) -> list[float]:
    """``scores`` with the units of the relevant documents (``WHOLE_DOCUMENT_RELEVANCE``) lifted above
    all others, best document first, while their whole texts fit ``budget`` together: they are then
    kept whole."""
    units = joined.units_by_doc()
    lifted = list(scores)
    used = 0
    for d in sorted(relevance, key=lambda d: -relevance[d]):
        if relevance[d] < WHOLE_DOCUMENT_RELEVANCE:
            break
        cost = measure(units[d])
        if used + cost > budget:
            continue
        used += cost
        for i in units[d]:
            lifted[i] += WHOLE_DOCUMENT_LIFT
    return lifted


# --------------------------------------------------------------------------- wire form


def build_documents_payload(texts: Sequence[str], prompt: str, rate: Any, *, ids: Sequence[str | None],
                            scores: Sequence[float | None], model: str | None = None,
                            preserve_keywords: bool = False, preserve_words: list[str] | None = None,
                            max_tokens: int | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /compress/documents/``: the protocol's fields with ``documents`` for ``context``."""
    for i, text in enumerate([*texts, prompt]):
        surrogate = lone_surrogate(text)
        if surrogate is not None:
            name = f"texts[{i}]" if i < len(texts) else "prompt"
            raise ValueError(f"{name} holds a lone surrogate ({surrogate!r}), which is not valid Unicode and "
                             "cannot be sent; decode the text with errors='replace'")
    body = _core.build_payload("", prompt, rate, model=model, preserve_keywords=preserve_keywords,
                               preserve_words=preserve_words, max_tokens=max_tokens)
    del body["context"]
    body["documents"] = [{"text": t, **({"id": i} if i is not None else {}), **({"score": s} if s is not None else {})}
                         for t, i, s in zip(texts, ids, scores)]
    return body


def documents_response_body(result: CompressedDocuments, latency_ms: float) -> dict[str, Any]:
    """What ``scaledown serve`` answers to ``POST /compress/documents/``."""
    m = result.metrics
    return {
        "documents": [{"index": d.index, "id": d.id, "content": d.content, "original_tokens": d.original_tokens,
                       "compressed_tokens": d.compressed_tokens, "relevance": d.relevance,
                       "retriever_score": d.retriever_score, "whole": d.whole, "warnings": d.warnings}
                      for d in result.documents],
        "total_original_tokens": m.original_prompt_tokens,
        "total_compressed_tokens": m.compressed_prompt_tokens,
        "successful": True,
        "latency_ms": latency_ms,
        "model_used": m.model_used,
        "request_metadata": {"compression_time_ms": m.latency_ms, "compression_rate": m.rate,
                             "budget_tokens": m.extra.get("budget_tokens"), "warnings": m.extra.get("warnings", [])},
    }


def parse_documents_response(body: Any, n: int, *, status: int = 200, elapsed_ms: float) -> CompressedDocuments:
    """The :class:`CompressedDocuments` of a 200 answer; anything but one entry per document is an error."""
    if not isinstance(body, dict) or "detail" in body or body.get("successful") is False:
        raise MalformedResponseError(f"the service answered {status} without compressed documents: "
                                     f"{str(body)[:300]}", status, body)
    entries = body.get("documents")
    if not isinstance(entries, list) or len(entries) != n:
        raise MalformedResponseError(f"the service's answer must hold one entry per document ({n}); got "
                                     f"{len(entries) if isinstance(entries, list) else 'none'}", status, body)
    docs = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("content"), str) or e.get("index", i) != i:
            raise MalformedResponseError(f"document entry {i} of the answer is malformed: {str(e)[:200]}",
                                         status, body)
        docs.append(DocumentCompression(i, e["content"], int(e.get("original_tokens") or 0),
                                        int(e.get("compressed_tokens") or 0), e.get("id"),
                                        float(e.get("relevance") or 0.0), e.get("retriever_score"),
                                        bool(e.get("whole")), list(e.get("warnings") or [])))
    meta = body.get("request_metadata") if isinstance(body.get("request_metadata"), dict) else {}
    rate = meta.get("compression_rate")
    return CompressedDocuments(docs, CompressionMetrics(
        original_prompt_tokens=int(body.get("total_original_tokens") or sum(d.original_tokens for d in docs)),
        compressed_prompt_tokens=int(body.get("total_compressed_tokens") or sum(d.compressed_tokens for d in docs)),
        latency_ms=elapsed_ms, model_used=str(body.get("model_used") or "api"),
        rate=float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None,
        extra={"engine": "api", "round_trip_ms": elapsed_ms, "budget_tokens": meta.get("budget_tokens"),
               "warnings": list(meta.get("warnings") or [])}))


def empty_result(model_used: str) -> CompressedDocuments:
    """The result of an empty set: no documents, no work."""
    return CompressedDocuments([], CompressionMetrics(0, 0, 0.0, model_used, extra={"warnings": []}))


ONE_BY_ONE = ("the server has no /compress/documents/ route: this document was compressed on its own, "
              "with a share of the budget by size, not jointly with the set")


def from_singles(texts: Sequence[str], singles: Sequence[Any], ids: Sequence[str | None],
                 scores: Sequence[float | None], ceilings: Sequence[int | None]) -> CompressedDocuments:
    """A set's result from one ``CompressedPrompt`` per document (None: blank, or no share of the budget)."""
    docs = []
    for i, (text, single) in enumerate(zip(texts, singles)):
        if single is None:
            why = "the document is empty or blank: nothing to keep" if not text.strip() else \
                "the shared budget left no room for this document"
            docs.append(DocumentCompression(i, "", 0, 0, ids[i], 0.0, scores[i], False, [why]))
            continue
        m = single.metrics
        docs.append(DocumentCompression(i, single.content, m.original_prompt_tokens, m.compressed_prompt_tokens,
                                        ids[i], 0.0, scores[i], False,
                                        [ONE_BY_ONE, *(m.extra.get("warnings") or [])]))
    return CompressedDocuments(docs, CompressionMetrics(
        sum(d.original_tokens for d in docs), sum(d.compressed_tokens for d in docs),
        sum(s.metrics.latency_ms for s in singles if s is not None), "api",
        extra={"engine": "api", "warnings": [ONE_BY_ONE]}))
