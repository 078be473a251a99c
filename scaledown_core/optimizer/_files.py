"""HASTE's file ranking for a whole tree: which file an issue report is about.

A file's value is the sum of signals that hold for any repository, each scaled to 0..1 over the tree:
its units' fused scores (the best plus a share of the second), the report naming it (a traceback
frame, ``file.py`` or ``file:line``, a dotted module ``requests.sessions``, a test file
``test_sessions.py`` of module ``sessions``), the names the report uses that only a few files define,
and how central the file is in the import graph (PageRank, as Aider ranks a repository map). The
weights below are few and were chosen leave-one-repository-out on the dev trees (``python -m bench
repo-loro``), not on the dev total.
"""

from __future__ import annotations

import re

from ._evidence import Evidence
from ._units import _Index

FILE_SECOND_WEIGHT = 0.6  # a file with two relevant units beats one with a single equally good one
W_FILE_MENTION = 1.0      # the report names the file or its module
W_FILE_DEEPEST = 0.5      # ... in the deepest traceback frame that is in the tree (nearest the fault)
W_FILE_TEST = 1.0         # a failing test file names the module it tests: as strong as naming it
# Names defined here and in few other files, and import-graph centrality: both measured and both set to 0
# by LORO (grid 0 / 0.25 and 0 / 0.15: 0 chosen for centrality in all five folds, for names in four): the
# large central files (``dataarray.py``, ``dataset.py``) define most names a report uses and were put
# first wrongly more often than rightly
W_FILE_DEFS = 0.0
W_FILE_CENTRALITY = 0.0
W_FILE_PRIOR = 0.5        # how much a unit's file value lifts the unit when the budget is split (1.0, best on dev
# by one tree at 4000, pushed the unit an issue's title names out of a 900-token selection)
PAGERANK_DAMPING = 0.85
PAGERANK_STEPS = 20

_PY_PATH = re.compile(r"[\w./\\-]*\w\.py\b")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_TEST_NAME = re.compile(r"\btest_(\w+?)\.py\b|\b(\w+?)_test\.py\b")


def file_values(index: _Index, scores: list[float], ev: Evidence) -> dict[str | None, float]:
    """Every file of the tree -> its value (higher: likelier the file the report is about)."""
    units = _unit_part(index, scores)
    named = _named(index, ev)
    tests = _tested(index, ev)
    # signals LORO set to 0 cost nothing: the import graph's PageRank takes ~10 ms a tree
    defs = _defined(index, ev) if W_FILE_DEFS else {}
    central = _centrality(index) if W_FILE_CENTRALITY else {}
    return {sf.path: units.get(sf.path, 0.0) + W_FILE_MENTION * named.get(sf.path, 0.0)
            + W_FILE_TEST * tests.get(sf.path, 0.0) + W_FILE_DEFS * defs.get(sf.path, 0.0)
            + W_FILE_CENTRALITY * central.get(sf.path, 0.0) for sf in index.files}


def rank_files(values: dict[str | None, float]) -> list[str]:
    """Paths, best first (ties keep the tree's order)."""
    return [str(p) for p in sorted(values, key=lambda p: -values[p])]


def lift_units(index: _Index, scores: list[float], values: dict[str | None, float]) -> None:
    """Raise each unit's score by its file's value, so the budget goes first to the likeliest files."""
    top = max(values.values(), default=0.0)
    if top <= 0 or W_FILE_PRIOR <= 0:
        return
    for i, u in enumerate(index.units):
        scores[i] *= 1.0 + W_FILE_PRIOR * values.get(u.path, 0.0) / top


def _scaled(raw: dict[str | None, float]) -> dict[str | None, float]:
    top = max(raw.values(), default=0.0)
    return {p: v / top for p, v in raw.items()} if top > 0 else {}


def _unit_part(index: _Index, scores: list[float]) -> dict[str | None, float]:
    per: dict[str | None, list[float]] = {}
    for i, u in enumerate(index.units):
        per.setdefault(u.path, []).append(scores[i])
    raw = {}
    for path, s in per.items():
        s.sort(reverse=True)
        raw[path] = s[0] + FILE_SECOND_WEIGHT * (s[1] if len(s) > 1 else 0.0)
    return _scaled(raw)


def _suffix_match(written: list[str], parts: list[str]) -> int:
    """How many trailing components ``written`` shares with ``parts``."""
    n = 0
    for x, y in zip(reversed(written), reversed(parts)):
        if x != y:
            break
        n += 1
    return n


def _path_parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p not in ("", ".", "..")]


def _module_parts(path: str | None) -> list[str]:
    """``.../src/requests/sessions.py`` -> [..., 'requests', 'sessions']; a package's ``__init__`` drops."""
    parts = _path_parts(path or "")
    if parts and parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return parts


def _named(index: _Index, ev: Evidence) -> dict[str | None, float]:
    """1 for a file the report names by path or dotted module (a bare ``x.py`` counts when it is
    unique in the tree), plus the deepest traceback frame's share; scaled to 0..1."""
    written = [_path_parts(p) for p in dict.fromkeys([*ev.paths, *_PY_PATH.findall(ev.text)])]
    dotted = [d.split(".") for d in dict.fromkeys(_DOTTED.findall(ev.text))]
    raw: dict[str | None, float] = {}
    files = [(sf.path, _path_parts(sf.path or ""), _module_parts(sf.path)) for sf in index.files]
    for w in written:
        hits = [p for p, parts, _ in files if _suffix_match(w, parts) >= min(2, len(w))]
        if hits and (len(w) >= 2 or len(hits) == 1):
            for p in hits:
                raw[p] = 1.0
    for d in dotted:
        # ``requests.sessions`` or ``xarray.core.dataset.Dataset``: the longest module prefix that a file is
        for cut in range(len(d), 1, -1):
            hits = [p for p, _, mod in files if mod and _suffix_match(d[:cut], mod) == cut]
            if len(hits) == 1:
                raw[hits[0]] = 1.0
                break
    deepest = _deepest_frame(ev, files)
    if deepest is not None:
        raw[deepest] = raw.get(deepest, 0.0) + W_FILE_DEEPEST
    return _scaled(raw)


def _deepest_frame(ev: Evidence, files: list[tuple[str | None, list[str], list[str]]]) -> str | None:
    """The tree's file of the last traceback frame that is in the tree."""
    for f in sorted(ev.frames, key=lambda f: -f.order):
        w = _path_parts(f.path)
        hits = [p for p, parts, _ in files if _suffix_match(w, parts) >= min(2, len(w))]
        if len(hits) == 1:
            return hits[0]
    return None


def _tested(index: _Index, ev: Evidence) -> dict[str | None, float]:
    """Source files whose module a test file in the report tests (``test_sessions.py`` -> ``sessions``)."""
    stems = {(m.group(1) or m.group(2)).lower() for m in _TEST_NAME.finditer(ev.text)}
    raw: dict[str | None, float] = {}
    for stem in stems:
        hits = [sf.path for sf in index.files if (_module_parts(sf.path) or [""])[-1].lower().lstrip("_") == stem.lstrip("_")]
        for p in hits:
            raw[p] = 1.0 / len(hits)
    return _scaled(raw)


def _defined(index: _Index, ev: Evidence) -> dict[str | None, float]:
    """For each name the report writes as code, the files that define it share its strength (a name
    defined in one file points at that file, one defined in ten hardly at any); a file keeps its
    strongest name, so a large file that defines many common names gains nothing from their number."""
    raw: dict[str | None, float] = {}
    for name, strength in ev.names.items():
        if name in ev.implied or name.startswith("__"):
            continue
        paths = {index.units[i].path for i in index.by_name.get(name, []) if index.units[i].kind != "module"}
        for p in paths:
            raw[p] = max(raw.get(p, 0.0), strength / len(paths))
    return _scaled(raw)


def _centrality(index: _Index) -> dict[str | None, float]:
    """PageRank over "file imports file", scaled to 0..1; computed once per tree."""
    cached = index.derived.get("pagerank")
    if cached is None:
        cached = index.derived["pagerank"] = _scaled(dict(zip((sf.path for sf in index.files),
                                                              _pagerank(_import_edges(index)))))
    return cached


def _import_edges(index: _Index) -> list[set[int]]:
    pos = {id(sf): k for k, sf in enumerate(index.files)}
    edges: list[set[int]] = []
    for sf in index.files:
        out = set()
        for dotted in sf.imports.values():
            target = index.codebase._file_for(sf, dotted)
            if target is None and "." in dotted.strip("."):
                # ``from pkg.mod import name``: the module is the dotted path less its last part
                target = index.codebase._file_for(sf, dotted.rsplit(".", 1)[0])
            if target is not None and target is not sf:
                out.add(pos[id(target)])
        edges.append(out)
    return edges


def _pagerank(edges: list[set[int]]) -> list[float]:
    n = len(edges)
    rank = [1.0 / n] * n if n else []
    for _ in range(PAGERANK_STEPS):
        dangling = sum(r for r, out in zip(rank, edges) if not out)
        nxt = [(1.0 - PAGERANK_DAMPING + PAGERANK_DAMPING * dangling) / n] * n
        for i, out in enumerate(edges):
            for j in out:
                nxt[j] += PAGERANK_DAMPING * rank[i] / len(out)
        rank = nxt
    return rank
