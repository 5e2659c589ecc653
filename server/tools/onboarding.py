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
    )
