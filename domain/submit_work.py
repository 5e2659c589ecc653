"""SubmitWork: record the current phase's results, save its files, return the next phase's prompt."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from domain.clock import utc_now
from domain.compact import CompactModel, omitted, omitted_if_empty
from domain.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    shown,
)
from domain.feature import Feature, find_feature
from domain.front_matter import with_document_front_matter
from domain.names import clipped, feature_title
from domain.phase_prompt import PhasePrompter, PreparedPhase
from domain.ports import StateRepository
from domain.project_state import ProjectState
from domain.workflow import OUTPUT_KEY_PATTERN, Phase, Workflow
from domain.workflow_ports import ProjectConfig, SpecStore

_KEY = re.compile(OUTPUT_KEY_PATTERN)


# Output schemas are sent in every tools/list: no docstring (it would become the schema's description).
# `phase` and `required_outputs` are left out once the feature is completed; `artifacts` are the files
# just written.
class WorkSubmitted(CompactModel):
    feature_id: str
    status: str
    done: int
    total: int
    artifacts: list[str]
    phase: str | None = omitted()
    required_outputs: list[str] = omitted_if_empty(default_factory=list)
    prompt: str


def check_result_keys(results: Mapping[str, str]) -> None:
    bad = [k for k in results if not _KEY.fullmatch(k)]
    if bad:
        listed = ", ".join(shown(key, 40) for key in bad[:5])
        raise InvalidInputError(f"results key(s) {listed} must be snake_case like 'test_report'")
    # Results become spec documents: a NUL makes tools (and the docs scan) take a text file for binary.
    nul = [k for k, text in results.items() if "\x00" in text]
    if nul:
        raise InvalidInputError(f"results {', '.join(nul[:5])} hold a NUL character; send plain text")


def _as_document(feature: Feature, phase_id: str, file: str, text: str) -> str:
    """The file an output is saved as. A Markdown one opens with the title and description the docs tools
    expect of documents under specs/ (they flag those without), unless the output brings its own."""
    if not file.endswith((".md", ".markdown")):  # `openapi.yaml`, `data.json`: as submitted
        return text
    return with_document_front_matter(
        text,
        title=f"{file.rsplit('.', 1)[0].replace('-', ' ').replace('_', ' ').capitalize()}: "
        f"{feature_title(feature.user_prompt)}",
        description=clipped(feature.user_prompt, 201),
        feature=feature.name,
        phase=phase_id,
    )


class SubmitWork:
    """Applies the feature's gates, records the results under the state lock, writes the phase's files."""

    def __init__(
        self,
        state: StateRepository,
        config: ProjectConfig,
        specs: SpecStore,
        prompter: PhasePrompter,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._state = state
        self._config = config
        self._specs = specs
        self._prompter = prompter
        self._now = now

    async def __call__(self, feature_ref: str, phase_id: str, results: Mapping[str, str]) -> WorkSubmitted:
        check_result_keys(results)
        workflow = await self._config.workflow()
        # Shielded: a caller that goes away mid-way must not release the lock before the commit lands.
        return await asyncio.shield(self._submit(workflow, feature_ref, phase_id, results))

    async def _submit(
        self, workflow: Workflow, feature_ref: str, phase_id: str, results: Mapping[str, str]
    ) -> WorkSubmitted:
        """Check the gates and render the next prompt, then write the phase's files and commit.

        The files are the record of these outputs, so they are written (durably) before the state commits
        the transition, by the same update: a crash in between leaves the phase open, and submitting again
        rewrites them. All of it happens under the project's submission lock, on the latest state: of two
        assistants submitting the same phase at once, the one refused writes nothing, so the files always
        hold accepted results. Under that lock the feature cannot change, so the next prompt is rendered
        beforehand from the feature the commit will record: a submission is refused, or recorded with its
        answer, never recorded behind an error. The submission's time is taken once the gates pass.
        """
        async with self._specs.locked():
            snapshot = find_feature((await self._state.load()).features, feature_ref)
            phase = self._current_phase(snapshot, phase_id, results, workflow)
            prepared = await self._next_phase(workflow, snapshot, phase_id, results)
            saved = {o.key: o.file for o in phase.outputs if o.file and results.get(o.key, "").strip()}
            contents = {file: _as_document(snapshot, phase_id, file, results[key]) for key, file in saved.items()}
            documents = self._specs.documents(snapshot.name, contents)
            paths = dict(zip(saved, documents.paths, strict=True))
            self._check_not_recorded(snapshot, paths)
            now = self._now()
            expected = snapshot.submit(phase_id, results, phase, files=paths, now=now)

            def record(state: ProjectState) -> Feature:
                feature = find_feature(state.features, snapshot.id).submit(
                    phase_id, results, phase, files=paths, now=now
                )
                state.features[feature.id] = feature
                return feature

            # The next prompt first: one that cannot be made (an unreadable document, a recipe rendering
            # over the size limit) refuses the submission while nothing is written yet.
            outcome = await self._outcome(expected, prepared, paths, results)
            feature = await self._state.update(record, first=documents)
            if feature != expected:  # changed without the lock (edited by hand?): describe what was recorded
                try:
                    outcome = await self._outcome(feature, prepared, paths, results)
                except DomainError as exc:  # recorded all the same: say so, and how to get the prompt
                    outcome = self._without_prompt(feature, prepared, paths, exc)
            return outcome

    @staticmethod
    def _without_prompt(
        feature: Feature, prepared: PreparedPhase | None, paths: Mapping[str, str], error: DomainError
    ) -> WorkSubmitted:
        phase = prepared.phase if prepared is not None else None
        return WorkSubmitted(
            feature_id=feature.id,
            status=feature.status,
            done=feature.done,
            total=len(feature.phases),
            artifacts=list(paths.values()),
            phase=phase.id if phase is not None else None,
            required_outputs=phase.required_outputs if phase is not None else [],
            prompt=(
                f"The results are recorded, but the next prompt could not be made: {error}. "
                "Fix that, then call cde_getFeatureStatus with include_prompt=true."
            ),
        )

    async def _outcome(
        self, feature: Feature, prepared: PreparedPhase | None, paths: Mapping[str, str], results: Mapping[str, str]
    ) -> WorkSubmitted:
        """The answer for `feature` just submitted: the next phase's prompt, or the completion note."""
        outcome = WorkSubmitted(
            feature_id=feature.id,
            status=feature.status,
            done=feature.done,
            total=len(feature.phases),
            artifacts=list(paths.values()),
            prompt="",
        )
        if prepared is None:
            documents = ", ".join(feature.documents().values()) or "none"
            outcome.prompt = (
                f"Feature {feature.name} is completed: every phase is done. Documents: {documents}. "
                "Summarise the outcome for the user."
            )
            return outcome
        known = {path: results[key] for key, path in paths.items()}
        step = prepared.render(feature, await self._prompter.results(feature, known))
        outcome.phase, outcome.required_outputs, outcome.prompt = step.phase, step.required_outputs, step.prompt
        return outcome

    async def _next_phase(
        self, workflow: Workflow, feature: Feature, phase_id: str, results: Mapping[str, str]
    ) -> PreparedPhase | None:
        """The next phase's recipes, loaded (None when this is the last)."""
        position = feature.phases.index(phase_id)
        if position + 1 == len(feature.phases):
            return None
        following = feature.phases[position + 1]
        try:
            workflow.phase(following)
        except NotFoundError:
            raise InvalidTransitionError(
                f"the next phase of feature {feature.name}, {following}, is no longer in the project's workflow; "
                "restore it in .cde/workflow.yml or cancel the feature with cde_cancelFeature"
            ) from None
        return await self._prompter.prepare(workflow, following, feature.recipe_id, feature=feature.name)

    @staticmethod
    def _check_not_recorded(feature: Feature, paths: Mapping[str, str]) -> None:
        """No output goes to a file that already records another output of the feature: the workflow was
        edited since (an earlier phase's file given to a later output), and writing would lose that record."""
        owners = {path: key for key, path in feature.documents().items()}
        for key, path in paths.items():
            if owners.get(path, key) != key:
                raise ConflictError(
                    f"{path} already holds this feature's {owners[path]!r}; .cde/workflow.yml now saves {key!r} "
                    "there too: give one of them another file, then submit again"
                )

    @staticmethod
    def _current_phase(feature: Feature, phase_id: str, results: Mapping[str, str], workflow: Workflow) -> Phase:
        """The phase `results` are for, once the gates pass: it is current, and the results are its own."""
        feature.check_phase(phase_id)
        try:  # first: a phase renamed in workflow.yml would make its own outputs look like another phase's
            phase = workflow.phase(phase_id)
        except NotFoundError:
            raise InvalidTransitionError(
                f"phase {phase_id} of feature {feature.name} is no longer in the project's workflow; "
                "restore it in .cde/workflow.yml or cancel the feature with cde_cancelFeature"
            ) from None
        foreign = {k: owner for k, owner in workflow.output_owner().items() if k in results and owner != phase_id}
        if foreign:
            key, owner = next(iter(foreign.items()))
            if owner in feature.phases[feature.phases.index(phase_id) + 1 :]:
                advice = f"submit it with that phase, after {phase_id}"
            elif owner in feature.phases:
                advice = f"phase {owner} is already done"
            else:  # skipped by the workflow type, or added to the workflow after this feature started
                advice = f"phase {owner} is not part of this feature ({', '.join(feature.phases)})"
            takes = ", ".join(o.key + ("" if o.required else " (optional)") for o in phase.outputs) or "no results"
            raise InvalidTransitionError(
                f"results key {key!r} is the output of phase {owner}, not {phase_id}; {advice}. "
                f"{phase_id} takes: {takes}"
            )
        feature.check_outputs(phase, results)
        return phase
