from __future__ import annotations

from pathlib import Path

import pytest
from mcp.client import Client

from adapters import health_probes
from server.bootstrap import App, bootstrap
from tests.conftest import call_ok


async def test_health_check_reports_ok(app: App) -> None:
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "ok"
    assert "reasons" not in report  # left out when there are none, not an empty list
    assert report["tools"] >= 1


async def test_health_check_details_on_request(app: App) -> None:
    async with Client(app.server) as client:
        plain = await call_ok(client, "cde_healthCheck")
        report = await call_ok(client, "cde_healthCheck", {"details": True})
    assert "details" not in plain  # left out, not null, unless asked for
    assert report["details"]["python"].count(".") == 2
    assert report["details"]["mcp"].startswith("2.")
    names = {c["name"]: c for c in report["details"]["caches"]}
    assert names["health.probes"]["hits"] >= 1  # the second call was served from the 5 s probe cache
    assert 0 <= report["details"]["cache_hit_rate"] <= 1
    assert set(plain) == {"status", "version", "uptime_s", "tools"}


async def test_health_check_is_degraded_when_the_home_is_unusable(app: App, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x", encoding="utf-8")
    settings = app.container.settings.model_copy(update={"home": blocker / "cde"})
    degraded = bootstrap(settings)
    async with Client(degraded.server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "degraded"
    assert any("is not a directory" in reason for reason in report["reasons"])


async def test_health_check_is_degraded_when_an_allowed_root_is_missing(app: App, tmp_path: Path) -> None:
    settings = app.container.settings.model_copy(update={"allowed_roots": (tmp_path, tmp_path / "gone")})
    async with Client(bootstrap(settings).server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "degraded"
    assert report["reasons"] == [f"allowed root {tmp_path / 'gone'} does not exist or is not a directory"]


async def test_health_check_is_degraded_when_the_default_project_is_unusable(app: App, tmp_path: Path) -> None:
    outside = tmp_path / "outside-project"
    outside.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    reports = []
    for root, allowed in ((outside, (tmp_path / "elsewhere",)), (a_file, (tmp_path,))):
        (tmp_path / "elsewhere").mkdir(exist_ok=True)
        settings = app.container.settings.model_copy(update={"project_root": root, "allowed_roots": allowed})
        async with Client(bootstrap(settings).server) as client:
            reports.append(await call_ok(client, "cde_healthCheck"))
    assert [r["status"] for r in reports] == ["degraded", "degraded"]
    assert "outside the allowed roots" in reports[0]["reasons"][0] and "CDE_PROJECT_ROOT" in reports[0]["reasons"][0]
    assert "is not a directory" in reports[1]["reasons"][0]


async def test_health_check_is_degraded_when_the_default_projects_cde_leads_outside(
    app: App, project: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (project / ".cde").symlink_to(tmp_path / "outside")
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "degraded"
    assert "leads outside the project through a symlink" in report["reasons"][0], report["reasons"]


async def test_health_check_names_a_corrupt_state_or_workflow_of_the_default_project(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every feature tool refuses a corrupt .cde/state.json or a broken workflow override; health said ok."""
    (polled,) = app.container.check_health._probes
    assert isinstance(polled, health_probes.PolledProbes)
    monkeypatch.setattr(polled.problems.cache, "clock", lambda: 0.0)  # no time passes: the 5 s never end
    (project / ".cde").mkdir()
    (project / ".cde" / "state.json").write_text("{bad", encoding="utf-8")
    (project / ".cde" / "workflow.yml").write_text("phases: [1\n", encoding="utf-8")
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_healthCheck")
        listing = await client.call_tool("cde_listFeatures", {})
    assert report["status"] == "degraded"
    state, workflow = report["reasons"]
    assert state.startswith(
        f"the default project's data: {project / '.cde' / 'state.json'} is unreadable (invalid JSON"
    )
    assert workflow.startswith(f"the default project's data: {project / '.cde' / 'workflow.yml'} is unreadable")
    assert listing.is_error  # what the reason warns of
    assert (project / ".cde" / "state.json").read_text(encoding="utf-8") == "{bad"  # reported, never replaced
    # Fixed: the tools see it at once; health within its 5 s window (a poll never stats the files).
    (project / ".cde" / "state.json").unlink()
    (project / ".cde" / "workflow.yml").unlink()
    async with Client(app.server) as client:
        assert not (await client.call_tool("cde_listFeatures", {})).is_error
        assert (await call_ok(client, "cde_healthCheck"))["status"] == "degraded"
        polled.problems.invalidate()  # as if the 5 s had passed
        assert (await call_ok(client, "cde_healthCheck"))["status"] == "ok"
    async with Client(bootstrap(app.container.settings).server) as client:
        assert (await call_ok(client, "cde_healthCheck"))["status"] == "ok"


async def test_a_failing_probe_is_a_reason_not_a_crash(app: App) -> None:
    class Broken:
        async def problems(self) -> list[str]:
            raise OSError(36, "File name too long")

    app.container.check_health._probes = [*app.container.check_health._probes, Broken()]
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "degraded"
    assert report["reasons"] == ["Broken failed: OSError: [Errno 36] File name too long"]


async def test_a_failing_environment_check_does_not_hide_the_others(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(home: Path) -> list[str]:
        raise RuntimeError("statvfs exploded")

    monkeypatch.setattr(health_probes, "_home_problems", broken)
    settings = app.container.settings.model_copy(update={"allowed_roots": (tmp_path, tmp_path / "gone")})
    async with Client(bootstrap(settings).server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["reasons"] == [
        "the CDE home check failed: RuntimeError: statvfs exploded",
        f"allowed root {tmp_path / 'gone'} does not exist or is not a directory",
    ]


@pytest.mark.parametrize("profile", ["all", "core"])
async def test_health_counts_the_tools_that_tools_list_shows(app: App, profile: str) -> None:
    server = bootstrap(app.container.settings.model_copy(update={"tools": profile})).server
    async with Client(server) as client:
        listed = (await client.list_tools()).tools
        report = await call_ok(client, "cde_healthCheck")
    assert report["tools"] == len(listed) == len(server.tool_names())
