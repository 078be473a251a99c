"""The specification's ScaleDownCompressor examples, in the project's words, through ``import scaledown``,
against a real ``scaledown serve`` on 127.0.0.1 (the key and URL set the ways the specification shows).
"""

from __future__ import annotations

import pytest

CONTEXT = (
    "The quarterly review covered three topics. Revenue grew eight percent, driven by the new "
    "subscription plan. Support tickets fell after the March release fixed the login bug. "
    "The team agreed that Dana will draft the pricing memo by Friday and that Omar will schedule "
    "the customer interviews next week. The office plants were watered. Lunch was pizza."
)

BILLING = ("Invoices are sent on the first of each month. Invoices are due within 30 days of the invoice "
           "date. Late payments incur a fee of two percent. Refunds go back to the original card. "
           "Our billing team answers questions by email.")
LIMITS = ("Our API serves JSON over HTTPS. The API rate limit is 100 requests a minute per key. Bursts "
          "above the limit get HTTP 429 with a Retry-After header. Keys are created in the dashboard. "
          "Each key can be revoked at any time.")


@pytest.fixture()
def service(scaledown_serve: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The specification's configuration: the URL from the environment, the key set in code."""
    import scaledown as sd

    url, key = scaledown_serve
    monkeypatch.setenv("SCALEDOWN_API_URL", url)
    sd.set_api_key(key)
    return key


def test_quick_start_compresses_through_the_service(service: str, capsys: pytest.CaptureFixture[str]) -> None:
    from scaledown import ScaleDownCompressor

    compressor = ScaleDownCompressor(target_model="gpt-4o", rate="auto")
    result = compressor.compress(context=CONTEXT, prompt="Who will draft the pricing memo?")
    print(result)

    assert "Dana will draft the pricing memo" in capsys.readouterr().out
    assert result.metrics.compressed_prompt_tokens < result.metrics.original_prompt_tokens


def test_key_from_the_environment(scaledown_serve: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from scaledown import ScaleDownCompressor

    url, key = scaledown_serve
    monkeypatch.setenv("SCALEDOWN_API_URL", url)
    monkeypatch.setenv("SCALEDOWN_API_KEY", key)
    assert ScaleDownCompressor().compress(context=CONTEXT, prompt="Who drafts the memo?").content


def test_batch_pairs_and_broadcast_keep_input_order(service: str) -> None:
    from scaledown import ScaleDownCompressor

    compressor = ScaleDownCompressor(target_model="gpt-4o")
    contexts = [CONTEXT, BILLING, LIMITS]
    paired = compressor.compress(context=contexts, prompt=["Action items?", "When are invoices due?", "What is the rate limit?"])
    broadcast = compressor.compress(context=contexts, prompt="Summarize key points")

    assert [len(paired), len(broadcast)] == [3, 3]
    assert "30 days" in paired[1].content and "100 requests" in paired[2].content
    assert paired[0].content.startswith("The quarterly review") and broadcast[2].content.startswith("Our API")


def test_preserve_keywords_and_per_call_options(service: str) -> None:
    from scaledown import ScaleDownCompressor

    compressor = ScaleDownCompressor(target_model="gpt-4o", rate="auto", preserve_keywords=True)
    default = compressor.compress(context=CONTEXT, prompt="What were the action items?")
    # a call's own service options (the specification's **kwargs) replace the constructor's for that call
    small = compressor.compress(context=CONTEXT, prompt="What were the action items?", rate=0.2,
                                preserve_words=["pizza"])

    assert default.content and "pizza" in small.content
    assert small.metrics.rate == 0.2
    with pytest.raises(TypeError, match="top_k"):
        compressor.compress(context=CONTEXT, prompt="x", top_k=3)


def test_conversation_summaries(service: str) -> None:
    from scaledown import ScaleDownCompressor

    summaries = ScaleDownCompressor(rate="auto").compress(context=[CONTEXT, CONTEXT.upper()], prompt="Summarize in 2 sentences")
    assert len(summaries) == 2 and all(s.content for s in summaries)


def test_a_wrong_key_is_an_authentication_error(scaledown_serve: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import scaledown as sd
    from scaledown.exceptions import AuthenticationError

    monkeypatch.setenv("SCALEDOWN_API_URL", scaledown_serve[0])
    sd.set_api_key("sk-not-a-key-of-this-server")
    with pytest.raises(AuthenticationError):
        sd.ScaleDownCompressor().compress(context=CONTEXT, prompt="Action items?")
