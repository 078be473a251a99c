"""HasteOptimizer at the edges: spans of kept imports, the semantic model's fallback report, deeply
nested files, text rendered with file headers by an earlier stage, and when a query names code."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaledown_core.code import ELISION, FILE_HEADER
from scaledown_core.optimizer import HasteOptimizer
from scaledown_core.optimizer._evidence import read_query

PACKAGE = Path(__file__).parent / "fixtures" / "inventory"
RATES = {
    "billing/rates.py": 'def compute_rate(order):\n    """Rate for an order: base price plus tax."""\n'
                        '    return order.price * 1.2\n',
    "shipping/rates.py": 'def compute_rate(parcel):\n    """Rate for a parcel: weight times distance."""\n'
                         '    return parcel.weight * parcel.km * 0.01\n',
}


def test_spans_cover_the_import_lines_shown() -> None:
    text = (PACKAGE / "storage.py").read_text()
    result = HasteOptimizer().optimize(context=text, query="dump_order sorts keys", max_tokens=120)
    assert "import json" in result.content.splitlines()
    imports = [s for s in result.spans if "import json" in s.text.splitlines()]
    assert len(imports) == 1 and imports[0].kind == "module"
    line = text.splitlines().index("import json") + 1
    assert imports[0].start_line <= line <= imports[0].end_line
    covered = {ln for s in result.spans for ln in s.text.splitlines()}
    shown = [ln for ln in result.content.splitlines() if ln.strip() and ln.strip() != ELISION]
    assert all(ln in covered for ln in shown)
    assert result.metrics.chunks_retrieved == len(result.spans)
    # shown for the code that uses it, an import is not a retrieved unit (retrievers return ranked_units)
    ranked = result.metrics.extra["ranked_units"]
    assert ranked and all("import json" not in s.text.splitlines() for s in ranked)


@pytest.mark.slow
def test_a_short_model_name_that_loads_gives_no_fallback_warning(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_CACHE_DIR", str(tmp_path / "cache"))
    result = HasteOptimizer(semantic=True, sem_model="all-MiniLM-L6-v2").optimize(
        query="how is the order total computed with a coupon", file_path=PACKAGE / "pricing.py", max_tokens=200)
    assert result.metrics.retrieval_mode == f"bm25+embedding:{result.metrics.model_used}"
    assert "all-MiniLM-L6-v2" in str(result.metrics.model_used)
    assert not any("semantic" in w for w in result.metrics.warnings)


def test_a_folder_with_a_deeply_nested_file_still_loads(tmp_path: Path) -> None:
    levels = 600
    (tmp_path / "gen.py").write_text("".join("    " * i + f"if a{i}:\n" + "    " * (i + 1) + f"def g{i}(): pass\n"
                                             for i in range(levels)))
    (tmp_path / "good.py").write_text("def parse_config(path):\n    return open(path).read()\n")
    result = HasteOptimizer().optimize(query="parse config", file_path=tmp_path, max_tokens=100)
    assert "def parse_config(path):" in result.content
    assert any("gen.py" in w and "nested too deeply" in w for w in result.metrics.warnings)


def test_text_rendered_with_file_headers_keeps_its_files() -> None:
    rendered = "\n\n".join(FILE_HEADER.format(path=path) + "\n" + text.rstrip("\n") for path, text in RATES.items())
    # a budget below the whole text: the selection is packed and rendered again
    result = HasteOptimizer().optimize(query="compute_rate for a parcel by weight", context=rendered, max_tokens=40)
    assert result.content.startswith(FILE_HEADER.format(path="shipping/rates.py"))
    assert [s.path for s in result.spans] == ["shipping/rates.py"]
    assert result.metrics.extra["ranked_files"][0] == "shipping/rates.py"


def test_a_file_that_starts_with_a_file_comment_stays_one_source() -> None:
    text = "# file: notes\ndef parse_config(path):\n    return open(path).read()\n"
    result = HasteOptimizer().optimize(query="parse config", context=text, max_tokens=100)
    assert result.content == text.rstrip("\n")
    assert [(s.path, s.name, s.start_line) for s in result.spans if s.kind == "function"] == \
        [(None, "parse_config", 2)]


def test_only_the_imports_of_the_code_shown_are_kept() -> None:
    source = ("import json\nimport math\n\n\ndef circle_area(radius):\n    return math.pi * radius * radius\n\n\n"
              "def dump_report(report, indent=2, sort=True):\n    text = json.dumps(report, indent=indent, sort_keys=sort)\n"
              "    return text.replace('\\n', ' ').strip() + ' (end of report)'\n")
    result = HasteOptimizer().optimize(context=source, query="what is the area of a circle?", max_tokens=40)
    assert "def circle_area(radius):" in result.content and "def dump_report" not in result.content
    assert "import math" in result.content and "import json" not in result.content
    assert all(not s.text.startswith("import") for s in result.metrics.extra["ranked_units"])


@pytest.mark.parametrize("query, names_code", [
    ("how to test for equality using python", False),  # "equality" implies __eq__; no code is written
    ("python check if file exists", False),
    ("Comparing `a == b` fails", True),                 # a snippet: its operator runs __eq__
    ("the __eq__ of Money ignores the currency", True),  # a dunder in prose is a name
    ('File "shop/app.py", line 12, in checkout', True),
])
def test_a_query_names_code_only_where_it_writes_some(query: str, names_code: bool) -> None:
    # a question in plain words lets the semantic rerank lead (W_SEMANTIC_PROSE); one that names code does not
    assert read_query(query).has_code_evidence is names_code
