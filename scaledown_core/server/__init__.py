"""The ScaleDown protocol server (``scaledown serve``): FastAPI + uvicorn, the ``server`` extra.

``create_app(keys, no_auth=False, ...)`` builds the app; ``serve(host, port, keys_file=None,
no_auth=False, ...)`` runs it. FastAPI is imported only when the app is built.
"""

from .app import DEFAULT_MAX_BODY_BYTES, KEYS_ENV, create_app, load_keys, serve

__all__ = ["create_app", "serve", "load_keys", "KEYS_ENV", "DEFAULT_MAX_BODY_BYTES"]
