"""A clock tests move by hand (use cases and the container take `clock=`)."""

from __future__ import annotations

from datetime import UTC, datetime


class FakeClock:
    def __init__(self, start: datetime = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
