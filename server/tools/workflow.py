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


SELECT_GUIDE = """\
A deterministic classifier (no model call): weighted English cue words and phrases per workflow
type, complexity cues and the request's length. The same request always gets the same answer, and
`reasoning` names the cues that decided it. Words an instruction negates ("don't refactor",
"no new features") are not cues; what something "should not" do still describes a bug.

- `workflow_type`: one of the project's workflow types (bundled: standard, quick-fix, hotfix,
  research, documentation, refactor); a type the project's workflow lacks becomes its default.
- `complexity`: trivial, simple, moderate, complex or epic. `confidence`: 0.3 when no cue decided,
  up to 0.95 for an unambiguous request.
- `recipe_id`: the type's role recipe; `phases` / `skipped`: what a feature of that type runs.
- `skill_topics`: pass the request to cde_sourceSkill for the skills that fit.
Nothing is written; cde_startFeature runs the same classification when `workflow_type` is left out.
"""

START_GUIDE = """\
Starts a feature and returns the prompt of its first phase.

- `user_prompt`: the request, as the user put it (at most 20,000 characters).
- `workflow_type`: leave it out to have it chosen as cde_selectWorkflow would; or name one of
  the project's types.
- `recipe_id`: a role recipe (see cde_listRecipes) whose `<role>` opens every phase prompt of this
  feature; by default the workflow type's.
- `project_path`: the project (default: the server's).

It creates `specs/<name>/` (`name` is a slug of the request; `-2`, `-3`... when taken) and records
the feature in `.cde/state.json`. The same request started again within 15 minutes, with nothing
submitted yet, answers the same feature with `resumed: true` instead of a second one. Then follow
the prompt and call cde_submitWork with `phase` and the `required_outputs` keys.
"""

SUBMIT_GUIDE = """\
Records the current phase's results and returns the next phase's prompt (or `completed`).

- `feature_id`: the id, an id prefix (at least 4 characters) or the feature's name.
- `phase_id`: must be the feature's current phase; another is refused, naming the current one.
  Phases run in order: none is skipped or repeated except as the workflow type declares.
- `results`: one text per output key of the phase (the `required_outputs` the previous answer
  gave; optional outputs may be added). A missing or blank required key, a key the phase does not
  declare, or a value outside an output's `choices` is refused, and nothing is recorded. At most
  30 keys and 200,000 characters per value: for long text, save a file and submit its path.

Outputs the workflow saves to files land in `specs/<name>/<file>` with front matter; later phase
prompts read them back, so editing those files between phases corrects what the next phases see.
A completed, failed or cancelled feature accepts no more work.
"""

STATUS_GUIDE = """\
A feature's status (its current phase, or completed / failed / cancelled), progress (phases
done / total), its files and its history of transitions with their times.
`feature_id` takes the id, an id prefix or the name. `include_prompt=true` adds the current
phase's prompt again: the way to pick a feature up after a restart or in a new conversation.
"""

LIST_GUIDE = """\
The project's features, most recently active first: id, name, status, workflow type, progress.
`status` filters: `active` (any phase), `completed`, `failed`, `cancelled`, or a phase id such as
`design`; `limit` is 1-500 (default 50). Use cde_getFeatureStatus for one feature's details.
"""

CANCEL_GUIDE = """\
Closes an open feature: `status="cancelled"` (default) or `"failed"`, with a `reason` (one line,
at most 500 characters) recorded in its history. It then accepts no more work; its files in
`specs/` and its record stay. A feature that is already closed is refused.
"""


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
        guide=SELECT_GUIDE,
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
        guide=START_GUIDE,
    )
    add_tool(
        server,
        cde_submitWork,
        name="cde_submitWork",
        description="Submit the current phase's results (all required keys): next phase prompt, or completion.",
        read_only=False,
        core=True,
        guide=SUBMIT_GUIDE,
    )
    add_tool(
        server,
        cde_getFeatureStatus,
        name="cde_getFeatureStatus",
        description="A feature's status, progress, files, history; include_prompt repeats the current prompt.",
        read_only=True,
        idempotent=True,
        core=True,
        guide=STATUS_GUIDE,
    )
    add_tool(
        server,
        cde_listFeatures,
        name="cde_listFeatures",
        description="The project's features, most recently active first.",
        read_only=True,
        idempotent=True,
        core=True,
        guide=LIST_GUIDE,
    )
    add_tool(
        server,
        cde_cancelFeature,
        name="cde_cancelFeature",
        description="Stop a feature as cancelled or failed; it then accepts no more work.",
        read_only=False,
        destructive=True,
        guide=CANCEL_GUIDE,
    )
