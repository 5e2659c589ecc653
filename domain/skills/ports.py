"""What the skill use cases need from storage: the three libraries seen as one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from domain.skills.model import Skill, SkillHit, SkillQuery, SkillScope, StoredSkill, WritableScope


class SkillLibrary(Protocol):
    """The project, user and bundled libraries of one project, searched together.

    Every method first deletes ephemeral skills that expired at `now`, so an
    expired skill is never returned.
    """

    async def read(
        self, name: str, *, now: datetime, scope: SkillScope | None = None, version: int | None = None
    ) -> StoredSkill:
        """The skill from `scope`, or from the first library holding it; NotFoundError if none does.

        `version` reads an older version from the history (the current one when None).
        """
        ...

    async def write(
        self,
        name: str,
        scope: WritableScope,
        change: Callable[[Skill | None], Skill],
        *,
        now: datetime,
        base: Skill | None = None,
    ) -> StoredSkill:
        """Apply `change` to the current skill of that scope (None when absent) under an exclusive lock.

        The result is written atomically; when it carries a new version, the
        previous content is kept in the history first. If `change` raises,
        nothing is written. An expired current skill is passed as None.
        `base` is the skill another library holds (a bundled one being customised):
        when the scope has none, it is kept in the history as the previous version.
        """
        ...

    async def delete(self, name: str, scope: WritableScope, *, now: datetime) -> StoredSkill:
        """Remove the skill and its history from that library; returns what was removed."""
        ...

    def unreadable(self) -> list[str]:
        """`scope/name` of each skill the last search found but could not read (no I/O: kept by it)."""
        ...

    async def search(self, query: SkillQuery, *, now: datetime) -> list[SkillHit]:
        """Effective skills (shadowed ones hidden) matching `query`, best first."""
        ...

    async def purge_expired(self, *, now: datetime) -> list[str]:
        """Delete expired ephemeral skills of the writable libraries; returns `scope/name` of each."""
        ...
