"""README.md is assembled from docs/readme/ and examples/; it must not fall behind them."""

from __future__ import annotations

import runpy
from pathlib import Path


def test_readme_is_current(repo_root: Path) -> None:
    build = runpy.run_path(str(repo_root / "scripts" / "build_readme.py"))
    assert (repo_root / "README.md").read_text(encoding="utf-8") == build["render"](), (
        "README.md is stale: run .venv/bin/python scripts/build_readme.py"
    )


def test_readme_opens_with_the_two_commands(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    head = readme[: readme.index("## Install")]
    assert "./scripts/demo.sh" in head and "./scripts/test.sh" in head
    assert "./scripts/test.sh" in (repo_root / ".ci" / "run").read_text(encoding="utf-8")


def test_every_example_is_in_the_readme_verbatim(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    examples = sorted((repo_root / "examples").glob("*.py"))
    assert examples
    for path in examples:
        assert path.read_text(encoding="utf-8").rstrip() in readme, path.name


def test_every_example_is_run_by_a_test(repo_root: Path) -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (repo_root / "tests").rglob("test_*.py"))
    for path in sorted((repo_root / "examples").glob("*.py")):
        assert path.name in tests or path.stem in tests, f"no test runs examples/{path.name}"


def test_the_readme_never_sends_a_user_to_the_registrys_unrelated_scaledown(repo_root: Path) -> None:
    """On PyPI, "scaledown" is another, older project: every install line names the checkout or a wheel."""
    import re

    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for line in readme.splitlines():
        if "pip install" in line and "unrelated" not in line:
            assert not re.search(r"pip install [-\w. ]*['\"]?scaledown\b(?![_-])", line), line
