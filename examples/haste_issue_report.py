"""Give HasteOptimizer a whole issue report (prose, traceback, error message) and a source tree.

Traceback frames, backticked names, snippet lines and quoted error messages are read as strong
evidence; the result ranks the files and units it kept. Runs offline.

    python examples/haste_issue_report.py
"""

from pathlib import Path

from scaledown_core.optimizer import HasteOptimizer

PACKAGE = Path(__file__).resolve().parent.parent / "scaledown_core" / "code"

ISSUE = '''\
load_sources crashes on a folder with a binary .py file

Traceback (most recent call last):
  File "app.py", line 8, in <module>
    files = load_sources("src/")
  File "scaledown_core/code/loader.py", line 52, in _read
    raise OptimizerError(f"{shown} is a binary file, not Python source")
scaledown_core.exceptions.OptimizerError: blob.py is a binary file, not Python source

I expected the binary file to be skipped with a warning when a directory is given.
'''

result = HasteOptimizer().optimize(query=ISSUE, file_path=PACKAGE, max_tokens=900)
print(result.content)
print("\nfiles, best first:", result.metrics.extra["ranked_files"][:3])
print("units, best first:", [s.name for s in result.metrics.extra["ranked_units"][:5]])
print("warnings:", result.metrics.warnings)
