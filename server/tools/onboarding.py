"""cde_onboardingProject, cde_setupProject, cde_publishOnboarding, cde_generateSpec."""

from __future__ import annotations

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


def register(server: CdeServer, container: Container) -> None:
    async def cde_onboardingProject(  # noqa: N802 - MCP tool names are camelCase
        ctx: Context[Any, Any], project_path: ProjectPath = "."
    ) -> OnboardingSummary:
        root = await container.project_root(project_path)
        return await container.onboarding.onboard(root, ctx.report_progress)

    async def cde_setupProject(  # noqa: N802
        ctx: Context[Any, Any],
        project_path: ProjectPath = ".",
        force: bool = False,
    ) -> SetupResult:
        root = await container.project_root(project_path)
        return await container.onboarding.setup(root, force=force, progress=ctx.report_progress)

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
