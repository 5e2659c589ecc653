"""Two server processes on one project share the skills index: a save indexed late never hides a newer change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.fs_skill_library import _LIVE, FsSkillLibrary
from domain.skills.model import Skill, SkillQuery

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def version(description: str, body: str) -> Callable[[Skill | None], Skill]:
    return lambda prev: Skill(
        name="x", description=description, body=body, scope="project", version=prev.version + 1 if prev else 1
    )


async def found(library: FsSkillLibrary, query: str) -> list[tuple[str, str]]:
    return [(h.name, h.description) for h in await library.search(SkillQuery(text=query), now=NOW)]


@pytest.mark.parametrize("change", ["update", "delete"])
async def test_a_late_index_write_never_replaces_another_processes_newer_change(tmp_path: Path, change: str) -> None:
    project, home, bundled = tmp_path / "p", tmp_path / "home", tmp_path / "bundled"
    project.mkdir()
    bundled.mkdir()
    # Separate libraries with their own index connections, not patching each other's snapshots: two processes.
    first, second = FsSkillLibrary(project, home, bundled=bundled), FsSkillLibrary(project, home, bundled=bundled)
    try:
        assert await found(first, "x") == [] and await found(second, "x") == []
        _LIVE.discard(second)
        await first.write("x", "project", version("old", "alphaword"), now=NOW)  # not indexed yet
        _LIVE.discard(first)
        _LIVE.add(second)
        if change == "update":
            await second.write("x", "project", version("new", "betaword"), now=NOW)
        else:
            await second.delete("x", "project", now=NOW)
        second.rescan()
        await found(second, "betaword")  # the second process indexes its change
        _LIVE.add(first)
        assert await found(first, "alphaword") == []  # the first one's late save is not written over it
        expected = [("x", "new")] if change == "update" else []
        assert await found(first, "betaword") == expected
        second.rescan()
        assert await found(second, "alphaword") == []
        assert await found(second, "betaword") == expected
    finally:
        _LIVE.add(first)
        _LIVE.add(second)
        first.close()
        second.close()


async def test_saves_are_indexed_in_batches_of_64_without_a_search(tmp_path: Path) -> None:
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    library = FsSkillLibrary(tmp_path / "p", tmp_path / "home", bundled=bundled)
    try:
        for i in range(64):
            name = f"s{i:02d}"
            change = lambda prev, n=name: Skill(name=n, description="d", body="b", scope="project", version=1)  # noqa: E731
            await library.write(name, "project", change, now=NOW)
            assert library.index.count()[0] == (64 if i == 63 else 0)
    finally:
        library.close()
