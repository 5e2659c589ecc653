"""Skill tools (cde_saveSkill, cde_getSkill, cde_findSkills, cde_updateSkill, cde_deleteSkill,
cde_sourceSkill) and the `skill://{scope}/{name}` resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp_types import Resource as MCPResource
from pydantic import Field

from domain.errors import InvalidInputError, shown
from domain.skills.model import (
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_TAGS,
    SCOPES,
    SkillDeleted,
    SkillDocument,
    SkillKind,
    SkillList,
    SkillRef,
    SkillScope,
    SkillSourcing,
    WritableScope,
)
from server.tooling import add_tool
from server.tools.params import Name, ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

NewName = Annotated[str, Field(description="slug, e.g. run-tests", max_length=64)]
Tags = Annotated[tuple[str, ...], Field(max_length=MAX_TAGS)]  # each tag's length is checked by the domain
Limit = Annotated[int, Field(ge=1, le=100)]

GUIDE = """\
Skills are `SKILL.md` files: YAML front matter (`name`, `description`, `domain`, `tags`,
`version`, `kind`, `created`/`updated`, `expires`, `note`) and a Markdown body.

Libraries, highest precedence first: **project** (`<project>/.cde/skills/<name>/`), **user**
(`<CDE home>/skills/<name>/`), **bundled** (a starter set shipped with the server). A name in a
higher library shadows the same name below; `scope=` reads a specific one.

- `cde_saveSkill` creates; it refuses a name that exists in that library (use `cde_updateSkill`).
- `kind="ephemeral"` skills expire after `ttl_hours` (default CDE_SKILL_TTL_HOURS, 24) and are
  deleted on access and by a periodic sweep.
- `cde_updateSkill` writes version N+1 and keeps version N verbatim in `history/vN.md`
  (read it with `cde_getSkill(name, version=N)`). Updating a bundled skill creates a project copy.
- `cde_findSkills` ranks by name > description > tags > content; supports "phrases", prefix*,
  -exclusions and OR. An empty query lists skills by name.
- `cde_sourceSkill` takes a task description and explains each match.
- Extra files may sit beside SKILL.md; `cde_getSkill` lists them.
- Resources: `skill://{scope}/{name}` returns a skill as Markdown.
"""


def register(server: CdeServer, container: Container) -> None:
    async def cde_saveSkill(  # noqa: N802 - MCP tool names are camelCase
        name: NewName,
        description: Annotated[str, Field(description="what + when to use", max_length=MAX_DESCRIPTION)],
        content: Annotated[str, Field(description="Markdown", max_length=MAX_CONTENT)],
        tags: Tags = (),
        domain: Annotated[str | None, Field(max_length=64)] = None,
        kind: SkillKind = "base",
        scope: WritableScope = "project",
        ttl_hours: Annotated[float | None, Field(gt=0)] = None,
        project_path: ProjectPath = ".",
    ) -> SkillRef:
        skills = await container.skills(project_path)
        return await skills.save(
            name=name,
            description=description,
            content=content,
            tags=list(tags),
            domain=domain,
            kind=kind,
            scope=scope,
            ttl_hours=ttl_hours,
        )

    async def cde_getSkill(  # noqa: N802
        name: Name,
        scope: SkillScope | None = None,
        version: Annotated[int | None, Field(ge=1)] = None,
        project_path: ProjectPath = ".",
    ) -> SkillDocument:
        skills = await container.skills(project_path)
        return await skills.get(name, scope=scope, version=version)

    async def cde_findSkills(  # noqa: N802
        query: Annotated[str, Field(max_length=500)] = "",
        tags: Tags = (),
        domain: Annotated[str | None, Field(max_length=64)] = None,
        kind: SkillKind | None = None,
        limit: Limit = 10,
        project_path: ProjectPath = ".",
    ) -> SkillList:
        skills = await container.skills(project_path)
        return await skills.find(query, tags=list(tags), domain=domain, kind=kind, limit=limit)

    async def cde_updateSkill(  # noqa: N802
        name: Name,
        note: Annotated[str, Field(description="what changed and why", max_length=MAX_NOTE)],
        content: Annotated[str | None, Field(max_length=MAX_CONTENT)] = None,
        description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION)] = None,
        tags: Tags | None = None,
        domain: Annotated[str | None, Field(max_length=64)] = None,
        scope: WritableScope | None = None,
        project_path: ProjectPath = ".",
    ) -> SkillRef:
        skills = await container.skills(project_path)
        return await skills.update(
            name,
            note=note,
            content=content,
            description=description,
            tags=None if tags is None else list(tags),
            domain=domain,
            scope=scope,
        )

    async def cde_deleteSkill(  # noqa: N802
        name: Name, scope: WritableScope, project_path: ProjectPath = "."
    ) -> SkillDeleted:
        skills = await container.skills(project_path)
        return await skills.delete(name, scope)

    async def cde_sourceSkill(  # noqa: N802
        need: Annotated[str, Field(description="the task, in words", max_length=2000)],
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
        project_path: ProjectPath = ".",
    ) -> SkillSourcing:
        skills = await container.skills(project_path)
        return await skills.source(need, limit=limit)

    def add(fn: Callable[..., Any], description: str, **hints: bool) -> None:
        add_tool(server, fn, name=fn.__name__, description=description, guide=GUIDE, **hints)

    add(
        cde_saveSkill,
        "Save knowledge as a new skill (SKILL.md); ephemeral ones expire after ttl_hours.",
        read_only=False,
    )
    add(
        cde_getSkill,
        "Full skill by name (project > user > bundled unless scope given); version= reads history.",
        read_only=True,
        idempotent=True,
    )
    add(
        cde_findSkills,
        "Ranked skill search over all libraries (empty query lists all); filter by tags, domain, kind.",
        read_only=True,
        idempotent=True,
    )
    add(
        cde_updateSkill,
        "New version of a skill; the previous one stays in history with your note.",
        read_only=False,
    )
    add(
        cde_deleteSkill,
        "Delete a project or user skill and its history.",
        read_only=False,
        destructive=True,
        idempotent=True,
    )
    add(
        cde_sourceSkill,
        "Skills that fit a task description, from all libraries, with why each matched.",
        read_only=True,
        idempotent=True,
    )

    @server.resource(
        "skill://{scope}/{name}",
        name="skill",
        description="A skill as Markdown (scope: project, user or bundled).",
        mime_type="text/markdown",
    )
    async def skill_resource(scope: str, name: str) -> str:
        if scope not in SCOPES:
            raise InvalidInputError(f"scope must be one of {', '.join(SCOPES)}; got {shown(scope, 40)}")
        skills = await container.skills(".")
        return (await skills.get(name, scope=scope)).content

    async def list_skill_resources() -> list[MCPResource]:
        skills = await container.skills(".")
        listed = await skills.find("", limit=100)
        return [
            MCPResource(
                uri=f"skill://{s.scope}/{s.name}",
                name=s.name,
                description=s.description,
                mime_type="text/markdown",
            )
            for s in listed.skills
        ]

    server.add_resource_lister(list_skill_resources)
