"""Skills: one library object per project (project, user and bundled skills over its index)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from adapters.fs_skill_library import FsSkillLibrary
from domain.skills.delete import DeleteSkill
from domain.skills.expire import PurgeExpiredSkills
from domain.skills.find import FindSkills
from domain.skills.get import GetSkill
from domain.skills.save import SaveSkill
from domain.skills.source import SourceSkill
from domain.skills.update import UpdateSkill
from infrastructure.cache import cached
from infrastructure.settings import Settings


@dataclass(frozen=True)
class SkillUseCases:
    """The skill use cases of one project, around its library (built once per project, like it)."""

    library: FsSkillLibrary
    save: SaveSkill
    get: GetSkill
    find: FindSkills
    update: UpdateSkill
    delete: DeleteSkill
    source: SourceSkill
    purge: PurgeExpiredSkills


class SkillWiring:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock
        self._libraries: weakref.WeakSet[FsSkillLibrary] = weakref.WeakSet()

    async def library(self, root: Path) -> FsSkillLibrary:
        """The project's skill libraries (project, user, bundled) with the project's search index."""
        use_cases: SkillUseCases = await self.use_cases(root)
        return use_cases.library

    @cached("container.skill_library", maxsize=32)
    async def use_cases(self, root: Path) -> SkillUseCases:
        """One library object per project (it holds the saves not yet indexed), and its use cases."""
        library = FsSkillLibrary(root, self._settings.home, lock_timeout=self._settings.lock_timeout)
        self._libraries.add(library)
        clock = self._clock
        return SkillUseCases(
            library=library,
            save=SaveSkill(library, clock, timedelta(hours=self._settings.skill_ttl_hours)),
            get=GetSkill(library, clock),
            find=FindSkills(library, clock),
            update=UpdateSkill(library, clock),
            delete=DeleteSkill(library, clock),
            source=SourceSkill(library, clock),
            purge=PurgeExpiredSkills(library, clock),
        )

    async def sweep(self) -> int:
        """Purge expired ephemeral skills in every library opened so far; how many were removed."""
        removed = 0
        for library in list(self._libraries):
            removed += len(await PurgeExpiredSkills(library, self._clock)())
        return removed
