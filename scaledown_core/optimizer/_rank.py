"""HASTE's ranking stage: fuse lexical, name, traceback, snippet and message evidence into one score
per unit, optionally rerank with embeddings, and expand over the call graph (a tree's files are ranked in ``_files``)."""

from __future__ import annotations

import bisect
import logging
import math
import re

from ..code import CodeUnit, SourceFile
from ..retrieval.text import split_identifier
from ._evidence import Evidence
from ._units import _Index

logger = logging.getLogger("scaledown_core.optimizer.haste")  # its warnings keep the optimizer's name

# ---------------------------------------------------------------- ranking weights (fused, each 0..1)
W_LEXICAL = 1.0          # BM25 over the unit's identifier-aware terms, divided by the best unit's
W_NAME = 0.9             # the unit's own name is mentioned in code context (backticks, snippet, frame)
W_QUALNAME = 0.6         # ``Class.method`` as written matches the unit's qualified name
W_CLASS_MENTION = 0.25   # the enclosing class is named: its methods are likelier
W_FRAME = 1.0            # a traceback frame names this function in this file
W_FRAME_LINE = 0.5       # a frame's line number falls inside the unit (lines drift across versions)
W_CODE_LINE = 0.8        # a snippet/traceback line is copied verbatim from the unit
W_MESSAGE = 0.9          # a quoted error message is found in the unit's text
W_SEMANTIC = 0.2         # share of the embedding similarity in the fused score when semantic=True
# The same share for a question in plain words (no name written as code, frame, snippet line or message):
# its words are all the lexical ranking has, and meaning finds what they miss (CoSQA MRR 66.0 -> 83.2, flat
# from 0.8 to 1.0); every selection issue report names code, so selection keeps W_SEMANTIC.
W_SEMANTIC_PROSE = 0.8
FRAME_LINE_SLACK = 50    # a frame this many lines past the end of an unnamed source is in another file
DEEPEST_FRAME_BONUS = 0.3  # the deepest frame of a traceback is nearest to the fault
CODE_LINE_SATURATION = 3   # verbatim lines beyond this many add nothing more
# ---------------------------------------------------------------- expansion
CALLEE_DECAY = 0.35      # a callee explains its caller
CALLER_DECAY = 0.3       # a caller shows how the unit is used
CLASS_CALLEE_FACTOR = 0.5  # a constructed class (often an exception) explains less than a called function
EXPANSION_CEILING = 0.98  # an expanded unit stays ranked below the seed that brought it in
MODULE_FACTOR = 0.45     # module-level code is rarely what an issue is about
CLASS_HEADER_FACTOR = 0.8  # a class docstring matches prose about any of its methods
SIZE_PRIOR = 0.3         # longer units hold more of the logic that bugs live in
W_NAME_WITHIN = 0.5      # a snake_case name from the report is part of the unit's name
W_NAME_PARTS = 0.5       # the words of the unit's name appear in the query (``prepare_content_length``)
SEMANTIC_MAX_CHARS = 2000  # characters of a unit given to the embedding model


def _path_matches(frame_path: str, path: str | None) -> bool | None:
    """True/False when both are known, None when the source has no path.

    Paths match by their trailing components: the frame of an installed package
    (``/usr/lib/.../astropy/io/fits/card.py``) names the checkout's ``astropy/io/fits/card.py``, and a
    bare ``card.py`` names any ``card.py``; ``units/decorators.py`` is not ``utils/decorators.py``.
    """
    if path is None:
        return None
    a, b = _path_parts(frame_path), _path_parts(path)
    shared = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        shared += 1
    return shared > 0 and (shared >= 2 or shared == min(len(a), len(b)))


def _path_parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]


def _lexical(index: _Index, ev: Evidence) -> list[float]:
    raw = index.bm25.scores(ev.terms, ev.weights)
    top = max(raw, default=0.0)
    return [s / top for s in raw] if top > 0 else raw


def _frame_scores(index: _Index, ev: Evidence, out: list[float]) -> None:
    if not ev.frames:
        return
    deepest = max(f.order for f in ev.frames)
    for f in ev.frames:
        depth = DEEPEST_FRAME_BONUS if f.order == deepest else 0.0
        for fi in index.by_path.values():
            match = _path_matches(f.path, fi.sf.path)
            if match is False or (match is None and f.line > len(fi.sf.lines) + FRAME_LINE_SLACK):
                continue
            at = fi.line_owner.get(f.line)
            if f.func:
                for i in index.by_name.get(f.func.lower(), []):
                    if index.units[i].path == fi.sf.path:
                        out[i] = max(out[i], W_FRAME + depth)
            # the frame runs in the unit at its line: the unit itself or a closure the unit defines
            if at is not None and (match or (f.func and (index.units[at].name == f.func
                                                         or _defines_before(fi.sf, index.units[at], f.func, f.line)))):
                out[at] = max(out[at], W_FRAME_LINE + (W_FRAME + depth if f.func else 0.0))


def _defines_before(sf: SourceFile, unit: CodeUnit, func: str, line: int) -> bool:
    """Whether ``unit`` defines a nested function ``func`` above ``line`` (a closure the frame runs in)."""
    pattern = re.compile(r"\s*(?:async\s+)?def\s+" + re.escape(func) + r"\b")
    return any(pattern.match(sf.lines[n - 1]) for n in range(unit.start_line, min(line, unit.end_line) + 1))


def _message_scores(index: _Index, ev: Evidence, out: list[float]) -> None:
    """Units whose text holds a 4-word window of a quoted message (format strings split messages)."""
    for msg in ev.messages:
        words = msg.split()
        windows = [" ".join(words[i:i + 4]) for i in range(max(1, len(words) - 3))]
        windows = [w for w in windows if len(w) >= 12]
        if not windows:
            continue
        hits: dict[int, int] = {}
        for w in windows:
            for fi in index.by_path.values():
                start = fi.lower.find(w)
                while start != -1:
                    line = bisect.bisect_right(fi.line_starts, start)
                    i = fi.line_owner.get(line)
                    if i is not None:
                        hits[i] = hits.get(i, 0) + 1
                    start = fi.lower.find(w, start + 1)
        for i, n in hits.items():
            out[i] = max(out[i], W_MESSAGE * min(1.0, 0.5 + n / len(windows)))


def _code_line_hits(index: _Index, ev: Evidence) -> list[int]:
    """How many of the query's code lines each unit holds (stripped, verbatim)."""
    hits = [0] * len(index.units)
    wanted = set(ev.code_lines)
    if not wanted:
        return hits
    for fi in index.by_path.values():
        owner = fi.line_owner
        found = {(s, owner[n]) for n, s in enumerate(fi.stripped, 1) if s in wanted and n in owner}
        for _, i in found:
            hits[i] += 1
    return hits


def _rank(index: _Index, ev: Evidence) -> list[float]:
    """The fused lexical + evidence score of every unit."""
    scores = [W_LEXICAL * s for s in _lexical(index, ev)]
    evidence = [0.0] * len(index.units)
    # names like ``as_set`` also point at ``_eval_as_set``: whole ``_``-separated words only
    compound = [(f"_{n.strip('_')}_", v) for n, v in ev.names.items() if "_" in n.strip("_")]
    for i, u in enumerate(index.units):
        if u.kind == "module":
            continue
        strength = ev.names.get(u.name.lower())
        if strength:
            evidence[i] += W_NAME * strength
        elif compound:
            inner = f"_{u.name.lower().strip('_')}_"
            part = max((v for n, v in compound if n in inner), default=0.0)
            evidence[i] += W_NAME_WITHIN * part
        parts = [p for p in split_identifier(u.name)[1:] or split_identifier(u.name) if len(p) > 2]
        if parts:
            evidence[i] += W_NAME_PARTS * sum(p in ev.weights for p in parts) / len(parts)
        if "." in u.qualname and ".".join(u.qualname.split(".")[-2:]).lower() in ev.dotted:
            evidence[i] += W_QUALNAME
        if u.parent is not None:
            cls = index.units[index.pos[u.parent]]
            cls_strength = ev.names.get(cls.name.lower())
            if cls_strength:
                evidence[i] += W_CLASS_MENTION * cls_strength
    frames = [0.0] * len(index.units)
    _frame_scores(index, ev, frames)
    lines = _code_line_hits(index, ev)
    messages = [0.0] * len(index.units)
    _message_scores(index, ev, messages)
    out = []
    for i, u in enumerate(index.units):
        s = (scores[i] + evidence[i] + frames[i] + messages[i]
             + W_CODE_LINE * min(lines[i], CODE_LINE_SATURATION) / CODE_LINE_SATURATION)
        s *= 1.0 + SIZE_PRIOR * math.log1p(index.unit_tokens[i] / 100.0)
        if u.kind == "module":
            s *= MODULE_FACTOR
        elif u.kind == "class":
            s *= CLASS_HEADER_FACTOR
        out.append(s)
    return out


def _semantic(index: _Index, ev: Evidence, order: list[int], scores: list[float], model: str | None,
              warnings: list[str]) -> str | None:
    """Fuse embedding similarity into ``scores`` for the units in ``order``; the model used, or None."""
    try:
        from ..retrieval.embeddings import get_embedder
    except ImportError as exc:  # the semantic extra is missing
        warnings.append(f"semantic rerank skipped: {exc}")
        return None
    try:
        embedder = get_embedder(model, fallback=True)
        q = embedder.embed_queries([ev.text[:SEMANTIC_MAX_CHARS]])
        docs = embedder.embed_documents([index.units[i].text[:SEMANTIC_MAX_CHARS] for i in order])
    except Exception as exc:  # a model that cannot load must not lose the lexical selection
        warnings.append(f"semantic rerank failed, lexical ranking used: {exc}")
        logger.warning("semantic rerank failed: %s", exc)
        return None
    sims = (docs @ q[0]).tolist()
    lo, hi = min(sims), max(sims)
    top = max((scores[i] for i in order), default=0.0) or 1.0
    share = _semantic_share(ev)
    for i, s in zip(order, sims):
        norm = (s - lo) / (hi - lo) if hi > lo else 0.0
        scores[i] = (1 - share) * scores[i] + share * top * norm
    used = getattr(embedder, "model_used", None) or str(model)
    reason = getattr(embedder, "fallback_reason", None)
    if reason:  # names differ without a fallback too (a short name loads as its full repository id)
        warnings.append(f"semantic model fallback: {reason}")
    return used


def _semantic_share(ev: Evidence) -> float:
    """The share of embedding similarity in the fused score for this query."""
    return W_SEMANTIC if ev.has_code_evidence else W_SEMANTIC_PROSE


def _expand(index: _Index, scores: list[float], seeds: list[int], depth: int, max_add: int) -> list[int]:
    """Units reached from ``seeds`` over callees and callers, their scores raised below their seed's."""
    added: list[int] = []
    if depth <= 0 or max_add <= 0:
        return added
    own = list(scores)  # lifts come from a seed's own score, never from another lift
    seen = set(seeds)
    frontier = [(i, scores[i]) for i in seeds]
    for _ in range(depth):
        nxt: list[tuple[int, float]] = []
        for i, s in frontier:
            key = index.units[i].key
            near = [(k, CALLEE_DECAY) for k in index.codebase.callees(key)]
            near += [(k, CALLER_DECAY) for k in index.codebase.callers(key)]
            for k, decay in near:
                j = index.pos[k]
                if index.units[j].kind == "class":
                    decay *= CLASS_CALLEE_FACTOR
                lifted = min(max(own[j], s * decay), s * EXPANSION_CEILING)
                scores[j] = max(scores[j], lifted)
                if j not in seen:
                    seen.add(j)
                    added.append(j)
                    nxt.append((j, lifted))
                    if len(added) >= max_add:
                        return added
        frontier = nxt
    return added
