"""GetSkill: the full content of one skill, resolved by library precedence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.errors import InvalidInputError
from domain.skills.model import SkillDocument, SkillScope, document_of, validate_skill_name
from domain.skills.ports import SkillLibrary


class GetSkill:
    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(
        self, name: str, *, scope: SkillScope | None = None, version: int | None = None
    ) -> SkillDocument:
        name = validate_skill_name(name)
        if version is not None and version < 1:
            raise InvalidInputError(f"version must be >= 1; got {version}")
        stored = await self._library.read(name, now=self._clock(), scope=scope, version=version)
        return document_of(stored)
