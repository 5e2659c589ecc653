"""UpdateSkill: a new version of a skill, the previous one kept in its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.errors import InvalidInputError, NotFoundError
from domain.skills.model import (
    MAX_NOTE,
    Skill,
    SkillFields,
    SkillRef,
    WritableScope,
    check_text,
    ref_of,
    validate_skill_name,
)
from domain.skills.ports import SkillLibrary


class UpdateSkill:
    """Revises the skill the caller sees (or the one in `scope`).

    Updating a bundled skill writes a customised copy into the project library,
    which from then on shadows the bundled one (still readable with scope=bundled).
    The bundled text goes into the copy's history, in the same write, as the version it
    had, so it stays readable like any previous version.
    """

    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(
        self,
        name: str,
        *,
        note: str,
        content: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        domain: str | None = None,
        scope: WritableScope | None = None,
    ) -> SkillRef:
        name = validate_skill_name(name)
        clean_note = check_text(note, "note", MAX_NOTE)
        fields = SkillFields.check(description=description, content=content, tags=tags, domain=domain)
        if fields.empty:
            raise InvalidInputError("nothing to update; pass content, description, tags or domain")
        now = self._clock()
        base: Skill | None = None
        target: WritableScope
        if scope is None:
            seen = (await self._library.read(name, now=now)).skill
            if seen.scope == "bundled":
                target, base = "project", seen
            else:
                target = seen.scope
        else:
            target = scope

        def revise(current: Skill | None) -> Skill:
            source = current or base
            if source is None:
                raise NotFoundError(
                    f"skill {name!r} is not in the {target} library; check the name with cde_findSkills, "
                    "or leave out scope to update the skill you see"
                )
            return source.revise(now=now, note=clean_note, scope=target, fields=fields)

        return ref_of(await self._library.write(name, target, revise, now=now, base=base), target)
