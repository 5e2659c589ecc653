from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from adapters import fts_index
from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap
from tests.clock import FakeClock
from tests.conftest import call_error, call_ok, tool_text
from tests.stdio_server import stdio_client


def skill_args(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"How to {name.replace('-', ' ')}",
        "content": f"Recipe for {name}: qqmark.",
        **extra,
    }


def names(listing: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["scope"]) for s in listing["skills"]]


async def test_round_trip_in_project_and_user_libraries(app: App, project: Path, settings: Settings) -> None:
    async with Client(app.server) as client:
        saved = await call_ok(client, "cde_saveSkill", skill_args("run-tests", tags=["Pytest", "ci"], domain="Testing"))
        user = await call_ok(client, "cde_saveSkill", skill_args("git-bisect", scope="user"))
        got = await call_ok(client, "cde_getSkill", {"name": "run-tests"})
        got_user = await call_ok(client, "cde_getSkill", {"name": "git-bisect"})
        listed = await call_ok(client, "cde_findSkills", {"query": "qqmark", "limit": 5})
    assert saved == {"name": "run-tests", "scope": "project", "version": 1, "path": ".cde/skills/run-tests/SKILL.md"}
    assert user["path"] == str(settings.home / "skills" / "git-bisect" / "SKILL.md")
    on_disk = (project / ".cde/skills/run-tests/SKILL.md").read_text()
    assert got["content"] == on_disk
    assert on_disk.startswith("---\nname: run-tests\ndescription: How to run tests\ndomain: testing\n")
    assert "tags:\n- pytest\n- ci\nversion: 1\nkind: base\n" in on_disk and on_disk.endswith(
        "Recipe for run-tests: qqmark.\n"
    )
    assert (got["scope"], got["history"], got["files"]) == ("project", [], [])
    assert got_user["scope"] == "user" and "Recipe for git-bisect: qqmark." in got_user["content"]
    assert set(names(listed)) == {("run-tests", "project"), ("git-bisect", "user")}


async def test_bundled_starter_skills_are_listed_read_and_never_written(app: App) -> None:
    async with Client(app.server) as client:
        listed = await call_ok(client, "cde_findSkills", {"limit": 100})
        got = await call_ok(client, "cde_getSkill", {"name": "writing-skills"})
        refused = await call_error(client, "cde_saveSkill", skill_args("x", scope="bundled"))
        not_deletable = await call_error(client, "cde_deleteSkill", {"name": "writing-skills", "scope": "bundled"})
    bundled = [n for n, scope in names(listed) if scope == "bundled"]
    assert len(bundled) >= 5 and "test-first-bugfix" in bundled
    assert bundled == sorted(bundled)  # an empty query lists by name
    assert got["scope"] == "bundled" and "cde_saveSkill" in got["content"]
    assert "scope" in refused and "scope" in not_deletable


async def test_precedence_project_over_user_over_bundled(app: App) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("deploy", scope="user", content="user way"))
        await call_ok(client, "cde_saveSkill", skill_args("deploy", content="project way"))
        await call_ok(client, "cde_saveSkill", skill_args("writing-skills", scope="user", content="my own rules"))
        effective = await call_ok(client, "cde_getSkill", {"name": "deploy"})
        user_copy = await call_ok(client, "cde_getSkill", {"name": "deploy", "scope": "user"})
        found = await call_ok(client, "cde_findSkills", {"query": "deploy"})
        by_user_word = await call_ok(client, "cde_findSkills", {"query": "user"})
        overridden = await call_ok(client, "cde_getSkill", {"name": "writing-skills"})
        listing = await call_ok(client, "cde_findSkills", {"limit": 100})
        await call_ok(client, "cde_deleteSkill", {"name": "deploy", "scope": "project"})
        after_delete = await call_ok(client, "cde_getSkill", {"name": "deploy"})
    assert "project way" in effective["content"] and effective["shadows"] == ["user"]
    assert "user way" in user_copy["content"] and "shadows" not in user_copy
    assert names(found) == [("deploy", "project")]
    assert ("deploy", "user") not in names(by_user_word)  # a shadowed skill never answers a search
    assert overridden["scope"] == "user" and overridden["shadows"] == ["bundled"]
    assert ("writing-skills", "user") in names(listing) and ("writing-skills", "bundled") not in names(listing)
    assert "user way" in after_delete["content"]


async def test_update_keeps_previous_versions_verbatim(app: App, project: Path) -> None:
    skill_file = project / ".cde/skills/run-tests/SKILL.md"
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("run-tests"))
        v1 = skill_file.read_text()
        first = await call_ok(
            client, "cde_updateSkill", {"name": "run-tests", "note": "use -x", "content": "zzpytest -x"}
        )
        v2 = skill_file.read_text()
        second = await call_ok(client, "cde_updateSkill", {"name": "run-tests", "note": "tag it", "tags": ["ci"]})
        current = await call_ok(client, "cde_getSkill", {"name": "run-tests"})
        old = await call_ok(client, "cde_getSkill", {"name": "run-tests", "version": 1})
        missing = await call_error(client, "cde_getSkill", {"name": "run-tests", "version": 7})
        found = await call_ok(client, "cde_findSkills", {"query": "zzpytest"})
    assert (first["version"], second["version"]) == (2, 3)
    assert (project / ".cde/skills/run-tests/history/v1.md").read_text() == v1
    assert (project / ".cde/skills/run-tests/history/v2.md").read_text() == v2
    assert current["history"] == [1, 2] and current["version"] == 3
    assert "note: tag it" in current["content"] and "zzpytest -x" in current["content"] and "- ci" in current["content"]
    assert old["content"] == v1 and old["version"] == 1
    assert missing.startswith("not_found:") and "versions: 1, 2, 3" in missing
    assert [s["version"] for s in found["skills"]] == [3]


async def test_updating_a_bundled_skill_makes_a_project_copy(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        ref = await call_ok(
            client, "cde_updateSkill", {"name": "reviewing-a-change", "note": "team rules", "content": "Two approvals."}
        )
        bundled = await call_ok(client, "cde_getSkill", {"name": "reviewing-a-change", "scope": "bundled"})
        current = await call_ok(client, "cde_getSkill", {"name": "reviewing-a-change"})
        first = await call_ok(client, "cde_getSkill", {"name": "reviewing-a-change", "version": 1})
    assert ref["scope"] == "project" and ref["version"] == 2
    copy = (project / ".cde/skills/reviewing-a-change/SKILL.md").read_text()
    assert "Two approvals." in copy and "note: team rules" in copy and "domain: review" in copy
    assert "Two approvals." not in bundled["content"]
    assert current["history"] == [1]  # the bundled text is the copy's version 1, kept in its history
    assert first["version"] == 1 and first["scope"] == "project"
    assert first["content"] == bundled["content"]  # verbatim: its front matter as shipped too


async def test_updating_a_skill_in_a_library_without_it_is_not_found_and_writes_nothing(
    app: App, project: Path, settings: Settings
) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("project-only"))
        absent = await call_error(
            client, "cde_updateSkill", {"name": "project-only", "note": "n", "content": "c", "scope": "user"}
        )
        bundled = await call_error(
            client, "cde_updateSkill", {"name": "writing-skills", "note": "n", "content": "c", "scope": "user"}
        )
        nowhere = await call_error(
            client, "cde_updateSkill", {"name": "nowhere", "note": "n", "content": "c", "scope": "project"}
        )
    assert absent.startswith("not_found: skill 'project-only' is not in the user library")
    assert bundled.startswith("not_found: skill 'writing-skills' is not in the user library")
    assert nowhere.startswith("not_found: skill 'nowhere' is not in the project library")
    assert not (settings.home / "skills").exists() or list((settings.home / "skills").iterdir()) == []
    assert [p.name for p in (project / ".cde/skills").iterdir()] == ["project-only"]


async def test_ephemeral_skills_expire_on_access_and_by_sweep(app: App, project: Path, settings: Settings) -> None:
    clock = FakeClock()
    app.container.clock = clock
    async with Client(app.server) as client:
        ref = await call_ok(client, "cde_saveSkill", skill_args("handoff", kind="ephemeral", ttl_hours=2))
        default_ttl = await call_ok(client, "cde_saveSkill", skill_args("scratch", kind="ephemeral", scope="user"))
        await call_ok(client, "cde_saveSkill", skill_args("keeper"))
        before = await call_ok(client, "cde_findSkills", {"kind": "ephemeral"})
        clock.now += timedelta(hours=2)
        after = await call_ok(client, "cde_findSkills", {"query": "qqmark"})
        gone = await call_error(client, "cde_getSkill", {"name": "handoff"})
        removed_on_access = not (project / ".cde/skills/handoff").exists()
        reused = await call_ok(client, "cde_saveSkill", skill_args("handoff"))
    assert ref["expires"] == "2025-06-01T11:00:00Z"
    assert default_ttl["expires"] == "2025-06-02T09:00:00Z"  # CDE_SKILL_TTL_HOURS, 24 by default
    assert set(names(before)) == {("handoff", "project"), ("scratch", "user")}
    assert set(names(after)) == {("keeper", "project"), ("scratch", "user")}
    assert removed_on_access  # deleted by the accesses after expiry, then saved anew below
    assert gone.startswith("not_found:")
    assert reused["version"] == 1  # the expired name is free again
    assert not (project / ".cde/skills/handoff/history").exists()
    assert (settings.home / "skills/scratch").is_dir()


async def test_sweep_removes_expired_skills_nobody_reads(app: App, settings: Settings) -> None:
    clock = FakeClock()
    app.container.clock = clock
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("temp-note", kind="ephemeral", ttl_hours=1, scope="user"))
        await call_ok(client, "cde_saveSkill", skill_args("fresh-note", kind="ephemeral", ttl_hours=5))
    skill_dir = settings.home / "skills" / "temp-note"
    assert skill_dir.is_dir()
    assert await app.container.sweep_expired_skills() == 0
    clock.now += timedelta(hours=1, seconds=1)
    assert await app.container.sweep_expired_skills() == 1
    assert not skill_dir.exists()
    assert (settings.project_root / ".cde/skills/fresh-note/SKILL.md").exists()


@pytest.mark.parametrize(
    "bad", ["../x", "../../etc", "/tmp/abs", "a/b", "", "x" * 65, "con", "aux.md", "Caps", ".hidden", "a..b"]
)
async def test_unsafe_names_are_refused_by_every_tool(app: App, tmp_path: Path, bad: str) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    async with Client(app.server) as client:
        errors = [
            await call_error(client, "cde_saveSkill", skill_args("x") | {"name": bad}),
            await call_error(client, "cde_getSkill", {"name": bad}),
            await call_error(client, "cde_updateSkill", {"name": bad, "note": "n", "content": "c"}),
            await call_error(client, "cde_deleteSkill", {"name": bad, "scope": "project"}),
        ]
    for message in errors:
        assert message.startswith("invalid_input:") or "invalid arguments" in message, message
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing touched the disk


async def test_fifty_concurrent_saves_are_all_searchable(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        results = await asyncio.gather(
            *(
                client.call_tool("cde_saveSkill", skill_args(f"skill-{i:02d}", content=f"unique{i:02d}word"))
                for i in range(50)
            )
        )
        assert not any(r.is_error for r in results)
        listed = await call_ok(client, "cde_findSkills", {"query": "qqmark OR unique*", "limit": 100})
        one = await call_ok(client, "cde_findSkills", {"query": "unique37word"})
    found = {n for n, scope in names(listed) if scope == "project"}
    assert found == {f"skill-{i:02d}" for i in range(50)}
    assert names(one) == [("skill-37", "project")]
    assert len(list((project / ".cde/skills").iterdir())) == 50


async def test_filters_by_tags_domain_and_kind(app: App) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("a-one", tags=["py", "ci"], domain="build"))
        await call_ok(client, "cde_saveSkill", skill_args("a-two", tags=["py"], domain="deploy"))
        await call_ok(client, "cde_saveSkill", skill_args("a-three", tags=["py", "ci"], kind="ephemeral"))
        both_tags = await call_ok(client, "cde_findSkills", {"tags": ["py", "ci"]})
        by_domain = await call_ok(client, "cde_findSkills", {"query": "qqmark", "domain": "deploy"})
        base_only = await call_ok(client, "cde_findSkills", {"tags": ["py"], "kind": "base"})
        limited = await call_ok(client, "cde_findSkills", {"tags": ["py"], "limit": 1})
        bad_limit = await call_error(client, "cde_findSkills", {"limit": 1000})
        bad_query = await call_error(client, "cde_findSkills", {"query": '"unbalanced'})
    assert names(both_tags) == [("a-one", "project"), ("a-three", "project")]
    assert names(by_domain) == [("a-two", "project")]
    assert names(base_only) == [("a-one", "project"), ("a-two", "project")]
    assert len(limited["skills"]) == 1
    assert "limit" in bad_limit
    assert bad_query.startswith("invalid_input:") and "quote" in bad_query


async def test_source_skill_explains_each_match(app: App) -> None:
    async with Client(app.server) as client:
        await call_ok(
            client,
            "cde_saveSkill",
            {
                "name": "flaky-http",
                "description": "Retry flaky HTTP calls",
                "content": "Use backoff.",
                "tags": ["http"],
            },
        )
        sourcing = await call_ok(client, "cde_sourceSkill", {"need": "Our HTTP client fails; add retries with backoff"})
        nothing = await call_ok(client, "cde_sourceSkill", {"need": "quantum chromodynamics"})
    best = sourcing["matches"][0]
    assert best["name"] == "flaky-http" and best["scope"] == "project"
    assert "name: http" in best["why"] and "tags: http" in best["why"] and "content: backoff" in best["why"]
    assert nothing["matches"] == [] and "cde_saveSkill" in nothing["hint"]


async def test_source_skill_scores_say_how_well_each_skill_fits(app: App) -> None:
    """Among the bundled skills, whose bodies share common words (raw BM25 ~0 for them)."""
    async with Client(app.server) as client:
        sourcing = await call_ok(client, "cde_sourceSkill", {"need": "write a spec", "limit": 3})
    scores = [(m["name"], m["score"]) for m in sourcing["matches"]]
    assert scores[0] == ("writing-a-feature-spec", 1.0)  # both words in its name
    assert all(0 < score < 1.0 for _, score in scores[1:])
    assert [s for _, s in scores] == sorted((s for _, s in scores), reverse=True)


async def test_among_skills_that_fit_alike_the_one_named_for_the_need_comes_first(app: App) -> None:
    """Both fit "review my pull request" at 0.33: the spec guide mentions "review" and "request" in its text,
    reviewing-a-change says "review" in its name - and came second, on BM25."""
    async with Client(app.server) as client:
        sourcing = await call_ok(client, "cde_sourceSkill", {"need": "review my pull request"})
    first, second = sourcing["matches"][:2]
    assert first["name"] == "reviewing-a-change" and first["score"] == second["score"]


async def test_source_skill_puts_skills_tagged_with_the_needs_topics_first(app: App) -> None:
    """The skill topics cde_selectWorkflow suggests matched no skill: they now are bundled skills' tags,
    and a skill tagged with one of the need's topics wins among skills that fit alike."""
    async with Client(app.server) as client:
        for name, tags in (("parser-notes", []), ("parser-tips", ["debugging"])):
            args = {"name": name, "description": "The config parser", "content": "zzparser", "tags": tags}
            await call_ok(client, "cde_saveSkill", args)
        bug = await call_ok(client, "cde_sourceSkill", {"need": "Fix the bug in the zzparser", "limit": 5})
        feature = await call_ok(client, "cde_sourceSkill", {"need": "Add a --json flag to the report command"})
        outage = await call_ok(client, "cde_sourceSkill", {"need": "Production is down: login returns 500"})
        vague = await call_ok(client, "cde_sourceSkill", {"need": "spec of the zzparser"})
        tagged = await call_ok(client, "cde_findSkills", {"tags": ["feature-development"]})
    found = {m["name"]: m for m in bug["matches"]}
    assert bug["matches"][0]["name"] == "test-first-bugfix"  # "fix" and "bug" in its name and tags
    first, second = found["parser-tips"], found["parser-notes"]
    assert bug["matches"].index(first) < bug["matches"].index(second)
    assert round(first["score"] - second["score"], 2) == 0.1 and "· topic debugging ·" in first["why"]
    assert feature["matches"][0]["name"] == "writing-a-feature-spec"
    # Only what the need's words find is re-ranked: no skill for its topic (incident-response) alone.
    assert outage["matches"] == []
    # No cue: `standard` is a default, not a topic the request gave: its topic lifts nothing.
    assert "writing-a-feature-spec" in {m["name"] for m in vague["matches"]}
    assert all("topic" not in m["why"] for m in vague["matches"])
    assert {s["name"] for s in tagged["skills"]} == {
        "writing-a-feature-spec",
        "decomposing-work-into-tasks",
        "reviewing-a-change",
    }


async def test_source_skill_counts_language_names_with_symbols(app: App) -> None:
    """`c++` and `c#` are kept whole as need words, while the index reads them as `c`."""
    async with Client(app.server) as client:
        await call_ok(
            client,
            "cde_saveSkill",
            {"name": "cpp-build", "description": "Build C++ projects with CMake", "content": "x", "tags": ["c++"]},
        )
        await call_ok(
            client, "cde_saveSkill", {"name": "build-docs", "description": "Build the docs site", "content": "y"}
        )
        sourcing = await call_ok(client, "cde_sourceSkill", {"need": "build c++"})
    scores = {m["name"]: m["score"] for m in sourcing["matches"]}
    assert scores["cpp-build"] > scores["build-docs"]


async def test_hand_edits_and_new_files_are_picked_up(app: App, project: Path) -> None:
    manual = project / ".cde/skills/manual-skill"
    manual.mkdir(parents=True)
    (manual / "SKILL.md").write_text("---\ndescription: Written by hand\n---\nzebra crossing\n")
    (manual / "diagram.png").write_bytes(b"png")
    async with Client(app.server) as client:
        found = await call_ok(client, "cde_findSkills", {"query": "zebra"})
        got = await call_ok(client, "cde_getSkill", {"name": "manual-skill"})
        (manual / "SKILL.md").write_text("---\ndescription: Written by hand\n---\ngiraffe herd\n")  # in place
        library = await app.container.skill_library(project)
        library.rescan()  # what the short rescan TTL does in production
        refound = await call_ok(client, "cde_findSkills", {"query": "giraffe"})
        stale = await call_ok(client, "cde_findSkills", {"query": "zebra"})
    assert names(found) == [("manual-skill", "project")]
    assert got["files"] == ["diagram.png"] and got["version"] == 1
    assert names(refound) == [("manual-skill", "project")] and stale["skills"] == []


async def test_corrupt_skill_is_reported_not_fatal(app: App, project: Path) -> None:
    broken = project / ".cde/skills/broken"
    broken.mkdir(parents=True)
    (broken / "SKILL.md").write_text("---\nname: broken\ntags: [unclosed\n---\nbody\n")
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("healthy"))
        listed = await call_ok(client, "cde_findSkills", {"query": "qqmark"})
        error = await call_error(client, "cde_getSkill", {"name": "broken"})
        update = await call_error(client, "cde_updateSkill", {"name": "broken", "note": "n", "content": "c"})
        deleted = await call_ok(client, "cde_deleteSkill", {"name": "broken", "scope": "project"})
    assert names(listed) == [("healthy", "project")]
    assert error.startswith("corrupt_data:") and "SKILL.md" in error and "invalid YAML" in error
    assert update.startswith("corrupt_data:")
    assert deleted["name"] == "broken" and not broken.exists()
    assert deleted["deleted"] == ".cde/skills/broken" and "path" not in deleted  # not an answer like a save's


async def test_a_description_that_is_not_text_is_named_as_such(app: App, project: Path) -> None:
    odd = project / ".cde/skills/odd"
    odd.mkdir(parents=True)
    (odd / "SKILL.md").write_text("---\nname: odd\ndescription: 5\n---\nbody\n")
    async with Client(app.server) as client:
        error = await call_error(client, "cde_getSkill", {"name": "odd"})
    assert error.startswith("corrupt_data:") and "description: 5 is not text" in error


async def test_the_search_cache_ignores_itself_in_git(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_findSkills", {"query": "anything"})
    assert (project / ".cde/cache/.gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (PermissionError(13, "Permission denied"), "permission_denied: cannot write the search index"),
        (OSError(30, "Read-only file system"), "permission_denied: cannot write the search index"),
        (OSError(36, "File name too long"), "invalid_input: "),
    ],
)
async def test_an_index_that_cannot_be_created_is_a_one_line_error(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch, exc: OSError, fragment: str
) -> None:
    def refuse(cache_dir: Path) -> None:
        raise exc

    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("alpha-skill"))
        monkeypatch.setattr(fts_index, "_ignore_cache_dir", refuse)
        message = await call_error(client, "cde_findSkills", {"query": "qqmark"})
        got = await call_ok(client, "cde_getSkill", {"name": "alpha-skill"})  # reading a skill needs no index
    assert message.startswith(fragment) and "internal error" not in message and "\n" not in message
    assert got["name"] == "alpha-skill"


async def test_a_deleted_skill_the_index_could_not_drop_is_not_found_again(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("alpha-skill"))
        await call_ok(client, "cde_saveSkill", skill_args("beta-skill"))
        assert len((await call_ok(client, "cde_findSkills", {"query": "qqmark"}))["skills"]) == 2
        library = await app.container.skill_library(project)
        real_remove = library.index.remove

        def locked(sources: list[str]) -> None:
            raise sqlite3.OperationalError("database is locked")

        library.index.remove = locked  # type: ignore[method-assign]
        await call_ok(client, "cde_deleteSkill", {"name": "alpha-skill", "scope": "project"})
        library.index.remove = real_remove  # type: ignore[method-assign]
        found = await call_ok(client, "cde_findSkills", {"query": "qqmark"})
    assert names(found) == [("beta-skill", "project")]


async def test_a_project_path_too_long_for_sqlite_says_so(settings: Settings, tmp_path: Path) -> None:
    deep = tmp_path
    while len(os.fsencode(deep)) < 560:
        deep = deep / ("d" * 60)
    deep.mkdir(parents=True)
    app = bootstrap(settings.model_copy(update={"project_root": deep, "allowed_roots": (tmp_path,)}))
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("alpha-skill"))
        message = await call_error(client, "cde_findSkills", {"query": "qqmark"})
    assert message.startswith("unavailable: the search index") and "longer than SQLite opens" in message


async def test_a_deleted_index_is_rebuilt_from_the_files(settings: Settings, project: Path) -> None:
    first = bootstrap(settings)
    async with Client(first.server) as client:
        for name in ("alpha-skill", "beta-skill"):
            await call_ok(client, "cde_saveSkill", skill_args(name))
    for path in (project / ".cde/cache").glob("skills.db*"):
        path.unlink()
    second = bootstrap(settings)
    async with Client(second.server) as client:
        listed = await call_ok(client, "cde_findSkills", {"query": "qqmark"})
    assert set(names(listed)) == {("alpha-skill", "project"), ("beta-skill", "project")}


async def test_writes_through_a_symlinked_skill_directory_are_refused(app: App, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".cde/skills").mkdir(parents=True)
    os.symlink(outside, project / ".cde/skills/linked")
    async with Client(app.server) as client:
        error = await call_error(client, "cde_saveSkill", skill_args("linked"))
    assert error.startswith("permission_denied:") and "symlink" in error
    assert list(outside.iterdir()) == []


async def test_history_is_never_written_through_a_symlink(app: App, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("hist-link"))
        os.symlink(outside, project / ".cde/skills/hist-link/history")
        before = (project / ".cde/skills/hist-link/SKILL.md").read_bytes()
        error = await call_error(client, "cde_updateSkill", {"name": "hist-link", "note": "n", "content": "new"})
    assert error.startswith("permission_denied:") and "symlink" in error
    assert list(outside.iterdir()) == []
    assert (project / ".cde/skills/hist-link/SKILL.md").read_bytes() == before


async def test_an_expired_skill_behind_a_symlink_is_hidden_but_nothing_is_done_through_the_link(
    app: App, project: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    app.container.clock = clock
    outside = tmp_path / "outside"
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("linked-temp", kind="ephemeral", ttl_hours=1))
        os.replace(project / ".cde/skills/linked-temp", outside)
        os.symlink(outside, project / ".cde/skills/linked-temp")
        clock.now += timedelta(hours=2)
        refused = await call_error(client, "cde_getSkill", {"name": "linked-temp"})
    assert refused.startswith("permission_denied:") and "is a symlink" in refused
    assert sorted(p.name for p in outside.iterdir()) == ["SKILL.md"]  # no lock file written there
    assert sorted(p.name for p in (project / ".cde/skills").iterdir() if p.name.startswith(".trash")) == []
    assert (project / ".cde/skills/linked-temp").is_symlink()


async def test_skills_are_mcp_resources(app: App) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("res-skill"))
        resources = await client.list_resources()
        templates = await client.list_resource_templates()
        text = await client.read_resource("skill://project/res-skill")
        errors = []
        uris_tried = (
            "skill://user/res-skill",
            "skill://elsewhere/res-skill",
            "skill://bundled",
            "x://" + "y" * 5000,
            "skill://" + "s" * 20_000 + "/x",
            "cde://tools/" + "t" * 5000,
        )
        for uri in uris_tried:
            with pytest.raises(MCPError) as info:
                await client.read_resource(uri)
            errors.append(info.value.error)
    # The request is at fault each time: invalid params, one short line, the URI not echoed whole.
    assert [e.code for e in errors] == [INVALID_PARAMS] * 6 and all(e.data is None for e in errors)
    assert all(len(e.message) < 400 for e in errors), [len(e.message) for e in errors]
    assert errors[0].message.startswith("not_found:")
    assert errors[1].message.startswith("invalid_input: scope must be one of")
    assert "resources/templates/list" in errors[2].message
    assert len(errors[3].message) < 400 and "(5004 characters)" in errors[3].message
    uris = {str(r.uri) for r in resources.resources}
    assert "skill://project/res-skill" in uris and "skill://bundled/writing-skills" in uris
    assert any(t.uri_template == "skill://{scope}/{name}" for t in templates.resource_templates)
    content = text.contents[0]
    assert content.mime_type == "text/markdown" and "Recipe for res-skill: qqmark." in content.text  # type: ignore[union-attr]


async def test_skill_resources_answer_as_the_first_request(settings: Settings) -> None:
    """Tools and resources are registered on first use: a resource read may come before any tools/list."""
    async with Client(bootstrap(settings).server) as client:
        text = await client.read_resource("skill://bundled/writing-skills")
    async with Client(bootstrap(settings).server) as client:
        listed = await client.list_resources()
    assert "name: writing-skills" in text.contents[0].text  # type: ignore[union-attr]
    assert "skill://bundled/writing-skills" in {str(r.uri) for r in listed.resources}


async def test_concurrent_updates_of_one_skill_lose_nothing(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("busy"))
        results = await asyncio.gather(
            *(
                client.call_tool("cde_updateSkill", {"name": "busy", "note": f"edit {i}", "content": f"edit {i}"})
                for i in range(10)
            )
        )
        current = await call_ok(client, "cde_getSkill", {"name": "busy"})
    assert sorted(r.structured_content["version"] for r in results if r.structured_content) == list(range(2, 12))
    assert current["version"] == 11 and current["history"] == list(range(1, 11))
    bodies = {(project / f".cde/skills/busy/history/v{v}.md").read_text().split("---\n\n")[-1] for v in range(2, 11)}
    assert len(bodies) == 9  # every intermediate version kept, none overwritten


async def test_background_sweep_runs_while_the_server_runs(settings: Settings) -> None:
    app = bootstrap(settings.model_copy(update={"skill_sweep_interval": 0.05}))
    clock = FakeClock()
    app.container.clock = clock
    skill_dir = settings.home / "skills" / "short-lived"
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("short-lived", kind="ephemeral", ttl_hours=1, scope="user"))
        clock.now += timedelta(hours=2)
        for _ in range(200):  # no client call touches the skill: only the sweeper can remove it
            if not skill_dir.exists():
                break
            await asyncio.sleep(0.025)
    assert not skill_dir.exists()


async def test_user_skills_saved_from_one_project_are_found_from_another(app: App, tmp_path: Path) -> None:
    other = tmp_path / "other-project"
    other.mkdir()
    async with Client(app.server) as client:
        before = await call_ok(client, "cde_findSkills", {"query": "qqmark", "project_path": str(other)})
        await call_ok(client, "cde_saveSkill", skill_args("shared-know-how", scope="user"))
        after = await call_ok(client, "cde_findSkills", {"query": "qqmark", "project_path": str(other)})
        await call_ok(client, "cde_deleteSkill", {"name": "shared-know-how", "scope": "user"})
        gone = await call_ok(client, "cde_findSkills", {"query": "qqmark", "project_path": str(other)})
    assert before["skills"] == [] and gone["skills"] == []
    assert names(after) == [("shared-know-how", "user")]


@pytest.mark.slow
async def test_two_server_processes_share_one_library_without_losses(
    tmp_path: Path, project: Path, settings: Settings
) -> None:
    """Creates race on a link, updates on the skill's lock, and both processes index into one skills.db."""

    async def one(label: str) -> str:
        async with stdio_client(
            home=settings.home, project_root=project, allowed_root=tmp_path, cwd=tmp_path
        ) as client:
            contested = {"name": "contested", "description": label, "content": "x"}
            results = await asyncio.gather(
                client.call_tool("cde_saveSkill", contested),
                *(client.call_tool("cde_saveSkill", skill_args(f"{label}-{i}", content="zzshared")) for i in range(10)),
            )
            assert not any(r.is_error for r in results[1:])
            for i in range(5):
                await call_ok(client, "cde_updateSkill", {"name": "contested", "note": f"{label}{i}", "content": label})
            return "won" if not results[0].is_error else tool_text(results[0])

    outcomes = sorted(await asyncio.gather(one("a"), one("b")))
    async with Client(bootstrap(settings).server) as client:
        listed = await call_ok(client, "cde_findSkills", {"query": "zzshared", "limit": 100})
        contested = await call_ok(client, "cde_getSkill", {"name": "contested"})
    assert outcomes[1] == "won" and outcomes[0].startswith("conflict: skill 'contested' already exists")
    assert {n for n, _ in names(listed)} == {f"{x}-{i}" for x in "ab" for i in range(10)}
    assert contested["version"] == 11 and contested["history"] == list(range(1, 11))


async def test_saves_not_yet_indexed_are_searchable_and_deletes_drop_them(app: App, settings: Settings) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("keep-me", content="zzpendingword"))
        await call_ok(client, "cde_saveSkill", skill_args("drop-me", content="zzpendingword"))
        await call_ok(client, "cde_updateSkill", {"name": "keep-me", "content": "zzupdatedword", "note": "v2"})
        await call_ok(client, "cde_deleteSkill", {"name": "drop-me", "scope": "project"})
        old = await call_ok(client, "cde_findSkills", {"query": "zzpendingword"})
        new = await call_ok(client, "cde_findSkills", {"query": "zzupdatedword"})
    assert names(old) == [] and names(new) == [("keep-me", "project")]
    # Another server process on the same project (a fresh index) finds the same from the files.
    other = bootstrap(settings)
    async with Client(other.server) as client:
        again = await call_ok(client, "cde_findSkills", {"query": "zzupdatedword"})
    assert names(again) == [("keep-me", "project")]


async def test_a_delete_killed_midway_leaves_nothing_behind(app: App, project: Path, settings: Settings) -> None:
    """A delete renames the skill's folder to `.trash-…` and then removes it: a kill in between left a full
    copy of the deleted skill in `.cde/skills/` for good (and in git). The next scan of the library removes it."""
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("kept-skill"))
        leftovers = [
            project / ".cde/skills/.trash-secret-skill-04b26a2b",
            settings.home / "skills/.trash-other-1234abcd",
        ]
        for trash in leftovers:
            (trash / "nested").mkdir(parents=True)
            (trash / "SKILL.md").write_text("---\nname: secret-skill\ndescription: gone\n---\nqwertzuiop\n")
        found = await call_ok(client, "cde_findSkills", {"query": "qwertzuiop"})
        listing = await call_ok(client, "cde_findSkills", {"limit": 100})
        missing = await call_error(client, "cde_deleteSkill", {"name": "never-saved", "scope": "project"})
    assert found["skills"] == [] and ("kept-skill", "project") in names(listing)
    assert [p for p in leftovers if p.exists()] == []
    assert missing == "not_found: no skill named 'never-saved' in the project library; list them with cde_findSkills"


async def test_skills_are_never_read_through_a_symlink(
    app: App, project: Path, settings: Settings, tmp_path: Path
) -> None:
    """A repository can ship `.cde/skills/x -> <anywhere>` or a SKILL.md linked to any file: read through,
    its text and the folder's listing came back as a skill (get, search, resources, update's history)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "SKILL.md").write_text("---\nname: evil\ndescription: zqxjkv secret\n---\nzqxjkv body\n")
    (outside / "secret.txt").write_text("zqxjkv\n")
    (project / ".cde/skills/leak").mkdir(parents=True)
    os.symlink(outside, project / ".cde/skills/evil")
    os.symlink(outside / "SKILL.md", project / ".cde/skills/leak/SKILL.md")
    (settings.home / "skills").mkdir(parents=True)
    os.symlink(outside, settings.home / "skills/uevil")
    async with Client(app.server) as client:
        found = await call_ok(client, "cde_findSkills", {"query": "zqxjkv"})
        sourced = await call_ok(client, "cde_sourceSkill", {"need": "zqxjkv secret"})
        refusals = [await call_error(client, "cde_getSkill", {"name": name}) for name in ("evil", "leak", "uevil")]
        updated = await call_error(client, "cde_updateSkill", {"name": "leak", "content": "new", "note": "x"})
        # With a scope the update skipped the read that refuses links, and copied the target into the history.
        scoped = {"name": "leak", "content": "new", "note": "x", "scope": "project"}
        updated_in_scope = await call_error(client, "cde_updateSkill", scoped)
        saved = await call_error(client, "cde_saveSkill", skill_args("leak"))
        with pytest.raises(MCPError) as resource:
            await client.read_resource("skill://project/evil")
    assert found["skills"] == [] and "zqxjkv" not in str(sourced["matches"])
    assert all(r.startswith("permission_denied:") and "is a symlink" in r for r in refusals), refusals
    assert "zqxjkv" not in updated and not (project / ".cde/skills/leak/history").exists()
    for refused in (updated_in_scope, saved):  # not a conflict naming the linked file's version
        assert refused.startswith("permission_denied:") and "leak/SKILL.md is a symlink" in refused, refused
    assert "zqxjkv" not in str(resource.value)
    assert (outside / "SKILL.md").read_text().endswith("zqxjkv body\n")


async def test_an_update_never_overwrites_history(app: App, project: Path) -> None:
    """SKILL.md edited by hand kept a version number the history already held: the update wrote over that
    history file (the original text was lost), or gave the new version a number an old one had."""
    folder = project / ".cde/skills/hv"
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("hv", content="BODY-1"))
        for n in (2, 3, 4):
            await call_ok(client, "cde_updateSkill", {"name": "hv", "content": f"BODY-{n}", "note": "n"})
        # A hand revert: the text of v2 copied back over v4, then updated.
        (folder / "SKILL.md").write_text((folder / "history/v2.md").read_text())
        reverted = await call_ok(client, "cde_updateSkill", {"name": "hv", "content": "BODY-5", "note": "n"})
        kept = {v: (await call_ok(client, "cde_getSkill", {"name": "hv", "version": v}))["content"] for v in (1, 2, 3)}
        # A hand edit keeping a number the history holds, with another text: refused, nothing overwritten.
        (folder / "SKILL.md").write_text("---\nname: hv\ndescription: hv hand\nversion: 3\n---\n\nHAND EDITED\n")
        refused = await call_error(client, "cde_updateSkill", {"name": "hv", "content": "BODY-6", "note": "n"})
    assert reverted["version"] == 4  # past every version the history holds (v4 itself was replaced by hand)
    assert all(f"BODY-{v}" in kept[v] for v in (1, 2, 3))
    assert refused.startswith("conflict: ") and "history/v3.md already holds another text" in refused
    assert "BODY-3" in (folder / "history/v3.md").read_text()


async def test_a_save_over_an_expired_skill_starts_afresh(app: App, project: Path) -> None:
    clock = FakeClock()
    app.container.clock = clock
    folder = project / ".cde/skills/eh"
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("eh", kind="ephemeral", ttl_hours=1))
        await call_ok(client, "cde_updateSkill", {"name": "eh", "content": "second", "note": "n"})
        (folder / "attach.txt").write_text("the expired skill's file\n")
        clock.now += timedelta(hours=2)
        saved = await call_ok(client, "cde_saveSkill", skill_args("eh", content="NEW1"))
        fresh = await call_ok(client, "cde_getSkill", {"name": "eh"})
    assert saved["version"] == 1 and fresh.get("history", []) == [] and fresh.get("files", []) == []
    assert "NEW1" in fresh["content"] and not (folder / "attach.txt").exists()


async def test_a_skill_file_with_crlf_line_ends_reads(app: App, project: Path) -> None:
    """A SKILL.md saved on Windows (CRLF) was always 'corrupt': the closing '---' line was never found."""
    folder = project / ".cde/skills/crlf2"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_bytes(b"---\r\nname: crlf2\r\ndescription: CRLF only\r\n---\r\nbody line\r\n")
    async with Client(app.server) as client:
        got = await call_ok(client, "cde_getSkill", {"name": "crlf2"})
        found = await call_ok(client, "cde_findSkills", {"query": "CRLF"})
    assert got["version"] == 1 and "body line" in got["content"]
    assert [s["name"] for s in found["skills"]] == ["crlf2"] and found["skills"][0]["description"] == "CRLF only"


async def test_a_listing_is_as_long_as_asked_however_many_names_are_shadowed(
    app: App, project: Path, settings: Settings
) -> None:
    """Shadowed rows were dropped after a fetch of `limit + shadowed` capped at 100: with 10 of 120 project
    skills also in the user library, limit=100 gave 90 skills (and resources/list 90)."""
    for library, count in ((project / ".cde/skills", 120), (settings.home / "skills", 10)):
        for i in range(count):
            folder = library / f"p{i:03d}"
            folder.mkdir(parents=True)
            (folder / "SKILL.md").write_text(f"---\nname: p{i:03d}\ndescription: skill {i}\n---\nbody\n")
    async with Client(app.server) as client:
        listing = await call_ok(client, "cde_findSkills", {"limit": 100})
        searched = await call_ok(client, "cde_findSkills", {"query": "body", "limit": 100})
        resources = [r for r in (await client.list_resources()).resources if str(r.uri).startswith("skill://")]
    assert len(listing["skills"]) == len(searched["skills"]) == len(resources) == 100
    assert all(s["scope"] == "project" for s in listing["skills"] if s["name"].startswith("p"))


async def test_text_with_control_characters_is_saved_so_it_reads_back(app: App) -> None:
    """DEL, C1 controls and U+FFFF went raw into the front matter, which YAML then refused: the skill
    could no longer be read or updated."""
    odd = "pasted \x7f from \x96 a terminal \uffff"
    note = "line\x85break kept"  # NEL: YAML reads it raw as a line break; a note is one line, so it is a space
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("pasted", description=f"Notes {odd}"))
        await call_ok(client, "cde_updateSkill", {"name": "pasted", "note": f"note {odd}", "content": "v2"})
        read = await call_ok(client, "cde_getSkill", {"name": "pasted"})
        await call_ok(client, "cde_updateSkill", {"name": "pasted", "note": note, "content": "v2b"})
        kept = await call_ok(client, "cde_getSkill", {"name": "pasted"})
        again = await call_ok(client, "cde_updateSkill", {"name": "pasted", "note": "fix", "content": "v3"})
        found = await call_ok(client, "cde_findSkills", {"query": "pasted"})
    assert read["version"] == 2 and '"Notes pasted \\u007f from \\u0096 a terminal \\uffff"' in read["content"]
    assert "\nnote: line break kept\n" in kept["content"]
    assert again["version"] == 4 and found["skills"][0]["description"] == f"Notes {odd}"


async def test_an_expired_project_skill_stops_shadowing_at_once(app: App) -> None:
    clock = FakeClock()
    app.container.clock = clock
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("shared", scope="user", content="lemon user copy"))
        await call_ok(client, "cde_saveSkill", skill_args("shared", kind="ephemeral", ttl_hours=1, content="lemon"))
        before = await call_ok(client, "cde_findSkills", {"query": "lemon"})
        clock.now += timedelta(hours=1, minutes=1)
        after = await call_ok(client, "cde_findSkills", {"query": "lemon"})
    assert names(before) == [("shared", "project")]
    assert names(after) == [("shared", "user")]  # on the first search after expiry, not the second


async def test_hand_written_domain_and_tags_match_the_filters(app: App, project: Path) -> None:
    folder = project / ".cde/skills/k8s-deploy"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\ndescription: Deploy to the cluster\ndomain: DevOps\ntags: [Kubernetes, Helm Charts]\n---\nkubectl apply\n"
    )
    async with Client(app.server) as client:
        by_domain = await call_ok(client, "cde_findSkills", {"domain": "devops"})
        by_tag = await call_ok(client, "cde_findSkills", {"tags": ["helm charts"]})
    assert names(by_domain) == [("k8s-deploy", "project")] and by_domain["skills"][0]["domain"] == "devops"
    assert names(by_tag) == [("k8s-deploy", "project")] and by_tag["skills"][0]["tags"] == ["kubernetes", "helm-charts"]


async def test_find_ranks_name_then_description_then_tags_then_content(app: App) -> None:
    """BM25 weights alone let a long body mentioning "docker" eight times beat the skill named docker."""
    filler = " ".join(f"word{n}" for n in range(200))
    async with Client(app.server) as client:
        for n in range(8):
            await call_ok(client, "cde_saveSkill", skill_args(f"other-{n}", content=f"{filler} unrelated {n}"))
        await call_ok(
            client,
            "cde_saveSkill",
            skill_args("ci-pipeline", description="Set up the CI pipeline", content=f"{filler} " + "docker " * 8),
        )
        long = f"{filler} {filler}"  # a long body: BM25 scales the name's weight down by the length
        await call_ok(client, "cde_saveSkill", skill_args("docker", description="Container basics", content=long))
        await call_ok(client, "cde_saveSkill", skill_args("image-build", description="Build the docker image"))
        await call_ok(
            client, "cde_saveSkill", skill_args("tagged", description="Ship it", tags=["docker"], content=long)
        )
        found = await call_ok(client, "cde_findSkills", {"query": "docker"})
    assert [s["name"] for s in found["skills"]][:4] == ["docker", "image-build", "tagged", "ci-pipeline"]


async def test_an_update_can_remove_the_domain(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("scoped", domain="ops"))
        await call_ok(client, "cde_updateSkill", {"name": "scoped", "note": "not ops only", "domain": ""})
        in_ops = await call_ok(client, "cde_findSkills", {"domain": "ops"})
        found = await call_ok(client, "cde_findSkills", {"query": "scoped"})
    assert in_ops["skills"] == [] and found["skills"][0].get("domain") is None
    assert "domain:" not in (project / ".cde/skills/scoped/SKILL.md").read_text()


async def test_a_project_whose_cde_folder_is_the_cde_home_has_only_the_user_library(app: App, project: Path) -> None:
    """A project at ~ with the default CDE_HOME (~/.cde): its library is the user library. A skill showed as
    a project skill shadowing itself, and a project-scope delete removed the user's skill."""
    (project / ".cde").mkdir()
    link = project.parent / "home-link"  # ~/.cde a link (dotfiles managed with stow): the same folder
    link.symlink_to(project / ".cde")
    for home, name in ((project / ".cde", "mine"), (link, "mine-too")):
        await _check_only_the_user_library(app, home, name)


async def _check_only_the_user_library(app: App, home: Path, name: str) -> None:
    settings = app.container.settings.model_copy(update={"home": home})
    async with Client(bootstrap(settings).server) as client:
        saved = await call_ok(client, "cde_saveSkill", skill_args(name, scope="user"))
        as_project = await call_error(client, "cde_saveSkill", skill_args("other"))
        delete = await call_error(client, "cde_deleteSkill", {"name": name, "scope": "project"})
        read_as_project = await call_error(client, "cde_getSkill", {"name": name, "scope": "project"})
        listing = await call_ok(client, "cde_findSkills", {"query": "qqmark"})
        got = await call_ok(client, "cde_getSkill", {"name": name})
    assert saved["scope"] == "user"
    for refused in (as_project, delete, read_as_project):
        assert refused.startswith("invalid_input: this project's skill library") and "scope='user'" in refused
    assert (name, "user") in names(listing) and all(scope == "user" for _, scope in names(listing))
    assert got["scope"] == "user" and "shadows" not in got


async def test_an_update_past_the_last_version_is_refused_not_written_unreadable(app: App, project: Path) -> None:
    """A SKILL.md at version 999999999 (the most a file may say) was updated to 1000000000, which the
    server then refused to read: the skill vanished from searches and could not be updated again."""
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("big"))
        path = project / ".cde/skills/big/SKILL.md"
        path.write_text(path.read_text().replace("version: 1\n", "version: 999999999\n"))
        refused = await call_error(client, "cde_updateSkill", {"name": "big", "note": "n", "content": "x"})
        still = await call_ok(client, "cde_getSkill", {"name": "big"})
    assert refused.startswith("limit_exceeded: skill 'big' is at version 999999999, the last a skill can have")
    assert still["version"] == 999999999 and "qqmark" in still["content"]


async def test_a_skill_time_out_of_range_in_utc_is_corrupt_not_a_crash(app: App, project: Path) -> None:
    """`created: 0001-01-01T00:00:00+05:00` was read, then crashed the update writing it back in UTC."""
    async with Client(app.server) as client:
        await call_ok(client, "cde_saveSkill", skill_args("dated"))
        path = project / ".cde/skills/dated/SKILL.md"
        text = path.read_text()
        created = next(line for line in text.splitlines() if line.startswith("created:"))
        path.write_text(text.replace(created, "created: '0001-01-01T00:00:00+05:00'"))
        read = await call_error(client, "cde_getSkill", {"name": "dated"})
        update = await call_error(client, "cde_updateSkill", {"name": "dated", "note": "n", "content": "x"})
    for message in (read, update):
        assert message.startswith("corrupt_data: ") and "created:" in message and "out of range in UTC" in message
    assert "0001-01-01T00:00:00+05:00" in path.read_text()  # reported and kept


async def test_an_unreadable_skill_is_named_by_the_listing_not_silently_left_out(app: App, project: Path) -> None:
    """A project copy of a bundled skill with `version: two` vanished from cde_findSkills (and hid the bundled
    one), with nothing saying so: only cde_getSkill of that very name reported it."""
    async with Client(app.server) as client:
        await call_ok(client, "cde_updateSkill", {"name": "reviewing-a-change", "note": "n", "description": "Ours"})
        path = project / ".cde/skills/reviewing-a-change/SKILL.md"
        path.write_text(path.read_text().replace("version: 2\n", "version: two\n"))
        listing = await call_ok(client, "cde_findSkills", {"limit": 100})
        searched = await call_ok(client, "cde_findSkills", {"query": "review"})
        await call_ok(client, "cde_deleteSkill", {"name": "reviewing-a-change", "scope": "project"})
        after = await call_ok(client, "cde_findSkills", {"limit": 100})
    assert listing["unreadable"] == searched["unreadable"] == ["project/reviewing-a-change"]
    assert "reviewing-a-change" not in {s["name"] for s in listing["skills"]}
    assert "unreadable" not in after and ("reviewing-a-change", "bundled") in names(after)


async def test_a_file_where_the_project_library_should_be_hides_no_other_skill(app: App, project: Path) -> None:
    """With `.cde/skills` a file, cde_findSkills listed the bundled skills and cde_getSkill refused to read them
    ("… is not a directory")."""
    (project / ".cde").mkdir(exist_ok=True)
    (project / ".cde" / "skills").write_text("not a folder\n")
    async with Client(app.server) as client:
        listed = await call_ok(client, "cde_findSkills", {"query": "review"})
        got = await call_ok(client, "cde_getSkill", {"name": "reviewing-a-change"})
        asked = await call_error(client, "cde_getSkill", {"name": "reviewing-a-change", "scope": "project"})
    assert "reviewing-a-change" in [s["name"] for s in listed["skills"]]
    assert got["scope"] == "bundled"
    assert asked.startswith("invalid_input:") and "not a directory" in asked
    assert (project / ".cde" / "skills").read_text() == "not a folder\n"


async def test_folders_meant_as_skills_in_the_wrong_shape_are_named_not_skipped_unseen(app: App, project: Path) -> None:
    """`My_Skill/SKILL.md` (not a slug), `lower/skill.md` and `group/inner/SKILL.md` were neither listed
    nor named anywhere: a hand-written skill vanished without a word."""
    skills = project / ".cde" / "skills"
    text = "---\ndescription: written by hand\n---\nbody\n"
    for path in ("My_Skill/SKILL.md", "lower/skill.md", "group/inner/SKILL.md", "good-one/SKILL.md"):
        (skills / path).parent.mkdir(parents=True, exist_ok=True)
        (skills / path).write_text(text)
    (skills / "assets").mkdir()  # a folder holding nothing skill-like is left alone
    (skills / "assets" / "logo.png").write_bytes(b"\x89PNG")
    async with Client(app.server) as client:
        found = await call_ok(client, "cde_findSkills", {"query": "hand"})
        lower = await call_error(client, "cde_getSkill", {"name": "lower"})
        group = await call_error(client, "cde_getSkill", {"name": "group"})
        upper = await call_error(client, "cde_getSkill", {"name": "My_Skill"})
    assert found["skills"][0]["name"] == "good-one"  # (bundled skills say "hand" too)
    assert sorted(found["unreadable"]) == ["project/My_Skill", "project/group", "project/lower"]
    assert lower == (
        "not_found: no skill named 'lower' in the project, user or bundled libraries: .cde/skills/lower has no "
        "SKILL.md; a skill is a SKILL.md (that exact name) directly in a folder named after it"
    )
    assert group.startswith("not_found: no skill named 'group'") and ".cde/skills/group has no SKILL.md" in group
    assert upper.startswith("invalid_input: skill name 'My_Skill' must be a lowercase slug")
