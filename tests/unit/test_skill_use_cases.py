from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import ConflictError, InvalidInputError, NotFoundError
from domain.skills.delete import DeleteSkill
from domain.skills.find import FindSkills
from domain.skills.get import GetSkill
from domain.skills.save import SaveSkill
from domain.skills.source import SourceSkill
from domain.skills.update import UpdateSkill
from tests.clock import FakeClock
from tests.unit.fake_skill_library import InMemorySkillLibrary

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Clock = FakeClock


@pytest.fixture
def clock() -> Clock:
    return FakeClock(START)


@pytest.fixture
def library() -> InMemorySkillLibrary:
    from domain.skills.model import Skill

    bundled = Skill(name="writing-specs", description="How to write a spec", body="Problem first.", scope="bundled")
    return InMemorySkillLibrary(bundled=[bundled])


async def save(library: InMemorySkillLibrary, clock: Clock, **kwargs: object) -> object:
    args: dict[str, object] = {"name": "retry-http", "description": "Retry HTTP calls", "content": "Use backoff."}
    args.update(kwargs)
    return await SaveSkill(library, clock, timedelta(hours=24))(**args)  # type: ignore[arg-type]


async def test_save_refuses_an_existing_name_in_the_same_library(library: InMemorySkillLibrary, clock: Clock) -> None:
    await save(library, clock)
    with pytest.raises(ConflictError, match="cde_updateSkill"):
        await save(library, clock)
    ref = await save(library, clock, scope="user")  # another library: allowed
    assert ref.scope == "user"  # type: ignore[attr-defined]


async def test_save_validates_before_touching_storage(library: InMemorySkillLibrary, clock: Clock) -> None:
    with pytest.raises(InvalidInputError):
        await save(library, clock, name="../escape")
    with pytest.raises(InvalidInputError, match="ephemeral skills only"):
        await save(library, clock, ttl_hours=1)
    with pytest.raises(InvalidInputError, match="ttl_hours must be"):
        await save(library, clock, kind="ephemeral", ttl_hours=10**9)
    assert [k for k in library.skills if k[0] != "bundled"] == []


async def test_ephemeral_skill_expires_and_its_name_can_be_reused(library: InMemorySkillLibrary, clock: Clock) -> None:
    ref = await save(library, clock, kind="ephemeral", ttl_hours=1)
    assert ref.expires == START + timedelta(hours=1)  # type: ignore[attr-defined]
    get = GetSkill(library, clock)
    assert (await get("retry-http")).version == 1
    clock.now += timedelta(hours=1)
    with pytest.raises(NotFoundError):
        await get("retry-http")
    await save(library, clock, description="again")
    assert (await get("retry-http")).version == 1


async def test_update_keeps_history_and_the_note(library: InMemorySkillLibrary, clock: Clock) -> None:
    await save(library, clock)
    clock.now += timedelta(minutes=5)
    ref = await UpdateSkill(library, clock)("retry-http", note="add jitter", content="Use backoff with jitter.")
    assert (ref.scope, ref.version) == ("project", 2)
    current = library.skills[("project", "retry-http")]
    assert (current.body, current.note, current.updated) == ("Use backoff with jitter.", "add jitter", clock.now)
    assert current.description == "Retry HTTP calls"
    assert library.history[("project", "retry-http")][1].body == "Use backoff."
    old = await GetSkill(library, clock)("retry-http", version=1)
    assert (old.version, old.content, old.history) == (1, "Use backoff.", [1])


async def test_update_needs_a_change_and_an_existing_skill(library: InMemorySkillLibrary, clock: Clock) -> None:
    update = UpdateSkill(library, clock)
    with pytest.raises(InvalidInputError, match="nothing to update"):
        await update("retry-http", note="n")
    with pytest.raises(NotFoundError):
        await update("retry-http", note="n", content="x")
    await save(library, clock)
    with pytest.raises(NotFoundError, match="not in the user library"):
        await update("retry-http", note="n", content="x", scope="user")


async def test_updating_a_bundled_skill_creates_a_project_copy(library: InMemorySkillLibrary, clock: Clock) -> None:
    ref = await UpdateSkill(library, clock)("writing-specs", note="our template", tags=["spec"])
    assert (ref.scope, ref.version) == ("project", 2)
    copy = library.skills[("project", "writing-specs")]
    assert (copy.body, copy.tags) == ("Problem first.", ["spec"])
    assert library.skills[("bundled", "writing-specs")].tags == []  # the starter stays as shipped
    assert library.history[("project", "writing-specs")][1].body == "Problem first."  # kept as version 1
    seen = await GetSkill(library, clock)("writing-specs")
    assert (seen.scope, seen.shadows) == ("project", ["bundled"])


async def test_delete_removes_only_that_library(library: InMemorySkillLibrary, clock: Clock) -> None:
    await save(library, clock)
    await save(library, clock, scope="user", description="user copy")
    await DeleteSkill(library, clock)("retry-http", "project")
    assert (await GetSkill(library, clock)("retry-http")).scope == "user"
    with pytest.raises(NotFoundError):
        await DeleteSkill(library, clock)("retry-http", "project")


async def test_find_passes_filters_and_hides_scores_of_a_listing(library: InMemorySkillLibrary, clock: Clock) -> None:
    await save(library, clock, tags=["HTTP"], domain="net")
    found = await FindSkills(library, clock)("", tags=["http"], domain="net")
    assert [s.name for s in found.skills] == ["retry-http"]
    assert (await FindSkills(library, clock)("", kind="ephemeral")).skills == []


async def test_source_explains_matches_and_hints_when_nothing_fits(library: InMemorySkillLibrary, clock: Clock) -> None:
    await save(library, clock, tags=["http"])
    sourcing = await SourceSkill(library, clock)("Please retry the flaky http calls")
    assert [m.name for m in sourcing.matches] == ["retry-http"]
    assert "tags: http" in sourcing.matches[0].why and "project" in sourcing.matches[0].why
    assert sourcing.hint is None
    empty = await SourceSkill(library, clock)("compile kernels")
    assert empty.matches == [] and empty.hint and "cde_saveSkill" in empty.hint
    with pytest.raises(InvalidInputError, match="no searchable words"):
        await SourceSkill(library, clock)("the of and")
