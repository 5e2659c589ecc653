"""DeleteSkill: remove a project or user skill together with its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.skills.model import SkillDeleted, WritableScope, deleted_of, validate_skill_name
from domain.skills.ports import SkillLibrary


class DeleteSkill:
    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(self, name: str, scope: WritableScope) -> SkillDeleted:
        name = validate_skill_name(name)
        return deleted_of(await self._library.delete(name, scope, now=self._clock()), scope)
