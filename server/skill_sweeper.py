"""Background removal of expired ephemeral skills while the server runs (no external cron).

Access already purges what has expired; this sweep catches skills nobody looks
at, so an ephemeral note never outlives its TTL by more than one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class SkillSweeper:
    """Runs `sweep()` every `interval` seconds between `start()` and `stop()`."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], interval: float) -> None:
        self._sweep = sweep
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                removed = await self._sweep()
            except Exception:
                logger.warning("sweeping expired skills failed; will retry", exc_info=True)
            else:
                if removed:
                    logger.info("swept %d expired skill(s)", removed)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="cde-skill-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
