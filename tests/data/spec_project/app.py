"""A small web handler module: the shape of the code the specification's pipeline examples read."""

import json
import logging

logger = logging.getLogger(__name__)


class NotFound(Exception):
    """The requested record does not exist."""


def parse_request(raw):
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        logger.warning("bad request body: %s", exc)
        raise ValueError("request body is not JSON") from exc


def find_user(users, user_id):
    for user in users:
        if user["id"] == user_id:
            return user
    raise NotFound(f"no user {user_id}")


def handle(raw, users):
    """Answer one request; errors become an HTTP status and a message."""
    try:
        request = parse_request(raw)
        user = find_user(users, request["user_id"])
    except ValueError as exc:
        return 400, str(exc)
    except NotFound as exc:
        return 404, str(exc)
    except Exception:
        logger.exception("unexpected error")
        return 500, "internal error"
    return 200, user["name"]


def render_page(title, body):
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"
