"""LocalCompressor: query-aware, structure-aware extractive compression that runs in-process.

Stages, each a short function:

1. segment   - the context into blocks and units (:mod:`.segment`);
2. query     - the prompt into weighted terms and exact strings (identifiers, numbers, quotes);
3. score     - each unit: identifier-aware BM25 of the unit and of its block, a second hop from the
               best units' entities (bridge entities of multi-hop questions), exact-match boosts,
               optional embedding similarity (skipped for a lookup by a unique key), position priors
               (a titled document's lead sentence); the second relevant document's best sentence is
               raised near the top, so two documents are shown before a third sentence of the first;
4. budget    - ``rate`` (or the rate ``"auto"`` picks from the scores) and ``max_tokens``;
5. select    - the one packer (:func:`scaledown_core.retrieval.pack`) under the exact rendered count;
               a unit brings its block's header (title, table header) along; a sentence repeated
               word for word elsewhere is a candidate once;
6. render    - kept units in source order, elisions marked with ``…``; JSON stays valid JSON.

The output is the compressed **context only** (what goes before your prompt), unless
``include_prompt=True``, which appends the prompt as the hosted service's ``compressed_prompt`` does.
"""

from __future__ import annotations

import asyncio
import copy
import html
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..limits import check_text_size
from ..retrieval import BM25, Candidate, pack, query_terms, terms
from ..retrieval.text import STOPWORDS
from ..tokens import get_counter
from ..types import CompressedDocuments, CompressedPrompt, CompressionMetrics
from . import _core
from .segment import ELISION, Segmentation, segment

__all__ = ["LocalCompressor"]


logger = logging.getLogger(__name__)

Measure = Callable[[list[int]], int]
"""Counts a selection of unit indices exactly as it will be handed on."""

# --- scoring weights (unit scores are on a 0..~3 scale; BM25 parts are normalised to max 1)
UNIT_WEIGHT = 1.0  # the unit's own match with the prompt
BLOCK_WEIGHT = 1.5  # a sentence in a relevant document is likelier relevant (coarse stage)
HOP_WEIGHT = 0.8  # a document named by the best sentences (a bridge entity) is the second hop
HOP_BODY_SHARE = 0.5  # bridge terms in a document's body count half as much as in its title
HOP_SEEDS = 2  # how many best units seed the second hop
HOP_TERMS = 12  # the rarest new terms of the seeds form the second-hop query
CALLEE_SHARE = 0.6  # a function the best code unit calls scores at least this share of the caller
EXACT_WEIGHT = 1.5  # a unit holding an identifier, number or quote from the prompt verbatim
PRESERVE_WEIGHT = 10.0  # a unit holding one of ``preserve_words`` is kept before anything else
KEYWORD_WEIGHT = 0.3  # preserve_keywords=True: a unit holding any prompt keyword
# Cosine similarity (min-max normalised) when embeddings are on, added to each unit's own score
# only. Not to its document's: a multi-hop question resembles its first document, and lifting that
# document pushes out the second, which holds the answer (dev hotpotqa at rate 0.1: 58.5 with
# document-level similarity, 68.3 without; nq20 unchanged at 94).
EMBEDDING_WEIGHT = 1.0
# Units embedded per context (the best lexical candidates): about 2x what rate 0.25 keeps of a
# 2,000-token context, so that paraphrases the lexical scores missed can still climb in. 48 was no
# better on dev (nq20 97/92 at 0.25/0.1 against 98/93) and embeds half as many texts again.
EMBED_CANDIDATES = 32
# A prompt string at least this long found verbatim in one unit only makes the prompt a lookup (a key,
# a UUID, a qualified name): embeddings are skipped for it (KV-75 with embeddings: 268 ms -> ~12 ms
# per item, answers unchanged). Shorter strings (a year, "1990") are too common to decide alone.
LOOKUP_MIN_CHARS = 8
FIRST_UNIT_PRIOR = 0.08  # the first unit of a list, table or code block often introduces it
# The first sentence after a document's title (a retrieved passage, a Wikipedia article) defines its
# subject and carries its key facts (lead bias): it holds the answer of 76% of multi-hop and 66% of
# open-domain dev questions. Worth about half a normalised BM25 match; the dev plateau is 0.3..0.5.
# Untitled paragraphs inside one document get FIRST_UNIT_PRIOR only: there the opening sentence of a
# paragraph is no likelier to hold the answer than the next one (a handbook's "Annual plans are paid
# up front..." before "...may request a refund within 45 days").
LEAD_PRIOR = 0.4
ORDER_PRIOR = 0.04  # earlier documents first: retrieved context is usually ranked
# Among several titled documents, the best sentence of each of this many best documents scores at
# least SHOWN_SHARE of the best sentence overall when its document is relevant (block relevance at
# least SHOWN_MIN_RELEVANCE of the best), so a tight budget shows a second document before a third
# sentence of the first (below the first's best: at 1.0 an unrelated runner-up could tie the answer's
# document and push it out). A multi-hop question needs two documents, and the first document's runner-up sentences
# mostly restate the question (dev hotpotqa at 0.1: lexical 70.7 -> 73.2, with embeddings 68.3 -> 73.2;
# nq20 unchanged). Three documents cost nq20 1-3 points (its answer sits in one passage).
DOCUMENTS_SHOWN = 2
SHOWN_MIN_RELEVANCE = 0.5
SHOWN_SHARE = 0.9
# The sentence after the best sentence continues its subject: a definition, then the facts about it
# ("The 1924 Winter Olympics ... was held in Chamonix." then "Norway topped the table ..."), often
# with none of the question's words. It scores at least this share of the best sentence. Only the
# best sentence's: the next sentence of the second best cost hotpotqa@0.1 2-7 points. Dev plateau
# 0.6..0.8 (nq20@0.1 95 -> 96 with embeddings, 89 -> 90 lexical; nothing lost at any rate); 0.5 gains
# only lexically.
CONTINUATION_SHARE = 0.7
HEADER_VALUE = 0.5  # a title costs little and tells the model whose facts follow
# Prompt words that instruct rather than describe what to find ("Answer the question using the
# documents above"): kept as query terms but with little weight.
INSTRUCTION_WORDS = frozenset(
    """answer answers question questions document documents above below context contexts following
    given based provided provide passage passages text texts information info extract value values
    corresponding specified key json object data please respond reply according write explain
    describe summarize summarise tell list find return output""".split()
)
INSTRUCTION_WEIGHT = 0.15
# Words that shape a question rather than name what it is about ("how many people", "whose father"),
# beyond the stop words: weighted as instructions. A sentence saying "many" is no likelier to hold the
# count asked for (dev hotpotqa@0.1 with embeddings 75.6 -> 78.0: "...can seat how many people?" went
# to "Many were incarcerated..."). Not "where": "is where absorption begins" answers a where-question.
QUESTION_FORM_WORDS = frozenset("whose many much".split())
# First words that make a one-line prompt an instruction rather than a question.
_IMPERATIVES = frozenset("extract answer give show identify read use summarize summarise".split())
_ASKING_LABEL = re.compile(r"^(?:question|q|query|key)\s*:\s*", re.I)
# rate="auto": keep the units scoring at least this share of the best score, within these bounds.
AUTO_RELEVANCE = 0.45
AUTO_MIN_RATE = 0.1
AUTO_MAX_RATE = 0.5
# Packing priority: value per token is score * cost**(1 - SIZE_NEUTRALITY); at 1.0 the packer would
# rank by score alone, at 0.0 by score per token (favouring short units). Mostly by score: a long
# lead sentence (names in three scripts before the facts) often holds the answer. Dev: 0.88-0.9 keep
# lexical results and lift embeddings nq20 to 95/99 at 0.1/0.25 (94/98 at 0.85, 94/99 at 0.95).
SIZE_NEUTRALITY = 0.9
# Below this rate a document's title is not shown with its sentences: the budget is better spent on
# one more sentence (the title's entity is usually named in the document's sentences anyway). Except
# the best unit's document's title when it is short and names its subject in words the document does
# not (an alias: "Henry J. Kaiser" over "Henry John Kaiser (May 9, 1882 ...)"): dev hotpotqa@0.1
# 78.0 -> 80.5 with embeddings, 75.6 -> 78.0 lexical; nq20 unchanged (its titles are long labels).
TITLES_MIN_RATE = 0.15
ALIAS_TITLE_MAX_TOKENS = 8
# A budget that holds no whole unit: units are cut into pieces of about this share of it (in the
# context's own characters per token), never shorter than PIECE_MIN_CHARS.
PIECE_SHARE = 0.5
PIECE_MIN_CHARS = 8

_TITLE_LABEL = re.compile(r"\(Title:\s*([^)\n]*)\)")
_DISAMBIGUATOR = re.compile(r"\s*\([^()\n]*\)\s*$")  # "Big Stone Gap (film)"
_QUOTED = re.compile(r"\"([^\"\n]{2,200})\"|“([^”\n]{2,200})”|`([^`\n]{2,200})`|(?<!\w)'([^'\n]{2,100})'(?!\w)")
_TOKEN = re.compile(r"[\w][\w.\-:/]*\w|\w")
_CAMEL = re.compile(r"[a-z][A-Z]|[A-Z]{2,}[a-z]")


@dataclass
class _Query:
    terms: list[str]
    weights: dict[str, float]
    exact: list[str]
    """Strings matched verbatim (identifiers, numbers, quoted phrases from the prompt)."""
    preserve: list[str] = field(default_factory=list)
    text: str = ""


def _exact_strings(prompt: str) -> list[str]:
    """Identifiers, numbers and quoted phrases in the prompt: what must match verbatim."""
    found: list[str] = []
    for m in _QUOTED.finditer(prompt):
        q = next(g for g in m.groups() if g)
        if q.strip():
            found.append(q.strip())
    for m in _TOKEN.finditer(prompt):
        tok = m.group()
        digits = any(ch.isdigit() for ch in tok)
        if (digits and len(tok) >= 3) or "_" in tok.strip("_") or _CAMEL.search(tok) or (
            "." in tok and not tok.endswith(".") and re.search(r"[A-Za-z]\.[A-Za-z]", tok)
        ):
            found.append(tok)
    return list(dict.fromkeys(found))


def _build_query(prompt: str, preserve_words: Sequence[str]) -> _Query:
    words = [_stem(t) for t in query_terms(prompt)]
    # an instruction word is a search word when the question itself asks it ("what is its value?")
    asked = {_stem(t) for line in _question_lines(prompt) for t in query_terms(line)}
    weak = {t for t in words if (t in _INSTRUCTION_STEMS and t not in asked) or t in _QUESTION_FORM_STEMS}
    # the joined form of adjacent query words matches a document that writes them as one (gall bladder)
    joined = [a + b for a, b in zip(words, words[1:]) if a not in weak and b not in weak]
    qterms = list(dict.fromkeys(words + joined))
    weights = {t: (INSTRUCTION_WEIGHT if t in weak else 1.0) for t in qterms}
    return _Query(qterms, weights, _exact_strings(prompt), list(preserve_words), prompt)


def _question_lines(prompt: str) -> list[str]:
    """The lines of the prompt that ask (end with "?" or start with "Question:"/"Q:"/"Key:").

    A one-line prompt asks as a whole unless it reads as an instruction (no question mark and an
    imperative first word such as "Extract" or "Answer").
    """
    lines = [ln.strip() for ln in prompt.splitlines() if ln.strip()]
    asking = [ln for ln in lines if ln.endswith("?") or _ASKING_LABEL.match(ln)]
    if asking:
        return [_ASKING_LABEL.sub("", ln, count=1) for ln in asking]
    if len(lines) == 1 and lines[0].split()[0].lower() not in INSTRUCTION_WORDS | _IMPERATIVES:
        return lines
    return []


def _stem(term: str) -> str:
    """A light suffix stemmer, so that "greys" meets "Grey's", "died" meets "die", "played" "plays".

    Only the suffixes whose removal rarely merges unrelated words: plurals and possessives, -ed,
    -ing, and a final -e (so that "release" and "released" meet).
    """
    if len(term) <= 3 or not term.isalpha():
        return term
    stem = term
    if term.endswith("ies") and len(term) > 4:
        stem = term[:-3] + "y"
    elif term.endswith("ied"):
        stem = term[:-3] + "y" if len(term) > 4 else term[:-1]  # carried -> carry, died -> die
    elif term.endswith(("sses", "xes", "ches", "shes")):
        stem = term[:-2]
    elif term.endswith("s") and not term.endswith(("ss", "us", "is")):
        stem = term[:-1]
    elif term.endswith("eed"):
        stem = term
    elif term.endswith("ed") and len(term) > 4:
        stem = _undouble(term[:-2])
    elif term.endswith("ing") and len(term) > 5:
        stem = _undouble(term[:-3])
    if stem.endswith("e") and len(stem) > 3:
        stem = stem[:-1]
    return stem


def _undouble(stem: str) -> str:
    """``stopp`` -> ``stop``: the doubled consonant an -ed/-ing suffix adds."""
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouslz":
        return stem[:-1]
    return stem


_INSTRUCTION_STEMS = frozenset(_stem(w) for w in INSTRUCTION_WORDS)
_QUESTION_FORM_STEMS = frozenset(_stem(w) for w in QUESTION_FORM_WORDS)


def _stemmed_terms(text: str) -> list[str]:
    return [_stem(t) for t in terms(text)]


def _with_compounds(doc: list[str], compounds: frozenset[str]) -> list[str]:
    """``doc`` plus the joined form of adjacent terms that the query writes as one word (super bowl)."""
    if not compounds:
        return doc
    extra = [a + b for a, b in zip(doc, doc[1:]) if a + b in compounds]
    return doc + extra if extra else doc


def _repeated_sentences(seg: Segmentation, scores: list[float]) -> set[int]:
    """Sentences that repeat a better-scored (or, on a tie, earlier) sentence word for word.

    Retrieved passages often overlap (the same paragraph from several pages); a second copy tells the
    model nothing new, so its tokens go to something else. Only prose sentences: identical code, list
    items or rows in two places say that both places hold them.
    """
    first: dict[str, int] = {}
    for i in sorted(range(len(seg.units)), key=lambda i: (-scores[i], i)):
        if seg.units[i].kind != "sentence":
            continue
        first.setdefault(" ".join(seg.unit_text(i).split()).casefold(), i)
    kept = set(first.values())
    return {i for i, u in enumerate(seg.units) if u.kind == "sentence" and i not in kept}


_ELISION_LINES = frozenset({"# ...", "...", "…", "# …", "// ..."})  # "// ...": code selected from a C-like language


def _requirements(seg: Segmentation, i: int, titled: frozenset[int]) -> tuple[int, ...]:
    """The units shown whenever unit ``i`` is: its block's header (a prose title only when its block
    is in ``titled``), a fence's closing line, a method's class header or a nested item's parent."""
    block = seg.blocks[seg.units[i].block]
    shown = block.index in titled or block.kind != "prose"
    requires = (block.header,) if block.header is not None and block.header != i and shown else ()
    if block.closer is not None and i not in (block.closer, block.header):
        requires += (block.closer,)
    if i in seg.parents:
        requires += (seg.parents[i],)
    return requires


def _alias_title(seg: Segmentation, scores: list[float], costs: list[int]) -> frozenset[int]:
    """The best unit's block, if its title is short and names the subject in words its text does not."""
    body = [i for i, u in enumerate(seg.units) if u.kind != "header"]
    if not body:
        return frozenset()
    block = seg.blocks[seg.units[max(body, key=scores.__getitem__)].block]
    if block.kind != "prose" or block.header is None or costs[block.header] > ALIAS_TITLE_MAX_TOKENS:
        return frozenset()
    raw = seg.unit_text(block.header)
    label = _TITLE_LABEL.search(raw)
    title = label.group(1) if label else _DISAMBIGUATOR.sub("", raw)
    text = " ".join(seg.unit_text(i) for i in block.units if i != block.header)
    # "Tunnels &amp; Trolls" is no alias of "Tunnels & Trolls", nor "## Setup" of "setup"
    name = html.unescape(title).strip().lstrip("#").strip().casefold()
    return frozenset({block.index}) if name and name not in html.unescape(text).casefold() else frozenset()


def _only_elisions(text: str) -> bool:
    return all(line.strip() in _ELISION_LINES for line in text.splitlines() if line.strip())


def _unique_exact_match(seg: Segmentation, query: _Query) -> str | None:
    """A long identifier from the prompt (a key, a UUID, ``Client.charge``) found in exactly one unit.

    Such a prompt is a lookup: the exact match decides, and embedding similarity could only add cost.
    """
    for e in query.exact:
        if len(e) < LOOKUP_MIN_CHARS or " " in e:
            continue
        holders = [i for i in range(len(seg.units)) if e in seg.unit_text(i)]
        if len(holders) == 1:
            return e
    return None


def _exact_pattern(text: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """A prompt string as a whole-word, case-blind pattern, and lowercase substrings that any match
    holds, to test first (none when they cannot be: non-ASCII case rules differ between str.lower and re.I).

    Words may be spaced differently, and "and" may be written "&" ("Tunnels and Trolls" is
    "Tunnels & Trolls", or "Tunnels &amp; Trolls" in escaped HTML).
    """
    words = text.split()
    fixed = [w for w in words if w.lower() not in ("and", "&")]
    conjunction = ("and", "&") if fixed and len(words) > 1 else ()
    body = r"\s+".join(r"(?:and|&(?:amp;)?)" if w.lower() in conjunction else re.escape(w) for w in words)
    probes = tuple(w.lower() for w in (fixed if conjunction else words)) if text.isascii() else ()
    return probes, re.compile(r"(?<![\w-])" + body + r"(?![\w-])", re.I)


def _starts_mid_sentence(seg: Segmentation, i: int) -> bool:
    """A unit that continues a sentence cut off before it, as in a retrieved chunk that begins
    "campaign against the Kingdom of Serbia.": no lead sentence (dev nq20@0.1 lexical 88 -> 89)."""
    return seg.units[i].kind == "sentence" and seg.unit_text(i)[:1].islower()


def _normalise(values: Sequence[float]) -> list[float]:
    top = max(values, default=0.0)
    return [v / top for v in values] if top > 0 else [0.0] * len(values)


def _contains_any(haystack: str, needles: Sequence[str]) -> bool:
    return any(n in haystack for n in needles)


def _labelled_text(seg: Segmentation, i: int) -> str:
    """Unit ``i``'s text under its label (a code unit's qualified name: ``Client.charge``), if any."""
    label = seg.labels.get(i)
    return f"{label}\n{seg.unit_text(i)}" if label else seg.unit_text(i)


def _preserved_units(seg: Segmentation, query: _Query) -> frozenset[int]:
    """The units holding one of ``preserve_words``."""
    if not query.preserve:
        return frozenset()
    return frozenset(i for i in range(len(seg.units)) if _contains_any(_labelled_text(seg, i), query.preserve))


class _Scorer:
    """Unit scores of one segmentation against one query."""

    def __init__(self, seg: Segmentation, query: _Query, *, preserve_keywords: bool,
                 embed_scores: list[float] | None) -> None:
        self.seg = seg
        self.q = query
        self.preserve_keywords = preserve_keywords
        self.embed_scores = embed_scores
        compounds = frozenset(t for t in query.terms if t.isalpha() and len(t) > 5)
        # a code unit is also named by its qualified name (a method by its class): "Client.charge"
        self.unit_terms = [_with_compounds(_stemmed_terms(self._text(i)), compounds)
                           for i in range(len(seg.units))]
        self.block_terms = [self._block_terms(b.index) for b in seg.blocks]

    def _text(self, i: int) -> str:
        return _labelled_text(self.seg, i)

    def _block_terms(self, b: int) -> list[str]:
        block = self.seg.blocks[b]
        out: list[str] = []
        for i in block.units:
            out.extend(self.unit_terms[i])
            if i == block.header:  # a title says what the whole block is about
                out.extend(self.unit_terms[i])
        return out

    def scores(self) -> list[float]:
        """One score per unit: its block's relevance (coarse) plus its own (fine), plus priors."""
        seg, q = self.seg, self.q
        unit_rel = _normalise(BM25(self.unit_terms).scores(q.terms, q.weights))
        self._add_exact(unit_rel)
        if self.embed_scores is not None:
            unit_rel = [r + EMBEDDING_WEIGHT * e for r, e in zip(unit_rel, self.embed_scores)]
        # one block says nothing coarse: every unit would get the same lift and small ones would win
        block_rel = _normalise(BM25(self.block_terms).scores(q.terms, q.weights)) if len(seg.blocks) > 1 \
            else [0.0] * len(seg.blocks)
        if len(seg.blocks) > 1 and HOP_WEIGHT > 0:
            block_rel = self._second_hop(unit_rel, block_rel)
        if seg.calls:
            unit_rel = self._callees(unit_rel)
        nblocks = max(len(seg.blocks), 1)
        out: list[float] = []
        for i, u in enumerate(seg.units):
            block = seg.blocks[u.block]
            first_body = u.position == (1 if block.header is not None else 0) and not _starts_mid_sentence(seg, i)
            lead = LEAD_PRIOR if block.kind == "prose" and block.header is not None else FIRST_UNIT_PRIOR
            score = UNIT_WEIGHT * unit_rel[i] + BLOCK_WEIGHT * block_rel[u.block]
            score += ORDER_PRIOR * (1.0 - u.block / nblocks) + (lead if first_body else 0.0)
            out.append(score * HEADER_VALUE if u.kind == "header" else score)
        out = self._continue_best(self._show_best_documents(out, block_rel))
        # last: a preserved unit is kept first, but what is raised relative to the best unit is raised
        # by relevance to the prompt, not by holding a word the caller wants kept
        for i in _preserved_units(seg, q):
            out[i] += PRESERVE_WEIGHT
        return out

    def _continue_best(self, scores: list[float]) -> list[float]:
        """Raise the sentence that follows the best sentence in its document to ``CONTINUATION_SHARE`` of it.

        Whole sentences only: the piece after the best piece of a sentence cut to fit a small budget
        is a fragment of the same sentence, not what the text says next.
        """
        units, pieces = self.seg.units, self.seg.part_of
        sentences = [i for i, u in enumerate(units) if u.kind == "sentence"]
        if not sentences:
            return scores
        best = max(sentences, key=lambda i: (scores[i], -i))
        after = best + 1
        if (after >= len(units) or units[after].kind != "sentence" or units[after].block != units[best].block
                or best in pieces or after in pieces):
            return scores
        out = list(scores)
        out[after] = max(out[after], CONTINUATION_SHARE * scores[best])
        return out

    def _show_best_documents(self, scores: list[float], block_rel: list[float]) -> list[float]:
        """Raise the best sentence of each of the ``DOCUMENTS_SHOWN`` best titled documents near the top score."""
        seg = self.seg
        best: dict[int, int] = {}
        for i, u in enumerate(seg.units):
            block = seg.blocks[u.block]
            if u.kind == "header" or block.kind != "prose" or block.header is None:
                continue
            if u.block not in best or scores[i] > scores[best[u.block]]:
                best[u.block] = i
        if len(best) <= DOCUMENTS_SHOWN:  # every document is among the best: nothing to even out
            return scores
        leaders = sorted(best.values(), key=lambda i: -scores[i])[:DOCUMENTS_SHOWN]
        top = scores[leaders[0]]
        out = list(scores)
        for i in leaders[1:]:
            if block_rel[seg.units[i].block] >= SHOWN_MIN_RELEVANCE:
                out[i] = max(out[i], SHOWN_SHARE * top)
        return out

    def _callees(self, unit_rel: list[float]) -> list[float]:
        """Raise the functions the best code units call (the second hop of code)."""
        seg = self.seg
        by_name: dict[str, list[int]] = {}
        for i, label in seg.labels.items():
            by_name.setdefault(label.rsplit(".", 1)[-1], []).append(i)
        top = max(unit_rel, default=0.0)
        seeds = sorted(seg.calls, key=lambda i: -unit_rel[i])[:HOP_SEEDS]
        out = list(unit_rel)
        for i in seeds:
            if unit_rel[i] <= 0:
                continue
            for name in seg.calls[i]:
                for j in by_name.get(name, []):
                    if j != i:
                        out[j] = max(out[j], CALLEE_SHARE * min(unit_rel[i], top))
        return out

    def _add_exact(self, out: list[float]) -> None:
        seg, q = self.seg, self.q
        # each string with its whole-word pattern; for ASCII strings a substring test first spares most
        # regex searches (non-ASCII case rules differ between str.lower and re.I: those always search)
        exact = [_exact_pattern(e) for e in q.exact]
        qset = set(t for t in q.terms if q.weights.get(t, 1.0) >= 1.0)
        for i in range(len(seg.units)):
            text = self._text(i)
            if exact:
                lowered = text.lower()
                hits = sum(1 for probes, e in exact if all(p in lowered for p in probes) and e.search(text))
                if hits:
                    out[i] += EXACT_WEIGHT * (0.5 + hits / len(exact))
            if self.preserve_keywords and qset.intersection(self.unit_terms[i]):
                out[i] += KEYWORD_WEIGHT

    def _second_hop(self, unit_rel: list[float], block_rel: list[float]) -> list[float]:
        """Raise documents named by the best units (the bridge entity of a multi-hop question)."""
        seg, q = self.seg, self.q
        first = [unit_rel[i] + block_rel[u.block] for i, u in enumerate(seg.units)]
        body = [i for i, u in enumerate(seg.units) if u.kind != "header"]
        seeds = sorted(body, key=lambda i: -first[i])[:HOP_SEEDS]
        if not seeds or first[seeds[0]] <= 0:
            return block_rel
        seen = set(q.terms)
        bm = BM25(self.block_terms)
        seed_blocks = {seg.units[i].block for i in seeds}
        # a bridge term is one the seeds share with some other document
        elsewhere = {t for b, bt in enumerate(self.block_terms) if b not in seed_blocks for t in bt}
        new: dict[str, float] = {}
        for i in seeds:
            for t in self.unit_terms[i]:
                if t not in seen and t not in STOPWORDS and t in elsewhere:
                    new[t] = bm.idf(t)
        hop_terms = sorted(new, key=lambda t: -new[t])[:HOP_TERMS]
        if not hop_terms:
            return block_rel
        # headers carry the entity a document is about: match the hop terms against them first
        header_terms = [self.unit_terms[b.header] if b.header is not None else [] for b in seg.blocks]
        hop_header = _normalise(BM25(header_terms).scores(hop_terms)) if any(header_terms) else [0.0] * len(seg.blocks)
        hop_block = _normalise(bm.scores(hop_terms))
        hop = _normalise([HOP_BODY_SHARE * hb + hh for hb, hh in zip(hop_block, hop_header)])
        return [r if b in seed_blocks else max(r, HOP_WEIGHT * h) for b, (r, h) in enumerate(zip(block_rel, hop))]


class LocalCompressor:
    """Extractive, query-aware compression in-process: no network, no key, no model by default.

    Args:
        target_model: the model whose tokenizer measures ``rate`` and ``max_tokens``.
        rate: fraction of the context's tokens to keep, in (0, 1], or ``"auto"`` to keep what scores
            as relevant (between 10% and 50%); the chosen rate is in ``result.metrics.rate``.
        preserve_keywords: prefer units holding a prompt keyword.
        preserve_words: words whose units are kept first; kept units are never cut inside.
        max_concurrency: threads for a batch (``compress``) or concurrent items (``acompress``).
        embeddings: add embedding similarity with a local model (needs the ``semantic`` extra).
        embedding_model: the model name or path for ``embeddings`` (default: the packaged MiniLM).
        include_prompt: append ``"\\n\\n" + prompt`` to the output, as the hosted service's
            ``compressed_prompt`` does; by default the output is the compressed context alone.
        elision_marker: the text marking an elision between kept units (``""`` for none).

    ``compress(context, prompt, max_tokens=None)`` returns a :class:`CompressedPrompt`
    (a list for list input). ``max_tokens`` is a hard ceiling on the output in target-model tokens.
    """

    def __init__(
        self,
        target_model: str = "gpt-4o",
        rate: str | float = "auto",
        preserve_keywords: bool = False,
        preserve_words: Sequence[str] | None = None,
        max_concurrency: int = 5,
        *,
        embeddings: bool = False,
        embedding_model: str | None = None,
        include_prompt: bool = False,
        elision_marker: str = ELISION,
    ) -> None:
        self.target_model = target_model
        self.counter = get_counter(target_model)
        self.rate = _core.check_rate(rate)
        self.preserve_keywords = _core.check_flag("preserve_keywords", preserve_keywords)
        self.preserve_words = _core.check_preserve_words(preserve_words) or []
        self.max_concurrency = _core.check_concurrency(max_concurrency)
        self.embeddings = _core.check_flag("embeddings", embeddings) or bool(embedding_model)
        self.embedding_model = embedding_model
        self.include_prompt = _core.check_flag("include_prompt", include_prompt)
        if not isinstance(elision_marker, str):
            raise TypeError("elision_marker must be a string")
        self.elision_marker = elision_marker
        self._embedder: Any = None

    def __repr__(self) -> str:
        return (f"LocalCompressor(target_model={self.target_model!r}, rate={self.rate!r}, "
                f"embeddings={self.embeddings})")

    # ------------------------------------------------------------------ public shells

    def compress(self, context: str | list[str], prompt: str | list[str], max_tokens: int | None = None,
                 *, return_exceptions: bool = False, rate: str | float | None = None,
                 preserve_keywords: bool | None = None,
                 preserve_words: Sequence[str] | None = None) -> CompressedPrompt | list[Any]:
        """Compress one context (str) or a batch (list); see the class docstring.

        ``rate``, ``preserve_keywords`` and ``preserve_words`` replace the constructor's for this call.
        A batch runs every item; if some fail, :class:`~scaledown_core.exceptions.BatchError` is
        raised afterwards with the results and per-item errors, or, with ``return_exceptions=True``,
        the exceptions are returned in place of the failed items.
        """
        pairs, batch = _core.pairs_of(context, prompt)
        max_tokens = _core.check_max_tokens(max_tokens)
        engine = self._for_call(rate, preserve_keywords, preserve_words)
        if not batch:
            return engine._compress_one(*pairs[0], max_tokens)
        return _core.run_batch(lambda c, p: engine._compress_one(c, p, max_tokens), pairs,
                               self.max_concurrency, return_exceptions)

    async def acompress(self, context: str | list[str], prompt: str | list[str], max_tokens: int | None = None,
                        *, return_exceptions: bool = False, rate: str | float | None = None,
                        preserve_keywords: bool | None = None,
                        preserve_words: Sequence[str] | None = None) -> CompressedPrompt | list[Any]:
        """``compress`` for async code: the work runs in worker threads, the event loop stays free."""
        pairs, batch = _core.pairs_of(context, prompt)
        max_tokens = _core.check_max_tokens(max_tokens)
        engine = self._for_call(rate, preserve_keywords, preserve_words)

        async def one(c: str, p: str) -> CompressedPrompt:
            return await asyncio.to_thread(engine._compress_one, c, p, max_tokens)

        if not batch:
            return await one(*pairs[0])
        return await _core.arun_batch(one, pairs, self.max_concurrency, return_exceptions)

    def _for_call(self, rate: Any, preserve_keywords: Any, preserve_words: Any) -> "LocalCompressor":
        """This compressor, or a copy of it with one call's own options (checked as the constructor checks)."""
        if rate is None and preserve_keywords is None and preserve_words is None:
            return self
        mine = _core.CallOptions(self.rate, None, self.preserve_keywords, self.preserve_words or None)
        options = mine.updated(rate=rate, preserve_keywords=preserve_keywords, preserve_words=preserve_words)
        engine = copy.copy(self)
        engine.rate, engine.preserve_keywords = options.rate, options.preserve_keywords
        engine.preserve_words = options.preserve_words or []
        return engine

    def compress_documents(self, texts: Sequence[str], prompt: str, max_tokens: int | None = None, *,
                           rate: str | float | None = None, ids: Sequence[str | int | None] | None = None,
                           scores: Sequence[float | None] | None = None) -> CompressedDocuments:
        """Compress a retrieved set as one context: joint selection, mapped back to each document.

        ``texts`` are the documents (one string each); ``ids`` and ``scores`` (a retriever's) are
        optional and carried through. The budget is ``rate`` (default: the compressor's) times the
        set's tokens, capped by ``max_tokens``: the documents' kept texts together never exceed it.
        The engine ranks every sentence of every document against ``prompt`` at once, so the document
        that answers keeps its sentences and the others give way. One result per input, in input
        order; ``content`` is ``""`` for a document of which nothing was kept (blank, a repeat of an
        earlier one, or not relevant enough for the budget). Prose is cut between sentences only,
        unless one sentence is larger than the whole budget (then at clauses or spaces, with a
        warning); a document under ``SMALL_DOCUMENT_TOKENS`` is kept or dropped whole. With
        ``rate="auto"`` the relevant documents are kept whole while the budget holds them.
        """
        from .documents import compress_documents

        return compress_documents(self, texts, prompt, max_tokens, rate=rate, ids=ids, scores=scores)

    async def acompress_documents(self, texts: Sequence[str], prompt: str, max_tokens: int | None = None, *,
                                  rate: str | float | None = None, ids: Sequence[str | int | None] | None = None,
                                  scores: Sequence[float | None] | None = None) -> CompressedDocuments:
        """``compress_documents`` in a worker thread: the event loop stays free."""
        from .documents import compress_documents

        return await asyncio.to_thread(compress_documents, self, texts, prompt, max_tokens, rate=rate, ids=ids,
                                       scores=scores)

    # ------------------------------------------------------------------ engine

    def _compress_one(self, context: str, prompt: str, max_tokens: int | None,
                      rate: str | float | None = None) -> CompressedPrompt:
        check_text_size(context, "context")  # before counting: a huge text is refused, not read
        started = time.perf_counter()
        rate = self.rate if rate is None else _core.check_rate(rate)
        warnings: list[str] = [self.counter.warning] if self.counter.warning else []
        suffix = f"\n\n{prompt}" if self.include_prompt else ""
        n_context = self.counter.count(context)
        n_original = self.counter.count(context + suffix) if suffix else n_context
        ceiling = self._context_ceiling(prompt, suffix, max_tokens)

        seg = segment(context)
        query = _build_query(prompt, self.preserve_words)
        scores, embed, lookup = self._scores(seg, query, prompt, warnings)
        costs = self.counter.count_many([seg.unit_text(i) for i in range(len(seg.units))])

        chosen_rate = self._auto_rate(seg, scores, costs, n_context, _preserved_units(seg, query)) \
            if rate == "auto" else float(rate)
        budget = math.floor(chosen_rate * n_context)
        if ceiling is not None:
            budget = min(budget, ceiling)

        if n_context <= budget:
            content, kept = context, list(range(len(seg.units)))
        else:
            titles = frozenset(range(len(seg.blocks))) if chosen_rate > TITLES_MIN_RATE \
                else _alias_title(seg, scores, costs)
            kept = self._select(seg, scores, costs, budget, titles=titles)
            top = max(range(len(seg.units)), key=scores.__getitem__, default=None)
            if budget > 0 and top is not None and top not in kept:
                kept = self._best_unit_alone(seg, scores, costs, budget, titles, top, kept, warnings)
            if budget > 0 and top is not None and top not in kept and (not kept or costs[top] > budget):
                # the best unit cannot fit whole: its best parts beat nothing, or lesser units that fit
                seg = seg.refined(max(PIECE_MIN_CHARS, int(budget * PIECE_SHARE * len(context) / n_context)))
                scores, embed, lookup = self._scores(seg, query, prompt, warnings)
                kept = self._select_parts(seg, scores, budget, titles, top, warnings)
            content = seg.render(kept, self.elision_marker)
        if not context.strip():
            warnings.append("the context is empty or blank: there is nothing to keep")
        elif not content:
            content = self._empty_json(seg, budget)
            warnings.append(f"the budget of {budget} tokens holds no part of the context; the output is "
                            + (f"an empty JSON {'object' if content == '{}' else 'array'}" if content else "empty"))
        self._check_preserved(seg, kept, query, warnings)
        output = content + suffix
        n_out = self.counter.count(output)
        if max_tokens is not None and n_out > max_tokens:
            # only the prompt itself can be over: the context part was fitted exactly
            raise ValueError(f"max_tokens={max_tokens} cannot hold the prompt ({n_out} tokens with it); "
                             "raise max_tokens or use include_prompt=False")
        latency = (time.perf_counter() - started) * 1000.0
        mode = "bm25" + (f"+embedding:{self._embedder.model_used}" if embed is not None else "")
        return CompressedPrompt(
            content=output,
            metrics=CompressionMetrics(
                original_prompt_tokens=n_original,
                compressed_prompt_tokens=n_out,
                latency_ms=latency,
                model_used=f"local:{mode}",
                rate=chosen_rate,
                extra={
                    "engine": "local",
                    "context_tokens": n_context,
                    "budget_tokens": budget,
                    "units_total": len(seg.units),
                    "units_kept": len(kept),
                    "blocks_total": len(seg.blocks),
                    "blocks_kept": len({seg.units[i].block for i in kept}),
                    "block_kinds": sorted({b.kind for b in seg.blocks}),
                    "includes_prompt": self.include_prompt,
                    **({"embeddings_skipped": f"the prompt names one unit verbatim ({lookup!r})"}
                       if self.embeddings and lookup is not None else {}),
                    "warnings": warnings,
                },
            ),
        )

    def _scores(self, seg: Segmentation, query: _Query, prompt: str,
                warnings: list[str]) -> tuple[list[float], list[float] | None, str | None]:
        """Unit scores, the embedding similarities fused into them (None: lexical only) and the
        identifier whose unique match made embeddings unnecessary."""
        if not seg.units:
            return [], None, None
        scores = _Scorer(seg, query, preserve_keywords=self.preserve_keywords, embed_scores=None).scores()
        lookup = _unique_exact_match(seg, query) if self.embeddings else None
        embed = self._embedding_scores(seg, prompt, scores, warnings) \
            if self.embeddings and lookup is None else None
        if embed is not None:
            scores = _Scorer(seg, query, preserve_keywords=self.preserve_keywords, embed_scores=embed).scores()
        return scores, embed, lookup

    def _context_ceiling(self, prompt: str, suffix: str, max_tokens: int | None) -> int | None:
        if max_tokens is None:
            return None
        if not suffix:
            return max_tokens
        return max(0, max_tokens - self.counter.count(suffix))

    def _auto_rate(self, seg: Segmentation, scores: list[float], costs: list[int], n_context: int,
                   preserved: frozenset[int]) -> float:
        """The share of tokens in the preserved units and the units scoring at least ``AUTO_RELEVANCE``
        of the best other one, bounded."""
        if not scores or n_context == 0:
            return 1.0
        body = [i for i, u in enumerate(seg.units) if u.kind != "header" and i not in preserved]
        top = max((scores[i] for i in body), default=0.0)
        if top <= 0 and not preserved:
            return AUTO_MIN_RATE
        relevant = [i for i in body if top > 0 and scores[i] >= AUTO_RELEVANCE * top] + sorted(preserved)
        headers = {seg.blocks[seg.units[i].block].header for i in relevant} - {None}
        kept = sum(costs[i] for i in relevant) + sum(costs[h] for h in headers if h is not None)
        share = kept * 1.15 / n_context  # room for separators and markers
        return round(min(AUTO_MAX_RATE, max(AUTO_MIN_RATE, share)), 3)

    def _empty_json(self, seg: Segmentation, budget: int) -> str:
        """``{}`` or ``[]`` for a JSON context when nothing of it fits but its brackets: still valid JSON."""
        root = seg.blocks[0].json_root if len(seg.blocks) == 1 else None
        if root is None:
            return ""
        empty = root.opener + ("}" if root.opener == "{" else "]")
        return empty if self.counter.count(empty) <= budget else ""

    def _select_parts(self, seg: Segmentation, scores: list[float], budget: int, titles: frozenset[int], best: int,
                      warnings: list[str], measure: Measure | None = None) -> list[int]:
        """The selection from ``seg`` refined into pieces, and a warning of what became of unit ``best``
        (its index before the refinement)."""
        costs = self.counter.count_many([seg.unit_text(i) for i in range(len(seg.units))])
        kept = self._select(seg, scores, costs, budget, titles=titles, measure=measure)
        top = max(range(len(seg.units)), key=scores.__getitem__, default=None)
        if top is not None and top not in kept:  # its best piece, too, may fit only without its parent
            kept = self._best_unit_alone(seg, scores, costs, budget, titles, top, kept, warnings, measure)
        if any(seg.part_of.get(k) == best for k in kept):
            warnings.append(f"the best-scoring unit does not fit the budget of {budget} tokens whole; "
                            "parts of it are kept")
        elif kept:
            warnings.append(f"the best-scoring unit does not fit the budget of {budget} tokens; lesser units are kept")
        return kept

    def _best_unit_alone(self, seg: Segmentation, scores: list[float], costs: list[int], budget: int,
                         titles: frozenset[int], top: int, kept: list[int], warnings: list[str],
                         measure: Measure | None = None) -> list[int]:
        """``kept``, or a selection with the best unit shown without what it is shown with (a title,
        fences, a parent item) when the budget holds it alone but not with them."""
        needs = _requirements(seg, top, titles)
        if not needs or costs[top] > budget:
            return kept
        measure = measure or self._measure(seg)
        if measure(sorted({top, *needs})) <= budget:
            return kept  # it fits with them: lesser units were simply worth more
        alone = self._select(seg, scores, costs, budget, titles=titles, alone=top, measure=measure)
        if top not in alone:
            return kept
        warnings.append(f"the best-scoring unit fits the budget of {budget} tokens only without its title, "
                        "header or parent; it is shown alone")
        return alone

    def _measure(self, seg: Segmentation) -> Measure:
        """The exact token count of a selection of ``seg``'s units as rendered."""
        return lambda keys: self.counter.count(seg.render(keys, self.elision_marker))

    def _select(self, seg: Segmentation, scores: list[float], costs: list[int], budget: int,
                titles: frozenset[int], alone: int | None = None, measure: Measure | None = None,
                skip: frozenset[int] = frozenset()) -> list[int]:
        """The units to keep; ``alone``: a unit selected without what it is otherwise shown with;
        ``measure``: how a selection is counted (default: ``seg`` rendered as one text); ``skip``:
        units that are no candidates (not even to fill what is left over)."""
        # estimates are bare unit tokens; separators and markers are paid for by the exact measure
        sep_cost = 0
        candidates = []
        repeats = _repeated_sentences(seg, scores)
        for i, u in enumerate(seg.units):
            if i in repeats or i in skip:
                continue
            requires = () if i == alone else _requirements(seg, i, titles)
            header = seg.blocks[u.block].header
            cost = costs[i] + sep_cost
            # a title comes only with its block's body: alone it says little and costs tokens
            is_title = u.kind == "header" and header == i and len(seg.blocks[u.block].units) > 1
            # a closing fence, or an elision line of an earlier stage ("# ..."), says nothing on its own
            empty = is_title or u.kind == "closer" or _only_elisions(seg.unit_text(i))
            value = 0.0 if empty else max(scores[i], 1e-6) * cost ** SIZE_NEUTRALITY
            candidates.append(Candidate(key=i, value=value, cost=cost, requires=requires))

        measure = measure or self._measure(seg)
        chosen = pack(candidates, budget, measure)  # a title worth nothing alone goes with its body
        # leftover budget goes to body units; a title alone says little
        fillers = [c for c in candidates if seg.units[c.key].kind not in ("header", "closer")]
        return self._fill(seg, fillers, chosen, budget, measure)

    @staticmethod
    def _fill(seg: Segmentation, candidates: list[Candidate[int]], chosen: list[int], budget: int,
              measure: Any) -> list[int]:
        """Use what the estimates left over: try the best remaining units against the exact count."""
        chosen_set = set(chosen)
        rest = sorted((c for c in candidates if c.key not in chosen_set and c.value > 0), key=lambda c: -c.value)
        used = measure(chosen) if chosen else 0
        for cand in rest[:64]:
            if budget - used < 2:
                break
            need = [r for r in cand.requires if r not in chosen_set]
            trial = sorted(chosen_set | {cand.key, *need})
            size = measure(trial)
            if size <= budget:
                chosen_set.update([cand.key, *need])
                used = size
        return sorted(chosen_set)

    def _check_preserved(self, seg: Segmentation, kept: list[int], query: _Query, warnings: list[str]) -> None:
        if not self.preserve_words:
            return
        kept_text = " ".join(seg.unit_text(i) for i in kept)
        in_context = [w for w in self.preserve_words if w in seg.text]
        missing = [w for w in in_context if w not in kept_text]
        if missing:
            warnings.append(f"preserve_words not kept (the budget could not hold their units): {missing}")

    def _embedding_scores(self, seg: Segmentation, prompt: str, lexical: list[float],
                          warnings: list[str]) -> list[float] | None:
        """Similarity of the best lexical candidates to the prompt (min-max scaled); 0 for the rest.

        Only the ``EMBED_CANDIDATES`` units scoring best lexically are embedded, in one batch: the
        rest could not win a place on similarity alone, and this bounds the cost of a long context.
        """
        embedder = self._get_embedder(warnings)
        if embedder is None:
            return None
        body = [i for i, u in enumerate(seg.units) if u.kind != "header"] or list(range(len(seg.units)))
        chosen = sorted(body, key=lambda i: -lexical[i])[:EMBED_CANDIDATES]
        docs = embedder.embed_documents([seg.unit_text(i) for i in chosen])
        qv = embedder.embed_queries([prompt])[0]
        sims = [float(x) for x in docs @ qv]
        lo, hi = min(sims), max(sims)
        out = [0.0] * len(seg.units)
        for i, sim in zip(chosen, sims):
            out[i] = (sim - lo) / (hi - lo) if hi > lo else 0.0
        return out

    def _get_embedder(self, warnings: list[str]) -> Any:
        if self._embedder is None:
            from ..retrieval.embeddings import get_embedder

            self._embedder = get_embedder(model_name=self.embedding_model, fallback=True)
        used = getattr(self._embedder, "model_used", None)
        if self.embedding_model and used and used != self.embedding_model:
            warnings.append(f"embedding model {self.embedding_model!r} unavailable; used {used!r}")
        return self._embedder
