"""StartFeature: create a feature for a request and return the prompt of its first phase."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from domain.clock import utc_now
from domain.compact import CompactModel, omitted
from domain.errors import InvalidInputError
from domain.feature import Feature
from domain.names import slugify, validate_name
from domain.phase_prompt import PhasePrompter, PhaseStep
from domain.ports import StateRepository
from domain.project_state import ProjectState
from domain.select_workflow import classify
from domain.text import check_plain, visible
from domain.workflow_ports import ProjectConfig, SpecStore

MAX_NAME_BASE = 40


def new_feature_id() -> str:
    """12 hex digits: short enough to read, 2^48 values so collisions in one project are negligible."""
    return secrets.token_hex(6)


# The new feature and its first phase (no docstring: output schemas stay lean).
class FeatureStarted(CompactModel):
    feature_id: str
    name: str
    workflow_type: str
    phases: list[str]
    skipped: list[str]
    spec_dir: str
    phase: str
    required_outputs: list[str]
    prompt: str
    resumed: bool | None = omitted(description="true: the same request was started before and nothing submitted")


# How long a repeated start gets the feature back: a retry after a lost answer comes within minutes; the
# same request much later (the first abandoned untouched) is new work.
RESUME_WINDOW = timedelta(minutes=15)


def started_before(
    features: Iterable[Feature],
    request: str,
    kind: str,
    role: str,
    workflow: str,
    phases: list[str],
    since: datetime,
) -> Feature | None:
    """An open feature started since `since` for this very request, with nothing submitted yet: a start
    repeated because its answer was lost (a client timeout, a restart) gets it back, not a duplicate
    `<name>-2`."""
    for feature in features:
        if (
            feature.user_prompt == request
            and feature.created_at >= since
            and not feature.finished
            and not feature.results
            and (feature.workflow_type, feature.recipe_id, feature.workflow, feature.phases)
            == (kind, role, workflow, phases)
            and feature.status == phases[0]
        ):
            return feature
    return None


def unique_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


class StartFeature:
    """Validates the choice of workflow type and recipe, records the feature, renders its first prompt."""

    def __init__(
        self,
        state: StateRepository,
        config: ProjectConfig,
        specs: SpecStore,
        prompter: PhasePrompter,
        *,
        new_id: Callable[[], str] = new_feature_id,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._state = state
        self._config = config
        self._specs = specs
        self._prompter = prompter
        self._new_id = new_id
        self._now = now

    async def __call__(
        self, user_prompt: str, workflow_type: str | None = None, recipe_id: str | None = None
    ) -> FeatureStarted:
        request = user_prompt.strip()
        check_plain(request, "user_prompt")
        if not visible(request):
            raise InvalidInputError("user_prompt is empty; describe the feature or fix to work on")
        workflow = await self._config.workflow()
        found = classify(request)
        kind = workflow_type or (found.workflow_type if found.workflow_type in workflow.types else None)
        kind = kind or workflow.default_type
        phases, skipped = workflow.plan(kind)
        role = validate_name(recipe_id, "recipe_id") if recipe_id else workflow.types[kind].recipe
        # Everything that can fail is checked, and specs/<name>/ created, before the feature is recorded.
        prepared = await self._prompter.prepare(workflow, phases[0], role)
        base = slugify(request, max_length=MAX_NAME_BASE, fallback="feature")
        # Under the submission lock (features are only added under it), so the name chosen from the latest
        # state and folders is still free when it is recorded, whichever process starts features.
        async with self._specs.locked():
            features = (await self._state.load()).features
            again = started_before(
                features.values(),
                request,
                kind,
                role,
                f"{workflow.name}@{workflow.version}",
                phases,
                since=self._now() - RESUME_WINDOW,
            )
            if again is not None:
                return self._answer(again, prepared.render(again, {}), resumed=True)
            recorded = {f.name for f in features.values()}
            folder = self._specs.new_folder(lambda listed: unique_name(base, listed | recorded))
            steps: list[PhaseStep] = []

            def record(state: ProjectState) -> Feature:
                name = folder.created[0]
                feature_id = self._new_id()
                while feature_id in state.features:
                    feature_id = self._new_id()
                feature = Feature.start(
                    feature_id=feature_id,
                    name=name,
                    user_prompt=request,
                    workflow=f"{workflow.name}@{workflow.version}",
                    workflow_type=kind,
                    recipe_id=role,
                    phases=phases,
                    skipped=skipped,
                    skills=list(found.skill_topics),
                    now=self._now(),
                )
                # Rendered before it is recorded: a prompt that cannot be made (over the size limit) refuses
                # the start, and the folder goes with it. Pure CPU, fine in the update's worker thread.
                steps.append(prepared.render(feature, {}))
                state.features[feature_id] = feature
                return feature

            feature = await self._state.update(record, first=folder)
        return self._answer(feature, steps[-1])

    @staticmethod
    def _answer(feature: Feature, step: PhaseStep, *, resumed: bool = False) -> FeatureStarted:
        return FeatureStarted(
            feature_id=feature.id,
            name=feature.name,
            workflow_type=feature.workflow_type,
            phases=feature.phases,
            skipped=feature.skipped,
            spec_dir=f"specs/{feature.name}",
            phase=step.phase,
            required_outputs=step.required_outputs,
            prompt=step.prompt,
            resumed=resumed or None,
        )
