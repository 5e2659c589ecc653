"""Workflow tools: select a workflow, start features, submit phase work, follow and stop features."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from domain.cancel_feature import FeatureClosed
from domain.feature_status import FeatureStatus
from domain.list_features import FeatureList
from domain.select_workflow import WorkflowSelection
from domain.start_feature import FeatureStarted
from domain.submit_work import WorkSubmitted
from server.tooling import add_tool
from server.tools.params import Name, ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

MAX_PROMPT = 20_000
MAX_RESULT = 200_000

UserPrompt = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT)]
FeatureRef = Annotated[str, Field(description="Id, id prefix or name", max_length=64)]


def register(server: CdeServer, container: Container) -> None:
    async def cde_selectWorkflow(user_prompt: UserPrompt, project_path: ProjectPath = ".") -> WorkflowSelection:  # noqa: N802
        root = await container.project_root(project_path)
        return await container.workflow.select_workflow(root)(user_prompt)

    async def cde_startFeature(  # noqa: N802
        user_prompt: UserPrompt,
        project_path: ProjectPath = ".",
        workflow_type: Name = "",
        recipe_id: Name = "",
    ) -> FeatureStarted:
        root = await container.project_root(project_path)
        return await container.workflow.start_feature(root)(user_prompt, workflow_type or None, recipe_id or None)

    async def cde_submitWork(  # noqa: N802
        feature_id: FeatureRef,
        phase_id: Name,
        results: Annotated[
            dict[str, Annotated[str, Field(max_length=MAX_RESULT)]],
            Field(description="text per required_outputs key", max_length=30),
        ],
        project_path: ProjectPath = ".",
    ) -> WorkSubmitted:
        root = await container.project_root(project_path)
        return await container.workflow.submit_work(root)(feature_id, phase_id, results)

    async def cde_getFeatureStatus(  # noqa: N802
        feature_id: FeatureRef,
        project_path: ProjectPath = ".",
        include_prompt: bool = False,
    ) -> FeatureStatus:
        root = await container.project_root(project_path)
        return await container.workflow.feature_status(root)(feature_id, include_prompt)

    async def cde_listFeatures(  # noqa: N802
        project_path: ProjectPath = ".",
        status: Annotated[
            str, Field(description="active, completed, failed, cancelled or a phase", max_length=64)
        ] = "",
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> FeatureList:
        root = await container.project_root(project_path)
        return await container.workflow.list_features(root)(status or None, limit)

    async def cde_cancelFeature(  # noqa: N802
        feature_id: FeatureRef,
        reason: Annotated[str, Field(min_length=1, max_length=500)],
        project_path: ProjectPath = ".",
        status: Literal["cancelled", "failed"] = "cancelled",
    ) -> FeatureClosed:
        root = await container.project_root(project_path)
        return await container.workflow.cancel_feature(root)(feature_id, reason, status)

    add_tool(
        server,
        cde_selectWorkflow,
        name="cde_selectWorkflow",
        description="Classify a request: workflow type, complexity, role recipe, phases run/skipped, skill topics.",
        read_only=True,
        idempotent=True,
        core=True,
    )
    add_tool(
        server,
        cde_startFeature,
        name="cde_startFeature",
        description=(
            "Start a feature (creates specs/<name>/): first phase prompt and the result keys cde_submitWork expects."
        ),
        read_only=False,
        core=True,
    )
    add_tool(
        server,
        cde_submitWork,
        name="cde_submitWork",
        description="Submit the current phase's results (all required keys): next phase prompt, or completion.",
        read_only=False,
        core=True,
    )
    add_tool(
        server,
        cde_getFeatureStatus,
        name="cde_getFeatureStatus",
        description="A feature's status, progress, files, history; include_prompt repeats the current prompt.",
        read_only=True,
        idempotent=True,
        core=True,
    )
    add_tool(
        server,
        cde_listFeatures,
        name="cde_listFeatures",
        description="The project's features, most recently active first.",
        read_only=True,
        idempotent=True,
        core=True,
    )
    add_tool(
        server,
        cde_cancelFeature,
        name="cde_cancelFeature",
        description="Stop a feature as cancelled or failed; it then accepts no more work.",
        read_only=False,
        destructive=True,
    )
