"""API key and URL resolution: explicit argument > ``set_api_key`` > environment, read at call time."""

from __future__ import annotations

import os

__all__ = ["set_api_key", "get_api_key", "resolve_api_key", "resolve_api_url", "DEFAULT_API_URL"]

DEFAULT_API_URL = "https://api.scaledown.xyz"
API_KEY_ENV = "SCALEDOWN_API_KEY"
API_URL_ENV = "SCALEDOWN_API_URL"

_api_key: str | None = None


def set_api_key(api_key: str | None) -> None:
    """Set the process-wide API key (``None`` clears it, falling back to ``SCALEDOWN_API_KEY``)."""
    global _api_key
    if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
        raise ValueError("api_key must be a non-empty string, or None to clear it")
    _api_key = api_key.strip() if api_key else None


def get_api_key() -> str | None:
    """The key in effect now: the one set with ``set_api_key``, else ``SCALEDOWN_API_KEY``, else None."""
    return resolve_api_key(None)


def resolve_api_key(explicit: str | None) -> str | None:
    """The key to use for a call: ``explicit`` if given, else ``set_api_key``'s, else the environment."""
    if explicit:
        return explicit
    if _api_key:
        return _api_key
    return os.environ.get(API_KEY_ENV, "").strip() or None


_ENDPOINT_PATH = "/compress/raw"


def resolve_api_url(explicit: str | None) -> str:
    """The base URL to use for a call, without a trailing slash (nor the endpoint, if it was given)."""
    url = (explicit.strip() if explicit else "") or os.environ.get(API_URL_ENV, "").strip() or DEFAULT_API_URL
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"api_url must start with http:// or https://; got {url!r}")
    url = url.rstrip("/")
    # the endpoint's full URL, as the service's docs show it, names the same service
    return url[: -len(_ENDPOINT_PATH)] if url.endswith(_ENDPOINT_PATH) else url
