"""HTTP access to the station service, with retries."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from .cache import ObservationCache

BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class StationError(RuntimeError):
    """The station service failed after every retry."""

    def __init__(self, station: str, status: int) -> None:
        super().__init__(f"station {station} answered HTTP {status} after every retry")
        self.station = station
        self.status = status


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str]


def backoff_delay(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential, jittered, capped.

    A ``Retry-After`` header from the server wins when it is a number of seconds.
    """
    if retry_after is not None and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_DELAY_S)
    delay = BASE_DELAY_S * (2 ** attempt)
    jitter = random.uniform(0.5, 1.5)
    return min(delay * jitter, MAX_DELAY_S)


class StationClient:
    """Fetch raw observation text for a station, retrying transient failures."""

    def __init__(self, transport, max_retries: int = 3, cache: ObservationCache | None = None) -> None:
        self.transport = transport
        self.max_retries = max_retries
        self.cache = cache or ObservationCache()

    def fetch(self, station: str) -> str:
        """The latest observation text of ``station`` (from the cache when it is fresh)."""
        cached = self.cache.get(station)
        if cached is not None:
            return cached
        body = self._get_with_retries(f"/stations/{station}/latest", station)
        self.cache.put(station, body)
        return body

    def _get_with_retries(self, path: str, station: str) -> str:
        for attempt in range(self.max_retries + 1):
            response: Response = self.transport.get(path)
            if response.status == 200:
                return response.body
            if response.status not in RETRY_STATUSES or attempt == self.max_retries:
                raise StationError(station, response.status)
            time.sleep(backoff_delay(attempt, response.headers.get("Retry-After")))
        raise AssertionError("unreachable")

    def fetch_many(self, stations: list[str]) -> dict[str, str]:
        """Observation text of each station; a failing station is left out and logged."""
        out: dict[str, str] = {}
        for station in stations:
            try:
                out[station] = self.fetch(station)
            except StationError as exc:
                print(f"skipping {station}: {exc}")
        return out
