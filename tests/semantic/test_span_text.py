"""SourceSpan.text from SemanticOptimizer: each selected unit's shown lines, listed once."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaledown_core.code import ELISION, FILE_HEADER
from scaledown_core.optimizer.semantic import SemanticOptimizer
from scaledown_core.tokens import get_counter

QUERIES = ["invoice tax", "refund", "coupon cart", "email retry", "shipping weight"]


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    rest = iter(haystack)
    return all(line in rest for line in needle)


def _check_texts(result, source_lines: set[str]) -> None:
    """Every span's text is lines of the input (or elisions), shown in the content in that order."""
    counter = get_counter("gpt-4o")
    shown = result.content.splitlines()
    for span in result.spans:
        lines = span.text.splitlines()
        assert lines, span
        assert _is_subsequence(lines, shown), f"{span.name}: text must be shown lines, in order"
        assert not any(line.startswith(FILE_HEADER.format(path="")) for line in lines)
        for line in lines:
            assert line in source_lines or line.strip() == ELISION or not line.strip(), line
        assert (ELISION in span.text) == span.partial, span
        assert span.tokens == counter.count(span.text)


def _check_ranked_once(result) -> None:
    ranked = result.metrics.extra["ranked_units"]
    regions = [(s.path, s.name, s.start_line) for s in ranked]
    assert len(regions) == len(set(regions)), regions
    assert sorted(regions) == sorted((s.path, s.name, s.start_line) for s in result.spans)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    assert all(r.text for r in ranked)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.one_of(st.none(), st.integers(min_value=1, max_value=400)),
       top_k=st.one_of(st.none(), st.integers(min_value=1, max_value=8)), query=st.sampled_from(QUERIES))
def test_span_texts_are_shown_input_lines(fake, billing_source: str, budget: int | None, top_k: int | None,
                                          query: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=top_k).optimize(context=billing_source, query=query,
                                                                    max_tokens=budget)
    _check_texts(result, set(billing_source.splitlines()))
    _check_ranked_once(result)
    if budget is not None:
        assert sum(s.tokens for s in result.spans) <= budget


def test_span_texts_of_a_directory_have_no_file_headers(fake, shop_dir: Path) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=4).optimize(query="invoice tax refund email",
                                                                file_path=shop_dir, max_tokens=300)
    assert FILE_HEADER.format(path="billing.py") in result.content
    source_lines = {line for f in shop_dir.glob("*.py") for line in f.read_text(encoding="utf-8").splitlines()}
    _check_texts(result, source_lines)
    _check_ranked_once(result)


def test_a_method_span_is_the_method_alone(fake, billing_source: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=billing_source, query="tax tax tax")
    (span,) = result.metrics.extra["ranked_units"]
    assert "class Invoice:" in result.content.splitlines()  # shown for context, but not the method's text
    assert span.text.splitlines()[0] == "    def add_tax(self, rate: float = TAX_RATE) -> None:"
    assert "class Invoice:" not in span.text and not span.partial


def test_a_class_and_its_method_are_each_listed_once(fake, billing_source: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=3).optimize(context=billing_source, query="invoice tax")
    names = [s.name for s in result.metrics.extra["ranked_units"]]
    assert "Invoice" in names and "Invoice.add_tax" in names
    assert len(names) == len(set(names))
    header = next(s for s in result.spans if s.name == "Invoice")
    assert header.text.splitlines()[:2] == ["@dataclass", "class Invoice:"]
    assert "def add_tax" not in header.text


def test_a_unit_shown_in_part_reports_its_shown_text(make_fake) -> None:
    filler = "\n".join(f"    step_{i} = total + {i}" for i in range(80))
    source = ("def settle(total):\n    \"\"\"Settle the account.\"\"\"\n" + filler
              + "\n    refund = total * 2\n    return refund\n")
    result = SemanticOptimizer(embedder=make_fake(max_seq_tokens=40), top_k=1).optimize(
        context=source, query="refund", max_tokens=150)
    (span,) = result.spans
    lines = span.text.splitlines()
    assert span.partial and lines[0] == "def settle(total):"
    assert "    refund = total * 2" in lines and "    " + ELISION in lines
    assert span.text == result.content
    assert span.tokens == get_counter("gpt-4o").count(span.text) <= 150
