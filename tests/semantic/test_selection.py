"""SemanticOptimizer with a deterministic encoder: ranking, splitting, budgets, caching, inputs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaledown_core.code import ELISION, FILE_HEADER
from scaledown_core.exceptions import OptimizerError
from scaledown_core.optimizer.semantic import SemanticOptimizer, clear_index_cache
from scaledown_core.tokens import get_counter


def _names(spans) -> list[str]:
    return [s.name for s in spans]


def test_nearest_units_are_kept_in_source_order(fake, billing_source: str) -> None:
    opt = SemanticOptimizer(embedder=fake, top_k=2)
    result = opt.optimize(context=billing_source, query="refund a payment")
    m = result.metrics
    ranked = m.extra["ranked_units"]
    assert ranked[0].name == "refund_payment"
    assert len(ranked) == 2 and ranked[0].score >= ranked[1].score
    assert [s.start_line for s in m.spans] == sorted(s.start_line for s in m.spans)
    assert "def refund_payment" in result.content and "def shipping_cost" not in result.content
    assert m.model_used == "fake-code-words" and m.retrieval_mode == "embedding:fake-code-words"
    assert m.chunks_retrieved == 2 and m.optimized_tokens == get_counter("gpt-4o").count(result.content)
    assert m.original_tokens == get_counter("gpt-4o").count(billing_source)
    assert m.warnings == []


def test_a_method_is_shown_inside_its_class(fake, billing_source: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=billing_source, query="tax tax tax")
    assert _names(result.spans) == ["Invoice.add_tax"]
    lines = result.content.splitlines()
    assert "class Invoice:" in lines
    assert lines.index("class Invoice:") < lines.index("    def add_tax(self, rate: float = TAX_RATE) -> None:")


def test_a_definition_is_shown_under_the_if_and_else_lines_it_sits_under(fake) -> None:
    source = ("import sys\nif sys.version_info >= (3, 11):\n    def helper(x):\n        return x\n"
              "else:\n    def helper(x):\n        return x + 1\n\n"
              "try:\n    from fast import speedy\nexcept ImportError:\n    class speedy:\n"
              "        def go(self):\n            return 'refund'\n")
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=source, query="refund")
    assert _names(result.spans) == ["speedy.go"]
    lines = result.content.splitlines()
    order = [lines.index(x) for x in ("try:", "except ImportError:", "    class speedy:", "        def go(self):")]
    assert order == sorted(order)


def test_long_units_are_split_not_truncated(make_fake) -> None:
    filler = "\n".join(f"    step_{i} = amount + {i}" for i in range(60))
    source = (
        "def settle(amount):\n    \"\"\"Settle the account.\"\"\"\n" + filler
        + "\n    coupon = coupon_lookup(amount)\n    return coupon\n\n\n"
        "def unrelated():\n    return 1\n"
    )
    fake = make_fake(max_seq_tokens=40)
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=source, query="coupon")
    assert _names(result.spans) == ["settle"]
    assert result.spans[0].score > 0.5  # the window holding "coupon" matched, not just the first 40 tokens
    docs = fake.documents_encoded()
    assert len(docs) > 3 and all(fake.count_tokens([d])[0] <= 40 for d in docs)
    assert all(d.startswith("def settle(amount):") for d in docs if "step_" in d)  # head repeated
    assert result.metrics.extra["windows"] == len(docs)


def test_a_query_longer_than_the_model_is_read_from_its_start(make_fake, billing_source: str) -> None:
    fake = make_fake(max_seq_tokens=9)  # 7 words after the special tokens
    # the gist first, then a long log that mentions something else: the gist decides
    query = "refund payment refund payment refund\n" + "\n".join(["shipping weight shipping"] * 30)
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=billing_source, query=query)
    assert _names(result.spans) == ["refund_payment"]
    assert result.metrics.extra["query_truncated"] is True
    short = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=billing_source, query="refund a payment")
    assert short.metrics.extra["query_truncated"] is False


def test_a_budget_too_small_for_a_unit_shows_its_best_part(make_fake) -> None:
    filler = "\n".join(f"    step_{i} = total + {i}" for i in range(80))
    source = ("def settle(total):\n    \"\"\"Settle the account.\"\"\"\n" + filler
              + "\n    refund = total * 2\n    return refund\n")
    fake = make_fake(max_seq_tokens=40)
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=source, query="refund", max_tokens=150)
    (span,) = result.spans
    assert span.partial and span.name == "settle"
    assert "def settle(total):" in result.content and "refund = total * 2" in result.content
    assert ELISION.strip() in result.content
    assert get_counter("gpt-4o").count(result.content) <= 150


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(min_value=1, max_value=400), top_k=st.integers(min_value=1, max_value=8),
       query=st.sampled_from(["invoice tax", "refund", "coupon cart", "email retry", "shipping weight"]))
def test_output_never_exceeds_the_budget_and_only_shows_input_lines(fake, billing_source: str, budget: int,
                                                                      top_k: int, query: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=top_k).optimize(context=billing_source, query=query,
                                                                    max_tokens=budget)
    assert get_counter("gpt-4o").count(result.content) <= budget
    assert result.metrics.optimized_tokens <= budget
    source_lines = set(billing_source.splitlines())
    for line in result.content.splitlines():
        assert line in source_lines or line.strip() == ELISION.strip() or not line.strip()
    starts = [s.start_line for s in result.spans]
    assert starts == sorted(starts) and len(result.spans) <= top_k


def test_top_k_none_fills_the_budget_best_first(fake, billing_source: str) -> None:
    full = SemanticOptimizer(embedder=fake, top_k=None).optimize(context=billing_source, query="invoice tax")
    assert len(full.spans) == full.metrics.extra["units_indexed"]  # no budget: every unit
    three = SemanticOptimizer(embedder=fake, top_k=3).optimize(context=billing_source, query="invoice tax",
                                                                max_tokens=250)
    filled = SemanticOptimizer(embedder=fake, top_k=None).optimize(context=billing_source, query="invoice tax",
                                                                   max_tokens=250)
    assert filled.metrics.optimized_tokens <= 250
    assert len(filled.spans) > len(three.spans)
    ranked = [s.name for s in filled.metrics.extra["ranked_units"]]
    assert ranked[:len(three.spans)] == [s.name for s in three.metrics.extra["ranked_units"]]


def test_a_tight_budget_says_what_was_left_out(fake, billing_source: str) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=5).optimize(context=billing_source, query="invoice",
                                                              max_tokens=40)
    assert any("max_tokens=40 holds" in w for w in result.metrics.warnings)


def test_second_query_embeds_only_the_query(fake, billing_source: str) -> None:
    opt = SemanticOptimizer(embedder=fake, top_k=2)
    first = opt.optimize(context=billing_source, query="invoice")
    n_docs = len(fake.documents_encoded())
    assert first.metrics.extra["cache_misses"] == n_docs > 0 and first.metrics.extra["cache_hit_rate"] == 0.0
    fake.encoded.clear()
    second = opt.optimize(context=billing_source, query="shipping")
    assert fake.encoded == [("query", "shipping")]
    assert second.metrics.extra["cache_hit_rate"] == 1.0


def test_disk_cache_serves_a_new_process(make_fake, billing_source: str, tmp_path: Path) -> None:
    SemanticOptimizer(embedder=make_fake(cache_dir=tmp_path / "c")).optimize(context=billing_source, query="tax")
    clear_index_cache()  # as if in a new process: only the disk cache remains
    fresh = make_fake(cache_dir=tmp_path / "c")
    result = SemanticOptimizer(embedder=fresh).optimize(context=billing_source, query="refund")
    assert fresh.documents_encoded() == []
    assert result.metrics.extra["cache_hits"] > 0 and result.metrics.extra["cache_hit_rate"] == 1.0


def test_directory_input_ranks_files_and_labels_sections(fake, shop_dir: Path) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=2).optimize(query="retry the email", file_path=shop_dir)
    m = result.metrics
    assert m.extra["ranked_files"][0] == "notify.py"
    assert set(m.extra["ranked_files"]) == {"billing.py", "cart.py", "notify.py"}
    assert FILE_HEADER.format(path="notify.py") in result.content
    assert {s.path for s in m.spans} <= {"billing.py", "cart.py", "notify.py"}
    assert m.spans[0].path is not None


def test_chained_context_is_what_gets_searched(fake, shop_dir: Path) -> None:
    previous = (shop_dir / "cart.py").read_text()
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=previous, query="invoice refund")
    assert "refund_payment" not in result.content  # only in billing.py, which was not given
    assert result.spans[0].name == "Cart.checkout"


def test_list_of_files(fake, shop_dir: Path) -> None:
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(
        query="coupon discount", file_path=[shop_dir / "cart.py", shop_dir / "notify.py"])
    assert _names(result.spans) == ["Cart.apply_coupon"]
    assert result.metrics.extra["ranked_files"][0].endswith("cart.py")


def test_bad_input(fake, tmp_path: Path) -> None:
    opt = SemanticOptimizer(embedder=fake)
    missing = tmp_path / "nowhere.py"
    with pytest.raises(OptimizerError, match="nowhere.py"):
        opt.optimize(query="x", file_path=missing)
    binary = tmp_path / "blob.py"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(OptimizerError, match="blob.py"):
        opt.optimize(query="x", file_path=binary)
    with pytest.raises(ValueError, match="query"):
        opt.optimize(context="def f(): pass", query="  ")
    with pytest.raises(ValueError, match="names the one file"):
        opt.optimize(context="def f(): pass", query="f", file_path=tmp_path)
    with pytest.raises(ValueError, match="positive"):
        opt.optimize(context="def f(): pass", query="f", max_tokens=0)
    with pytest.raises(TypeError, match="integer"):
        opt.optimize(context="def f(): pass", query="f", max_tokens="100")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        opt.optimize(context=b"def f(): pass", query="f")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_k"):
        SemanticOptimizer(top_k=0)
    with pytest.raises(ValueError, match="model_name"):
        SemanticOptimizer(model_name="  ")


def test_non_utf8_is_reported_and_unknown_arguments_refused(fake, tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"def caf\xe9_invoice():\n    return 'invoice'\n")
    result = SemanticOptimizer(embedder=fake).optimize(query="invoice", file_path=path)
    assert "not valid UTF-8" in " ".join(result.metrics.warnings)
    assert result.spans
    with pytest.raises(TypeError, match="'verbose'.*constructor"):
        SemanticOptimizer(embedder=fake).optimize(query="invoice", file_path=path, verbose=True)


def test_empty_and_import_only_sources(fake, tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("")
    result = SemanticOptimizer(embedder=fake).optimize(query="anything", file_path=empty)
    assert result.content == "" and result.spans == [] and result.metrics.optimized_tokens == 0
    result = SemanticOptimizer(embedder=fake).optimize(context="import os\nimport sys\n", query="os")
    assert result.content == "" and any("no code units" in w for w in result.metrics.warnings)


def test_syntax_errors_do_not_stop_selection(fake) -> None:
    source = "def refund(x):\n    return x\n\ndef broken(:\n    pass\n\ndef invoice_tax():\n    return 2\n"
    result = SemanticOptimizer(embedder=fake, top_k=1).optimize(context=source, query="invoice tax")
    assert "def invoice_tax" in result.content
    assert any("syntax errors" in w for w in result.metrics.warnings)


def test_aoptimize_matches_optimize(fake, billing_source: str) -> None:
    opt = SemanticOptimizer(embedder=fake, top_k=2)
    sync = opt.optimize(context=billing_source, query="discount", max_tokens=300)
    result = asyncio.run(opt.aoptimize(context=billing_source, query="discount", max_tokens=300))
    assert result.content == sync.content and _names(result.spans) == _names(sync.spans)


def test_no_progress_output_when_not_a_terminal(make_fake, capsys: pytest.CaptureFixture[str]) -> None:
    source = "\n\n".join(f"def invoice_{i}(x):\n    return x + {i}\n" for i in range(400))
    SemanticOptimizer(embedder=make_fake()).optimize(context=source, query="invoice")
    assert capsys.readouterr().err == ""


def test_context_path_names_the_spans(fake, billing_source: str) -> None:
    unnamed = SemanticOptimizer(embedder=fake, top_k=2).optimize(context=billing_source, query="refund a payment")
    named = SemanticOptimizer(embedder=fake, top_k=2).optimize(context=billing_source, query="refund a payment",
                                                               context_path="shop/billing.py")
    assert {s.path for s in unnamed.metrics.spans} == {None}
    assert {s.path for s in named.metrics.spans} == {"shop/billing.py"}
    assert named.content == unnamed.content
