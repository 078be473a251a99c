"""Read a query as an issue report: prose plus tracebacks, code snippets, error messages, ``file:line``.

The parts of a report that name code directly (a traceback frame, a backticked name, a snippet line
copied from the source, a quoted error message) are much stronger evidence than its prose; this module
pulls them apart so the ranker can weigh them. Operators in snippets name the dunder methods they run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..retrieval.text import STOPWORDS, split_identifier, terms

__all__ = ["Frame", "Evidence", "read_query"]

# Weight of a query term by where it appears: a name inside code or a traceback says more than prose.
PROSE_WEIGHT = 1.0
CODE_WEIGHT = 2.0
# A term that occurs many times in the report is its subject; repeated mentions count, with a cap.
REPEAT_BONUS = 0.15
REPEAT_CAP = 4
# The first line of a report is its title: the shortest summary of what is wrong.
TITLE_WEIGHT = 2.0
# Shortest stripped snippet line worth matching exactly against source lines (shorter ones, like
# ``return x`` or ``else:``, occur everywhere).
MIN_CODE_LINE_CHARS = 12
# Shortest error message worth searching for in the source.
MIN_MESSAGE_CHARS = 12

_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([A-Za-z_<>][\w<>]*))?')
_FILE_LINE = re.compile(r"([\w./\\-]+\.py)(?::|, line |#L| line )(\d+)")
# Other languages' stack traces: the file:line of a frame, and the function each frame names.
_OTHER_FILE_LINE = re.compile(r"([\w./\\@-]+\.(?:[cm]?jsx?|[cm]?tsx?|go|java|rs))(?::|, line |#L| line )(\d+)")
_JAVA_AT = re.compile(r"\bat\s+(?:[\w$]+/)?((?:[\w$]+\.)*[\w$]+)\.([\w$<>]+)\([\w$]+\.(?:java|kt):\d+\)")
_JS_AT = re.compile(r"\bat\s+(?:async\s+)?(?:new\s+)?([\w$.<>]+)(?:\s+\[as [\w$]+\])?\s+\("
                    r"[^()\s]+\.[cm]?[jt]sx?:\d+(?::\d+)?\)")
_GO_FUNC = re.compile(r"^\s*(?:[\w.\-]+/)*[\w\-]+\.(?:\(\*?(\w+)\)\.|(\w+)\.)?(\w+)\((?:0x[0-9a-f]+|\.\.\.|, |\{|\})*\)\s*$",
                      re.M)
_RUST_FRAME = re.compile(r"^\s*\d+:\s+(?:<[^>]*>::)?((?:[\w]+::)*[\w]+)(?:::h[0-9a-f]{16})?\s*$", re.M)
_RUST_HASH = re.compile(r"h[0-9a-f]{16}")
_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.S)
_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Fault))(?::\s*(.*))?$")
_QUOTED = re.compile(r'"([^"\n]{%d,200})"|\'([^\'\n]{%d,200})\'' % (MIN_MESSAGE_CHARS, MIN_MESSAGE_CHARS))
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CODE_HINT = re.compile(r"^\s*(>>>|\.\.\.\s|\$ |In \[\d+\]:|def |class |import |from \S+ import |@|return |raise )"
                        r"|[A-Za-z_]\w*\([^)]*\)|\w\.\w+\(|^\s{4,}\S|[=!<>]=|\w\[.*\]")


# Python's data model: what a snippet's operators and builtins call (``a == b`` runs ``__eq__``,
# ``x[i]`` ``__getitem__``, ``iter(x)`` ``__iter__``), and the prose that describes the same ("when
# iterating over"). A report about ``S(0.0) == S.false`` concerns an ``__eq__`` it never names. Not
# ``for`` loops or ``in``: in a snippet they mostly walk a list, not the object reported. As strong as
# a plain word in a snippet (dev coverage at 2000/4000 +2/+1 records at 0.5 and 0.7, none lost; 1.0
# loses two at 1000).
DATA_MODEL_STRENGTH = 0.5
_DATA_MODEL_CODE = [
    (re.compile(r"[\w)\]]\s*[=!]=\s*\S"), ("__eq__", "__ne__")),
    (re.compile(r"[\w)\]]\s*(?:<=?|>=?)\s*[\w(]"), ("__lt__", "__le__", "__gt__", "__ge__")),
    (re.compile(r"[\w)]\[[^\]]*\]\s*=[^=]"), ("__setitem__",)),
    (re.compile(r"[\w)]\[[^\]]"), ("__getitem__",)),
    (re.compile(r"\biter\(|\bnext\("), ("__iter__", "__next__")),
    (re.compile(r"\blen\("), ("__len__",)),
    (re.compile(r"\brepr\("), ("__repr__",)),
    (re.compile(r"\bstr\("), ("__str__",)),
    (re.compile(r"\bhash\("), ("__hash__",)),
    (re.compile(r"\bbool\("), ("__bool__",)),
    (re.compile(r"[\w)]\s*\*\*\s*[\w(]"), ("__pow__", "__rpow__")),
    (re.compile(r"[\w)]\s*\*\s*[\w(]"), ("__mul__", "__rmul__")),
    (re.compile(r"[\w)]\s*\+\s*[\w(]"), ("__add__", "__radd__")),
    (re.compile(r"[\w)]\s*\^\s*[\w(]"), ("__xor__",)),
    (re.compile(r"~[\w(]"), ("__invert__",)),
]
# what is not an operator on the user's objects: string literals and IPython's In [n]:/Out[n]: prompts
_CODE_NOISE = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|^\s*(?:In|Out)\s*\[\d*\]:")
_DATA_MODEL_PROSE = [
    (re.compile(r"\biterat(?:e|es|ed|ing|ion|ions)\b", re.I), ("__iter__",)),
    (re.compile(r"\b(?:equality|equal to|compar(?:e|es|ed|ing|ison|isons))\b", re.I), ("__eq__",)),
    (re.compile(r"\b(?:indexing|subscript(?:s|ing|ion)?)\b", re.I), ("__getitem__",)),
    (re.compile(r"\b(?:hashable|unhashable|hashing)\b", re.I), ("__hash__",)),
    (re.compile(r"\btruth value\b", re.I), ("__bool__",)),
]


@dataclass(frozen=True)
class Frame:
    """A traceback frame or ``file:line`` reference: ``path`` as written, ``line``, ``func`` if named."""

    path: str
    line: int
    func: str | None
    order: int
    """Position among the report's frames (later frames are deeper in the stack)."""


@dataclass
class Evidence:
    """What a query says about the code it concerns."""

    text: str
    terms: list[str]
    weights: dict[str, float]
    names: dict[str, float] = field(default_factory=dict)
    """Identifiers named in code context (lower-case last part -> strength 0..1)."""
    dotted: set[str] = field(default_factory=set)
    """Qualified names as written (``Class.method``, ``module.func``), lower-case."""
    frames: list[Frame] = field(default_factory=list)
    code_lines: list[str] = field(default_factory=list)
    """Stripped snippet/traceback lines that may be copied verbatim from the source."""
    messages: list[str] = field(default_factory=list)
    """Error messages and quoted phrases, whitespace-normalised, lower-case."""
    paths: list[str] = field(default_factory=list)
    """File paths the report mentions."""
    implied: set[str] = field(default_factory=set)
    """Names only the prose implies (``__eq__`` for "equality"), not written as code anywhere."""

    @property
    def has_code_evidence(self) -> bool:
        """Whether the query names code: a name written as code, a frame, a snippet line or a message."""
        return bool(self.names.keys() - self.implied or self.frames or self.code_lines or self.messages)


def _code_regions(text: str) -> tuple[list[str], list[str]]:
    """(code snippets, prose remainder) of a report."""
    code: list[str] = []
    prose = text
    for m in _FENCE.finditer(text):
        code.append(m.group(1))
    prose = _FENCE.sub("\n", prose)
    for m in _BACKTICK.finditer(prose):
        code.append(m.group(1))
    rest: list[str] = []
    for line in prose.splitlines():
        if _CODE_HINT.search(line) or _FRAME.search(line):
            code.append(line)
        else:
            rest.append(line)
    return code, rest


def _add_name(names: dict[str, float], dotted: set[str], ident: str, strength: float) -> None:
    parts = ident.split(".")
    leaf = parts[-1]
    if len(leaf) < 3 or leaf.lower() in STOPWORDS:
        return
    names[leaf.lower()] = max(names.get(leaf.lower(), 0.0), strength)
    if len(parts) >= 2:
        dotted.add(".".join(parts[-2:]).lower())


def _is_identifier_like(word: str) -> bool:
    """A prose word that is surely code: snake_case, camelCase, dotted, dunder."""
    if "." in word or (len(word) > 4 and word.startswith("__") and word.endswith("__")):
        return True
    core = word.strip("_")
    return "_" in core or (any(c.isupper() for c in core[1:]) and any(c.islower() for c in core))


def read_query(text: str) -> Evidence:
    """Split an issue report into weighted terms and direct evidence about the code."""
    code, prose = _code_regions(text)
    weights: dict[str, float] = {}
    counts: dict[str, int] = {}
    for t in terms(text):
        counts[t] = counts.get(t, 0) + 1
    code_terms = set(terms("\n".join(code)))
    title = next((line for line in text.splitlines() if line.strip()), "")
    title_terms = set(terms(title))
    for t, n in counts.items():
        base = CODE_WEIGHT if t in code_terms else PROSE_WEIGHT
        if t in title_terms:
            base *= TITLE_WEIGHT
        weights[t] = base * (1.0 + REPEAT_BONUS * (min(n, REPEAT_CAP) - 1))
    ev = Evidence(text=text, terms=list(counts), weights=weights)

    for i, m in enumerate(_FRAME.finditer(text)):
        ev.frames.append(Frame(m.group(1), int(m.group(2)), m.group(3), i))
        if m.group(3) and not m.group(3).startswith("<"):
            _add_name(ev.names, ev.dotted, m.group(3), 1.0)
        ev.paths.append(m.group(1))
    base = len(ev.frames)
    for j, m in enumerate(_FILE_LINE.finditer(_FRAME.sub("", text))):
        ev.frames.append(Frame(m.group(1), int(m.group(2)), None, base + j))
        ev.paths.append(m.group(1))

    _add_other_frames(ev, text)

    for snippet in code:
        for line in snippet.splitlines():
            stripped = line.strip()
            for prefix in (">>> ", "... ", "$ "):
                if stripped.startswith(prefix):
                    stripped = stripped[len(prefix):].strip()
            if len(stripped) >= MIN_CODE_LINE_CHARS and not _FRAME.search(stripped):
                ev.code_lines.append(stripped)
            err = _ERROR_LINE.match(line)
            if err:
                _add_name(ev.names, ev.dotted, err.group(1), 0.5)
                if err.group(2) and len(err.group(2).strip()) >= MIN_MESSAGE_CHARS:
                    ev.messages.append(_norm(err.group(2)))
            for ident in _IDENT.findall(line):
                strength = 0.8 if ("." in ident or "_" in ident or _is_identifier_like(ident)) else 0.5
                _add_name(ev.names, ev.dotted, ident, strength)
    for line in prose:
        err = _ERROR_LINE.match(line)
        if err and err.group(2) and len(err.group(2).strip()) >= MIN_MESSAGE_CHARS:
            ev.messages.append(_norm(err.group(2)))
        for ident in _IDENT.findall(line):
            if _is_identifier_like(ident):
                _add_name(ev.names, ev.dotted, ident, 0.6)
    _add_data_model_names(ev, code, prose)
    for m in _QUOTED.finditer(text):
        phrase = m.group(1) or m.group(2)
        if " " in phrase.strip():
            ev.messages.append(_norm(phrase))
    ev.messages = list(dict.fromkeys(msg for msg in ev.messages if msg))
    ev.code_lines = list(dict.fromkeys(ev.code_lines))
    return ev


def _add_other_frames(ev: Evidence, text: str) -> None:
    """Frames of Java, JavaScript/TypeScript, Go and Rust traces: ``file:line`` references and the
    functions the frames name (``at com.foo.Bar.baz(Bar.java:42)`` names ``Bar.baz``)."""
    base = len(ev.frames)
    for j, m in enumerate(_OTHER_FILE_LINE.finditer(text)):
        ev.frames.append(Frame(m.group(1), int(m.group(2)), None, base + j))
        ev.paths.append(m.group(1))
    for m in _JAVA_AT.finditer(text):
        _add_name(ev.names, ev.dotted, f"{m.group(1).split('.')[-1]}.{m.group(2)}", 1.0)
    for m in _JS_AT.finditer(text):
        _add_name(ev.names, ev.dotted, m.group(1).replace("<anonymous>", ""), 1.0)
    for m in _GO_FUNC.finditer(text):
        receiver = m.group(1) or m.group(2)
        _add_name(ev.names, ev.dotted, f"{receiver}.{m.group(3)}" if receiver else m.group(3), 1.0)
    for m in _RUST_FRAME.finditer(text):
        parts = [p for p in m.group(1).split("::") if p != "closure" and not _RUST_HASH.fullmatch(p)]
        if parts:
            _add_name(ev.names, ev.dotted, ".".join(parts[-2:]), 1.0)


def _add_data_model_names(ev: Evidence, code: list[str], prose: list[str]) -> None:
    """The dunder methods that the snippets' operators and builtins, or the prose, point at."""
    lines = [_CODE_NOISE.sub(" ", ln) for snippet in code for ln in snippet.splitlines() if not _FRAME.search(ln)]
    for patterns, texts in ((_DATA_MODEL_CODE, lines), (_DATA_MODEL_PROSE, prose)):
        for pattern, dunders in patterns:
            if any(pattern.search(t) for t in texts):
                for d in dunders:
                    if d not in ev.names and patterns is _DATA_MODEL_PROSE:
                        ev.implied.add(d)
                    ev.names[d] = max(ev.names.get(d, 0.0), DATA_MODEL_STRENGTH)


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def identifier_parts(name: str) -> tuple[str, ...]:
    return split_identifier(name)
