"""SKILL.md on disk: YAML front matter between `---` lines, then the Markdown body.

The front matter keeps the fields assistants already read (`name`, `description`)
first, then ours; keys we do not own (e.g. `license`, `allowed-tools`) survive a
rewrite untouched. Hand-written files are read leniently (missing version → 1,
missing kind → base) but a file without a description, or with front matter that
is not a mapping, is reported as corrupt naming the file.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from domain.clock import as_utc
from domain.errors import CorruptDataError
from domain.skills.model import MAX_SKILL_VERSION, Skill, SkillScope
from infrastructure.files import parse_yaml

_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_OPENING = re.compile(r"---[ \t]*\r?\n")
_FRONT_MATTER = re.compile(r"---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_OWN = ("name", "description", "domain", "tags", "version", "kind", "created", "updated", "expires", "note")


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """(front matter mapping, body); a file without front matter has an empty mapping."""
    text = text.removeprefix("\ufeff")
    if not _OPENING.match(text):
        return {}, text
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise CorruptDataError(path, "front matter starts with '---' but has no closing '---' line")
    meta = parse_yaml(path, match.group(1)) if match.group(1).strip() else {}
    if not isinstance(meta, dict):
        raise CorruptDataError(path, f"front matter must be a mapping, found {type(meta).__name__}")
    return meta, text[match.end() :].strip("\r\n")


def _datetime(meta: dict[str, Any], key: str) -> datetime | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not an ISO date and time such as 2025-01-31T12:00:00Z") from None
    try:
        return as_utc(parsed)
    except ValueError as exc:  # e.g. 0001-01-01T00:00:00+05:00: before year 1 in UTC
        raise ValueError(f"{key}: {exc}") from None


def _version(meta: dict[str, Any]) -> int:
    value = meta.get("version") or 1
    if isinstance(value, float) and value.is_integer():  # `version: 1.0` reads as a float
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError(f"version: {value!r} is not a whole number such as 3 (skills count versions 1, 2, 3…)")
    if len(str(value)) > len(str(MAX_SKILL_VERSION)) or int(value) > MAX_SKILL_VERSION:
        raise ValueError(f"version: {str(value)[:20]} is too large; skills count versions 1, 2, 3…")
    return int(value)


def _normal(value: object) -> str:
    return "-".join(str(value).lower().split()) if value is not None else ""


def parse_skill(path: Path, text: str, *, name: str, scope: SkillScope) -> Skill:
    """The skill stored in `text`; its name is the directory's (the id), whatever the front matter says."""
    meta, body = split_front_matter(path, text)
    description = meta.get("description")
    if description is not None and not isinstance(description, str):
        raise CorruptDataError(
            path, f"description: {description!r} is not text; write one sentence saying what the skill is for"
        )
    if not description or not description.strip():
        raise CorruptDataError(path, "front matter has no 'description' (one sentence: what the skill is for)")
    if meta.get("kind") == "ephemeral" and meta.get("expires") is None:
        raise CorruptDataError(
            path,
            "kind: ephemeral needs 'expires' (when it is removed, e.g. 2026-12-01T00:00:00Z), or it would never "
            "expire; add it, or make it kind: base",
        )
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    try:
        return Skill(
            name=name,
            description=" ".join(description.split()),
            body=body,
            scope=scope,
            # As the filters normalise theirs: a hand-written "DevOps" or "Helm Charts" still matches.
            domain=_normal(meta.get("domain")) or None,
            tags=[_normal(t) for t in tags] if isinstance(tags, list) else [],
            version=_version(meta),
            kind=meta.get("kind") or "base",
            created=_datetime(meta, "created"),
            updated=_datetime(meta, "updated"),
            expires=_datetime(meta, "expires"),
            note=meta.get("note") or None,
            extra={k: v for k, v in meta.items() if k not in _OWN},
        )
    except (ValidationError, ValueError, TypeError) as exc:
        problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        where = ""
        if isinstance(exc, ValidationError):
            where = ".".join(str(p) for p in exc.errors()[0]["loc"]) + ": "
        raise CorruptDataError(path, f"{where}{problem}") from None


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9 _.,()/+;'=<>-]*$")
_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")  # NEL too: YAML reads it as a line break
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def _scalar(value: str | int) -> str:
    """A YAML scalar for `value`: plain when unambiguous, else a JSON string (which YAML reads the same)."""
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and not value.endswith(" ") and value.lower() not in _YAML_WORDS:
        return value
    text = json.dumps(value, ensure_ascii=False)
    # JSON leaves DEL, C1 controls and U+FFFE/U+FFFF as they are; YAML refuses them in a file (and reads
    # NEL as a line break), so they are escaped.
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def render_skill(skill: Skill) -> str:
    """SKILL.md text for `skill` (the inverse of parse_skill).

    Our own fields are written directly (a save must stay well under a
    millisecond of CPU); only foreign keys kept in `extra` go through the YAML dumper.
    """
    lines = [f"name: {_scalar(skill.name)}", f"description: {_scalar(skill.description)}"]
    if skill.domain:
        lines.append(f"domain: {_scalar(skill.domain)}")
    if skill.tags:
        lines.append("tags:")
        lines.extend(f"- {_scalar(tag)}" for tag in skill.tags)
    lines.append(f"version: {skill.version}")
    lines.append(f"kind: {skill.kind}")
    for key in ("created", "updated", "expires"):
        value: datetime | None = getattr(skill, key)
        if value is not None:
            lines.append(f"{key}: '{value.astimezone(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')}'")
    if skill.note:
        lines.append(f"note: {_scalar(skill.note)}")
    front = "\n".join(lines) + "\n"
    if skill.extra:
        front += yaml.dump(skill.extra, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=1000)
    body = skill.body if skill.body.endswith("\n") else skill.body + "\n"
    return f"---\n{front}---\n\n{body}"
