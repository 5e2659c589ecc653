"""cde_onboardingProject, cde_setupProject, cde_publishOnboarding, cde_generateSpec."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from domain.onboarding.analysis import OnboardingSummary
from domain.onboarding.generate_spec import SpecResult
from domain.onboarding.publish_documents import MAX_DOCUMENTS, PublishResult
from domain.onboarding.setup_project import SetupResult
from server.tooling import add_tool
from server.tools.params import ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

# Described once in the server instructions ("Tools take project_path (default: the server's project)").


def progress_of(ctx: Context[Any, Any]) -> Callable[[float, float | None, str | None], Awaitable[None]]:
    """Progress notifications to the request's client; none when called outside a request (in-process)."""

    async def report(progress: float, total: float | None = None, message: str | None = None) -> None:
        try:
            ctx.request_context  # noqa: B018 - raises ValueError outside a request
        except ValueError:
            return
        await ctx.report_progress(progress, total, message)

    return report


ONBOARD_GUIDE = """\
Scans the project and answers a compact summary: file and doc counts, lines of code per language,
frameworks, manifests, commands (install, build, test, lint, format, typecheck, run: from Makefile or
justfile targets, package.json scripts and configured tools), tests, CI files and git facts. The
walk honours `.gitignore` at every level and skips dependency, build and cache folders. The full
analysis is stored as `onboarding` in `.cde/state.json`; an unchanged tree is answered from cache
(`changed: false`). Progress is reported while it runs.
"""

SETUP_GUIDE = """\
Writes `.cde/workflow.yml` (the bundled workflow, to edit), `.cde/.gitignore` and `AGENTS.md`
generated from the scan. An existing file is left alone and listed under `skipped`, unless
`force=true`; one created while this runs is never overwritten (`conflict`).
"""

PUBLISH_GUIDE = """\
Writes documents given as `{relative_path: content}` inside the project, each atomically.
`approve=false` writes nothing and answers a unified diff per document, to show the user first.
Refused before anything is written: absolute paths, `..`, links leading out of the project, `.git/`,
and the files the server manages (`.cde/state.json`, `.cde/cache/`, `.cde/tasks/`, lock files).
At most 50 documents, 1 MiB each, 5 MiB in all. A document it creates that someone else created
meanwhile is a `conflict`, and nothing is written.
"""

SPEC_GUIDE = """\
Writes `specs/<slug>/spec.md`, `plan.md` and `tasks.md` (Spec-Kit sections, with the project's facts
from the scan) for a feature described in up to 4,000 characters. An existing spec is replaced only
with `overwrite=true`; the folder of a feature started with cde_startFeature is refused even then
(its documents are that feature's submitted results).
"""


def register(server: CdeServer, container: Container) -> None:
    async def cde_onboardingProject(  # noqa: N802 - MCP tool names are camelCase
        ctx: Context[Any, Any], project_path: ProjectPath = "."
    ) -> OnboardingSummary:
        root = await container.project_root(project_path)
        return await container.onboarding.onboard(root, progress_of(ctx))

    async def cde_setupProject(  # noqa: N802
        ctx: Context[Any, Any],
        project_path: ProjectPath = ".",
        force: bool = False,
    ) -> SetupResult:
        root = await container.project_root(project_path)
        return await container.onboarding.setup(root, force=force, progress=progress_of(ctx))

    async def cde_publishOnboarding(  # noqa: N802
        documents: Annotated[dict[str, str], Field(min_length=1, max_length=MAX_DOCUMENTS)],
        project_path: ProjectPath = ".",
        approve: bool = True,
    ) -> PublishResult:
        root = await container.project_root(project_path)
        return await container.onboarding.publish(root, documents, approve=approve)

    async def cde_generateSpec(  # noqa: N802
        feature_description: Annotated[str, Field(min_length=1, max_length=4000)],
        project_path: ProjectPath = ".",
        overwrite: bool = False,
    ) -> SpecResult:
        root = await container.project_root(project_path)
        return await container.onboarding.generate_spec(root, feature_description, overwrite=overwrite)

    add_tool(
        server,
        cde_onboardingProject,
        name="cde_onboardingProject",
        description=(
            "Scan the project (honours .gitignore): languages, manifests, frameworks, commands, tests, "
            "CI, docs, git; saved to state."
        ),
        read_only=False,
        idempotent=True,
        guide=ONBOARD_GUIDE,
    )
    add_tool(
        server,
        cde_setupProject,
        name="cde_setupProject",
        description=(
            "Write .cde/workflow.yml, .cde/.gitignore and AGENTS.md (from scan facts); keeps existing unless force."
        ),
        read_only=False,
        destructive=True,
        idempotent=True,
        guide=SETUP_GUIDE,
    )
    add_tool(
        server,
        cde_publishOnboarding,
        name="cde_publishOnboarding",
        description=(
            "Write documents {relative_path: content} inside the project (atomic; never .git/ or '..'); "
            "approve=false: diff only."
        ),
        read_only=False,
        destructive=True,
        idempotent=True,
        guide=PUBLISH_GUIDE,
    )
    add_tool(
        server,
        cde_generateSpec,
        name="cde_generateSpec",
        description=(
            "Write specs/<slug>/spec.md, plan.md, tasks.md (Spec-Kit style); an existing spec needs overwrite."
        ),
        read_only=False,
        destructive=True,
        idempotent=True,
        guide=SPEC_GUIDE,
    )
