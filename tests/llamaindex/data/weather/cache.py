"""An in-memory cache of observation text with a time to live."""

from __future__ import annotations

import time

DEFAULT_TTL_S = 600.0


class ObservationCache:
    """Observation text per station, forgotten ``ttl_s`` seconds after it was stored."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock=time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[float, str]] = {}

    def get(self, station: str) -> str | None:
        """The cached text of ``station`` if it is still fresh, else None."""
        entry = self._entries.get(station)
        if entry is None:
            return None
        stored_at, text = entry
        if self.clock() - stored_at > self.ttl_s:
            del self._entries[station]
            return None
        return text

    def put(self, station: str, text: str) -> None:
        self._entries[station] = (self.clock(), text)

    def clear(self) -> None:
        self._entries.clear()
