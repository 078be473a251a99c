"""``python -m bench run|report``: the one command that runs suites and writes BENCHMARKS.md.

  python -m bench run --data ../shared/bench-data --suite selection|repo|compression|codesearch|all
                      [--systems all|ours|peers|NAME,...] [--quick N] [--force] [--results DIR]
  python -m bench report [--results DIR] [--out BENCHMARKS.md] [--plots bench/plots]
  python -m bench throughput --data ../shared/bench-data [--n 100] [--concurrency 1,5,10] [--rate 0.25]
  python -m bench agent [--results DIR]
  python -m bench scale [--trees sympy,polys,stdlib] [--queries 5] [--baseline]
  python -m bench repo-loro --data ../shared/bench-data
  python -m bench batch --data ../shared/bench-data [--n 10000] [--workers 1,2] [--engines local,ray]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench.suites import PLOTS_DIR, REPO_ROOT, RESULTS_DIR, SUITES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run suites and score them")
    run.add_argument("--data", required=True, type=Path, help="the bench-data folder")
    run.add_argument("--suite", default="all", choices=(*SUITES, "all"))
    run.add_argument("--systems", default="all", help="all, ours, peers, or names separated by commas")
    run.add_argument("--quick", type=int, default=None, metavar="N", help="only the first N records of each fixture")
    run.add_argument("--force", action="store_true", help="rerun systems whose cached results are current")
    run.add_argument("--results", type=Path, default=None,
                     help="results folder (default bench/results, or bench/results/quick-N with --quick)")
    run.add_argument("--scorer", type=Path, default=None, help="score.py (default: <data>/../bench/score.py)")
    thr = sub.add_parser("throughput", help="ScaleDownCompressor against scaledown serve on 127.0.0.1")
    thr.add_argument("--data", required=True, type=Path, help="the bench-data folder")
    thr.add_argument("--n", type=int, default=100, help="batch size (default 100)")
    thr.add_argument("--concurrency", default="1,5,10", help="client max_concurrency values, separated by commas")
    thr.add_argument("--rate", type=float, default=0.25)
    thr.add_argument("--results", type=Path, default=RESULTS_DIR)
    agent = sub.add_parser("agent", help="a scripted agent session with and without ScaleDown's agent tools")
    agent.add_argument("--results", type=Path, default=RESULTS_DIR)
    scale = sub.add_parser("scale", help="the persistent index on large trees (sympy, the standard library)")
    scale.add_argument("--trees", default="polys,sympy,stdlib", help="trees, separated by commas")
    scale.add_argument("--queries", type=int, default=5, help="queries per tree (default 5)")
    scale.add_argument("--baseline", action="store_true", help="also time the direct read on every tree")
    scale.add_argument("--results", type=Path, default=RESULTS_DIR)
    bat = sub.add_parser("batch", help="scaledown batch compress on the local and ray engines")
    bat.add_argument("--data", required=True, type=Path, help="the bench-data folder")
    bat.add_argument("--n", type=int, default=10000, help="records (the NQ-20 fixture repeated; default 10000)")
    bat.add_argument("--workers", default="1,2", help="worker counts, separated by commas")
    bat.add_argument("--engines", default="local,ray", help="engines, separated by commas")
    bat.add_argument("--rate", type=float, default=0.25)
    bat.add_argument("--results", type=Path, default=RESULTS_DIR)
    loro = sub.add_parser("repo-loro", help="the repo ranking on dev and leave-one-repository-out")
    loro.add_argument("--data", required=True, type=Path, help="the bench-data folder")
    loro.add_argument("--results", type=Path, default=RESULTS_DIR)
    rep = sub.add_parser("report", help="write BENCHMARKS.md tables and plots from results")
    rep.add_argument("--results", type=Path, default=RESULTS_DIR)
    rep.add_argument("--out", type=Path, default=REPO_ROOT / "BENCHMARKS.md")
    rep.add_argument("--plots", type=Path, default=PLOTS_DIR)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args, argv if argv is not None else sys.argv[1:])
    if args.command == "throughput":
        from bench import throughput

        concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
        out = throughput.run(args.data.resolve(), args.results.resolve(), args.n, concurrencies, args.rate)
        print(f"wrote {out}")
        return 0
    if args.command == "agent":
        from bench import agent_session

        print(f"wrote {agent_session.run(args.results.resolve())}")
        return 0
    if args.command == "scale":
        from bench import scale

        trees = [t.strip() for t in args.trees.split(",") if t.strip()]
        print(f"wrote {scale.run(args.results.resolve(), trees, args.queries, args.baseline)}")
        return 0
    if args.command == "repo-loro":
        from bench import repo_loro

        result = repo_loro.run(args.data.resolve(), args.results.resolve())
        print(f"dev {result['dev']}\nloro {result['loro']}")
        return 0
    if args.command == "batch":
        from bench import batch

        out = batch.run(args.data.resolve(), args.results.resolve(), args.n,
                        [int(w) for w in args.workers.split(",") if w.strip()],
                        [e.strip() for e in args.engines.split(",") if e.strip()], args.rate)
        print(f"wrote {out}")
        return 0
    from bench.report import write_report

    write_report(args.results, args.out, args.plots)
    print(f"wrote {args.out} and plots under {args.plots}")
    return 0


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from bench import data
    from bench.runner import RunConfig, run_suite
    from bench.systems import resolve

    data_dir = args.data.resolve()
    results = args.results or (RESULTS_DIR / f"quick-{args.quick}" if args.quick else RESULTS_DIR)
    cfg = RunConfig(data_dir=data_dir, results_dir=results.resolve(),
                    scorer_path=(args.scorer or data.default_scorer(data_dir)).resolve(), quick=args.quick,
                    force=args.force, command="python -m bench " + shlex.join(argv))
    suites = SUITES if args.suite == "all" else (args.suite,)
    try:
        for suite in suites:
            run_suite(suite, resolve(args.systems, suite), cfg)
    except (ValueError, FileNotFoundError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    if cfg.failures:
        print(f"bench: failed: {', '.join(cfg.failures)} (logs under {cfg.results_dir / 'logs'})", file=sys.stderr)
        return 1
    return 0
