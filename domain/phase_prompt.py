"""The prompt for a feature's phase: its recipe rendered with the feature's context, plus how to submit.

The context a phase recipe may use (documented in the README):

* `user_prompt`, `project_name`, `project_facts`, `feature_name`, `feature_id`,
  `workflow_type`, `phase_id`, `phase_description`, `spec_dir`, `skills`;
* `required_outputs`: the result keys this phase must submit, one per line;
* `previous_results`: the results of the phase's declared `inputs`, as Markdown;
* every output key of the workflow (`spec`, `tasks`, `plan`…): its submitted
  value, or a note saying why it is not available. A value the workflow saves
  to a file is read from that file, so an edit made there between phases is
  what the next prompts see.

Preparing (loading and checking the recipes) is separate from rendering, so a
use case can refuse a broken recipe before it changes any state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from domain.errors import InvalidInputError, LimitExceededError, NotFoundError
from domain.feature import Feature
from domain.front_matter import document_body
from domain.project import Project
from domain.recipe import MAX_RENDERED_CHARS, Recipe, scan_placeholders
from domain.workflow import BASE_CONTEXT_KEYS, Handler, Phase, Workflow
from domain.workflow_ports import ProjectConfig, ProjectFacts, SpecStore


class PhaseStep(BaseModel):
    """The phase to work on now: what to submit and the prompt that explains it."""

    phase: str
    handler: Handler
    required_outputs: list[str]
    prompt: str


def context_keys(workflow: Workflow) -> frozenset[str]:
    return BASE_CONTEXT_KEYS | frozenset(workflow.output_owner())


@dataclass(frozen=True)
class PreparedPhase:
    """A phase whose recipes are loaded and known to render with a feature's context."""

    workflow: Workflow
    phase: Phase
    recipe: Recipe
    role: Recipe | None
    project: Project

    def render(self, feature: Feature, results: Mapping[str, str]) -> PhaseStep:
        """`results`: every value submitted so far, by key (see `PhasePrompter.results`)."""
        context = phase_context(self.workflow, self.phase, feature, results, self.project)
        role = self.role.render_role(context) if self.role is not None else ""
        body = self.recipe.render(context, role_prefix=role)
        unshown = self._inputs_not_shown()
        if unshown:  # declared inputs reach the prompt whatever recipe the workflow pairs with the phase
            owners = self.workflow.output_owner()
            earlier = previous_results(self.phase.model_copy(update={"inputs": unshown}), results, owners)
            if len(body) + len(earlier) > MAX_RENDERED_CHARS:
                raise LimitExceededError(
                    f"the prompt of phase {self.phase.id} with its inputs ({', '.join(unshown)}) would be over "
                    f"{MAX_RENDERED_CHARS:,} characters; shorten those results"
                )
            body += f"\n\n# Earlier results\n\n{earlier}"
        tools = " ".join(self.recipe.meta.get("tools", "").split()).rstrip(".")
        if tools:  # the phase recipe's `<let name="tools">`: what to use, and not, in this phase
            body += f"\n\nTools for this phase: {tools}."
        return PhaseStep(
            phase=self.phase.id,
            handler=self.phase.handler,
            required_outputs=self.phase.required_outputs,
            prompt=f"{body}\n\n{submission_note(self.phase, feature, listed=self._shows_outputs())}",
        )

    def _shows_outputs(self) -> bool:
        """Whether the recipes already show `required_outputs` in full (then the note only names the keys)."""
        if "required_outputs" in self.recipe.placeholders:
            return True
        return self.role is not None and "required_outputs" in scan_placeholders(self.role.role)

    def _inputs_not_shown(self) -> list[str]:
        """The phase's inputs its recipes show neither through `previous_results` nor by name."""
        if not self.phase.inputs:
            return []
        used = set(self.recipe.placeholders)
        if self.role is not None:
            used.update(scan_placeholders(self.role.role))
        return [] if "previous_results" in used else [key for key in self.phase.inputs if key not in used]


class PhasePrompter:
    """Loads a phase's recipe (and the feature's role recipe) and checks their placeholders."""

    def __init__(self, config: ProjectConfig, facts: ProjectFacts, specs: SpecStore) -> None:
        self._config = config
        self._facts = facts
        self._specs = specs

    async def results(self, feature: Feature, known: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every value submitted so far: from the state, and from the files for saved outputs.

        `known` (path → text) supplies files the caller has just written, sparing a read.
        """
        merged = feature.collected_results()
        documents = feature.documents()
        have = dict(known or {})
        wanted = [path for path in documents.values() if path not in have]
        if wanted:
            have.update(await self._specs.read(wanted))
        for key, path in documents.items():
            text = have.get(path)
            # The front matter a document was saved with is metadata for the docs tools, not the result.
            merged[key] = (
                document_body(text) if text is not None else f"({path} is missing: it was moved or deleted; restore it)"
            )
        return merged

    async def prepare(
        self, workflow: Workflow, phase_id: str, role_recipe: str | None, *, feature: str | None = None
    ) -> PreparedPhase:
        """`feature`: the name of the feature whose `role_recipe` it is (None while starting one)."""
        phase = workflow.phase(phase_id)
        recipe = await self._config.recipe(phase.recipe)
        role = None
        if role_recipe and role_recipe != phase.recipe:
            try:
                role = await self._config.recipe(role_recipe)
            except NotFoundError as exc:
                if feature is None:
                    raise
                raise NotFoundError(
                    f"{exc.message}; feature {feature} was started with that role recipe: restore it, or cancel "
                    "the feature with cde_cancelFeature"
                ) from None
        defined = context_keys(workflow)
        checks = [(recipe, recipe.missing(defined))]
        if role is not None:
            checks.append((role, [n for n in scan_placeholders(role.role) if n not in defined]))
        for culprit, missing in checks:
            if missing:
                raise InvalidInputError(
                    f"recipe {culprit.id!r} ({culprit.ref.path}) uses unknown placeholder(s) "
                    f"{culprit.located(missing)}; "
                    f"phase prompts define {', '.join(sorted(defined))} - fix the recipe"
                )
        return PreparedPhase(workflow, phase, recipe, role, await self._facts.summary())


def phase_context(
    workflow: Workflow, phase: Phase, feature: Feature, results: Mapping[str, str], project: Project
) -> dict[str, str]:
    owners = workflow.output_owner()
    context = {
        "user_prompt": feature.user_prompt,
        "project_name": project.name,
        "project_facts": project.facts,
        "feature_name": feature.name,
        "feature_id": feature.id,
        "workflow_type": feature.workflow_type,
        "phase_id": phase.id,
        "phase_description": phase.description,
        "spec_dir": f"specs/{feature.name}",
        "skills": ", ".join(feature.skills) or "(none suggested)",
        "required_outputs": outputs_list(phase, feature),
        "previous_results": previous_results(phase, results, owners),
    }
    for key, owner in owners.items():
        value = results.get(key, "")
        context[key] = value if value.strip() else _unavailable(key, owner, feature, workflow)
    return context


def _unavailable(key: str, owner: str, feature: Feature, workflow: Workflow) -> str:
    if owner in feature.skipped:
        return f"({key} is not available: phase {owner} is skipped by workflow type {feature.workflow_type})"
    if owner not in feature.phases:
        return f"({key} is not available: phase {owner} is not part of this feature)"
    if owner in feature.results:
        if key in workflow.phase(owner).required_outputs:  # the workflow changed since (a key renamed or added)
            return f"({key} is not available: phase {owner} was submitted before {key} was one of its outputs)"
        return f"({key} is not available: it is optional and phase {owner} was submitted without it)"
    return f"({key} is not available yet: phase {owner} has not been submitted)"


def outputs_list(phase: Phase, feature: Feature) -> str:
    if not phase.outputs:
        return "(no outputs: submit an empty results object)"
    lines = []
    for out in phase.outputs:
        need = "required" if out.required else "optional"
        saved = f"; saved to specs/{feature.name}/{out.file}" if out.file else ""
        choices = f"; one of: {', '.join(out.choices)}" if out.choices else ""
        description = f": {out.description}" if out.description else ""
        lines.append(f"- `{out.key}` ({need}{choices}{saved}){description}")
    return "\n".join(lines)


def previous_results(phase: Phase, results: Mapping[str, str], owners: dict[str, str]) -> str:
    if not phase.inputs:
        return "(none: this phase needs no earlier results)"
    present = [key for key in phase.inputs if results.get(key, "").strip()]
    blocks = [f"## {key} (from {owners.get(key, '?')})\n\n{results[key]}" for key in present]
    absent = [key for key in phase.inputs if key not in present]
    if absent:
        blocks.append(f"Not available (skipped or not produced): {', '.join(absent)}.")
    return "\n\n".join(blocks)


def submission_note(phase: Phase, feature: Feature, *, listed: bool = False) -> str:
    """How to submit the phase; `listed`: the prompt above already describes each output, so only name them."""
    position = feature.phases.index(phase.id) + 1 if phase.id in feature.phases else 0
    lines = [
        "# Next step",
        "",
        f"Feature `{feature.name}` (id `{feature.id}`), workflow type `{feature.workflow_type}`, "
        f"phase {position} of {len(feature.phases)}: `{phase.id}` - {phase.description}",
    ]
    if phase.handler == "human":
        lines.append(
            "This phase is done by a human: present the material above to the user, wait for their decision, "
            "and submit their answer (do not decide for them)."
        )
    call = f'When it is done, call `cde_submitWork` with feature_id="{feature.id}", phase_id="{phase.id}" and '
    if listed and phase.outputs:
        keys = ", ".join(f"`{o.key}`" + ("" if o.required else " (optional)") for o in phase.outputs)
        lines += ["", f"{call}`results`, an object of strings with the keys described above: {keys}."]
    else:
        lines += ["", f"{call}`results`, an object of strings with these keys:", outputs_list(phase, feature)]
    return "\n".join(lines)
