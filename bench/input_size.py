"""Time and peak memory of one call against input size (issue 25: bounded time and memory).

  python -m bench.input_size [--sizes 1,10,50] [--systems haste,semantic,local] [--shape source|line]
                             [--source-dir DIR] [--timeout 300]

Each (system, size) runs in a fresh Python process so that its peak RSS is its own. The input is the
Python standard library's sources concatenated to the size (``--shape source``), or one line of
``f(a);`` calls (``--shape line``, the shape of minified code). A call refused by an input limit is
reported with its error and the time it took to refuse.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig

CHILD = r"""
import json, resource, sys, time
system, size, shape, source_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if shape == "line":
    text = "f(a);" * (size // 5) + "\n"
else:
    parts, total = [], 0
    for path in sorted(Path(source_dir).rglob("*.py")):
        if total >= size:
            break
        try:
            chunk = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(chunk)
        total += len(chunk.encode())
    while total < size:  # a small stdlib: repeat it
        parts += parts
        total *= 2
    text = "\n".join(parts).encode()[:size].decode("utf-8", "ignore")
query = "where are retries scheduled after a timeout?"
started = time.perf_counter()
outcome = "ok"
try:
    if system == "local":
        from scaledown_core import LocalCompressor
        LocalCompressor().compress(text, query, max_tokens=1000)
    else:
        from scaledown_core.optimizer import HasteOptimizer, SemanticOptimizer
        cls = HasteOptimizer if system == "haste" else SemanticOptimizer
        cls().optimize(context=text, query=query, max_tokens=1000)
except Exception as exc:  # a refused input is a result too
    outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": round(elapsed, 2),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "outcome": outcome}))
"""


def measure(system: str, mb: float, shape: str, source_dir: str, timeout: float) -> dict:
    size = int(mb * 1_000_000)
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, system, str(size), shape, source_dir],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "peak_rss_mb": None, "outcome": f"no result in {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"seconds": None, "peak_rss_mb": None, "outcome": f"exit {done.returncode}: {done.stderr[-200:]}"}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.input_size", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", help="input sizes in MB, comma-separated")
    parser.add_argument("--systems", default="haste,semantic,local")
    parser.add_argument("--shape", choices=("source", "line"), default="source")
    parser.add_argument("--source-dir", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run counts as no result")
    args = parser.parse_args(argv)
    print("| system | shape | MB | seconds | peak RSS (MB) | outcome |")
    print("|---|---|---:|---:|---:|---|")
    for system in args.systems.split(","):
        for mb in (float(s) for s in args.sizes.split(",")):
            r = measure(system, mb, args.shape, args.source_dir, args.timeout)
            print(f"| {system} | {args.shape} | {mb:g} | {r['seconds']} | {r['peak_rss_mb']} | {r['outcome']} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
