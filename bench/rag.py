"""The ``rag`` suite: each record's passages as separate documents through the adapters a user touches.

Items: hotpotqa / nq20 / kv75 records; documents are ``"title\\ntext"`` (hotpotqa paragraphs, nq20
passages) or one ``"key": "value"`` pair each (kv75); the query is the question (kv75: score.py's
prompt, which names the key). Settings: each system's default, and budgets of 0.5 / 0.25 / 0.1 of the
documents' tokens (o200k). Scored with score.py's compression scorer (``answer_kept``) on the texts
handed on, joined; ``tokens handed on`` is their share of the documents' tokens.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench import data
from bench.suites import AUTO_RATE_KEY, COMPRESSION_TASKS, RAG_RATIOS
from bench.systems import BY_NAME, System

SETTINGS: tuple[Any, ...] = ("default", *RAG_RATIOS)


def _documents(task: str, rec: dict[str, Any]) -> list[str]:
    if task == "hotpotqa":
        return [f"{title}\n{''.join(sents).strip()}" for title, sents in rec["context"]]
    if task == "nq20":
        return [f"{d['title']}\n{d['text']}" for d in rec["documents"]]
    return [f'"{k}": "{v}"' for k, v in rec["ordered_kv_records"]]


def rag_items(data_dir: Path, task: str, quick: int | None, scorer: Any) -> list[dict[str, Any]]:
    from bench.adapters.common import count

    recs = list(data._jsonl(data.fixture(data_dir, task)))[: quick or None]
    items = []
    for r in recs:
        docs = _documents(task, r)
        items.append({
            "key": scorer.instance_key(task, r),
            "documents": [{"id": f"d{i}", "text": t} for i, t in enumerate(docs)],
            "query": r["question"] if task != "kv75" else scorer.build_prompt(task, r),
            "tokens": sum(count(t) for t in docs),
        })
    return items


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def run_rag(system: System, cfg: Any, suite_dir: Path) -> dict[str, Any]:
    from bench.runner import _pct, _write_jsonl, run_worker

    scorer = data.load_scorer(str(cfg.scorer_path))
    scores: dict[str, Any] = {}
    for task in COMPRESSION_TASKS:
        items = rag_items(cfg.data_dir, task, cfg.quick, scorer)
        raw = run_worker(system, {"suite": "rag", "settings": list(SETTINGS)}, items, cfg, f"rag-{system.name}-{task}")
        tokens = {i["key"]: i["tokens"] for i in items}
        task_scores: dict[str, Any] = {}
        for setting in SETTINGS:
            rows = [r for r in raw if r["setting"] == setting]
            rate = AUTO_RATE_KEY if setting == "default" else setting
            path = suite_dir / f"{system.name}.{task}.{setting}.jsonl"
            _write_jsonl(path, [{"id": r["key"], "rate": rate, "output": "\n\n".join(r["output"]),
                                 "seconds": r["seconds"] - r.get("info", {}).get("retrieval_seconds", 0.0),
                                 "cut": bool(r.get("cut"))} for r in rows])
            row = scorer.score_compression(task, str(data.fixture(cfg.data_dir, task)), str(path))[f"rate={rate}"]
            from bench.adapters.common import count

            handed = [sum(count(t) for t in r["output"]) / max(tokens[r["key"]], 1) for r in rows]
            row["handed_on"] = round(statistics.fmean(handed), 3) if handed else None
            row["over_budget"] = _pct([h > setting + 1e-9 for h in handed]) if setting != "default" else 0.0
            row["cut_by_harness"] = _pct([bool(r.get("cut")) for r in rows])
            row["median_seconds"] = _median([r["seconds"] - r.get("info", {}).get("retrieval_seconds", 0.0)
                                             for r in rows])
            task_scores[str(setting)] = row
        scores[task] = task_scores
    return scores


# --------------------------------------------------------------------------- report


RAG_TEXT = """
## RAG adapters: the retrieved set through LangChain and LlamaIndex (`rag` suite)

Each record's passages as separate documents (hotpotqa: 10 paragraphs, nq20: 20 passages, each
`"title\\ntext"`; kv75: 75 `"key": "value"` pairs), the question as the query, through the real objects:
LangChain `ContextualCompressionRetriever` over a retriever returning them, LlamaIndex
`postprocess_nodes` over nodes scored by a MiniLM retriever (that scoring is not in the latency).
Budgets are 0.5 / 0.25 / 0.1 of the documents' tokens, passed as `max_tokens` (or each peer's own
knob); "default" is each system as constructed with no arguments. `answer_kept` is score.py's check
on the texts handed on; `handed on` is their tokens over the documents' tokens; ms = median latency
per query. The reference row is LocalCompressor on the same documents joined as one context.
MiniLM embeddings are cached across the four settings of one record (LangChain's
`CacheBackedEmbeddings`, a memo for the LlamaIndex embedding), so for the embedding peers only "ms
default" includes embedding the documents; the budget columns time the rest of their work.
"""


def _cell(row: dict[str, Any]) -> str:
    from bench.report import _fmt

    if not row:
        return "-"
    return f"{_fmt(row.get('answer_kept'))} ({_fmt(row.get('handed_on'), 2)})"


def rag_table(scores: dict[str, dict[str, Any]], task: str) -> str:
    from bench.report import _label, _ms, _table

    header = ["system", "budget", "default: kept (handed on)"] + \
             [f"@{r}: kept (handed on)" for r in RAG_RATIOS] + ["ms default"] + [f"ms @{r}" for r in RAG_RATIOS]
    rows = []
    for name, rec in scores.items():
        s = rec["scores"].get(task, {})
        per = [s.get(str(x), {}) for x in SETTINGS]
        system = BY_NAME.get(name)
        cut = max((p.get("cut_by_harness", 0.0) for p in per), default=0.0)
        note = system.note if system else ""
        if system is not None and not system.budget_knob:
            note = f"none: cut to the budget ({cut:.0f}% cut)"
        rows.append([_label(name, rec), note] + [_cell(p) for p in per] + [_ms(p.get("median_seconds")) for p in per])
    return _table(header, rows)


def rag_plot(scores: dict[str, dict[str, Any]], plots: Path) -> Path | None:
    if not scores:
        return None
    import matplotlib.pyplot as plt

    from bench.report import _plot_lines

    fig, axes = plt.subplots(1, len(COMPRESSION_TASKS), figsize=(14, 4.5), sharey=True)
    for ax, task in zip(axes, COMPRESSION_TASKS):
        _plot_lines(ax, scores, list(RAG_RATIOS), lambda s, r, t=task: s.get(t, {}).get(str(r), {}), "answer_kept")
        ax.set(xlabel="budget (fraction of the documents' tokens)", title=task, ylim=(0, 102), xscale="log")
        ax.set_xticks(list(RAG_RATIOS), [str(r) for r in RAG_RATIOS])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("answer_kept (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("RAG adapters: answer kept vs budget (retrieved passages as separate documents)")
    fig.tight_layout()
    path = plots / "rag_answer_kept.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rag_section(scores: dict[str, dict[str, Any]], plot: str | None) -> str:
    """The suite's section of BENCHMARKS.md."""
    from bench.report import missing

    parts = [RAG_TEXT]
    for task in COMPRESSION_TASKS:
        parts.append(f"\n#### rag: {task}\n")
        parts.append(rag_table(scores, task) if scores else "_no results yet_")
    parts.append(missing("rag", scores))
    if plot:
        parts.append(f"\n![RAG adapters: answer kept vs budget]({plot})\n")
    return "\n".join(parts)
