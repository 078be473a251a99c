"""Okapi BM25 with an idf that stays positive on small corpora.

A file has a few dozen units, so a term in half of them gets the classic idf
``log((N - n + 0.5) / (n + 0.5))`` of zero or below and drops out of the ranking (rank_bm25 #29, #39).
We use the Lucene form ``log(1 + (N - n + 0.5) / (n + 0.5))``, which is always > 0 and keeps the order.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from typing import Sequence

__all__ = ["BM25"]


class BM25:
    """BM25 over pre-tokenised documents; ``scores(query_terms)`` gives one score per document."""

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.doc_freqs: list[Counter[str]] = [Counter(doc) for doc in corpus]
        self.doc_lens: list[int] = [len(doc) for doc in corpus]
        self.n_docs = len(self.doc_lens)
        self.avgdl = (sum(self.doc_lens) / self.n_docs) if self.n_docs else 0.0
        self._norms: list[float] | None = None
        # term -> [(doc index, term frequency)], built on first use: a query touches few terms
        self._postings: dict[str, list[tuple[int, int]]] = {}
        self.doc_counts: Counter[str] = Counter(chain.from_iterable(self.doc_freqs))
        """term -> number of documents that hold it"""

    def idf(self, term: str) -> float:
        """The term's inverse document frequency (> 0), or 0.0 for a term in no document."""
        n = self.doc_counts.get(term)
        return math.log(1.0 + (self.n_docs - n + 0.5) / (n + 0.5)) if n else 0.0

    def _posting(self, term: str) -> list[tuple[int, int]]:
        hit = self._postings.get(term)
        if hit is None:
            hit = self._postings[term] = [(i, f[term]) for i, f in enumerate(self.doc_freqs) if term in f]
        return hit

    def scores(self, query: Sequence[str], weights: dict[str, float] | None = None) -> list[float]:
        """One score per document; ``weights`` multiplies a query term's contribution (default 1)."""
        out = [0.0] * self.n_docs
        if not self.n_docs or not query or self.avgdl == 0:
            return out
        if self._norms is None:
            self._norms = [self.k1 * (1.0 - self.b + self.b * n / self.avgdl) for n in self.doc_lens]
        for term in query:
            idf = self.idf(term)
            if not idf:
                continue
            w = idf * (weights.get(term, 1.0) if weights else 1.0) * (self.k1 + 1.0)
            norms = self._norms
            for i, tf in self._posting(term):
                out[i] += w * tf / (tf + norms[i])
        return out
