"""The status machine and its gates, on the Feature entity directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.errors import InvalidInputError, InvalidTransitionError, NotFoundError
from domain.feature import Feature, find_feature
from domain.workflow import Workflow, WorkflowDefinitionError, parse_workflow
from tests.unit.fakes import WORKFLOW_DOC, team_workflow

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def start(workflow: Workflow, kind: str = "fast", *, fid: str = "abcdef123456", name: str = "demo") -> Feature:
    phases, skipped = workflow.plan(kind)
    return Feature.start(
        feature_id=fid,
        name=name,
        user_prompt="do it",
        workflow="team@2",
        workflow_type=kind,
        recipe_id="engineer",
        phases=phases,
        skipped=skipped,
        skills=[],
        now=T0,
    )


RESULTS = {
    "spec": {"spec": "S"},
    "build": {"summary": "did", "files_changed": "a.py"},
    "security-audit": {"audit": "ok"},
    "sign-off": {"decision": "ship it"},
}


def advance(feature: Feature, workflow: Workflow, phase_id: str, minutes: int = 1) -> Feature:
    return feature.submit(phase_id, RESULTS[phase_id], workflow.phase(phase_id), now=T0 + timedelta(minutes=minutes))


def test_walks_every_phase_and_records_each_transition() -> None:
    workflow = team_workflow()
    feature = start(workflow, "full")
    assert feature.status == "spec" and feature.current_phase == "spec"
    for i, phase in enumerate(["spec", "build", "security-audit"], start=1):
        feature = advance(feature, workflow, phase, i)
        assert feature.status == feature.phases[i]
    assert feature.status == "sign-off"  # a custom phase id is a status of its own
    feature = advance(feature, workflow, "sign-off", 9)
    assert feature.status == "completed" and feature.finished and feature.current_phase is None
    assert feature.done == 4
    assert [(t.event, t.source, t.target) for t in feature.history] == [
        ("started", None, "spec"),
        ("submitted", "spec", "build"),
        ("submitted", "build", "security-audit"),
        ("submitted", "security-audit", "sign-off"),
        ("submitted", "sign-off", "completed"),
    ]
    assert feature.history[-1].at == T0 + timedelta(minutes=9)
    assert feature.updated_at == T0 + timedelta(minutes=9)


def test_submitting_another_phase_than_the_current_names_the_current_phase() -> None:
    workflow = team_workflow()
    feature = start(workflow, "full")
    with pytest.raises(InvalidTransitionError, match="phases cannot be skipped: the current phase is spec"):
        advance(feature, workflow, "build")
    feature = advance(feature, workflow, "spec")
    with pytest.raises(
        InvalidTransitionError, match="already done and features never go back; the current phase is build"
    ) as repeated:
        advance(feature, workflow, "spec")
    # An agent whose reply was lost sends the submission again: told it was recorded, and where the prompt is.
    assert "was recorded: cde_getFeatureStatus with include_prompt=true gives the current prompt" in str(repeated.value)
    assert feature.status == "build"
    assert len(feature.history) == 2  # refused submissions leave no trace


def test_declared_skips_are_the_only_way_past_a_phase() -> None:
    workflow = team_workflow()
    feature = start(workflow, "fast")
    feature = advance(feature, workflow, "spec")
    with pytest.raises(InvalidTransitionError, match="security-audit is skipped by workflow type fast; the current"):
        advance(feature, workflow, "security-audit")
    feature = advance(feature, workflow, "build")
    assert feature.status == "sign-off"  # the declared skip


def test_unknown_phase_lists_the_plan() -> None:
    workflow = team_workflow()
    feature = start(workflow, "fast")
    with pytest.raises(
        InvalidTransitionError, match=r"'deploy' is not part of this feature \(spec -> build -> sign-off\)"
    ):
        feature.check_phase("deploy")


def test_missing_required_outputs_are_named() -> None:
    workflow = team_workflow()
    feature = start(workflow, "full")
    feature = advance(feature, workflow, "spec")
    with pytest.raises(
        InvalidTransitionError, match=r"miss required output\(s\): files_changed; submit all of: summary, files_changed"
    ):
        feature.submit("build", {"summary": "x"}, workflow.phase("build"), now=T0)
    with pytest.raises(InvalidTransitionError) as blank:  # sent, but empty: said so, not "missing"
        feature.submit("build", {"summary": "  ", "files_changed": ""}, workflow.phase("build"), now=T0)
    assert str(blank.value) == (
        "results for phase build leave required output(s) empty: summary, files_changed (write 'none' if there "
        "is none); submit all of: summary, files_changed"
    )
    with pytest.raises(InvalidTransitionError, match=r"miss required output\(s\): files_changed; and leave requ"):
        feature.submit("build", {"summary": ""}, workflow.phase("build"), now=T0)
    assert feature.status == "build"


def test_optional_outputs_may_be_left_out_but_undeclared_keys_are_refused() -> None:
    workflow = team_workflow()
    feature = start(workflow, "full")
    with pytest.raises(InvalidTransitionError, match="does not declare: nots; it takes: spec, notes"):
        feature.submit("spec", {"spec": "S", "nots": "typo"}, workflow.phase("spec"), now=T0)
    feature = feature.submit(
        "spec", {"spec": "S", "notes": "kept"}, workflow.phase("spec"), files={"spec": "specs/demo/spec.md"}, now=T0
    )
    # an output saved to a file lives in the file only; the state keeps its path
    assert feature.results["spec"].results == {"notes": "kept"}
    assert feature.results["spec"].files == {"spec": "specs/demo/spec.md"}
    assert feature.collected_results() == {"notes": "kept"}
    assert feature.documents() == {"spec": "specs/demo/spec.md"}
    assert start(workflow, "full").submit("spec", {"spec": "S"}, workflow.phase("spec"), now=T0).status == "build"


def test_choices_must_be_text() -> None:
    doc = {**WORKFLOW_DOC, "phases": [dict(p) for p in WORKFLOW_DOC["phases"]]}
    doc["phases"][3]["outputs"] = [{"key": "decision", "choices": [True, False]}]  # YAML's yes / no
    with pytest.raises(WorkflowDefinitionError, match=r"phases\[3\].outputs\[0\].choices: choices must be text"):
        parse_workflow(doc)


def test_an_output_with_choices_takes_only_those() -> None:
    doc = {**WORKFLOW_DOC, "phases": [dict(p) for p in WORKFLOW_DOC["phases"]]}
    doc["phases"][3]["outputs"] = [
        {"key": "decision", "description": "fix blockers first", "choices": ["Ship", "hold"]}
    ]
    workflow = parse_workflow(doc)
    feature = start(workflow, "fast")
    for phase in ("spec", "build"):
        feature = feature.submit(phase, RESULTS[phase], workflow.phase(phase), now=T0)
    with pytest.raises(InvalidTransitionError, match="decision must be one of: ship, hold; got 'rejected'"):
        feature.submit("sign-off", {"decision": "rejected"}, workflow.phase("sign-off"), now=T0)
    assert feature.submit("sign-off", {"decision": " SHIP "}, workflow.phase("sign-off"), now=T0).status == "completed"


@pytest.mark.parametrize("closing", ["cancelled", "failed"])
def test_closed_features_accept_nothing(closing: str) -> None:
    workflow = team_workflow()
    feature = start(workflow, "fast")
    feature = feature.close(closing, "no longer needed", now=T0)  # type: ignore[arg-type]
    assert feature.status == closing and feature.finished
    assert feature.history[-1].note == "no longer needed"
    with pytest.raises(InvalidTransitionError, match=f"is {closing} and accepts no more work"):
        advance(feature, workflow, "spec")
    with pytest.raises(InvalidTransitionError, match=f"already {closing}"):
        feature.close("cancelled", "again", now=T0)


def test_completed_feature_accepts_nothing_and_cannot_be_cancelled() -> None:
    workflow = team_workflow()
    feature = start(workflow, "fast")
    for phase in ["spec", "build", "sign-off"]:
        feature = advance(feature, workflow, phase)
    with pytest.raises(InvalidTransitionError, match="is completed and accepts no more work") as repeated:
        advance(feature, workflow, "sign-off")
    assert "was recorded); cde_getFeatureStatus shows its documents" in str(repeated.value)  # not "start anew"
    with pytest.raises(InvalidTransitionError, match=r"already completed; nothing to cancel$"):
        feature.close("cancelled", "late", now=T0)
    with pytest.raises(InvalidTransitionError, match=r"already completed; nothing to mark as failed$"):
        feature.close("failed", "late", now=T0)


def test_transitions_leave_the_original_untouched() -> None:
    # State snapshots are shared by readers and edited by swapping one feature: nothing may change in place.
    workflow = team_workflow()
    feature = start(workflow, "full")
    before = feature.model_dump()
    moved = advance(feature, workflow, "spec")
    closed = moved.close("cancelled", "stop", now=T0)
    assert feature.model_dump() == before
    assert (moved.status, closed.status) == ("build", "cancelled")
    assert len(moved.history) == 2 and len(closed.history) == 3 and "spec" in moved.results
    with pytest.raises(ValidationError):
        feature.status = "build"  # type: ignore[misc]


def test_history_lines_are_readable() -> None:
    feature = start(team_workflow())
    assert feature.history[0].line() == "2025-01-01T00:00:00Z started: - -> spec"


class TestFindFeature:
    def features(self) -> dict[str, Feature]:
        workflow = team_workflow()
        return {
            f.id: f
            for f in (
                start(workflow, fid="abc123000001", name="login"),
                start(workflow, fid="abc123000002", name="logout"),
                start(workflow, fid="ffe000000000", name="export"),
            )
        }

    def test_exact_id_name_and_unique_prefix(self) -> None:
        features = self.features()
        assert find_feature(features, "abc123000002").name == "logout"
        assert find_feature(features, "export").id == "ffe000000000"
        assert find_feature(features, "ffe0").name == "export"
        assert find_feature(features, "ABC123000001").name == "login"

    def test_ambiguous_prefix_lists_the_candidates(self) -> None:
        with pytest.raises(InvalidInputError, match=r"ambiguous: abc123000001 \(login\), abc123000002 \(logout\)"):
            find_feature(self.features(), "abc1")

    def test_a_name_that_is_also_an_id_prefix_is_ambiguous(self) -> None:
        features = self.features()
        cafe = start(team_workflow(), fid="f00000000001", name="abc1")
        with pytest.raises(InvalidInputError, match=r"'abc1' is ambiguous: f00000000001 \(abc1\), abc123000001"):
            find_feature({**features, cafe.id: cafe}, "abc1")
        assert find_feature({**features, cafe.id: cafe}, "f00000000001").name == "abc1"

    def test_short_or_unknown_refs_are_not_found(self) -> None:
        with pytest.raises(NotFoundError, match="at least 4 characters"):
            find_feature(self.features(), "ffe")
        with pytest.raises(NotFoundError, match="cde_listFeatures"):
            find_feature(self.features(), "0000")
        with pytest.raises(InvalidInputError, match="empty"):
            find_feature(self.features(), "  ")


def test_a_status_outside_the_plan_is_invalid_data_not_a_crash_in_the_gates() -> None:
    data = start(team_workflow()).model_dump()
    with pytest.raises(ValidationError, match="status 'build-ish' is neither one of its phases nor completed"):
        Feature.model_validate({**data, "status": "build-ish"})


def test_a_phase_listed_twice_is_invalid_data() -> None:
    """Hand-edited `"phases": ["spec", "spec"]`: every submission of spec was accepted, `done` counted 2 of 2,
    and the feature stayed in spec for ever."""
    data = start(team_workflow()).model_dump()
    with pytest.raises(ValidationError, match="phases lists spec more than once"):
        Feature.model_validate({**data, "phases": ["spec", "spec"]})
