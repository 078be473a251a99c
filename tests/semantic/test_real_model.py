"""SemanticOptimizer with the real packaged all-MiniLM-L6-v2 (loaded once per session)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from scaledown_core.exceptions import OptimizerError
from scaledown_core.optimizer.semantic import SemanticOptimizer, clear_index_cache
from scaledown_core.retrieval.embeddings import PACKAGED_MODEL_NAME
from scaledown_core.tokens import get_counter

pytestmark = pytest.mark.slow


def test_finds_the_code_a_question_is_about(real_optimizer_factory, shop_dir: Path, minilm_path: str) -> None:
    opt = real_optimizer_factory(top_k=1)
    result = opt.optimize(query="send the message again when delivery fails", file_path=shop_dir)
    assert [s.name for s in result.spans] == ["retry_email"]
    assert result.metrics.extra["ranked_files"][0] == "notify.py"
    assert result.metrics.model_used == minilm_path and result.metrics.warnings == []


def test_budget_holds_with_the_real_model(real_optimizer_factory, shop_dir: Path) -> None:
    opt = real_optimizer_factory(top_k=4)
    for budget in (30, 90, 200):
        result = opt.optimize(query="how is tax added to an invoice", file_path=shop_dir, max_tokens=budget)
        assert get_counter("gpt-4o").count(result.content) <= budget
    assert "def add_tax" in opt.optimize(query="how is tax added to an invoice", file_path=shop_dir).content


def test_unavailable_model_falls_back_and_says_so(real_optimizer_factory, billing_source: str) -> None:
    name = f"acme/not-here-{uuid.uuid4().hex[:6]}"
    result = real_optimizer_factory(model_name=name).optimize(context=billing_source, query="refund")
    assert result.metrics.model_used == PACKAGED_MODEL_NAME
    assert result.metrics.retrieval_mode == f"embedding:{PACKAGED_MODEL_NAME}"
    assert any(name in w and "fallback" in w for w in result.metrics.warnings)
    with pytest.raises(OptimizerError, match=name):
        real_optimizer_factory(model_name=name, fallback=False).optimize(context=billing_source, query="refund")


def test_default_model_offline_is_recorded(real_optimizer_factory, billing_source: str) -> None:
    assert SemanticOptimizer().model_name == "Qwen/Qwen3-Embedding-0.6B"
    # not in the offline test environment's Hugging Face cache: the packaged model stands in
    opt = real_optimizer_factory(model_name="Qwen/Qwen3-Embedding-0.6B")
    result = opt.optimize(context=billing_source, query="shipping price for a heavy parcel", max_tokens=120)
    assert result.metrics.model_used == PACKAGED_MODEL_NAME
    assert any("Qwen/Qwen3-Embedding-0.6B" in w for w in result.metrics.warnings)
    assert result.metrics.extra["ranked_units"][0].name == "shipping_cost"
    packaged = real_optimizer_factory(model_name=None).optimize(context=billing_source, query="refund")
    assert packaged.metrics.model_used == PACKAGED_MODEL_NAME and packaged.metrics.warnings == []


def test_second_process_reuses_the_disk_cache(real_optimizer_factory, billing_source: str) -> None:
    real_optimizer_factory().optimize(context=billing_source, query="refund")
    clear_index_cache()
    again = real_optimizer_factory().optimize(context=billing_source, query="discount")
    assert again.metrics.extra["cache_hit_rate"] == 1.0 and again.metrics.extra["cache_misses"] == 0


def test_aoptimize_with_the_real_model(real_optimizer_factory, billing_source: str) -> None:
    opt = real_optimizer_factory(top_k=2)

    async def both() -> list:
        return await asyncio.gather(opt.aoptimize(context=billing_source, query="refund a payment"),
                                    opt.aoptimize(context=billing_source, query="discount an invoice"))

    refund, discount = asyncio.run(both())
    assert refund.metrics.extra["ranked_units"][0].name == "refund_payment"
    assert discount.metrics.extra["ranked_units"][0].name == "Invoice.apply_discount"
