"""PruneJobs: keep a project's finished task records (and their output logs) bounded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain.clock import utc_now
from domain.delegation.ports import JobStore, TaskLocator


class PruneJobs:
    """Deletes finished tasks beyond the newest `keep` and those finished more than `max_age` ago.

    Each record keeps an output log of up to 64 MiB, so without this a busy
    project's `.cde/tasks/` only grows. Run after a task ends, off its worker slot.
    """

    def __init__(
        self, locator: TaskLocator, *, keep: int, max_age: timedelta, now: Callable[[], datetime] = utc_now
    ) -> None:
        self._locator = locator
        self._keep = keep
        self._max_age = max_age
        self._now = now

    async def __call__(self, store: JobStore) -> list[str]:
        removed = await store.prune(self._keep, self._now() - self._max_age)
        if removed:
            await self._locator.forget(removed, store.root)
        return removed
