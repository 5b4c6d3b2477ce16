"""Timestamps as OpenLineage producers send them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_EPOCH_MILLIS_ABOVE = 100_000_000_000


def parse_time(value: Any) -> tuple[datetime | None, str | None]:
    """ISO 8601 with or without an offset, a bare date, or epoch seconds / milliseconds.

    Returns the time in UTC and a note when something was assumed (no offset: read as UTC), or
    ``(None, None)`` when ``value`` is not a timestamp.
    """
    if isinstance(value, bool):
        return None, None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_ABOVE else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC), "epoch number read as UTC"
        except (OverflowError, OSError, ValueError):
            return None, None
    if not isinstance(value, str):
        return None, None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None, None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), "no time zone offset: read as UTC"
    return moment.astimezone(UTC), None
