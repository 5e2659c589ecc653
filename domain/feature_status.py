"""GetFeatureStatus: where a feature stands, and optionally its current prompt again (to resume)."""

from __future__ import annotations

from domain.compact import CompactModel, omitted, omitted_if_empty
from domain.feature import find_feature
from domain.phase_prompt import PhasePrompter
from domain.ports import StateRepository
from domain.workflow_ports import ProjectConfig


# A feature's status, progress, documents and history (one line per transition). `phase` and
# `required_outputs` are left out once the feature is finished; `prompt` unless asked for.
class FeatureStatus(CompactModel):
    feature_id: str
    name: str
    status: str
    workflow_type: str
    phases: list[str]
    phase: str | None = omitted()
    done: int
    total: int
    artifacts: list[str]
    history: list[str]
    required_outputs: list[str] = omitted_if_empty(default_factory=list)
    prompt: str | None = omitted()


class GetFeatureStatus:
    def __init__(self, state: StateRepository, config: ProjectConfig, prompter: PhasePrompter) -> None:
        self._state = state
        self._config = config
        self._prompter = prompter

    async def __call__(self, feature_ref: str, include_prompt: bool = False) -> FeatureStatus:
        feature = find_feature((await self._state.load()).features, feature_ref)
        current = feature.current_phase
        required: list[str] = []
        prompt = None
        if current is not None:
            workflow = await self._config.workflow()
            if current in workflow.phase_ids:
                required = workflow.phase(current).required_outputs
                if include_prompt:
                    prepared = await self._prompter.prepare(workflow, current, feature.recipe_id, feature=feature.name)
                    prompt = prepared.render(feature, await self._prompter.results(feature)).prompt
            elif include_prompt:
                prompt = (
                    f"Phase {current} is no longer in the project's workflow, so it has no prompt: restore it in "
                    "the workflow file, or stop the feature with cde_cancelFeature."
                )
        return FeatureStatus(
            feature_id=feature.id,
            name=feature.name,
            status=feature.status,
            workflow_type=feature.workflow_type,
            phases=feature.phases,
            phase=current,
            done=feature.done,
            total=len(feature.phases),
            artifacts=list(feature.documents().values()),
            history=[t.line() for t in feature.history],
            required_outputs=required,
            prompt=prompt,
        )
