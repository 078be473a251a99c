"""Summaries over observations: daily extremes, means and wind chill."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import mean

from .parse import Observation


@dataclass(frozen=True)
class DailySummary:
    station: str
    day: date
    min_temperature_c: float | None
    max_temperature_c: float | None
    mean_humidity_pct: float | None
    readings: int


def wind_chill(temperature_c: float, wind_kmh: float) -> float:
    """The felt temperature (Environment Canada formula); defined below 10 C and above 4.8 km/h."""
    if temperature_c > 10.0 or wind_kmh <= 4.8:
        return temperature_c
    v = wind_kmh ** 0.16
    return round(13.12 + 0.6215 * temperature_c - 11.37 * v + 0.3965 * temperature_c * v, 1)


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def daily_summaries(observations: list[Observation]) -> list[DailySummary]:
    """One summary per station and calendar day, in station then day order."""
    groups: dict[tuple[str, date], list[Observation]] = defaultdict(list)
    for obs in observations:
        groups[(obs.station, obs.taken_at.date())].append(obs)
    out = []
    for (station, day), group in sorted(groups.items()):
        temps = _present([o.temperature_c for o in group])
        humid = _present([o.humidity_pct for o in group])
        out.append(DailySummary(
            station=station,
            day=day,
            min_temperature_c=min(temps) if temps else None,
            max_temperature_c=max(temps) if temps else None,
            mean_humidity_pct=round(mean(humid), 1) if humid else None,
            readings=len(group),
        ))
    return out


def hottest_station(summaries: list[DailySummary]) -> str | None:
    """The station with the highest daily maximum among ``summaries``."""
    ranked = [s for s in summaries if s.max_temperature_c is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda s: s.max_temperature_c).station
