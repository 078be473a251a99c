"""Text segmentation: a context cut into units that keep their meaning, and rendered back.

A context is split into **blocks** (paragraphs, documents, a JSON value, a code file, a Markdown list
or table) and each block into **units**, the smallest pieces a compressor may keep or drop:

- prose: sentences; a short first line (a title, ``Document [3](Title: ...)``, a Markdown heading)
  is the block's *header*, shown with any unit of its block;
- JSON (the whole context, or a JSON value after a short preamble such as ``JSON data:``): the
  members of objects and the items of arrays, recursing into large containers; rendering keeps the
  output valid JSON; JSON Lines: one unit per record, rendered without markers (still JSON Lines);
- Markdown: list items (a nested item is shown with its parent) and table rows (a table's column
  names and separator are its header, with a heading right above them);
- code: statements or AST units from the code model (:mod:`scaledown_core.code`) where it is
  available, else blank-line separated blocks; a fenced block's opening and closing fences are shown
  with any of its lines.

Prose wrapped at a fixed width is read as sentences, other line breaks inside a sentence as separate
lines. A unit too long for a budget can be cut (:meth:`Segmentation.refined`): text at clauses or
spaces, code between lines.

Every unit is a ``[start, end)`` character span of the context, so whatever is rendered is a
subsequence of the input plus elision markers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Literal

__all__ = ["Unit", "Block", "Segmentation", "segment", "split_sentences", "ELISION"]

ELISION = "…"
"""The elision marker: one token in both OpenAI encodings."""

UnitKind = Literal["sentence", "header", "closer", "member", "item", "row", "code", "line"]
BlockKind = Literal["prose", "json", "jsonl", "list", "table", "code"]

# A first line at most this long that does not end a sentence reads as a title, not as prose.
MAX_HEADER_CHARS = 120
# A JSON container whose text is longer than this is opened and its members become units.
JSON_SPLIT_CHARS = 400
# A code block longer than this (in lines) is cut at its blank lines.
CODE_BLOCK_LINES = 12

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof gen col lt sgt capt rev vs etc inc ltd co corp no fig eq al approx "
    "dept est jan feb mar apr jun jul aug sep sept oct nov dec mt ft ave blvd hon ste vol pp".split()
)
# an initialism with inner full stops ("M.D.", "U.S.", "e.g.", "Ph.D."): rarely the end of a sentence;
# a time after a number ("5 p.m.") often is
_INITIALISM = re.compile(r"(?:[a-z]{1,2}\.)+[a-z]{1,2}")
_TIME_BEFORE = re.compile(r"\d\s*$")
# A full stop in CJK text needs no space after it. A run of marks matches only from its first mark:
# tried from inside a long run that fails ("!!!...x"), each match would rescan the rest of the run.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+[\"'”’)\]]*\s+|(?<![。！？])[。！？]+[」』”’）)]*\s*")
_OPENING_QUOTE = re.compile(r"[\"'“‘(\[「『]?")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+\S")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
# A separator row ("|---|:--:|") is made of these and has a dash; one class, so no backtracking between
# adjacent runs of it on a long line that is not one.
_TABLE_SEPARATOR_CHARS = re.compile(r"[\s:|-]*")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_DOC_LABEL = re.compile(r"\s*(?:Document|Doc|Passage|Source|Title)\s*[\[(:#]?\s*\d*[\])]?\s*(?:\(Title:[^\n]*?\)(?=[\s:]))?:?")
_CODE_HINT = re.compile(
    r"^\s*(?:def |class |import |from \w+ import |async def |@\w|return\b|if .*:\s*$|for .*:\s*$|"
    r"function\b|const |let |var |public |private |#include|package |fn |func )|[;{}]\s*$"
)
_FENCE = re.compile(r"\s*(`{3,}|~{3,})")  # a fence line and its run of backticks or tildes
# Only \n, \r\n and \r end a line: str.splitlines also splits at form feeds and Unicode separators,
# which Python (and so the code model's line numbers) reads as ordinary characters.
_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@dataclass(frozen=True)
class Unit:
    """One keepable piece of the context: ``text[start:end]``."""

    index: int
    block: int
    start: int
    end: int
    kind: UnitKind
    position: int
    """Position of the unit inside its block (0 = first)."""


@dataclass
class _JsonEntry:
    start: int
    end: int
    value: "_JsonContainer | None" = None
    """The opened container of a large value; ``None`` when the entry is one unit."""
    unit: int | None = None


@dataclass
class _JsonContainer:
    start: int
    end: int
    opener: str
    entries: list[_JsonEntry] = field(default_factory=list)


@dataclass
class Block:
    """A paragraph, document, JSON value, list, table or code region."""

    index: int
    kind: BlockKind
    start: int
    end: int
    units: list[int] = field(default_factory=list)
    header: int | None = None
    """The unit shown with any other unit of this block (a title, a table's header rows)."""
    closer: int | None = None
    """The unit shown after any other unit of this block (a code fence's closing line)."""
    json_root: _JsonContainer | None = None


@dataclass
class Segmentation:
    """A context cut into blocks and units; ``render`` turns a selection of units back into text."""

    text: str
    blocks: list[Block]
    units: list[Unit]
    labels: dict[int, str] = field(default_factory=dict)
    """Names a unit stands for beyond its text: a code unit's qualified name (``Client.charge``)."""
    parents: dict[int, int] = field(default_factory=dict)
    """The unit shown with a unit (a method's class header)."""
    calls: dict[int, list[str]] = field(default_factory=dict)
    """The names a code unit calls (last dotted part: ``self.backoff`` -> ``backoff``)."""
    part_of: dict[int, int] = field(default_factory=dict)
    """A unit that is a piece of a longer one -> that unit's index before :meth:`refined` cut it."""

    def unit_text(self, i: int) -> str:
        u = self.units[i]
        return self.text[u.start : u.end]

    def refined(self, max_chars: int) -> "Segmentation":
        """The same blocks with each text unit longer than ``max_chars`` cut into pieces no longer than that.

        Text pieces end at clause punctuation, else at spaces, else anywhere (text with no spaces);
        code is cut between lines. JSON members and headers stay whole. For a budget that holds no
        whole unit.
        """
        if any(b.kind == "json" for b in self.blocks):  # JSON renders from its own tree: members stay whole
            return self
        units: list[Unit] = []
        remap: dict[int, int] = {}
        part_of: dict[int, int] = {}
        piece_of: dict[int, int] = {}  # new unit -> the unit it is (part of)
        blocks = [Block(b.index, b.kind, b.start, b.end) for b in self.blocks]
        for block, old in zip(blocks, self.blocks):
            for i in old.units:
                u = self.units[i]
                spans = [(u.start, u.end)]
                too_long = u.end - u.start > max_chars and block.kind != "jsonl"  # a cut record is no JSON
                if too_long and u.kind in _CUTTABLE:
                    spans = _pieces(self.text, u.start, u.end, max_chars)
                elif too_long and u.kind == "code":
                    spans = _line_pieces(self.text, u.start, u.end, max_chars)
                if spans:  # the first piece keeps the unit's indentation
                    spans[0] = (u.start, spans[0][1])
                for a, b in spans:
                    piece_of[len(units)] = i
                    remap.setdefault(i, len(units))
                    if len(spans) > 1:
                        part_of[len(units)] = i
                    units.append(Unit(len(units), block.index, a, b, u.kind, len(block.units)))
                    block.units.append(len(units) - 1)
            block.header = remap.get(old.header) if old.header is not None else None
            block.closer = remap.get(old.closer) if old.closer is not None else None
        # every piece of a method or nested item comes with its class header or parent item
        parents = {n: remap[self.parents[i]] for n, i in piece_of.items() if i in self.parents}
        return Segmentation(self.text, blocks, units, {remap[i]: v for i, v in self.labels.items()}, parents,
                            {remap[i]: v for i, v in self.calls.items()}, part_of)

    def render(self, keep: Iterable[int], marker: str = ELISION) -> str:
        """The kept units in source order, with ``marker`` where something between them was left out.

        Adjacent kept units are joined by the original text between them; JSON blocks render as
        valid JSON holding the kept members (no marker inside JSON). Nothing is marked before the
        first kept unit or after the last.
        """
        kept = set(keep)
        pieces: list[str] = []
        prev_block: int | None = None
        prev_complete_end = True  # the previous kept block ended with its own last unit
        prev_end = 0
        for block in self.blocks:
            present = [i for i in block.units if i in kept]
            if not present:
                continue
            body = self._render_block(block, present, kept, marker)
            if prev_block is not None:
                skipped = prev_block != block.index - 1 or not prev_complete_end or (
                    present[0] != block.units[0] and block.header != present[0]
                )
                gap = self.text[prev_end : self.units[present[0]].start]
                if skipped and marker:
                    pieces.append(f"\n{marker}\n")
                else:
                    pieces.append(gap if gap and gap.strip() == "" else "\n\n")
            pieces.append(body)
            prev_block = block.index
            prev_end = self.units[present[-1]].end
            prev_complete_end = present[-1] == block.units[-1]
        return "".join(pieces)

    def _render_block(self, block: Block, present: list[int], kept: set[int], marker: str) -> str:
        if block.kind == "json" and block.json_root is not None:
            prefix = ""
            if block.header is not None and block.header in kept:
                h = self.units[block.header]
                prefix = self.text[h.start : block.json_root.start]
            return prefix + self._render_json(block.json_root, kept)
        out: list[str] = []
        prev: Unit | None = None
        for i in present:
            u = self.units[i]
            if prev is not None:
                if block.kind == "jsonl":  # one record per line: a marker line would not parse
                    out.append("\n")
                elif u.position == prev.position + 1:
                    out.append(self.text[prev.end : u.start])
                else:
                    out.append(self._inner_marker(prev, u, marker))
            out.append(self.text[u.start : u.end])
            prev = u
        return "".join(out)

    def _inner_marker(self, prev: Unit, nxt: Unit, marker: str) -> str:
        gap = self.text[prev.end : nxt.start]
        newline = "\n" in gap or "\r" in gap
        if not marker:
            return "\n" if newline else " "
        if prev.kind == "header" or newline or nxt.kind in ("item", "row", "code", "line"):
            return f"\n{marker}\n"
        return f" {marker} "

    def _render_json(self, node: _JsonContainer, kept: set[int]) -> str:
        closer = "}" if node.opener == "{" else "]"
        parts: list[str] = []
        for entry in node.entries:
            if entry.value is None:
                if entry.unit in kept:
                    parts.append(self.text[entry.start : entry.end])
            else:
                inner = self._render_json(entry.value, kept)
                if inner.strip() not in ("{}", "[]"):
                    parts.append(self.text[entry.start : entry.value.start] + inner)
        if not parts:
            return node.opener + closer
        indent = _line_indent(self.text, node.entries[0].start)
        close_indent = _line_indent(self.text, node.end - 1)
        if indent is None:
            return node.opener + ", ".join(parts) + closer
        return node.opener + "\n" + ",\n".join(indent + p for p in parts) + "\n" + (close_indent or "") + closer


def _line_indent(text: str, pos: int) -> str | None:
    """The whitespace before ``pos`` on its line, or None when ``pos`` does not start its line."""
    line_start = text.rfind("\n", 0, pos) + 1
    lead = text[line_start:pos]
    return lead if lead.strip() == "" and line_start > 0 else None


# --------------------------------------------------------------------------- sentences


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans ``[s, e)`` of ``text[start:end]``, trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    s = start
    for m in _SENTENCE_END.finditer(text, start, end):
        cut = m.end()
        if cut >= end or not _starts_sentence(text, cut, cjk=m.group()[0] in "。！？"):
            continue
        window = max(s, m.start() - 40)
        # only a full stop can end an abbreviation (searched for no other mark: a CJK run is all \S)
        word = re.search(r"(\S+?)[.!?]+[\"'”’)\]]*\s+$", text[window:cut]) if text[m.start()] == "." else None
        if word:
            w = word.group(1).lower().lstrip("(\"'")
            time_of_day = w in ("a.m", "p.m") and _TIME_BEFORE.search(text, window, window + word.start(1))
            if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha()) or (_INITIALISM.fullmatch(w) and not time_of_day):
                continue
        spans.append((s, m.start() + len(m.group().rstrip())))
        s = cut
    spans.append((s, end))
    return [t for t in (_trim(text, a, b) for a, b in spans) if t[1] > t[0]]


_CUTTABLE = frozenset({"sentence", "item", "row", "line"})
# Latin punctuation ends a clause only before a space: "3.14", "1,234" and "a:b" are never cut. Matched
# from the first mark of a run only, as _SENTENCE_END.
_CLAUSE_END = re.compile(r"(?<![,;:.!?])[,;:.!?]+[\"'”’)\]]*\s+|(?<![，、；：。！？])[，、；：。！？]+[」』”’）)]*\s*")
_SPACE = re.compile(r"\s+")
_NUMBER_CHAR = re.compile(r"[\d.,]")


def _pieces(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """``[a, b)`` cut into spans of about ``max_chars``, never inside a word when the text has spaces.

    A cut goes after a clause that ends in the second half of the window, else after its last space,
    else after the word that runs past it (so a piece may be longer), else (no space at all, as in
    Japanese) at ``max_chars``.
    """
    out: list[tuple[int, int]] = []
    while b - a > max_chars:
        cut = _cut_at(text[a : min(b, a + 4 * max_chars)], max_chars)
        out.append(_trim(text, a, a + cut))
        a += cut
    out.append(_trim(text, a, b))
    return [span for span in out if span[1] > span[0]]


def _line_pieces(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Code ``[a, b)`` cut between lines into spans of at most ``max_chars`` (a longer line: as text)."""
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in _line_spans(text, a, b):
        if not text[s:e].strip():
            continue
        if e - s > max_chars:
            if cur is not None:
                out.append(cur)
                cur = None
            out.extend(_pieces(text, s, e, max_chars))
        elif cur is not None and e - cur[0] <= max_chars:
            cur = (cur[0], e)
        else:
            if cur is not None:
                out.append(cur)
            cur = (s, e)
    if cur is not None:
        out.append(cur)
    return out


def _cut_at(window: str, max_chars: int) -> int:
    head = window[:max_chars]
    clauses = [m.end() for m in _CLAUSE_END.finditer(head) if m.end() > max_chars // 2]
    if clauses:
        return clauses[-1]
    spaces = [m.end() for m in _SPACE.finditer(head) if m.start() > 0]
    if spaces:
        return spaces[-1]
    after = _SPACE.search(window, max_chars)
    if after:
        return after.end()
    cut = max_chars  # no space at all (Japanese): anywhere, but not inside a number
    while 0 < cut < len(window) and _NUMBER_CHAR.match(window[cut - 1]) and _NUMBER_CHAR.match(window[cut]):
        cut -= 1
    return cut or max_chars


def _starts_sentence(text: str, at: int, cjk: bool) -> bool:
    """Whether a sentence can start at ``at``: a capital or a digit (any script), after a CJK stop anything."""
    at = _OPENING_QUOTE.match(text, at).end()
    if at >= len(text):
        return False
    ch = text[at]
    return cjk or ch.isupper() or ch.isdigit() or (ch.isalpha() and not ch.islower())


def _trim_lines(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` without leading blank lines and trailing whitespace; indentation stays."""
    a, b2 = _trim(text, a, b)
    if b2 <= a:
        return a, b2
    line_start = text.rfind("\n", 0, a) + 1
    return (line_start if line_start < a and text[line_start:a].strip() == "" else a), b2


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


# --------------------------------------------------------------------------- JSON


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _scan_json(text: str, start: int, decoder: json.JSONDecoder) -> _JsonContainer:
    """Entry spans of the object or array at ``start`` (already known to be valid JSON)."""
    opener = text[start]
    closer = "}" if opener == "{" else "]"
    node = _JsonContainer(start=start, end=start, opener=opener)
    i = _skip_ws(text, start + 1)
    while i < len(text) and text[i] != closer:
        entry_start = i
        if opener == "{":
            _, i = decoder.raw_decode(text, i)  # the key
            i = _skip_ws(text, i) + 1  # ':'
            i = _skip_ws(text, i)
        value_start = i
        _, i = decoder.raw_decode(text, i)
        entry = _JsonEntry(start=entry_start, end=i)
        if text[value_start] in "{[" and i - value_start > JSON_SPLIT_CHARS:
            entry.value = _scan_json(text, value_start, decoder)
        node.entries.append(entry)
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
    node.end = i + 1
    return node


def _find_json(text: str) -> int | None:
    """Where a JSON object or array starts that runs to the end of ``text`` (after a short preamble)."""
    decoder = json.JSONDecoder()
    # at a line start, or right after a label on the same line ("JSON data: {...}")
    for m in re.finditer(r"(?:^|(?<=:))[ \t\ufeff]*[\[{]", text, re.M):
        at = m.end() - 1
        if text[:at].count("\n") > 3:
            return None
        try:
            _, end = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
            continue
        if text[end:].strip() == "":
            return at
    return None


def _is_jsonl(text: str) -> bool:
    """JSON Lines: two or more lines, each one JSON object or array."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) < 2 or not all(ln[0] in "{[" and ln[-1] in "}]" for ln in lines):
        return False
    try:
        for ln in lines:
            json.loads(ln)
    except (ValueError, RecursionError):
        return False
    return True


def _json_units(seg: "_Builder", node: _JsonContainer, block: Block) -> None:
    for entry in node.entries:
        if entry.value is not None:
            _json_units(seg, entry.value, block)
        else:
            entry.unit = seg.add_unit(block, entry.start, entry.end, "member")


# --------------------------------------------------------------------------- builder


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[Block] = []
        self.units: list[Unit] = []
        self.labels: dict[int, str] = {}
        self.parents: dict[int, int] = {}
        self.calls: dict[int, list[str]] = {}

    def new_block(self, kind: BlockKind, start: int, end: int) -> Block:
        block = Block(index=len(self.blocks), kind=kind, start=start, end=end)
        self.blocks.append(block)
        return block

    def add_unit(self, block: Block, start: int, end: int, kind: UnitKind) -> int:
        if kind in ("code", "item"):  # code and nested items keep their indentation
            start, end = _trim_lines(self.text, start, end)
        else:
            start, end = _trim(self.text, start, end)
        if end <= start:
            return -1
        unit = Unit(len(self.units), block.index, start, end, kind, len(block.units))
        self.units.append(unit)
        block.units.append(unit.index)
        if kind == "header":
            block.header = unit.index
        return unit.index

    def done(self) -> Segmentation:
        blocks = [b for b in self.blocks if b.units]
        remap = {b.index: n for n, b in enumerate(blocks)}
        units = [
            Unit(u.index, remap[u.block], u.start, u.end, u.kind, u.position) for u in self.units
        ]
        for b in blocks:
            b.index = remap[b.index]
        return Segmentation(self.text, blocks, units, self.labels, self.parents, self.calls)


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Blank-line separated spans; a fenced code block is a span of its own, from its opening fence to
    the fence that closes it (the same character, at least as many times), blank lines and all."""
    spans: list[tuple[int, int]] = []
    pos = start
    cur: int | None = None
    fence: str | None = None  # the open fence's run of backticks or tildes
    for line in _TEXT_LINE.findall(text, start, end):
        opening = _FENCE.match(line)
        if fence is None and opening:
            if cur is not None:
                spans.append((cur, pos))
            cur, fence = pos, opening.group(1)
        elif fence is not None:
            if re.fullmatch(re.escape(fence[0]) + "{%d,}" % len(fence), line.strip()):
                spans.append((cur, pos + len(line)))  # type: ignore[arg-type]
                cur, fence = None, None
        elif not line.strip():
            if cur is not None:
                spans.append((cur, pos))
                cur = None
        elif cur is None:
            cur = pos
        pos += len(line)
    if cur is not None:
        spans.append((cur, end))
    return spans


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for line in _TEXT_LINE.findall(text, start, end):
        out.append((pos, pos + len(line.rstrip("\r\n"))))
        pos += len(line)
    return out


def _is_header_line(line: str, has_more: bool) -> bool:
    s = line.strip()
    if not has_more or not s:
        return False
    if _MD_HEADING.match(s):
        return True
    return len(s) <= MAX_HEADER_CHARS and not re.search(r"[.!?;,]$", s)


def _looks_like_code(lines: list[str]) -> bool:
    hits = sum(1 for ln in lines if _CODE_HINT.search(ln))
    return hits >= max(2, len(lines) // 3)


def _prose_block(b: _Builder, start: int, end: int, pending_header: tuple[int, int] | None) -> None:
    text = b.text
    lines = _line_spans(text, start, end)
    block = b.new_block("prose", start, end)
    body_start = start
    if pending_header is not None:
        b.add_unit(block, *pending_header, "header")
        block.start = pending_header[0]
    first_line = text[lines[0][0] : lines[0][1]]
    label = _DOC_LABEL.match(text, start, lines[0][1])
    wrapped = _hard_wrapped([text[a:z] for a, z in lines])
    if block.header is None and len(lines) > 1 and not wrapped and _is_header_line(first_line, True):
        b.add_unit(block, lines[0][0], lines[0][1], "header")
        body_start = lines[1][0]
    elif block.header is None and label and label.end() - start > 3 and "Title:" in label.group():
        b.add_unit(block, start, label.end(), "header")
        body_start = label.end()
    for s, e in split_sentences(text, body_start, end):
        # a newline inside a sentence span is a line break in the source (keep lines apart), unless
        # the paragraph is prose wrapped at a fixed width
        for ls, le in [(s, e)] if wrapped else _split_lines_in(text, s, e):
            b.add_unit(block, ls, le, "sentence")


def _split_lines_in(text: str, s: int, e: int) -> list[tuple[int, int]]:
    if "\n" not in text[s:e] and "\r" not in text[s:e]:
        return [(s, e)]
    return [span for span in _line_spans(text, s, e) if text[span[0] : span[1]].strip()]


def _hard_wrapped(lines: list[str]) -> bool:
    """Prose wrapped at a fixed width (an e-mail, an RFC, text from a PDF).

    Every line break is where a greedy wrap puts one: the next line's first word would not have fit
    on the line, so records such as keys or names, whose breaks are the writer's, are not wrapped
    prose; lines but the last nearly fill the width; the text is words and ends sentences (log lines
    and tables fill their width too); and some line carries on a sentence in lower case.
    """
    lines = [ln.rstrip() for ln in lines]
    if len(lines) < 2:
        return False
    width = max(len(ln) for ln in lines)
    if width < 40 or any(len(ln) < 0.6 * width for ln in lines[:-1]):
        return False
    for line, nxt in zip(lines, lines[1:]):
        words = nxt.split()
        if not words or len(line) + 1 + len(words[0]) <= width:
            return False
    joined = " ".join(lines)
    wordy = sum(ch.isalpha() or ch.isspace() for ch in joined) >= 0.85 * len(joined)
    return wordy and bool(re.search(r"[.!?](?:\s|$)", joined)) and \
        any(ln.lstrip()[:1].isalpha() and ln.lstrip()[:1].islower() for ln in lines[1:])


def _is_table_separator(line: str) -> bool:
    return "-" in line and _TABLE_SEPARATOR_CHARS.fullmatch(line) is not None


def _structured_block(b: _Builder, start: int, end: int, kind: BlockKind,
                      pending_header: tuple[int, int] | None) -> None:
    text = b.text
    block = b.new_block(kind, start, end)
    lines = _line_spans(text, start, end)
    head_end = None  # where the block's own header lines end: a table's column names and separator,
    closer = None    # a code fence's opening line; and the fence's closing line
    if kind == "table" and len(lines) > 2 and _is_table_separator(text[lines[1][0] : lines[1][1]]):
        head_end, lines = lines[1][1], lines[2:]
    elif kind == "code" and _FENCE.match(text[lines[0][0] : lines[0][1]]):
        head_end, lines = lines[0][1], lines[1:]
        if lines and _FENCE.match(text[lines[-1][0] : lines[-1][1]]):
            closer, lines = lines[-1], lines[:-1]
    if pending_header is not None or head_end is not None:
        # a heading right above a table or a fence is one header with the table's or fence's own
        h_start = pending_header[0] if pending_header is not None else start
        b.add_unit(block, h_start, head_end if head_end is not None else pending_header[1], "header")  # type: ignore[index]
        block.start = h_start
    if kind == "table":
        for s, e in lines:
            b.add_unit(block, s, e, "row")
    elif kind == "list":
        _list_items(b, block, lines)
    elif lines:
        for s, e in _code_chunks(text, lines[0][0], lines[-1][1]):
            b.add_unit(block, s, e, "code")
    if closer is not None:
        block.closer = b.add_unit(block, *closer, "closer")


def _list_items(b: _Builder, block: Block, lines: list[tuple[int, int]]) -> None:
    """One unit per item (with its continuation lines); a nested item is shown with its parent item."""
    text = b.text
    items: list[tuple[int, int]] = []
    for s, e in lines:
        if _LIST_ITEM.match(text[s:e]) or not items:
            items.append((s, e))
        else:  # a continuation line of the current item
            items[-1] = (items[-1][0], e)
    open_items: list[tuple[int, int]] = []  # (indent, unit) of the items that may parent the next
    for s, e in items:
        indent = len(text[s:e]) - len(text[s:e].lstrip())
        i = b.add_unit(block, s, e, "item")
        if i < 0:
            continue
        while open_items and open_items[-1][0] >= indent:
            open_items.pop()
        if open_items:
            b.parents[i] = open_items[-1][1]
        open_items.append((indent, i))


def _code_chunks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A code region cut into top-level statements: a line that starts at column 0 opens a new one."""
    lines = _line_spans(text, start, end)
    chunks: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in lines:
        line = text[s:e]
        top = line[:1] not in (" ", "\t", ")", "]", "}") and line.strip() != ""
        decorated = cur is not None and text[cur[0] : cur[1]].lstrip().startswith("@") and \
            "\n" not in text[cur[0] : cur[1]]
        if cur is None or (top and not decorated):
            if cur is not None:
                chunks.append(cur)
            cur = (s, e)
        else:
            cur = (cur[0], e)
    if cur is not None:
        chunks.append(cur)
    out: list[tuple[int, int]] = []
    for s, e in chunks:
        if text[s:e].count("\n") + 1 > CODE_BLOCK_LINES:
            out.extend(_paragraphs(text, s, e) or [(s, e)])
        else:
            out.append((s, e))
    return out


def _classify(lines: list[str]) -> BlockKind:
    nonblank = [ln for ln in lines if ln.strip()]
    if nonblank and _FENCE.match(nonblank[0]):
        return "code"
    if len(nonblank) >= 2 and all(_TABLE_ROW.match(ln) for ln in nonblank):
        return "table"
    items = sum(1 for ln in nonblank if _LIST_ITEM.match(ln))
    if items >= 2 and _LIST_ITEM.match(nonblank[0]):
        return "list"
    if len(nonblank) >= 2 and _looks_like_code(nonblank):
        return "code"
    return "prose"


def segment(text: str, code: bool | None = None) -> Segmentation:
    """Cut ``text`` into blocks and units (see the module docstring).

    ``code=True`` treats the whole text as source code; ``None`` detects it per block.
    """
    b = _Builder(text)
    if not text.strip():
        return b.done()
    if _is_jsonl(text):
        block = b.new_block("jsonl", 0, len(text))
        for s, e in _line_spans(text, 0, len(text)):
            b.add_unit(block, s, e, "line")
        return b.done()
    json_at = _find_json(text)
    if json_at is not None:
        try:
            _segment_json(b, text, json_at)
            return b.done()
        except RecursionError:  # nested too deep to open member by member: cut it as text
            b = _Builder(text)
    files = _file_sections(text)
    if files is not None:  # an optimizer's output over several files: each file's code under its header
        for header_start, header_end, end in files:
            _code_block(b, header_end, end, (header_start, header_end))
        return b.done()
    if code or (code is None and _is_python(text)):
        _code_block(b, 0, len(text), None)
        return b.done()
    pending: tuple[int, int] | None = None
    for start, end in _paragraphs(text, 0, len(text)):
        lines = [ln.rstrip("\r\n") for ln in _TEXT_LINE.findall(text, start, end)]
        kind = _classify(lines)
        if kind == "prose" and len(lines) == 1 and _is_header_line(lines[0], True) and \
                (_MD_HEADING.match(lines[0]) or lines[0].rstrip().endswith(":")):
            if pending is not None:  # two headings in a row: the first stands alone
                _prose_block(b, *pending, None)
            pending = _trim(text, start, end)
            continue
        if kind == "prose":
            _prose_block(b, start, end, pending)
        else:
            _structured_block(b, start, end, kind, pending)
        pending = None
    if pending is not None:
        _prose_block(b, *pending, None)
    return b.done()


def _code_block(b: _Builder, start: int, end: int, header: tuple[int, int] | None) -> None:
    """Python source ``[start, end)`` as one block of AST units, under ``header`` when given."""
    block = b.new_block("code", start, end)
    if header is not None:
        b.add_unit(block, *header, "header")
        block.start = header[0]
    owner: dict[str, int] = {}
    for s, e, qualname, parent, calls in _code_units(b.text[start:end]):
        i = b.add_unit(block, start + s, start + e, "code")
        if i < 0 or not qualname:
            continue
        b.labels[i] = qualname
        b.calls[i] = calls
        owner.setdefault(qualname, i)  # an oversized unit's first piece holds its head
        if parent and parent in owner and owner[parent] != i:
            b.parents[i] = owner[parent]


def _file_sections(text: str) -> list[tuple[int, int, int]] | None:
    """``(header start, header end, section end)`` of each file in text that an optimizer rendered with
    file headers, or None for any other text."""
    from ..code.render import FILE_HEADER, split_rendered

    sections = split_rendered(text)
    if sections is None:
        return None
    starts = []
    pos = 0
    for path, _ in sections:
        pos = text.index(FILE_HEADER.format(path=path), pos)
        starts.append(pos)
    ends = starts[1:] + [len(text)]
    return [(s, text.index("\n", s) if "\n" in text[s:e] else e, e) for s, e in zip(starts, ends)]


def _segment_json(b: _Builder, text: str, at: int) -> None:
    decoder = json.JSONDecoder()
    root = _scan_json(text, at, decoder)
    block = b.new_block("json", 0, len(text))
    block.json_root = root
    if text[:at].replace("\ufeff", "").strip():  # a byte-order mark alone is no preamble
        b.add_unit(block, 0, at, "header")
    _json_units(b, root, block)


def _code_units(text: str) -> list[tuple[int, int, str, str | None, list[str]]]:
    """Spans of AST units (functions, methods, class headers, module blocks) from the code model,
    each with its qualified name (empty for module blocks), its class's qualified name and the names
    it calls.

    Oversized units are cut at their statement blocks; text the code model cannot parse falls back
    to top-level statements.
    """
    try:
        from ..code import parse_source
    except ImportError:  # the code model needs tree-sitter (a core dependency); be safe anyway
        return [(s, e, "", None, []) for s, e in _code_chunks(text, 0, len(text))]
    sf = parse_source(text)
    starts = [0]
    for line in text.split("\n"):  # the code model's line numbers count \n only
        starts.append(min(len(text), starts[-1] + len(line) + 1))
    by_key = {u.key: u for u in sf.units}
    spans: list[tuple[int, int, str, str | None, list[str]]] = []
    for unit in sf.units:
        ranges = list(unit.regions)
        if unit.n_lines > CODE_BLOCK_LINES * 3:
            blocks = sf.blocks(unit)
            if blocks:
                ranges = [unit.head] + [(b.start_line, b.end_line) for b in blocks]
        name = "" if unit.kind == "module" else unit.qualname
        parent = by_key[unit.parent].qualname if unit.parent in by_key else None
        calls = list(dict.fromkeys(c.rsplit(".", 1)[-1] for c in unit.calls))
        for a, b in ranges:
            spans.append((starts[a - 1], starts[min(b, len(starts) - 1)], name, parent, calls))
    spans.sort(key=lambda t: (t[0], t[1]))
    out: list[tuple[int, int, str, str | None, list[str]]] = []
    for s, e, name, parent, calls in spans:  # a block may repeat the head's lines: never show a line twice
        if out and s < out[-1][1]:
            s = out[-1][1]
        if e > s and text[s:e].strip():
            out.append((s, e, name, parent, calls))
    return out or [(s, e, "", None, []) for s, e in _code_chunks(text, 0, len(text))]


def _is_python(text: str) -> bool:
    """The whole text reads as Python source (code-like lines and no syntax errors)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 3 or not _looks_like_code(lines):
        return False
    try:
        from ..code import parse_source
    except ImportError:
        return False
    return not parse_source(text).has_syntax_errors
