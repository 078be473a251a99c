"""Every system the harness runs: ours (through the public API) and the peers, with how each runs."""

from __future__ import annotations

from dataclasses import dataclass

from bench.suites import VENVS_DIR


@dataclass(frozen=True)
class System:
    name: str
    label: str
    adapter: str
    """``module:Class`` under bench.adapters, built in the worker with ``options``."""
    suites: tuple[str, ...]
    ours: bool = False
    venv: str | None = None
    """A venv under bench/.venvs (its pins clash with ours); None: the project's .venv."""
    budget_knob: bool = True
    """False: the system cannot be told a token budget; the harness cuts its output at a line boundary."""
    options: tuple[tuple[str, object], ...] = ()
    note: str = ""

    @property
    def python(self) -> str:
        if self.venv is None:
            import sys

            return sys.executable
        return str(VENVS_DIR / self.venv / "bin" / "python")

    def available(self) -> bool:
        from pathlib import Path

        return Path(self.python).exists()


SYSTEMS: tuple[System, ...] = (
    # ----- ours
    System("haste", "HasteOptimizer", "bench.adapters.ours:Haste",
           ("selection", "repo", "codesearch", "selection-multilang"), ours=True, options=(("semantic", False),)),
    # Not on whole trees: embedding a tree's candidate units takes about 45 s per tree on this CPU.
    System("haste-semantic", "HasteOptimizer(semantic=True)", "bench.adapters.ours:Haste",
           ("selection", "codesearch"), ours=True, options=(("semantic", True),),
           note="local packaged MiniLM (no OPENAI_API_KEY)"),
    System("semantic", "SemanticOptimizer", "bench.adapters.ours:Semantic",
           ("selection", "codesearch", "selection-multilang"), ours=True, note="packaged all-MiniLM-L6-v2"),
    System("local", "LocalCompressor", "bench.adapters.ours:Local",
           ("compression",), ours=True, options=(("embeddings", False),), note="lexical"),
    System("local-embed", "LocalCompressor(embeddings)", "bench.adapters.ours:Local",
           ("compression",), ours=True, options=(("embeddings", True),), note="with the packaged MiniLM"),
    # ----- code peers
    System("upstream-haste", "upstream HASTE 0.2.4", "bench.adapters.haste_peer:Haste",
           ("selection", "repo"), venv="haste", budget_knob=False,
           note="hastecontext==0.2.4, defaults; no budget knob"),
    System("aider-repomap", "Aider repo map", "bench.adapters.aider_peer:AiderRepoMap",
           ("selection", "repo"), venv="aider", note="aider-chat 0.86.2, map_tokens=budget"),
    System("bm25-units", "BM25 over AST units", "bench.adapters.code_peers:BM25Units",
           ("selection", "repo", "codesearch"), note="rank_bm25 BM25Okapi, ast units, greedy fill"),
    System("codesplitter-bm25", "LlamaIndex CodeSplitter + BM25", "bench.adapters.code_peers:CodeSplitterBM25",
           ("selection", "repo"), note="CodeSplitter defaults, rank_bm25 BM25Okapi, greedy fill"),
    System("embedding-units", "Embedding retrieval (MiniLM)", "bench.adapters.code_peers:EmbeddingUnits",
           ("selection", "codesearch"), note="packaged all-MiniLM-L6-v2 over ast units, greedy fill"),
    System("prefix", "Prefix truncation", "bench.adapters.code_peers:PrefixTruncation",
           ("selection", "compression", "selection-multilang"), budget_knob=False, note="the input from the top"),
    # ----- peers that read JavaScript, TypeScript, Go, Java and Rust (selection-multilang)
    System("bm25-ts-units", "BM25 over tree-sitter units", "bench.adapters.multilang_peers:TreeSitterBM25",
           ("selection-multilang",), note="rank_bm25 BM25Okapi, tree-sitter units, greedy fill"),
    System("codesplitter-bm25-ml", "LlamaIndex CodeSplitter + BM25",
           "bench.adapters.multilang_peers:CodeSplitterBM25Multi", ("selection-multilang",),
           note="CodeSplitter defaults with the grammar wheel's parser, BM25Okapi, greedy fill"),
    System("embedding-ts-units", "Embedding retrieval (MiniLM)", "bench.adapters.multilang_peers:TreeSitterEmbedding",
           ("selection-multilang",), note="packaged all-MiniLM-L6-v2 over tree-sitter units, greedy fill"),
    # ----- compression peers
    System("bm25-sentences", "BM25 sentences", "bench.adapters.compress_peers:BM25Sentences",
           ("compression",), note="rank_bm25 BM25Okapi over sentences, greedy fill"),
    System("lc-embeddings-filter", "LangChain EmbeddingsFilter", "bench.adapters.compress_peers:LangChainEmbeddingsFilter",
           ("compression",), note="packaged MiniLM; sentences ranked, greedy fill"),
    System("li-sentence-optimizer", "LlamaIndex SentenceEmbeddingOptimizer",
           "bench.adapters.compress_peers:LlamaIndexSentenceOptimizer", ("compression",), budget_knob=False,
           note="packaged MiniLM, percentile_cutoff=rate, context 0/0; cut at a token boundary"),
)

SYSTEMS += (
    # ----- rag: a retrieved set through the framework objects (bench/adapters/rag.py)
    System("rag-langchain", "ScaleDownDocumentCompressor (LangChain)", "bench.adapters.rag:LangChainScaleDown",
           ("rag",), ours=True, note="own knob: max_tokens"),
    System("rag-llamaindex", "ScaleDownCompressorPostprocessor (LlamaIndex)", "bench.adapters.rag:LlamaIndexScaleDown",
           ("rag",), ours=True, note="own knob: max_tokens"),
    System("rag-joined", "LocalCompressor on the joined context (reference)", "bench.adapters.rag:JoinedLocal",
           ("rag",), ours=True, note="rate = budget / tokens"),
    System("rag-lc-embeddings-filter", "LangChain EmbeddingsFilter", "bench.adapters.rag:LangChainEmbeddingsFilter",
           ("rag",), note="k = all, documents best-first while they fit; default k=20"),
    System("rag-lc-splitter-filter", "LangChain splitter + EmbeddingsFilter",
           "bench.adapters.rag:LangChainSplitterFilter", ("rag",),
           note="CharacterTextSplitter(300, '. ') then the filter; chunks best-first while they fit"),
    System("rag-li-sentence-optimizer", "LlamaIndex SentenceEmbeddingOptimizer",
           "bench.adapters.rag:LlamaIndexSentenceOptimizer", ("rag",), budget_knob=False),
    System("rag-li-similarity", "LlamaIndex SimilarityPostprocessor", "bench.adapters.rag:LlamaIndexSimilarity",
           ("rag",), budget_knob=False),
)

BY_NAME = {s.name: s for s in SYSTEMS}


def resolve(spec: str | None, suite: str) -> list[System]:
    """Systems named by ``spec`` (comma list; ``ours``, ``peers``, ``all``) that run ``suite``."""
    names = [n.strip() for n in (spec or "all").split(",") if n.strip()]
    chosen: list[System] = []
    for n in names:
        if n == "all":
            group = list(SYSTEMS)
        elif n in ("ours", "peers"):
            group = [s for s in SYSTEMS if s.ours == (n == "ours")]
        elif n in BY_NAME:
            group = [BY_NAME[n]]
        else:
            raise ValueError(f"unknown system {n!r}; choose from all, ours, peers, {', '.join(BY_NAME)}")
        chosen += [s for s in group if suite in s.suites and s not in chosen]
    return chosen
