"""Workflows: the ordered phases a feature goes through, and the types that skip some of them.

One schema serves the bundled default and a project's `.cde/workflow.yml`.
`parse_workflow` validates a decoded document in two steps, shape (pydantic)
then meaning (unique ids, inputs produced by earlier phases, skips that exist),
and reports every problem with its location (`("phases", 2, "outputs", 0,
"key")`) so the loader can point at the line in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import CorruptDataError, DomainError, InvalidInputError, NotFoundError
from domain.names import validate_file_name, validate_name

TERMINAL_STATUSES = ("completed", "failed", "cancelled")
"""Feature statuses after the last phase."""
RESERVED_PHASE_IDS = (*TERMINAL_STATUSES, "active")
"""A phase id becomes a feature status, so it may not be one of these (`active` is a list filter)."""

OUTPUT_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

# Placeholders every phase prompt receives; an output key may not shadow one of them.
BASE_CONTEXT_KEYS = frozenset(
    {
        "user_prompt",
        "project_name",
        "project_facts",
        "feature_name",
        "feature_id",
        "workflow_type",
        "phase_id",
        "phase_description",
        "spec_dir",
        "required_outputs",
        "previous_results",
        "skills",
    }
)

Handler = Literal["agent", "human"]
Location = tuple[str | int, ...]


class WorkflowDefinitionError(DomainError):
    """A workflow document is invalid; `problems` pairs each location with what is wrong there."""

    code = "corrupt_data"

    def __init__(self, problems: list[tuple[Location, str]]) -> None:
        self.problems = problems
        first_loc, first_msg = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{format_location(first_loc)}: {first_msg}{more}")


class WorkflowFileError(CorruptDataError):
    """A workflow file that cannot be used; `details` has every problem, one line each (`line 8, phases[0].id: …`)."""

    def __init__(self, path: Path | str, details: list[str]) -> None:
        self.details = details
        more = f" (and {len(details) - 1} more; cde_checkRecipes lists them)" if len(details) > 1 else ""
        super().__init__(path, f"{details[0]}{more}")


def format_location(loc: Location) -> str:
    """`("phases", 2, "id")` → `phases[2].id`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


def _safe(value: str, what: str) -> str:
    try:
        return validate_name(value, what)
    except InvalidInputError as exc:
        raise ValueError(exc.message) from None


class PhaseOutput(BaseModel):
    """One result key a phase produces; `file` saves it as `specs/<feature>/<file>`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=OUTPUT_KEY_PATTERN)
    description: str = Field("", max_length=400)
    file: str | None = None
    required: bool = True
    # The only values accepted (compared trimmed and lowercase), e.g. a review's verdict; empty: any text.
    choices: tuple[str, ...] = Field((), max_length=20)

    @field_validator("file")
    @classmethod
    def _file_is_plain_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_file_name(value, "file")
        except InvalidInputError as exc:
            raise ValueError(exc.message) from None

    @field_validator("choices", mode="before")
    @classmethod
    def _choices_are_text(cls, value: object) -> object:
        if isinstance(value, list | tuple) and any(not isinstance(v, str) for v in value):
            raise ValueError("choices must be text; quote values YAML reads otherwise, e.g. 'yes', 'no', '1'")
        return value

    @field_validator("choices")
    @classmethod
    def _choices_are_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip().lower() for v in value))
        if any(not v or len(v) > 80 for v in cleaned):
            raise ValueError("each choice is 1-80 characters")
        return cleaned

    def refusal(self, value: str) -> str | None:
        """Why `value` is not accepted for this output, or None."""
        if self.choices and value.strip().lower() not in self.choices:
            return f"{self.key} must be one of: {', '.join(self.choices)}; got {value.strip()[:80]!r}"
        return None


class Phase(BaseModel):
    """A step of the workflow, prompted by recipe `recipe` and done by an agent or a human."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str = Field(min_length=1, max_length=400)
    recipe: str
    handler: Handler = "agent"
    inputs: list[str] = Field(default_factory=list, max_length=30)
    outputs: list[PhaseOutput] = Field(default_factory=list, max_length=20)

    @field_validator("id")
    @classmethod
    def _id_is_safe(cls, value: str) -> str:
        _safe(value, "phase id")
        if value in RESERVED_PHASE_IDS:
            raise ValueError(f"phase id {value!r} is reserved ({', '.join(RESERVED_PHASE_IDS)}); pick another")
        return value

    @field_validator("recipe")
    @classmethod
    def _recipe_is_safe(cls, value: str) -> str:
        return _safe(value, "recipe id")

    @property
    def required_outputs(self) -> list[str]:
        return [o.key for o in self.outputs if o.required]


class WorkflowType(BaseModel):
    """A kind of work (standard, quick-fix…): which phases it skips and the role recipe it suggests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field("", max_length=400)
    skip: list[str] = Field(default_factory=list)
    recipe: str

    @field_validator("recipe")
    @classmethod
    def _recipe_is_safe(cls, value: str) -> str:
        return _safe(value, "recipe id")


class Workflow(BaseModel):
    """The whole definition; build it with `parse_workflow` so the cross-checks run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=40)
    default_type: str
    phases: list[Phase] = Field(min_length=1, max_length=30)
    types: dict[str, WorkflowType] = Field(min_length=1, max_length=30)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `version: 1.0` as a float and `version: 2024-01-01` as a date; the version is a label,
        # keep it as text (a date or timestamp as YAML writes it: 2024-01-01, 2024-01-01 10:00:00).
        if isinstance(value, date):
            return str(value)
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @property
    def phase_ids(self) -> list[str]:
        return [p.id for p in self.phases]

    def phase(self, phase_id: str) -> Phase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise NotFoundError(
            f"phase {phase_id!r} is not in workflow {self.name!r}; its phases are {', '.join(self.phase_ids)}"
        )

    def workflow_type(self, name: str) -> WorkflowType:
        found = self.types.get(name)
        if found is None:
            raise NotFoundError(f"workflow type {name!r} does not exist; available: {', '.join(self.types)}")
        return found

    def plan(self, type_name: str) -> tuple[list[str], list[str]]:
        """(phases to run, phases skipped) for a workflow type, in workflow order."""
        skip = set(self.workflow_type(type_name).skip)
        return [p for p in self.phase_ids if p not in skip], [p for p in self.phase_ids if p in skip]

    def output_owner(self) -> dict[str, str]:
        """Output key → id of the phase that produces it."""
        return {o.key: p.id for p in self.phases for o in p.outputs}

    def recipe_references(self) -> list[tuple[Location, str]]:
        """Every recipe id the workflow names, with where it names it."""
        refs: list[tuple[Location, str]] = [(("phases", i, "recipe"), p.recipe) for i, p in enumerate(self.phases)]
        refs += [(("types", name, "recipe"), t.recipe) for name, t in self.types.items()]
        return refs

    def problems(self) -> list[tuple[Location, str]]:
        """Cross-field checks the per-field validation cannot express."""
        found: list[tuple[Location, str]] = []
        seen_phases: set[str] = set()
        produced: dict[str, str] = {}
        files: dict[str, str] = {}
        for i, phase in enumerate(self.phases):
            if phase.id in seen_phases:
                found.append((("phases", i, "id"), f"phase id {phase.id!r} appears twice"))
            seen_phases.add(phase.id)
            for j, key in enumerate(phase.inputs):
                if key not in produced:
                    found.append((("phases", i, "inputs", j), f"input {key!r} is not an output of an earlier phase"))
            for j, out in enumerate(phase.outputs):
                where: Location = ("phases", i, "outputs", j)
                if out.key in BASE_CONTEXT_KEYS:
                    found.append(((*where, "key"), f"output key {out.key!r} is reserved for the prompt context"))
                elif out.key in produced:
                    found.append(
                        ((*where, "key"), f"output key {out.key!r} is already produced by {produced[out.key]}")
                    )
                produced.setdefault(out.key, phase.id)
                if out.file is not None:
                    same = out.file.lower()  # README.md and readme.md are one file on macOS and Windows
                    if same in files:
                        found.append(((*where, "file"), f"file {out.file!r} is already written by {files[same]}"))
                    files.setdefault(same, phase.id)
        for name, wtype in self.types.items():
            try:
                _safe(name, "workflow type")
            except ValueError as exc:
                found.append((("types", name), str(exc)))
            for j, skipped in enumerate(wtype.skip):
                if skipped not in seen_phases:
                    found.append((("types", name, "skip", j), f"skips unknown phase {skipped!r}"))
            if seen_phases and seen_phases <= set(wtype.skip):
                found.append((("types", name, "skip"), "skips every phase; keep at least one"))
        if self.default_type not in self.types:
            found.append(
                (("default_type",), f"{self.default_type!r} is not one of the types ({', '.join(self.types)})")
            )
        return found


def parse_workflow(document: Any) -> Workflow:
    """Validate a decoded workflow document; raise WorkflowDefinitionError listing located problems."""
    if not isinstance(document, Mapping):
        kind = "empty" if document is None else type(document).__name__
        raise WorkflowDefinitionError([((), f"expected a mapping with name, version, phases, types; found {kind}")])
    try:
        workflow = Workflow.model_validate(document)
    except ValidationError as exc:
        raise WorkflowDefinitionError([(tuple(e["loc"]), _message(e)) for e in exc.errors()]) from None
    problems = workflow.problems()
    if problems:
        raise WorkflowDefinitionError(problems)
    return workflow


def _message(error: Any) -> str:
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def missing_recipes(workflow: Workflow, known: Iterable[str]) -> list[tuple[Location, str]]:
    """Recipe references that name no known recipe."""
    ids = set(known)
    return [
        (loc, f"recipe {rid!r} does not exist; add .cde/recipes/<category>/{rid}.poml or use a bundled one")
        for loc, rid in workflow.recipe_references()
        if rid not in ids
    ]
