"""An in-memory SkillLibrary: the port's contract without a filesystem, for use-case tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from domain.errors import NotFoundError
from domain.skills.model import SCOPES, Skill, SkillHit, SkillQuery, SkillScope, StoredSkill, WritableScope


class InMemorySkillLibrary:
    def __init__(self, bundled: list[Skill] | None = None) -> None:
        self.skills: dict[tuple[SkillScope, str], Skill] = {("bundled", s.name): s for s in bundled or []}
        self.history: dict[tuple[SkillScope, str], dict[int, Skill]] = {}

    def _purge(self, now: datetime) -> list[str]:
        gone = [key for key, skill in self.skills.items() if key[0] != "bundled" and skill.is_expired(now)]
        for key in gone:
            del self.skills[key]
            self.history.pop(key, None)
        return [f"{scope}/{name}" for scope, name in gone]

    def _stored(self, skill: Skill) -> StoredSkill:
        key = (skill.scope, skill.name)
        lower = SCOPES[SCOPES.index(skill.scope) + 1 :]
        return StoredSkill(
            skill=skill,
            text=skill.body,
            path=f"{skill.scope}/{skill.name}/SKILL.md",
            history=sorted(self.history.get(key, {})),
            shadows=[s for s in lower if (s, skill.name) in self.skills],
        )

    async def read(
        self, name: str, *, now: datetime, scope: SkillScope | None = None, version: int | None = None
    ) -> StoredSkill:
        self._purge(now)
        for candidate in (scope,) if scope else SCOPES:
            skill = self.skills.get((candidate, name))
            if skill is None:
                continue
            if version is not None and version != skill.version:
                old = self.history.get((candidate, name), {}).get(version)
                if old is None:
                    raise NotFoundError(f"no version {version}")
                return self._stored(old)
            return self._stored(skill)
        raise NotFoundError(f"no skill named {name!r}")

    async def write(
        self,
        name: str,
        scope: WritableScope,
        change: Callable[[Skill | None], Skill],
        *,
        now: datetime,
        base: Skill | None = None,
    ) -> StoredSkill:
        current = self.skills.get((scope, name))
        if current is not None and current.is_expired(now):
            current = None
        skill = change(current).model_copy(update={"name": name, "scope": scope})
        previous = current or base
        if previous is not None and skill.version != previous.version:
            self.history.setdefault((scope, name), {})[previous.version] = previous
        self.skills[(scope, name)] = skill
        return self._stored(skill)

    async def delete(self, name: str, scope: WritableScope, *, now: datetime) -> StoredSkill:
        skill = self.skills.pop((scope, name), None)
        if skill is None:
            raise NotFoundError(f"no skill named {name!r} in {scope}")
        self.history.pop((scope, name), None)
        return StoredSkill(skill=skill, text="", path=f"{scope}/{name}/SKILL.md")

    def unreadable(self) -> list[str]:
        return []

    async def search(self, query: SkillQuery, *, now: datetime) -> list[SkillHit]:
        self._purge(now)
        words = [w for w in re.findall(r"\w+", query.text.lower()) if w != "or"]
        hits: list[SkillHit] = []
        for (scope, name), skill in sorted(self.skills.items(), key=lambda kv: kv[0][1]):
            if any((s, name) in self.skills for s in SCOPES[: SCOPES.index(scope)]):
                continue
            if (query.kind and skill.kind != query.kind) or (query.domain and skill.domain != query.domain):
                continue
            if not set(query.tags) <= set(skill.tags):
                continue
            fields = {"title": name, "heading": skill.description, "tags": " ".join(skill.tags), "body": skill.body}
            matched = {f: [w for w in words if w in text.lower()] for f, text in fields.items()}
            matched = {f: found for f, found in matched.items() if found}
            if words and not matched:
                continue
            hits.append(
                SkillHit(
                    name=name,
                    scope=scope,
                    description=skill.description,
                    tags=skill.tags,
                    domain=skill.domain,
                    kind=skill.kind,
                    version=skill.version,
                    score=float(sum(len(v) for v in matched.values())),
                    matched=matched if query.explain else {},
                )
            )
        hits.sort(key=lambda h: -h.score)
        return hits[: query.limit]

    async def purge_expired(self, *, now: datetime) -> list[str]:
        return self._purge(now)
