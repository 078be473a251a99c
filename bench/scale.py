"""Large trees: the persistent index against a direct read, on trees anyone can rebuild.

  python -m bench scale [--trees sympy,polys,stdlib] [--queries 5] [--baseline] [--results DIR]

Trees: ``sympy`` (the sympy 1.14.0 wheel, fetched with ``pip download sympy==1.14.0 --no-deps`` into
bench/.cache, unpacked into a temporary folder: 1,532 files), ``polys`` (its ``sympy/polys`` package:
183 files, the "200-file tree") and ``stdlib`` (a copy of the running Python's standard library).
For each: the floor (tree-sitter parse of every file plus a token count of every line, one process),
the cold build on every core, an update with nothing changed, queries in a fresh process each (what
``scaledown select`` pays) and in one long-lived process (an agent, a server), the query after one
file changes, peak RSS of a query process, and whether outputs equal a direct read (``use_index=False``;
``--baseline`` times that direct read too; on sympy it takes minutes). Every query process is a
subprocess, so RSS and start-up are its own. Results go to ``<results>/scale/scale.json``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.suites import CACHE_DIR, REPO_ROOT

SYMPY = "sympy==1.14.0"
BUDGET = 4000
MODEL = "gpt-4o"
# Queries written for any Python tree (words most trees use), not tuned to one of them.
QUERIES = (
    "ValueError raised when the argument is not a positive integer",
    "where is the cache invalidated after the file changes",
    "parse the configuration and return a dictionary of options",
    "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'",
    "how is the string representation printed",
    "thread safety of the lock around the shared state",
    "the recursion limit is exceeded for deeply nested input",
)
CHILD_TIMEOUT_S = 600

# One query process: optimize QUERIES[a:b] on ROOT, print per-query seconds, tokens, content hash, RSS.
_CHILD = r"""
import hashlib, json, resource, sys, time
started = time.perf_counter()
from scaledown_core import HasteOptimizer
root, cache, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
use_index, queries = sys.argv[4] == "1", json.loads(sys.argv[5])
opt = HasteOptimizer(index_dir=cache, use_index=use_index, target_model="gpt-4o")
rows = []
for q in queries:
    t, c = time.perf_counter(), time.process_time()
    r = opt.optimize(query=q, file_path=root, max_tokens=budget)
    rows.append({"s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                 "tokens": r.metrics.optimized_tokens, "sha": hashlib.sha256(r.content.encode()).hexdigest()[:16]})
print(json.dumps({"rows": rows, "process_s": time.perf_counter() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_FLOOR = r"""
import sys, time
from pathlib import Path
import tree_sitter_python
from tree_sitter import Language, Parser
sys.path.insert(0, sys.argv[2])
from scaledown_core.code.loader import _walk_py
from scaledown_core.tokens import get_counter
counter = get_counter("gpt-4o"); counter.count("warm")
parser = Parser(Language(tree_sitter_python.language()))
files = _walk_py(Path(sys.argv[1]))
t, c = time.perf_counter(), time.process_time()
for f in files:
    data = f.read_bytes()
    parser.parse(data)
    text = data.decode("utf-8", "replace")
    counter.count_lines(text.split("\n"), text)()
print(time.perf_counter() - t, time.process_time() - c)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALEDOWN_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    return env


def _child(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=_env(),
                         timeout=CHILD_TIMEOUT_S, check=True)
    return out.stdout.strip().splitlines()[-1]


def _queries(root: Path, cache: Path, queries: list[str], use_index: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    out = json.loads(_child(_CHILD, str(root), str(cache), str(BUDGET), "1" if use_index else "0",
                            json.dumps(queries)))
    out["wall_s"] = time.perf_counter() - started
    return out


def sympy_tree(work: Path) -> Path:
    """The sympy package of the 1.14.0 wheel, unpacked under ``work``."""
    wheels = CACHE_DIR / "wheels"
    found = sorted(wheels.glob("sympy-1.14.0-*.whl")) if wheels.exists() else []
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", SYMPY, "--no-deps", "--only-binary=:all:",
                        "-d", str(wheels), "-q"], check=True)
        found = sorted(wheels.glob("sympy-1.14.0-*.whl"))
    with zipfile.ZipFile(found[0]) as z:
        z.extractall(work / "sympy-wheel", [n for n in z.namelist() if n.startswith("sympy/")])
    return work / "sympy-wheel" / "sympy"


def stdlib_tree(work: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    dst = work / "stdlib" / src.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc", "*.so"),
                    symlinks=True)
    return dst


def _touch_one(root: Path) -> str:
    """Append a function to the largest file (a real edit: new bytes, new size, new mtime)."""
    target = max(root.rglob("*.py"), key=lambda p: p.stat().st_size)
    with target.open("a", encoding="utf-8") as f:
        f.write("\n\ndef scale_bench_added(value):\n    return value\n")
    return target.relative_to(root).as_posix()


def measure_tree(name: str, root: Path, work: Path, n_queries: int, baseline: bool) -> dict[str, Any]:
    from scaledown_core.index import build_index

    cache = work / f"index-{name}"
    queries = list(QUERIES[:n_queries])
    row: dict[str, Any] = {"tree": name}
    floor_wall, floor_cpu = _child(_FLOOR, str(root), str(REPO_ROOT)).split()
    row["floor_s"], row["floor_cpu_s"] = float(floor_wall), float(floor_cpu)
    cpu = os.times()
    cold = build_index(root, cache_dir=cache, target_model=MODEL)
    after = os.times()  # the workers' CPU: children's times once they are waited for
    row["cold_cpu_s"] = sum(after[:4]) - sum(cpu[:4])
    row.update(files=cold.files, units=cold.units, tokens=cold.tokens, skipped=cold.skipped, workers=cold.workers,
               cold_s=cold.seconds, files_per_s=cold.files_per_second)
    row["nochange_s"] = build_index(root, cache_dir=cache, target_model=MODEL).seconds
    fresh = [_queries(root, cache, [q]) for q in queries]
    row["fresh_query_s"] = statistics.median(r["rows"][0]["s"] for r in fresh)
    row["fresh_query_cpu_s"] = statistics.median(r["rows"][0]["cpu_s"] for r in fresh)
    row["fresh_process_s"] = statistics.median(r["wall_s"] for r in fresh)
    row["fresh_rss_mb"] = max(r["rss_mb"] for r in fresh)
    warm = _queries(root, cache, [queries[0], *queries])
    row["warm_first_s"] = warm["rows"][0]["s"]
    row["warm_query_s"] = statistics.median(r["s"] for r in warm["rows"][1:])
    row["warm_query_cpu_s"] = statistics.median(r["cpu_s"] for r in warm["rows"][1:])
    row["warm_rss_mb"] = warm["rss_mb"]
    direct = _queries(root, cache, queries, use_index=False) if baseline or name == "polys" else None
    if direct is not None:
        row["direct_first_s"] = direct["rows"][0]["s"]
        row["direct_first_cpu_s"] = direct["rows"][0]["cpu_s"]
        row["direct_query_s"] = statistics.median(r["s"] for r in direct["rows"][1:]) if len(queries) > 1 else None
        row["direct_rss_mb"] = direct["rss_mb"]
        row["identical"] = sum(a["sha"] == b["sha"] for a, b in zip(direct["rows"], warm["rows"][1:]))
        row["compared"] = len(queries)
    row["changed_file"] = _touch_one(root)
    changed = _queries(root, cache, [queries[0]])
    row["after_change_query_s"] = changed["rows"][0]["s"]
    row["after_change_query_cpu_s"] = changed["rows"][0]["cpu_s"]
    return row


def run(results_dir: Path, trees: list[str], n_queries: int, baseline: bool) -> Path:
    out = results_dir / "scale" / "scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="scaledown-scale-") as tmp:
        work = Path(tmp)
        sympy_root = sympy_tree(work) if {"sympy", "polys"} & set(trees) else None
        for name in trees:
            if name == "sympy":
                root = sympy_root
            elif name == "polys":
                root = work / "polys" / "polys"
                shutil.copytree(sympy_root / "polys", root)  # type: ignore[operator]
            elif name == "stdlib":
                root = stdlib_tree(work)
            else:
                raise ValueError(f"unknown tree {name!r}: sympy, polys or stdlib")
            row = measure_tree(name, root, work, n_queries, baseline)  # type: ignore[arg-type]
            rows.append(row)
            print(json.dumps(row), flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    payload = {"budget": BUDGET, "model": MODEL, "queries": n_queries, "cpus": os.cpu_count(),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
               "load": " ".join(f"{x:.1f}" for x in load) if load else None, "rows": rows,
               "command": "python -m bench scale " + " ".join(sys.argv[2:])}
    out.write_text(json.dumps(payload, indent=1))
    return out
