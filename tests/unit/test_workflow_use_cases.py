"""StartFeature, SubmitWork, GetFeatureStatus, ListFeatures, CancelFeature and SelectWorkflow on fakes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from domain.cancel_feature import CancelFeature
from domain.errors import (
    ConflictError,
    CorruptDataError,
    InvalidInputError,
    InvalidTransitionError,
    LimitExceededError,
    NotFoundError,
)
from domain.feature import Feature
from domain.feature_status import GetFeatureStatus
from domain.front_matter import document_body
from domain.list_features import ListFeatures
from domain.phase_prompt import PhasePrompter
from domain.ports import Staged
from domain.project_state import ProjectState
from domain.select_workflow import SelectWorkflow
from domain.start_feature import RESUME_WINDOW, StartFeature, unique_name
from domain.submit_work import SubmitWork
from domain.workflow import parse_workflow
from tests.unit.fakes import (
    WORKFLOW_DOC,
    InMemoryConfig,
    InMemorySpecStore,
    InMemoryStateRepository,
    StaticFacts,
    recipe,
    team_recipes,
    team_workflow,
)

T = TypeVar("T")


class World:
    def __init__(
        self,
        config: InMemoryConfig | None = None,
        specs: InMemorySpecStore | None = None,
        state: InMemoryStateRepository | None = None,
    ) -> None:
        self.state = state or InMemoryStateRepository()
        self.config = config or InMemoryConfig(team_workflow(), team_recipes())
        self.specs = specs or InMemorySpecStore()
        ids = (f"{n:012x}" for n in itertools.count(0xA0000001))
        ticks = (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=n) for n in itertools.count())
        self.now = lambda: next(ticks)
        self.prompter = prompter = PhasePrompter(self.config, StaticFacts(), self.specs)
        self.start = StartFeature(self.state, self.config, self.specs, prompter, new_id=lambda: next(ids), now=self.now)
        self.submit = SubmitWork(self.state, self.config, self.specs, prompter, now=self.now)
        self.status = GetFeatureStatus(self.state, self.config, prompter)
        self.list = ListFeatures(self.state, self.config)
        self.cancel = CancelFeature(self.state, self.specs, now=self.now)


def bodies(documents: Mapping[str, str]) -> dict[str, str]:
    """Each saved document without the front matter the server adds."""
    return {path: document_body(text) for path, text in documents.items()}


async def test_start_records_the_feature_and_renders_the_first_prompt() -> None:
    world = World()
    started = await world.start("Add SSO login!", workflow_type="fast")
    assert started.feature_id == "0000a0000001"
    assert started.name == "add-sso-login"
    assert started.phases == ["spec", "build", "sign-off"] and started.skipped == ["security-audit"]
    assert started.phase == "spec" and started.required_outputs == ["spec"]
    assert started.spec_dir == "specs/add-sso-login" and "add-sso-login" in world.specs.dirs
    assert "You are an engineer on demo." in started.prompt  # role recipe's role first
    assert "Specify Add SSO login! for demo." in started.prompt
    assert "- `spec` (required; saved to specs/add-sso-login/spec.md)" in started.prompt
    assert 'feature_id="0000a0000001", phase_id="spec"' in started.prompt
    saved = (await world.state.load()).features[started.feature_id]
    assert saved.status == "spec" and saved.recipe_id == "engineer" and saved.workflow == "team@2"


async def test_outputs_are_described_once_per_prompt() -> None:
    """A recipe showing {{ required_outputs }} already describes each output: the closing note only names
    the keys (each description twice was ~40 tokens per output, in every prompt). Without it, the note
    describes them."""
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    line = "- `spec` (required; saved to specs/add-sso-login/spec.md)"
    assert started.prompt.count(line) == 1
    assert started.prompt.endswith("an object of strings with the keys described above: `spec`, `notes` (optional).")
    outcome = await world.submit(started.feature_id, "spec", {"spec": "SPEC-XYZ"})
    assert outcome.phase == "build"  # its recipe does not show the list: the note gives it in full
    note = outcome.prompt[outcome.prompt.index("# Next step") :]
    assert "an object of strings with these keys:\n- `summary` (required" in note


async def test_names_are_unique_among_features_and_existing_spec_folders() -> None:
    world = World(specs=InMemorySpecStore({"export-csv"}))
    first = await world.start("Export CSV")
    second = await world.start("Export CSV.")
    assert (first.name, second.name) == ("export-csv-2", "export-csv-3")
    # The stray folder was only seen by the commit: the prompt names the feature it recorded.
    assert first.spec_dir == "specs/export-csv-2" and "specs/export-csv-2/spec.md" in first.prompt
    assert "specs/export-csv/" not in first.prompt
    assert unique_name("a", {"a", "a-2"}) == "a-3"


async def test_a_repeated_start_gets_the_feature_back_until_work_is_submitted() -> None:
    """A start whose answer was lost (client timeout, restart) and is retried made a duplicate `<name>-2`."""
    world = World()
    first = await world.start("Add SSO login", workflow_type="full")
    again = await world.start("Add SSO login", workflow_type="full")
    assert again.feature_id == first.feature_id and again.resumed and first.resumed is None
    assert again.prompt == first.prompt and again.spec_dir == first.spec_dir
    assert len((await world.state.load()).features) == 1
    assert "resumed" not in first.model_dump(mode="json")  # left out unless true
    # Not once work was submitted, nor for another workflow type, nor once the feature is closed.
    await world.submit(first.feature_id, "spec", {"spec": "S"})
    after_submit = await world.start("Add SSO login", workflow_type="full")
    other_type = await world.start("Add SSO login", workflow_type="fast")
    await world.cancel(other_type.feature_id, "not needed")
    after_cancel = await world.start("Add SSO login", workflow_type="fast")
    after_cancel_time = (await world.state.load()).features[after_cancel.feature_id].created_at
    # Nor the same request long after (an untouched feature abandoned): that is new work.
    world.start._now = lambda: after_cancel_time + RESUME_WINDOW + timedelta(seconds=1)  # type: ignore[method-assign]
    later = await world.start("Add SSO login", workflow_type="fast")
    ids = {first.feature_id, after_submit.feature_id, other_type.feature_id, after_cancel.feature_id, later.feature_id}
    assert len(ids) == 5 and not (after_submit.resumed or other_type.resumed or after_cancel.resumed or later.resumed)


async def test_auto_selection_falls_back_to_the_workflow_default_type() -> None:
    world = World()  # the team workflow has no "quick-fix" type
    started = await world.start("Fix the typo in the footer")
    assert started.workflow_type == "full"


async def test_start_refuses_bad_choices_before_recording_anything() -> None:
    world = World()
    with pytest.raises(NotFoundError, match="available: full, fast"):
        await world.start("x", workflow_type="quick")
    with pytest.raises(NotFoundError, match="recipe 'nope'"):
        await world.start("x", recipe_id="nope")
    with pytest.raises(InvalidInputError, match="user_prompt is empty"):
        await world.start("   ")
    world.config.recipes["spec"] = recipe("spec", "Uses {{ ticket_id }}")
    with pytest.raises(
        InvalidInputError, match=r"recipe 'spec' \(<memory>/spec.poml\) uses unknown placeholder\(s\) ticket_id"
    ):
        await world.start("x")
    assert world.state.updates == 0 and not world.specs.dirs


async def test_submit_walks_the_plan_saves_files_and_feeds_later_prompts() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    fid = started.feature_id
    step = await world.submit(fid[:6], "spec", {"spec": "THE SPEC", "notes": "n"})
    assert (step.status, step.phase, step.done, step.total) == ("build", "build", 1, 4)
    assert step.artifacts == ["specs/add-sso-login/spec.md"]
    saved = world.specs.files["specs/add-sso-login/spec.md"]
    assert saved.startswith('---\ntitle: "Spec: Add SSO login"\ndescription: "Add SSO login"\n')  # for the docs tools
    assert document_body(saved) == "THE SPEC"
    assert "## spec (from spec)\n\nTHE SPEC" in step.prompt  # declared input
    assert "Spec again: THE SPEC" in step.prompt  # output key as placeholder
    step = await world.submit(fid, "build", {"summary": "SUMMARY", "files_changed": "a.py"})
    assert step.phase == "security-audit" and step.artifacts == []
    assert "Audit. Tasks: SUMMARY" in step.prompt and "Auditor." in step.prompt
    assert "Audit: (audit is not available yet: phase security-audit has not been submitted)" in step.prompt
    step = await world.submit(fid, "security-audit", {"audit": "clean"})
    assert step.phase == "sign-off" and "This phase is done by a human" in step.prompt
    done = await world.submit(fid, "sign-off", {"decision": "ship"})
    assert (done.status, done.phase, done.done, done.required_outputs) == ("completed", None, 4, [])
    assert "is completed" in done.prompt and "specs/add-sso-login/audit.md" in done.prompt


async def test_an_optional_output_left_out_is_explained_not_called_pending() -> None:
    config = InMemoryConfig(team_workflow(), team_recipes())
    config.recipes["build"] = recipe("build", "Build {{ feature_name }}. Notes: {{ notes }}")
    world = World(config)
    started = await world.start("Add SSO login", workflow_type="full")
    step = await world.submit(started.feature_id, "spec", {"spec": "S", "notes": " "})
    assert "Notes: (notes is not available: it is optional and phase spec was submitted without it)" in step.prompt


async def test_skipped_inputs_are_explained_in_the_prompt() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="fast")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    step = await world.submit(started.feature_id, "build", {"summary": "S", "files_changed": "f"})
    assert step.phase == "sign-off"
    assert "Not available (skipped or not produced): audit." in step.prompt  # previous_results
    assert "Audit: (audit is not available: phase security-audit is skipped by workflow type fast)" in step.prompt


async def test_gates_refuse_before_any_write() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="fast")
    fid = started.feature_id
    updates = world.state.updates
    with pytest.raises(InvalidTransitionError, match="the current phase is spec"):
        await world.submit(fid, "build", {"summary": "s", "files_changed": "f"})
    with pytest.raises(InvalidTransitionError, match="security-audit is skipped by workflow type fast"):
        await world.submit(fid, "security-audit", {"audit": "a"})
    with pytest.raises(InvalidTransitionError, match=r"miss required output\(s\): spec"):
        await world.submit(fid, "spec", {"notes": "n"})
    with pytest.raises(InvalidInputError, match="must be snake_case"):
        await world.submit(fid, "spec", {"Spec": "S"})
    with pytest.raises(InvalidTransitionError) as skipped:
        await world.submit(fid, "spec", {"spec": "S", "audit": "early"})
    assert str(skipped.value) == (
        "results key 'audit' is the output of phase security-audit, not spec; phase security-audit is not part of "
        "this feature (spec, build, sign-off). spec takes: spec, notes (optional)"
    )  # not "submit it with that phase": the feature never reaches it
    with pytest.raises(InvalidTransitionError, match="'summary' is the output of phase build, not spec; submit it "):
        await world.submit(fid, "spec", {"spec": "S", "summary": "early"})
    assert world.state.updates == updates and world.specs.files == {}
    await world.submit(fid, "spec", {"spec": "S"})
    with pytest.raises(InvalidTransitionError, match="'spec' is the output of phase spec, not build; phase spec is al"):
        await world.submit(fid, "build", {"summary": "s", "files_changed": "f", "spec": "again"})


async def test_declared_inputs_reach_the_prompt_even_when_the_recipe_does_not_show_them() -> None:
    """A custom workflow pairing a phase that has inputs with a recipe written without {{ previous_results }}
    (the bundled define) left those inputs out of the prompt, silently."""
    document = dict(
        WORKFLOW_DOC, phases=[dict(p, recipe="spec") if p["id"] == "build" else p for p in WORKFLOW_DOC["phases"]]
    )
    world = World(config=InMemoryConfig(parse_workflow(document), team_recipes()))
    started = await world.start("Add SSO login", workflow_type="full")
    outcome = await world.submit(started.feature_id, "spec", {"spec": "SPEC-XYZ"})
    assert outcome.phase == "build"
    assert "# Earlier results\n\n## spec (from spec)\n\nSPEC-XYZ" in outcome.prompt
    assert outcome.prompt.index("# Earlier results") < outcome.prompt.index("# Next step")
    # A recipe that shows them (the team's build recipe uses {{ previous_results }}) gets them once.
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    outcome = await world.submit(started.feature_id, "spec", {"spec": "SPEC-XYZ"})
    assert "# Earlier results" not in outcome.prompt and outcome.prompt.count("SPEC-XYZ") == 2  # and {{ spec }}


async def test_a_deleted_role_recipe_says_which_feature_needs_it_and_the_way_out() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    del world.config.recipes["engineer"]  # the project's role recipe file removed meanwhile
    advice = (
        "recipe 'engineer' does not exist; feature add-sso-login was started with that role recipe: restore it, "
        "or cancel the feature with cde_cancelFeature"
    )
    with pytest.raises(NotFoundError) as submitted:
        await world.submit(started.feature_id, "spec", {"spec": "S"})
    with pytest.raises(NotFoundError) as resumed:
        await world.status(started.feature_id, include_prompt=True)
    assert str(submitted.value) == str(resumed.value) == advice
    with pytest.raises(NotFoundError, match=r"^recipe 'engineer' does not exist$"):  # no feature yet to name
        await world.start("Another", workflow_type="full")


async def test_an_output_renamed_after_its_phase_was_submitted_is_not_called_optional() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    renamed = [
        dict(p, outputs=[{"key": "spec_text", "file": "spec.md"}]) if p["id"] == "spec" else p
        for p in WORKFLOW_DOC["phases"]
    ]
    renamed = [dict(p, inputs=[{"spec": "spec_text"}.get(i, i) for i in p.get("inputs", [])]) for p in renamed]
    world.config._workflow = parse_workflow(dict(WORKFLOW_DOC, phases=renamed))
    world.config.recipes["build"] = recipe("build", "Build. Spec: {{ spec_text }}")
    status = await world.status(started.feature_id, include_prompt=True)
    assert "Spec: (spec_text is not available: phase spec was submitted before spec_text was one of its outputs)" in (
        status.prompt
    )


async def test_an_output_given_an_earlier_outputs_file_is_refused_not_written_over_it() -> None:
    """workflow.yml edited mid-feature so that `summary` goes to spec.md (and spec to spec-v2.md): the build
    submission replaced the recorded spec (lost) and the feature listed spec.md twice among its documents."""
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    await world.submit(started.feature_id, "spec", {"spec": "THE SPEC"})
    files = {"spec": [{"key": "spec", "file": "spec-v2.md"}], "build": [{"key": "summary", "file": "spec.md"}]}
    edited = [dict(p, outputs=files[p["id"]]) if p["id"] in files else p for p in WORKFLOW_DOC["phases"]]
    world.config._workflow = parse_workflow(dict(WORKFLOW_DOC, phases=edited))
    with pytest.raises(ConflictError, match=r"specs/add-sso-login/spec\.md already holds this feature's 'spec'"):
        await world.submit(started.feature_id, "build", {"summary": "THE SUMMARY"})
    assert bodies(world.specs.files)["specs/add-sso-login/spec.md"] == "THE SPEC"
    assert (await world.status(started.feature_id)).phase == "build"


async def test_a_renamed_current_phase_is_reported_as_gone_whatever_the_results() -> None:
    """Renamed in workflow.yml, its outputs belonged to the new name: the refusals sent the caller back and
    forth between "submit it with phase build2" and "phase build2 is not part of this feature"."""
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    document = dict(
        WORKFLOW_DOC, phases=[dict(p, id="build2") if p["id"] == "build" else p for p in WORKFLOW_DOC["phases"]]
    )
    world.config._workflow = parse_workflow(document)
    with pytest.raises(InvalidTransitionError) as caught:
        await world.submit(started.feature_id, "build", {"summary": "s", "files_changed": "f"})
    assert str(caught.value) == (
        f"phase build of feature {started.name} is no longer in the project's workflow; "
        "restore it in .cde/workflow.yml or cancel the feature with cde_cancelFeature"
    )


async def test_of_concurrent_submissions_of_one_phase_one_is_accepted_and_its_file_is_kept() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="fast")
    outcomes = await asyncio.gather(
        *(world.submit(started.feature_id, "spec", {"spec": f"spec {n}"}) for n in range(3)), return_exceptions=True
    )
    accepted = [n for n, outcome in enumerate(outcomes) if not isinstance(outcome, BaseException)]
    assert len(accepted) == 1, outcomes
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert all(isinstance(e, InvalidTransitionError) and "already done" in str(e) for e in refused), refused
    assert bodies(world.specs.files) == {"specs/add-sso-login/spec.md": f"spec {accepted[0]}"}
    status = await world.status(started.feature_id, include_prompt=True)
    assert f"spec {accepted[0]}" in status.prompt


class SlowCommits(InMemoryStateRepository):
    """Commits like the real repository: in a worker thread that finishes even if its caller is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.proceed.set()

    async def update(self, change: Callable[[ProjectState], T], *, first: Staged | None = None) -> T:
        self.entered.set()  # as the real one has handed its disk work to a thread by its first suspension

        async def commit() -> T:
            await self.proceed.wait()
            return await InMemoryStateRepository.update(self, change, first=first)

        return await asyncio.shield(commit())


async def test_a_submission_cancelled_mid_commit_still_holds_the_lock_until_its_commit_lands() -> None:
    world = World()
    world.state = slow = SlowCommits()
    prompter = PhasePrompter(world.config, StaticFacts(), world.specs)
    world.start = StartFeature(slow, world.config, world.specs, prompter, now=world.now)
    world.submit = SubmitWork(slow, world.config, world.specs, prompter, now=world.now)
    started = await world.start("Add SSO login", workflow_type="fast")
    slow.entered.clear()
    slow.proceed.clear()
    first = asyncio.create_task(world.submit(started.feature_id, "spec", {"spec": "first"}))
    await slow.entered.wait()  # its update (file, then state) is in flight
    first.cancel()
    second = asyncio.create_task(world.submit(started.feature_id, "spec", {"spec": "second"}))
    for _ in range(20):  # let the second submission run until it waits (no timing involved: fakes never block)
        await asyncio.sleep(0)
    slow.proceed.set()
    with pytest.raises(InvalidTransitionError, match="already done"):
        await second
    assert bodies(world.specs.files) == {"specs/add-sso-login/spec.md": "first"}
    assert (await slow.load()).features[started.feature_id].status == "build"


async def test_cancelling_waits_for_a_submission_in_progress_so_its_files_are_recorded() -> None:
    world = World()
    world.state = slow = SlowCommits()
    prompter = PhasePrompter(world.config, StaticFacts(), world.specs)
    world.submit = SubmitWork(slow, world.config, world.specs, prompter, now=world.now)
    world.cancel = CancelFeature(slow, world.specs, now=world.now)
    started = await StartFeature(slow, world.config, world.specs, prompter)("Add SSO login", workflow_type="fast")
    slow.entered.clear()
    slow.proceed.clear()
    submitting = asyncio.create_task(world.submit(started.feature_id, "spec", {"spec": "S"}))
    await slow.entered.wait()  # spec.md is written, the commit is in flight
    cancelling = asyncio.create_task(world.cancel(started.feature_id, "stop"))
    for _ in range(20):
        await asyncio.sleep(0)
    slow.proceed.set()
    await submitting
    await cancelling
    feature = (await slow.load()).features[started.feature_id]
    assert feature.status == "cancelled" and feature.documents() == {"spec": "specs/add-sso-login/spec.md"}


async def test_the_next_prompt_is_rendered_before_the_commit_starts() -> None:
    world = World(state=(slow := SlowCommits()))
    prompter = world.prompter
    started = await world.start("Add SSO login", workflow_type="fast")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    rendered: list[str] = []
    real_results = prompter.results

    async def results(feature: Feature, known: Mapping[str, str] | None = None) -> dict[str, str]:
        rendered.append(feature.status)
        return await real_results(feature, known)

    prompter.results = results  # type: ignore[method-assign]
    slow.entered.clear()
    slow.proceed.clear()
    submitting = asyncio.create_task(world.submit(started.feature_id, "build", {"summary": "s", "files_changed": "f"}))
    await slow.entered.wait()
    assert rendered == ["sign-off"] and not submitting.done()  # made before anything was written
    slow.proceed.set()
    outcome = await submitting
    assert outcome.status == "sign-off" and "sign-off" in outcome.prompt
    assert rendered == ["sign-off"]
    assert (await slow.load()).features[started.feature_id].status == "sign-off"


async def test_a_next_prompt_that_cannot_be_made_refuses_the_submission_and_writes_nothing() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="fast")

    async def unreadable(feature: Feature, known: Mapping[str, str] | None = None) -> dict[str, str]:
        raise CorruptDataError("specs/add-sso-login/notes.md", "invalid UTF-8 at byte 3")

    world.prompter.results = unreadable  # type: ignore[method-assign]
    with pytest.raises(CorruptDataError, match="fix or move it away, then retry"):
        await world.submit(started.feature_id, "spec", {"spec": "S"})
    feature = (await world.state.load()).features[started.feature_id]
    assert feature.status == "spec" and not world.specs.files  # the retry the error asks for is accepted
    del world.prompter.results
    assert (await world.submit(started.feature_id, "spec", {"spec": "S"})).status == "build"


async def test_a_start_whose_first_prompt_cannot_be_made_records_nothing() -> None:
    huge = recipe("huge", "", role="{{ user_prompt }}\n" * 5000, category="roles")  # 5,000 copies of the request
    world = World(config=InMemoryConfig(team_workflow(), {**team_recipes(), "huge": huge}))
    with pytest.raises(LimitExceededError, match="would render"):
        await world.start("x" * 1000 + " Add SSO login", workflow_type="fast", recipe_id="huge")
    assert not (await world.state.load()).features and not world.specs.dirs


class RenamingCommits(InMemoryStateRepository):
    """A repository whose stored feature differs from the caller's copy (as if edited by hand meanwhile)."""

    rename_to = ""

    async def update(self, change: Callable[[ProjectState], T], *, first: Staged | None = None) -> T:
        def edited(state: ProjectState) -> T:
            for fid, feature in list(state.features.items()):
                state.features[fid] = feature.model_copy(update={"name": self.rename_to or feature.name})
            return change(state)

        return await super().update(edited, first=first)


async def test_the_answer_describes_the_feature_the_commit_recorded() -> None:
    world = World(state=(state := RenamingCommits()))
    started = await world.start("Add SSO login", workflow_type="fast")
    state.rename_to = "renamed-meanwhile"
    outcome = await world.submit(started.feature_id, "spec", {"spec": "S"})
    assert "Build renamed-meanwhile." in outcome.prompt


async def test_a_recorded_submission_whose_answer_cannot_be_made_says_it_was_recorded() -> None:
    world = World(state=(state := RenamingCommits()))
    started = await world.start("Add SSO login", workflow_type="fast")
    state.rename_to = "renamed-meanwhile"
    real_results = world.prompter.results
    calls: list[str] = []

    async def fails_the_second_time(feature: Feature, known: Mapping[str, str] | None = None) -> dict[str, str]:
        calls.append(feature.name)
        if len(calls) > 1:
            raise CorruptDataError("specs/renamed-meanwhile/spec.md", "invalid UTF-8 at byte 3")
        return await real_results(feature, known)

    world.prompter.results = fails_the_second_time  # type: ignore[method-assign]
    outcome = await world.submit(started.feature_id, "spec", {"spec": "S"})
    assert calls == ["add-sso-login", "renamed-meanwhile"]
    assert outcome.status == "build" and outcome.phase == "build" and outcome.required_outputs
    assert outcome.prompt.startswith("The results are recorded, but the next prompt could not be made: ")
    assert "include_prompt=true" in outcome.prompt


async def test_a_phase_removed_from_the_workflow_is_reported_not_guessed() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    document = dict(WORKFLOW_DOC, phases=[p for p in WORKFLOW_DOC["phases"] if p["id"] != "build"])
    document["phases"] = [
        dict(p, inputs=[i for i in p.get("inputs", []) if i != "summary"]) for p in document["phases"]
    ]
    world.config._workflow = parse_workflow(document)
    with pytest.raises(InvalidTransitionError, match="no longer in the project's workflow"):
        await world.submit(started.feature_id, "build", {"summary": "s", "files_changed": "f"})
    status = await world.status(started.feature_id, include_prompt=True)
    assert status.phase == "build" and status.required_outputs == []
    assert status.prompt.startswith("Phase build is no longer in the project's workflow")


async def test_a_removed_next_phase_is_reported_naming_the_feature_and_the_way_out() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="full")
    document = dict(WORKFLOW_DOC, phases=[p for p in WORKFLOW_DOC["phases"] if p["id"] != "build"])
    document["phases"] = [
        dict(p, inputs=[i for i in p.get("inputs", []) if i != "summary"]) for p in document["phases"]
    ]
    world.config._workflow = parse_workflow(document)
    with pytest.raises(InvalidTransitionError) as refused:
        await world.submit(started.feature_id, "spec", {"spec": "S"})
    assert str(refused.value) == (
        f"the next phase of feature {started.name}, build, is no longer in the project's workflow; "
        "restore it in .cde/workflow.yml or cancel the feature with cde_cancelFeature"
    )
    assert (await world.status(started.feature_id)).phase == "spec"  # nothing recorded


async def test_status_resumes_with_the_current_prompt() -> None:
    world = World()
    started = await world.start("Add SSO login", workflow_type="fast")
    await world.submit(started.feature_id, "spec", {"spec": "S"})
    status = await world.status("add-sso-login", include_prompt=True)
    assert (status.status, status.phase, status.done, status.total) == ("build", "build", 1, 3)
    assert status.required_outputs == ["summary", "files_changed"]
    assert status.artifacts == ["specs/add-sso-login/spec.md"]
    assert "Build add-sso-login." in status.prompt
    assert [line.split(" ", 1)[1] for line in status.history] == ["started: - -> spec", "submitted: spec -> build"]
    assert (await world.status(started.feature_id)).prompt is None


async def test_list_filters_and_orders_by_latest_activity() -> None:
    world = World()
    a = await world.start("Feature A", workflow_type="fast")
    b = await world.start("Feature B", workflow_type="fast")
    c = await world.start("Feature C", workflow_type="fast")
    await world.submit(a.feature_id, "spec", {"spec": "S"})
    await world.cancel(b.feature_id, "duplicate of C")
    listed = await world.list()
    assert [f.name for f in listed.features] == ["feature-b", "feature-a", "feature-c"]
    assert [f.name for f in (await world.list("active")).features] == ["feature-a", "feature-c"]
    assert [f.name for f in (await world.list("cancelled")).features] == ["feature-b"]
    assert [f.name for f in (await world.list("build")).features] == ["feature-a"]
    assert (await world.list("security-audit")).features == []  # a phase of the workflow: valid, just empty
    with pytest.raises(InvalidInputError, match=r"status 'in-progress' is not one of: active, completed, .*, spec,"):
        await world.list("in-progress")
    limited = await world.list(limit=1)
    assert len(limited.features) == 1 and limited.total == 3
    assert c.feature_id in {f.feature_id for f in listed.features}


async def test_cancel_and_fail_close_the_feature() -> None:
    world = World()
    started = await world.start("Feature A", workflow_type="fast")
    closed = await world.cancel(started.feature_id, "  out of   scope ", "failed")
    assert closed.status == "failed"
    feature = (await world.state.load()).features[started.feature_id]
    assert feature.history[-1].note == "out of scope"
    with pytest.raises(InvalidTransitionError, match="accepts no more work"):
        await world.submit(started.feature_id, "spec", {"spec": "S"})
    with pytest.raises(InvalidInputError, match="reason is empty"):
        await world.cancel(started.feature_id, " ")


async def test_no_use_case_mutates_the_shared_state_snapshot() -> None:
    world = World()  # its state repository checks the snapshot on every call; this checks after the last one
    a = await world.start("Feature A", workflow_type="full")
    b = await world.start("Feature B", workflow_type="fast")
    await world.submit(a.feature_id, "spec", {"spec": "S", "notes": "n"})
    await world.status(a.feature_id, include_prompt=True)
    await world.list("active")
    await world.submit(a.feature_id, "build", {"summary": "s", "files_changed": "f"})
    await world.cancel(b.feature_id, "not needed")
    with pytest.raises(InvalidTransitionError):
        await world.submit(b.feature_id, "spec", {"spec": "S"})
    await world.status(b.feature_id, include_prompt=True)
    world.state.check_snapshot()


async def test_select_workflow_resolves_against_the_project_workflow() -> None:
    config = InMemoryConfig(team_workflow(), team_recipes())
    selection = await SelectWorkflow(config)("Fix the crash on save")
    assert selection.workflow_type == "full"  # quick-fix does not exist in this workflow
    assert "not in workflow 'team'" in selection.reasoning
    assert selection.recipe_id == "engineer"
    assert selection.phases == ["spec", "build", "security-audit", "sign-off"]


async def test_only_markdown_documents_get_front_matter() -> None:
    world = World()
    spec_phase = dict(WORKFLOW_DOC["phases"][0])
    spec_phase["outputs"] = [*spec_phase["outputs"], {"key": "api", "file": "openapi.yaml", "required": False}]
    world.config._workflow = parse_workflow(dict(WORKFLOW_DOC, phases=[spec_phase, *WORKFLOW_DOC["phases"][1:]]))
    started = await world.start("Add SSO login", workflow_type="full")
    await world.submit(started.feature_id, "spec", {"spec": "S", "api": "openapi: 3.1.0\n"})
    assert world.specs.files["specs/add-sso-login/openapi.yaml"] == "openapi: 3.1.0\n"  # still YAML, as sent
    assert world.specs.files["specs/add-sso-login/spec.md"].startswith('---\ntitle: "Spec: Add SSO login"\n')
