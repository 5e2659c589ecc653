"""The one clock of the domain: aware UTC time (injected as `now=` where tests need another)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored time in UTC: a time without a zone (a hand edit) is taken as UTC; one whose UTC form falls
    outside the years 1-9999 is refused here, not a crash wherever it is compared or printed later."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range in UTC") from None


def _to_utc(value: Any) -> Any:
    """Before pydantic's own parsing: a `...Z` string, as this server writes every time, passes untouched
    (~0.3 us; converting each parsed value cost ~1.4 us, 40 ms more to read a 3,000-feature state)."""
    if type(value) is str:
        if value.endswith(("Z", "z")):
            return value
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # pydantic says what is wrong with it
    return as_utc(value) if isinstance(value, datetime) else value


# A datetime field of a stored model: always aware and in UTC, so any two compare.
UtcDatetime = Annotated[datetime, BeforeValidator(_to_utc)]
