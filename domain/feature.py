"""Features and their status machine: one status per phase, then completed, failed or cancelled.

The gates live here, not in the prompts: a feature only accepts results for its
current phase, with every required output present; it never moves backwards
and never jumps ahead (the phases a workflow type skips were removed from its
plan when it started); a finished feature accepts nothing. Every transition is
appended to the feature's history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.clock import UtcDatetime
from domain.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from domain.workflow import TERMINAL_STATUSES, Phase

Event = Literal["started", "submitted", "cancelled", "failed"]
ClosingStatus = Literal["cancelled", "failed"]

MIN_PREFIX = 4
_HEX_PREFIX = re.compile(r"^[0-9a-f]+$")


class Transition(BaseModel):
    """One entry of a feature's history: `source` → `target` status at `at`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: UtcDatetime
    event: Event
    source: str | None
    target: str
    note: str = ""

    def line(self) -> str:
        when = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        note = f" ({self.note})" if self.note else ""
        return f"{when} {self.event}: {self.source or '-'} -> {self.target}{note}"


class PhaseRecord(BaseModel):
    """What was submitted for one phase.

    Outputs the workflow saves to a file live only in that file (`files`: key →
    project-relative path), which is the source of truth later prompts read; the
    state keeps the other values (`results`) and stays small.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    results: dict[str, str]
    files: dict[str, str] = Field(default_factory=dict)
    submitted_at: UtcDatetime


class Feature(BaseModel):
    """A unit of work walked through a workflow's phases.

    `phases` is the plan fixed at start (the workflow's phases minus those the
    type skips); `status` is the current phase id until the feature finishes.

    Immutable: a transition returns a new Feature and leaves this one (and every
    list or dict it holds) untouched, so a state snapshot shared by readers can
    be edited by swapping one feature, without copying the others.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    user_prompt: str
    workflow: str
    workflow_type: str
    recipe_id: str
    phases: list[str]
    skipped: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)
    status: str
    results: dict[str, PhaseRecord] = Field(default_factory=dict)
    history: list[Transition] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @model_validator(mode="after")
    def _status_is_a_phase_or_final(self) -> Feature:
        # A hand-edited state must fail validation (corrupt_data naming the file), not the gates later.
        if self.status not in self.phases and self.status not in TERMINAL_STATUSES:
            raise ValueError(f"status {self.status!r} is neither one of its phases nor {', '.join(TERMINAL_STATUSES)}")
        repeated = sorted({p for p in self.phases if self.phases.count(p) > 1})
        if repeated:  # the feature would go round in circles: done would count past the phase it stays in
            raise ValueError(f"phases lists {', '.join(repeated)} more than once")
        return self

    @classmethod
    def start(
        cls,
        *,
        feature_id: str,
        name: str,
        user_prompt: str,
        workflow: str,
        workflow_type: str,
        recipe_id: str,
        phases: list[str],
        skipped: list[str],
        skills: list[str],
        now: datetime,
    ) -> Feature:
        if not phases:
            raise InvalidInputError(f"workflow type {workflow_type!r} runs no phase; fix .cde/workflow.yml")
        return cls(
            id=feature_id,
            name=name,
            user_prompt=user_prompt,
            workflow=workflow,
            workflow_type=workflow_type,
            recipe_id=recipe_id,
            phases=list(phases),
            skipped=list(skipped),
            skills=list(skills),
            status=phases[0],
            created_at=now,
            updated_at=now,
            history=[Transition(at=now, event="started", source=None, target=phases[0])],
        )

    # -- queries -------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def current_phase(self) -> str | None:
        return None if self.finished else self.status

    @property
    def done(self) -> int:
        return sum(1 for p in self.phases if p in self.results)

    def _records(self) -> list[PhaseRecord]:
        return [self.results[p] for p in self.phases if p in self.results]

    def collected_results(self) -> dict[str, str]:
        """Result values kept in the state (not those saved to files), by key, in phase order."""
        return {key: value for record in self._records() for key, value in record.results.items()}

    def documents(self) -> dict[str, str]:
        """Output key → project-relative path of the file holding its value, in phase order."""
        return {key: path for record in self._records() for key, path in record.files.items()}

    # -- transitions -----------------------------------------------------------------------------------

    def check_submission(self, phase_id: str, results: Mapping[str, str], phase: Phase) -> None:
        """Raise InvalidTransitionError unless `results` may be recorded for `phase_id` now."""
        self.check_phase(phase_id)
        self.check_outputs(phase, results)

    def check_phase(self, phase_id: str) -> None:
        """The feature is open and `phase_id` is its current phase (no regression, no skipping)."""
        if self.finished:
            # Completed by a submission whose reply may have been lost: that one was recorded.
            repeated = (
                " (a repeated submission whose reply was lost was recorded)" if self.status == "completed" else ""
            )
            raise InvalidTransitionError(
                f"feature {self.name} is {self.status} and accepts no more work{repeated}; cde_getFeatureStatus "
                "shows its documents, cde_startFeature starts new work"
            )
        if phase_id != self.status:
            raise InvalidTransitionError(self._wrong_phase(phase_id, self.status))

    @staticmethod
    def check_outputs(phase: Phase, results: Mapping[str, str]) -> None:
        """Every required output of `phase` is present and not blank, every key is one it declares (a misspelt
        optional output is not stored unseen), and a value restricted to choices is one of them."""
        phase_id = phase.id
        absent = [k for k in phase.required_outputs if k not in results]
        blank = [k for k in phase.required_outputs if k in results and not results[k].strip()]
        if absent or blank:
            problems = [f"miss required output(s): {', '.join(absent)}"] if absent else []
            if blank:
                problems.append(f"leave required output(s) empty: {', '.join(blank)} (write 'none' if there is none)")
            expected = ", ".join(phase.required_outputs)
            raise InvalidTransitionError(
                f"results for phase {phase_id} {'; and '.join(problems)}; submit all of: {expected}"
            )
        declared = {o.key for o in phase.outputs}
        undeclared = [k for k in results if k not in declared]
        if undeclared:
            takes = ", ".join(o.key for o in phase.outputs) or "no results"
            more = f" and {len(undeclared) - 5} more" if len(undeclared) > 5 else ""
            raise InvalidTransitionError(
                f"results for phase {phase_id} hold key(s) it does not declare: {', '.join(undeclared[:5])}{more}; "
                f"it takes: {takes}"
            )
        for output in phase.outputs:
            value = results.get(output.key, "")
            refusal = output.refusal(value) if value.strip() else None
            if refusal:
                raise InvalidTransitionError(
                    f"{refusal} ({output.description or 'see the phase prompt'}); phase {phase_id} stays open "
                    "until it is submitted with one of them"
                )

    def _wrong_phase(self, phase_id: str, current: str) -> str:
        if phase_id in self.skipped:
            return f"phase {phase_id} is skipped by workflow type {self.workflow_type}; the current phase is {current}"
        if phase_id not in self.phases:
            return (
                f"phase {phase_id!r} is not part of this feature ({' -> '.join(self.phases)}); "
                f"the current phase is {current}"
            )
        if self.phases.index(phase_id) < self.phases.index(current):
            return (
                f"phase {phase_id} is already done and features never go back; the current phase is {current} "
                "(a repeated submission whose reply was lost was recorded: cde_getFeatureStatus with "
                "include_prompt=true gives the current prompt)"
            )
        return f"phases cannot be skipped: the current phase is {current}; submit it before {phase_id}"

    def submit(
        self,
        phase_id: str,
        results: Mapping[str, str],
        phase: Phase,
        *,
        files: Mapping[str, str] | None = None,
        now: datetime,
    ) -> Feature:
        """This feature with the current phase's results recorded, advanced to the next phase or completed.

        `files` maps the output keys already saved to files to their paths; those
        values are not copied into the state.
        """
        self.check_submission(phase_id, results, phase)
        saved = dict(files or {})
        kept = {k: v for k, v in results.items() if k not in saved}
        position = self.phases.index(phase_id)
        target = self.phases[position + 1] if position + 1 < len(self.phases) else "completed"
        return self._moved(
            target,
            Transition(at=now, event="submitted", source=phase_id, target=target),
            results={**self.results, phase_id: PhaseRecord(results=kept, files=saved, submitted_at=now)},
        )

    def close(self, status: ClosingStatus, reason: str, *, now: datetime) -> Feature:
        """This feature stopped as cancelled or failed; it accepts nothing afterwards."""
        if self.finished:
            verb = {"cancelled": "cancel", "failed": "mark as failed"}.get(status, "close")
            raise InvalidTransitionError(f"feature {self.name} is already {self.status}; nothing to {verb}")
        return self._moved(status, Transition(at=now, event=status, source=self.status, target=status, note=reason))

    def _moved(self, status: str, transition: Transition, **changes: object) -> Feature:
        # model_copy shares the untouched containers with this feature: none of them is ever mutated.
        update = {"status": status, "history": [*self.history, transition], "updated_at": transition.at, **changes}
        return self.model_copy(update=update)


def find_feature(features: Mapping[str, Feature], ref: str) -> Feature:
    """The feature whose id is `ref`, whose name is `ref`, or whose id starts with `ref` (unique, 4+ chars)."""
    ref = ref.strip().lower()
    if not ref:
        raise InvalidInputError("feature_id is empty; pass an id from cde_listFeatures")
    exact = features.get(ref)
    if exact is not None:
        return exact
    by_name = [f for f in features.values() if f.name == ref]
    by_prefix: list[Feature] = []
    if _HEX_PREFIX.fullmatch(ref) and len(ref) >= MIN_PREFIX:
        by_prefix = sorted((f for f in features.values() if f.id.startswith(ref)), key=lambda f: f.id)
    # A name like 'cafe' can also be an id prefix: answer only when the reference means one feature.
    matches = list({f.id: f for f in by_name + by_prefix}.values())
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(f"{f.id} ({f.name})" for f in matches[:10])
        raise InvalidInputError(f"feature {ref!r} is ambiguous: {listed}; pass the full id")
    hint = f"; an id prefix needs at least {MIN_PREFIX} characters" if len(ref) < MIN_PREFIX else ""
    raise NotFoundError(f"no feature {ref!r} in this project{hint}; cde_listFeatures shows the ids")
