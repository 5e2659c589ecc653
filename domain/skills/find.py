"""FindSkills: a compact ranked list of skills across the three libraries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.skills.model import SkillKind, SkillList, SkillQuery, SkillSummary, normalize_domain, normalize_tags
from domain.skills.ports import SkillLibrary


class FindSkills:
    """Full-text search over name, description, tags and body; an empty query lists skills by name."""

    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(
        self,
        query: str = "",
        *,
        tags: list[str] | None = None,
        domain: str | None = None,
        kind: SkillKind | None = None,
        limit: int = 10,
    ) -> SkillList:
        request = SkillQuery(
            text=query.strip(), tags=normalize_tags(tags or []), domain=normalize_domain(domain), kind=kind, limit=limit
        )
        hits = await self._library.search(request, now=self._clock())
        return SkillList(
            skills=[
                SkillSummary(
                    name=h.name,
                    scope=h.scope,
                    description=h.description,
                    tags=h.tags,
                    domain=h.domain,
                    kind=h.kind,
                    version=h.version,
                )
                for h in hits
            ],
            unreadable=self._library.unreadable(),
        )
