"""Shedding slow clients: a time limit on receiving a request's headers (an HTTP protocol in front of
uvicorn's) and on receiving its body (an ASGI middleware), and one log line for a client that leaves.

uvicorn waits for headers and bodies without a limit; a client that trickles them, or opens
connections and sends nothing, would hold a connection and a file descriptor for as long as it likes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

# uvicorn configures this logger at the server's --log-level: these lines go where its own do
logger = logging.getLogger("uvicorn.error")

__all__ = ["header_deadline_protocol", "read_body"]


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers take longer than ``seconds``
    (counted from the connection, or from the end of the previous response on a kept-alive one)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # the headers are in: the body has its own limit
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self._timer = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_slow(self) -> None:
            self._timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            logger.info("%s: closed a connection that sent no complete request headers within %g s",
                        _peer(self.client), seconds)
            self.transport.close()

    return HeaderDeadline


async def read_body(request: Any, max_bytes: int, seconds: float) -> tuple[bytes | None, int | None, str]:
    """The request's body, or ``(None, status, reason)``: 413 past ``max_bytes``, 408 past ``seconds``,
    499 when the client left first (logged in one line, no traceback)."""
    import anyio
    from starlette.requests import ClientDisconnect

    body = b""
    try:
        with anyio.fail_after(seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    return None, 413, f"request body too large: {len(body)} bytes; this server accepts at " \
                                      f"most {max_bytes} bytes"
    except TimeoutError:
        logger.info("%s: request body not received within %g s (%d bytes came); answered 408",
                    _peer(request.client), seconds, len(body))
        return None, 408, f"request body not received within the server's {seconds:g} s read timeout"
    except ClientDisconnect:
        logger.info("%s: client disconnected after %d bytes of the request body", _peer(request.client), len(body))
        return None, 499, "client disconnected"
    return body, None, ""


def _peer(client: Any) -> str:
    if not client:
        return "client"
    host, port = client[0], client[1]
    return f"{host}:{port}"
