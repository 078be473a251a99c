"""The built wheel: what it holds, what it declares, and that it imports as installed (not from the checkout)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXTRAS = {"haste", "code", "semantic", "langchain", "llamaindex", "server", "mcp", "ray", "all"}
UNRELATED_REGISTRY_RELEASE = (0, 1, 4)  # the newest release of another project named "scaledown" on PyPI


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(repo_root)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("scaledown-*.whl")
    return built


def test_the_wheel_holds_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("scaledown/__init__.py", "scaledown_core/__init__.py", "scaledown_core/code/queries/python.scm",
                   "scaledown_core/py.typed", "langchain_scaledown/__init__.py",
                   "llama_index/postprocessor/scaledown/__init__.py"):
        assert needed in names, needed
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


def test_the_metadata_declares_the_extras_and_a_version_above_the_unrelated_release(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(meta_name).decode())
    assert EXTRAS <= set(meta.get_all("Provides-Extra"))
    version = tuple(int(part) for part in meta["Version"].split("."))
    assert version > UNRELATED_REGISTRY_RELEASE
    requires = meta.get_all("Requires-Dist")
    assert any(r.startswith("langchain-classic") and "extra == \"langchain\"" in r for r in requires)


def test_the_installed_wheel_imports_without_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies come from this environment; the project itself only from the wheel
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("import scaledown, scaledown_core; from scaledown.optimizer import HasteOptimizer; "
            "r = HasteOptimizer().optimize(context='def f():\\n    return 1\\n', query='f'); "
            "print(scaledown.__file__); print(r.content.splitlines()[0])")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    where, first = out.stdout.splitlines()
    assert where.startswith(site) and first == "def f():"
