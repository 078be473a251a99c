"""Ranking and budgeting shared by every optimizer and compressor: identifier-aware terms, BM25,
score fusion, and the one budget packer."""

from .bm25 import BM25
from .packer import Candidate, pack, share_budget
from .text import query_terms, split_identifier, terms

__all__ = ["BM25", "Candidate", "pack", "query_terms", "share_budget", "split_identifier", "terms"]
