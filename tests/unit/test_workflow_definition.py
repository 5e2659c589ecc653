from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from domain.errors import NotFoundError
from domain.workflow import WorkflowDefinitionError, format_location, missing_recipes, parse_workflow
from tests.unit.fakes import WORKFLOW_DOC


def doc() -> dict[str, Any]:
    return copy.deepcopy(WORKFLOW_DOC)


def problems_of(document: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow(document)
    return caught.value.problems


def test_valid_document_gives_plans_per_type() -> None:
    workflow = parse_workflow(doc())
    assert workflow.version == "2"  # numbers in YAML are kept as text labels
    assert workflow.plan("full") == (["spec", "build", "security-audit", "sign-off"], [])
    assert workflow.plan("fast") == (["spec", "build", "sign-off"], ["security-audit"])
    assert workflow.phase("spec").required_outputs == ["spec"]  # notes is optional
    assert workflow.output_owner()["audit"] == "security-audit"


def test_output_files_take_natural_names() -> None:
    """`file: README.md` was refused as "must be a lowercase slug", `index.md` and `default.yaml` as reserved."""
    for i, name in enumerate(["README.md", "index.md", "default.yaml"]):
        document = doc()
        document["phases"][2]["outputs"][0]["file"] = name
        assert parse_workflow(document).phases[2].outputs[0].file == name, i


def test_a_date_as_version_is_kept_as_its_text() -> None:
    """`version: 2024-01-01` reads as a date in YAML: it was refused as "Input should be a valid string"."""
    assert parse_workflow({**doc(), "version": date(2024, 1, 1)}).version == "2024-01-01"


def test_unknown_type_and_phase_name_what_exists() -> None:
    workflow = parse_workflow(doc())
    with pytest.raises(NotFoundError, match="available: full, fast"):
        workflow.plan("epic")
    with pytest.raises(NotFoundError, match="spec, build, security-audit, sign-off"):
        workflow.phase("deploy")


@pytest.mark.parametrize(
    ("mutate", "loc", "fragment"),
    [
        (lambda d: d["phases"][1].update(id="spec"), ("phases", 1, "id"), "appears twice"),
        (lambda d: d["phases"][0].update(id="completed"), ("phases", 0, "id"), "reserved"),
        (lambda d: d["phases"][0].update(id="../x"), ("phases", 0, "id"), "plain name"),
        (lambda d: d["phases"][1].update(inputs=["audit"]), ("phases", 1, "inputs", 0), "earlier phase"),
        (lambda d: d["phases"][1]["outputs"].append({"key": "spec"}), ("phases", 1, "outputs", 2, "key"), "already"),
        (
            lambda d: d["phases"][1]["outputs"].append({"key": "user_prompt"}),
            ("phases", 1, "outputs", 2, "key"),
            "reserved",
        ),
        (lambda d: d["phases"][1]["outputs"].append({"key": "Bad Key"}), ("phases", 1, "outputs", 2, "key"), "pattern"),
        (
            lambda d: d["phases"][2]["outputs"][0].update(file="spec.md"),
            ("phases", 2, "outputs", 0, "file"),
            "already written",
        ),
        (
            lambda d: d["phases"][2]["outputs"][0].update(file="../../etc/passwd"),
            ("phases", 2, "outputs", 0, "file"),
            "plain name",
        ),
        (
            lambda d: d["phases"][2]["outputs"][0].update(file="SPEC.md"),  # one file where case is ignored
            ("phases", 2, "outputs", 0, "file"),
            "already written",
        ),
        (lambda d: d["phases"][2]["outputs"][0].update(file="Con.md"), ("phases", 2, "outputs", 0, "file"), "device"),
        (lambda d: d["phases"][2]["outputs"][0].update(file="a.LOCK"), ("phases", 2, "outputs", 0, "file"), "lock"),
        (lambda d: d["phases"][2]["outputs"][0].update(file=".env"), ("phases", 2, "outputs", 0, "file"), "letter"),
        (lambda d: d["phases"][0].update(handler="robot"), ("phases", 0, "handler"), "agent"),
        (lambda d: d["phases"][0].update(promt="x"), ("phases", 0, "promt"), "Extra inputs"),
        (lambda d: d["phases"][0].pop("recipe"), ("phases", 0, "recipe"), "Field required"),
        (lambda d: d["types"]["fast"].update(skip=["deploy"]), ("types", "fast", "skip", 0), "unknown phase"),
        (
            lambda d: d["types"]["fast"].update(skip=["spec", "build", "security-audit", "sign-off"]),
            ("types", "fast", "skip"),
            "every phase",
        ),
        (lambda d: d.update(default_type="quick"), ("default_type",), "not one of the types"),
        (lambda d: d.update(phases=[]), ("phases",), "at least 1"),
    ],
)
def test_every_problem_is_located(mutate: Any, loc: tuple[str | int, ...], fragment: str) -> None:
    document = doc()
    mutate(document)
    problems = problems_of(document)
    assert any(p_loc == loc and fragment in message for p_loc, message in problems), problems


def test_non_mapping_documents_are_refused() -> None:
    assert "found empty" in problems_of(None)[0][1]
    assert "found list" in problems_of([1, 2])[0][1]


def test_error_message_names_first_problem_and_counts_the_rest() -> None:
    document = doc()
    document["phases"][1]["id"] = "spec"
    document["default_type"] = "nope"
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow(document)
    assert caught.value.message.startswith("phases[1].id: ")
    assert "(and 1 more)" in caught.value.message


def test_missing_recipes_are_reported_where_they_are_named() -> None:
    workflow = parse_workflow(doc())
    missing = missing_recipes(workflow, {"spec", "build", "engineer"})
    assert [loc for loc, _ in missing] == [("phases", 2, "recipe"), ("phases", 3, "recipe")]
    assert "'audit' does not exist" in missing[0][1]


def test_format_location() -> None:
    assert format_location(("phases", 2, "outputs", 0, "key")) == "phases[2].outputs[0].key"
    assert format_location(()) == "document"
