"""Parse the station service's observation text into records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FIELD_SEPARATOR = ";"
MISSING = {"", "-", "NA", "null"}


class ParseError(ValueError):
    """An observation line that cannot be read."""


@dataclass(frozen=True)
class Observation:
    station: str
    taken_at: datetime
    temperature_c: float | None
    humidity_pct: float | None
    wind_kmh: float | None
    pressure_hpa: float | None


def _number(text: str) -> float | None:
    """A float, or None for the service's markers of a missing value."""
    text = text.strip()
    if text in MISSING:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ParseError(f"not a number: {text!r}") from exc


def fahrenheit_to_celsius(value: float) -> float:
    """Convert a Fahrenheit reading, rounded to a tenth of a degree."""
    return round((value - 32.0) * 5.0 / 9.0, 1)


def parse_line(line: str) -> Observation:
    """One ``station;timestamp;temp;unit;humidity;wind;pressure`` line as an Observation."""
    parts = line.strip().split(FIELD_SEPARATOR)
    if len(parts) != 7:
        raise ParseError(f"expected 7 fields, got {len(parts)}: {line!r}")
    station, stamp, temp, unit, humidity, wind, pressure = parts
    temperature = _number(temp)
    if temperature is not None and unit.strip().upper() == "F":
        temperature = fahrenheit_to_celsius(temperature)
    return Observation(
        station=station.strip(),
        taken_at=datetime.fromisoformat(stamp.strip()),
        temperature_c=temperature,
        humidity_pct=_number(humidity),
        wind_kmh=_number(wind),
        pressure_hpa=_number(pressure),
    )


def parse_text(text: str) -> list[Observation]:
    """Every observation line of ``text``; blank lines and ``#`` comments are skipped."""
    return [parse_line(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]
