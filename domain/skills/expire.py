"""PurgeExpiredSkills: delete ephemeral skills whose time is up (also done on every access)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.skills.ports import SkillLibrary


class PurgeExpiredSkills:
    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(self) -> list[str]:
        return await self._library.purge_expired(now=self._clock())
