"""Skills: reusable knowledge an agent can find instead of rediscovering it.

A skill is a directory holding `SKILL.md` (YAML front matter + Markdown body, the
format AI assistants already read) in one of three libraries. The libraries are
searched together; when several hold the same name, the first in `SCOPES` wins
(the project's own knowledge overrides the user's, which overrides the starter set).

Base skills persist and accumulate versions; ephemeral skills serve one task and
expire `ttl` after they are saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.compact import CompactModel, omitted, omitted_if_empty
from domain.errors import InvalidInputError, LimitExceededError, shown
from domain.names import validate_name
from domain.text import check_plain, visible

SkillScope = Literal["project", "user", "bundled"]
WritableScope = Literal["project", "user"]
SkillKind = Literal["base", "ephemeral"]

SCOPES: tuple[SkillScope, ...] = ("project", "user", "bundled")
"""Precedence: a skill in an earlier library shadows one of the same name in a later one."""

MAX_DESCRIPTION = 1024
MAX_CONTENT = 100_000
MAX_NOTE = 500
MAX_TAGS = 20
MAX_TAG = 40

_TAG = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


def validate_skill_name(name: str) -> str:
    """A skill name is a safe slug; checked before it becomes a directory name."""
    return validate_name(name, "skill name")


def normalize_tags(tags: list[str]) -> list[str]:
    """Lowercase, trimmed, de-duplicated tags in their given order; refuses unsafe or oversized ones."""
    if len(tags) > MAX_TAGS:
        raise LimitExceededError(f"a skill takes at most {MAX_TAGS} tags; got {len(tags)}")
    out: list[str] = []
    for raw in tags:
        tag = raw.strip().lower().replace(" ", "-")
        if not tag or len(tag) > MAX_TAG or not _TAG.fullmatch(tag):
            raise InvalidInputError(
                f"tag {shown(raw, 40)} must be 1-{MAX_TAG} characters of a-z, 0-9, '.', '_', '+', '-' (e.g. 'python')"
            )
        if tag not in out:
            out.append(tag)
    return out


def normalize_domain(domain: str | None) -> str | None:
    """Lowercase with runs of spaces as one '-', like tags and like a domain read from a SKILL.md."""
    if domain is None or not domain.strip():
        return None
    return validate_name("-".join(domain.lower().split()), "domain")


_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")


def check_text(value: str, what: str, limit: int, *, required: bool = True, multiline: bool = False) -> str:
    """One line of text (whitespace runs collapsed, as a SKILL.md reads back), or with `multiline` a
    Markdown body: only blank lines before it and whitespace after it go, so an indented first line
    (a code block) keeps its indentation."""
    text = _BLANK_LINES.sub("", value.rstrip()) if multiline else " ".join(value.split())
    check_plain(text, what)
    if required and not visible(text):
        raise InvalidInputError(f"{what} is empty; write {_EXAMPLES.get(what, 'some text')}")
    if len(text) > limit:
        raise LimitExceededError(f"{what} is {len(text)} characters, over the {limit} limit; shorten it")
    return text


@dataclass(frozen=True)
class SkillFields:
    """Caller-supplied skill fields, validated; None means "not given" (keep the current value), and a
    domain of "" means "no domain" (an update removes it)."""

    description: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    domain: str | None = None

    @classmethod
    def check(
        cls,
        *,
        description: str | None = None,
        content: str | None = None,
        tags: list[str] | None = None,
        domain: str | None = None,
    ) -> SkillFields:
        return cls(
            description=None if description is None else check_text(description, "description", MAX_DESCRIPTION),
            body=None if content is None else check_text(content, "content", MAX_CONTENT, multiline=True),
            tags=None if tags is None else normalize_tags(tags),
            domain=None if domain is None else normalize_domain(domain) or "",
        )

    @property
    def empty(self) -> bool:
        return self.description is None and self.body is None and self.tags is None and self.domain is None


_EXAMPLES = {
    "description": "one sentence saying what the skill does and when to use it",
    "content": "the Markdown body (steps, commands, pitfalls)",
    "note": "what changed and why, in one line",
}


# The highest version a SKILL.md may say (9 digits: far past any real history, and exact in every JSON client).
MAX_SKILL_VERSION = 999_999_999


class Skill(BaseModel):
    """One version of a skill as stored: front matter fields plus the Markdown body."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    body: str
    scope: SkillScope
    domain: str | None = None
    tags: list[str] = Field(default_factory=list)
    version: int = 1
    kind: SkillKind = "base"
    created: datetime | None = None
    updated: datetime | None = None
    expires: datetime | None = None
    note: str | None = None
    # Front matter keys we do not own (e.g. `license`, `allowed-tools`): kept verbatim on rewrite.
    extra: dict[str, Any] = Field(default_factory=dict)

    def is_expired(self, now: datetime) -> bool:
        return self.kind == "ephemeral" and self.expires is not None and self.expires <= now

    @classmethod
    def new(
        cls,
        *,
        name: str,
        description: str,
        body: str,
        scope: WritableScope,
        now: datetime,
        tags: list[str],
        domain: str | None,
        kind: SkillKind,
        ttl: timedelta | None,
    ) -> Skill:
        return cls(
            name=name,
            description=description,
            body=body,
            scope=scope,
            domain=domain,
            tags=tags,
            version=1,
            kind=kind,
            created=now,
            updated=now,
            expires=now + ttl if kind == "ephemeral" and ttl is not None else None,
        )

    def revise(self, *, now: datetime, note: str, scope: WritableScope, fields: SkillFields) -> Skill:
        """The next version: given fields replaced, the rest carried over, the note recorded."""
        if self.version >= MAX_SKILL_VERSION:  # the next one could not be read back
            raise LimitExceededError(
                f"skill {self.name!r} is at version {self.version}, the last a skill can have; "
                "save the new text under another name"
            )
        return self.model_copy(
            update={
                "scope": scope,
                "body": self.body if fields.body is None else fields.body,
                "description": self.description if fields.description is None else fields.description,
                "tags": self.tags if fields.tags is None else fields.tags,
                "domain": self.domain if fields.domain is None else fields.domain or None,
                "version": self.version + 1,
                "created": self.created or now,
                "updated": now,
                "note": note,
            }
        )


class StoredSkill(BaseModel):
    """A skill read from a library, with what lives around it."""

    skill: Skill
    text: str = Field(description="the file exactly as stored (front matter and body)")
    path: str = Field(description="SKILL.md, relative to the project for project skills")
    history: list[int] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    shadows: list[SkillScope] = Field(default_factory=list)


# Output models use plain `str` for scope and kind: the enums are in the input schemas already,
# and repeating them in every output schema would cost each conversation tokens for nothing.


class SkillDocument(CompactModel):
    """What `cde_getSkill` returns: the SKILL.md text (front matter carries tags, kind, dates, note)."""

    name: str
    scope: str
    version: int
    content: str
    path: str
    history: list[int]
    files: list[str]
    shadows: list[str] | None = omitted()


class SkillRef(CompactModel):
    """A skill that was written."""

    name: str
    scope: str
    version: int
    path: str
    expires: datetime | None = omitted()


class SkillDeleted(CompactModel):
    """A skill removed from its library with its history: `deleted` names the folder that is gone."""

    deleted: str
    name: str
    scope: str
    version: int


class SkillSummary(CompactModel):
    """One line of a skill list."""

    name: str
    scope: str
    description: str
    tags: list[str]
    domain: str | None = omitted()
    kind: str
    version: int


class SkillList(CompactModel):
    """What `cde_findSkills` returns."""

    skills: list[SkillSummary]
    unreadable: list[str] = omitted_if_empty(default_factory=list, description="skill folders that cannot be read")


class SkillMatch(CompactModel):
    """A skill proposed for a need, with the reason."""

    name: str
    scope: str
    description: str
    score: float
    why: str


class SkillSourcing(CompactModel):
    """What `cde_sourceSkill` returns."""

    matches: list[SkillMatch]
    hint: str | None = omitted()


class SkillQuery(BaseModel):
    """A search of the libraries; `text` empty means list by name."""

    text: str = ""
    tags: list[str] = Field(default_factory=list)
    domain: str | None = None
    kind: SkillKind | None = None
    limit: int = 10
    explain: bool = False
    # Name matches first, then description, tags, content (BM25 within each);
    # off where the caller ranks by a score of its own.
    by_field: bool = True


class SkillHit(BaseModel):
    """One effective (not shadowed, not expired) skill found by a query."""

    name: str
    scope: SkillScope
    description: str
    tags: list[str]
    domain: str | None
    kind: SkillKind
    version: int
    score: float
    matched: dict[str, list[str]] = Field(default_factory=dict)
    shadows: list[SkillScope] = Field(default_factory=list)


def document_of(stored: StoredSkill) -> SkillDocument:
    return SkillDocument(
        name=stored.skill.name,
        scope=stored.skill.scope,
        version=stored.skill.version,
        content=stored.text,
        path=stored.path,
        history=stored.history,
        files=stored.files,
        shadows=list(stored.shadows) or None,
    )


def deleted_of(stored: StoredSkill, scope: WritableScope) -> SkillDeleted:
    folder = stored.path.removesuffix("/SKILL.md")
    return SkillDeleted(deleted=folder, name=stored.skill.name, scope=scope, version=stored.skill.version)


def ref_of(stored: StoredSkill, scope: WritableScope) -> SkillRef:
    return SkillRef(
        name=stored.skill.name,
        scope=scope,
        version=stored.skill.version,
        path=stored.path,
        expires=stored.skill.expires,
    )
