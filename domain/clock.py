"""The one clock of the domain: aware UTC time (injected as `now=` where tests need another)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
