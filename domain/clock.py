"""The one clock of the domain: aware UTC time (injected as `now=` where tests need another)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


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


# A datetime field of a stored model: always aware and in UTC, so any two compare.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
