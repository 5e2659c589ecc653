from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.fts_index import MAX_QUERY_CHARS
from adapters.skill_markdown import parse_skill
from domain.errors import CorruptDataError, InvalidInputError, LimitExceededError
from domain.skills.model import Skill, SkillFields, check_text, normalize_domain, normalize_tags, validate_skill_name
from domain.skills.source import MAX_QUERY, keywords

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../x", "not a path"),
        ("a/b", "not a path"),
        ("/etc/passwd", "not a path"),
        ("C:\\x", "not a path"),
        ("", "empty"),
        ("x" * 65, "longer than 64"),
        ("con", "reserved"),
        ("nul.md", "reserved"),
        ("Upper", "lowercase slug"),
        ("-dash", "lowercase slug"),
        ("with space", "lowercase slug"),
        ("dot.", "lowercase slug"),
        ("tab\tname", "lowercase slug"),
        ("a..b", "must not contain '..'"),
        ("shared.lock", "must not end in '.lock'"),
    ],
)
def test_unsafe_skill_names_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        validate_skill_name(name)


def test_safe_names_pass_unchanged() -> None:
    assert validate_skill_name("api-client.v2_x") == "api-client.v2_x"
    assert validate_skill_name("a" * 64) == "a" * 64


def test_tags_are_normalised_and_bounded() -> None:
    assert normalize_tags([" Python ", "python", "Unit Tests"]) == ["python", "unit-tests"]
    with pytest.raises(InvalidInputError, match="tag"):
        normalize_tags(["../etc"])
    with pytest.raises(InvalidInputError, match="tag"):
        normalize_tags(["x" * 41])
    with pytest.raises(LimitExceededError, match="at most 20"):
        normalize_tags([f"t{i}" for i in range(21)])


def test_domain_is_a_slug_or_none() -> None:
    assert normalize_domain("  Testing ") == "testing"
    assert normalize_domain("Back  End") == "back-end"  # as a tag, and as `domain: Back End` reads from a file
    assert normalize_domain("") is None
    with pytest.raises(InvalidInputError):
        normalize_domain("a/b")


def test_text_checks_say_what_to_write() -> None:
    with pytest.raises(InvalidInputError, match="description is empty; write one sentence"):
        check_text("   ", "description", 10)
    with pytest.raises(LimitExceededError, match="over the 10 limit"):
        check_text("x" * 11, "description", 10)
    assert check_text("  ok  ", "note", 10) == "ok"


def test_one_line_fields_collapse_whitespace_and_a_body_keeps_its_first_indent() -> None:
    """A description came back with its newlines from the index, collapsed from the file; a body lost the
    indentation of its first line (an indented code block)."""
    assert check_text(" Retry\n  flaky   calls ", "description", 100) == "Retry flaky calls"
    body = "\n  \n    code line\n    more\n\n"
    assert check_text(body, "content", 100, multiline=True) == "    code line\n    more"
    fields = SkillFields.check(description="a\nb", content="\t- item\n", domain="Dev Ops")
    assert (fields.description, fields.body, fields.domain) == ("a b", "\t- item", "dev-ops")
    with pytest.raises(InvalidInputError, match="content is empty"):
        check_text(" \n\t\n ", "content", 100, multiline=True)


def test_ephemeral_expiry_follows_the_clock() -> None:
    skill = Skill.new(
        name="n",
        description="d",
        body="b",
        scope="project",
        now=NOW,
        tags=[],
        domain=None,
        kind="ephemeral",
        ttl=timedelta(hours=2),
    )
    assert skill.expires == NOW + timedelta(hours=2)
    assert not skill.is_expired(NOW + timedelta(hours=1, minutes=59))
    assert skill.is_expired(NOW + timedelta(hours=2))
    base = skill.model_copy(update={"kind": "base"})
    assert not base.is_expired(NOW + timedelta(days=999))


def test_revise_bumps_version_and_keeps_unchanged_fields() -> None:
    skill = Skill.new(
        name="n", description="d", body="b", scope="project", now=NOW, tags=["x"], domain="ops", kind="base", ttl=None
    )
    later = NOW + timedelta(days=1)
    revised = skill.revise(now=later, note="why", scope="project", fields=SkillFields(body="b2"))
    assert (revised.version, revised.body, revised.description, revised.tags, revised.domain) == (
        2,
        "b2",
        "d",
        ["x"],
        "ops",
    )
    assert (revised.created, revised.updated, revised.note) == (NOW, later, "why")
    assert skill.version == 1  # the original is untouched


def test_keywords_fit_in_one_search_query() -> None:
    """Pasted class names made `a OR b OR …` longer than the index takes: "query is longer than 500"."""
    names = [f"Spring{i}BeanCreationExceptionConfigurer" for i in range(20)]
    terms = keywords(" ".join(names))
    assert terms == [n.lower() for n in names[: len(terms)]]
    assert len(" OR ".join(terms)) <= MAX_QUERY < len(" OR ".join([*terms, names[len(terms)]]))
    assert keywords("x" * 600 + " retry") == ["retry"]  # a word no query could hold is left out
    assert MAX_QUERY == MAX_QUERY_CHARS


def test_keywords_drop_filler_and_duplicates() -> None:
    assert keywords("I need to add retries to the HTTP client, with retries!") == ["add", "retries", "http", "client"]
    assert keywords("the and of") == []
    assert keywords("Réessayer les requêtes HTTP en C++ ou C#") == [
        "réessayer",
        "les",
        "requêtes",
        "http",
        "en",
        "c++",
        "ou",
        "c#",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("version", "abc", "version: 'abc' is not a whole number"),
        ("version", "true", "version: True is not a whole number"),
        ("version", "1.0.0", "version: '1.0.0' is not a whole number"),
        ("version", "99999999999999999999999", "version: 99999999999999999999 is too large"),  # an update wrote 1e23
        ("expires", "notadate", "expires: 'notadate' is not an ISO date and time"),
        ("created", "2025-13-45", "invalid YAML value: month must be in 1..12"),
        ("updated", "'yesterday'", "updated: 'yesterday' is not an ISO date and time"),
    ],
)
def test_a_bad_front_matter_value_is_reported_with_its_field(field: str, value: str, message: str) -> None:
    text = f"---\ndescription: d\n{field}: {value}\n---\nbody\n"
    with pytest.raises(CorruptDataError, match=re.escape(message)):
        parse_skill(Path("/p/.cde/skills/x/SKILL.md"), text, name="x", scope="project")


def test_a_hand_written_ephemeral_skill_without_expires_is_reported_not_kept_forever() -> None:
    """An ephemeral SKILL.md written by hand without `expires` was served for ever: it never expired."""
    text = "---\ndescription: d\nkind: ephemeral\ncreated: 2020-01-01T00:00:00Z\n---\nbody\n"
    with pytest.raises(CorruptDataError, match="kind: ephemeral needs 'expires'"):
        parse_skill(Path("/p/.cde/skills/x/SKILL.md"), text, name="x", scope="project")


def test_a_whole_float_version_is_read_as_that_version() -> None:
    text = "---\ndescription: d\nversion: 2.0\n---\nbody\n"
    assert parse_skill(Path("/p/x/SKILL.md"), text, name="x", scope="project").version == 2
