from __future__ import annotations

import pytest

import scaledown_core as sd
from scaledown_core.config import DEFAULT_API_URL, resolve_api_key, resolve_api_url


def test_no_key_anywhere_by_default() -> None:
    assert sd.get_api_key() is None
    assert resolve_api_key(None) is None


def test_environment_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sd.get_api_key() is None
    monkeypatch.setenv("SCALEDOWN_API_KEY", "env-key")
    assert sd.get_api_key() == "env-key"
    monkeypatch.setenv("SCALEDOWN_API_KEY", "env-key-2")
    assert sd.get_api_key() == "env-key-2"


def test_resolution_order_argument_then_set_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEDOWN_API_KEY", "env-key")
    sd.set_api_key("set-key")
    assert sd.get_api_key() == "set-key"
    assert resolve_api_key("arg-key") == "arg-key"
    sd.set_api_key(None)
    assert sd.get_api_key() == "env-key"


@pytest.mark.parametrize("bad", ["", "   "])
def test_set_api_key_rejects_blank(bad: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        sd.set_api_key(bad)


def test_api_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_api_url(None) == DEFAULT_API_URL
    monkeypatch.setenv("SCALEDOWN_API_URL", "http://127.0.0.1:9000/")
    assert resolve_api_url(None) == "http://127.0.0.1:9000"
    assert resolve_api_url("https://example.test/base/") == "https://example.test/base"
    # the endpoint's full URL (as the service's docs show it), case and surrounding spaces are accepted
    assert resolve_api_url("https://example.test/base/compress/raw/") == "https://example.test/base"
    assert resolve_api_url(" HTTPS://example.test ") == "HTTPS://example.test"
    with pytest.raises(ValueError, match="http"):
        resolve_api_url("ftp://x")
