"""SaveSkill: record new knowledge as a skill in the project or user library."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain.errors import ConflictError, InvalidInputError
from domain.skills.limits import MAX_TTL_HOURS
from domain.skills.model import (
    Skill,
    SkillFields,
    SkillKind,
    SkillRef,
    WritableScope,
    ref_of,
    validate_skill_name,
)
from domain.skills.ports import SkillLibrary


class SaveSkill:
    """Creates a skill; refuses a name already taken in that library (updates go through UpdateSkill)."""

    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime], default_ttl: timedelta) -> None:
        self._library = library
        self._clock = clock
        self._default_ttl = default_ttl

    async def __call__(
        self,
        *,
        name: str,
        description: str,
        content: str,
        tags: list[str] | None = None,
        domain: str | None = None,
        kind: SkillKind = "base",
        scope: WritableScope = "project",
        ttl_hours: float | None = None,
    ) -> SkillRef:
        name = validate_skill_name(name)
        fields = SkillFields.check(description=description, content=content, tags=tags or [], domain=domain)
        if ttl_hours is not None and kind != "ephemeral":
            raise InvalidInputError("ttl_hours applies to ephemeral skills only; drop it or pass kind='ephemeral'")
        if ttl_hours is not None and not 0 < ttl_hours <= MAX_TTL_HOURS:
            raise InvalidInputError(f"ttl_hours must be > 0 and <= {MAX_TTL_HOURS}; got {ttl_hours:g}")
        ttl = timedelta(hours=ttl_hours) if ttl_hours is not None else self._default_ttl
        now = self._clock()
        skill = Skill.new(
            name=name,
            description=fields.description or "",
            body=fields.body or "",
            scope=scope,
            now=now,
            tags=fields.tags or [],
            domain=fields.domain or None,
            kind=kind,
            ttl=ttl,
        )

        def create(current: Skill | None) -> Skill:
            if current is not None:
                raise ConflictError(
                    f"skill {name!r} already exists in the {scope} library (version {current.version}); "
                    "change it with cde_updateSkill or remove it with cde_deleteSkill"
                )
            return skill

        return ref_of(await self._library.write(name, scope, create, now=now), scope)
