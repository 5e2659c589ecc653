"""Loading a workflow YAML file and pointing every problem at its line.

The document is validated by `domain.workflow.parse_workflow`; its problems
carry pydantic-style locations (`("phases", 1, "outputs", 0, "key")`), which are
mapped back to the YAML node that holds the value (or, for a missing field, the
mapping that lacks it) using the composer's marks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from domain.workflow import (
    Location,
    Workflow,
    WorkflowDefinitionError,
    WorkflowFileError,
    format_location,
    missing_recipes,
    parse_workflow,
)
from infrastructure.files import parse_yaml, read_text_sync

MAX_WORKFLOW_BYTES = 1024 * 1024
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node | None, loc: Location) -> int | None:
    """1-based line of the YAML node at `loc` (the deepest existing ancestor when it is absent)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((value for key, value in node.value if key.value == str(part)), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _details(text: str, problems: list[tuple[Location, str]]) -> list[str]:
    """One line per problem, located in the file (`line 8, phases[0].handler: …`)."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        root = None
    details = []
    for loc, message in problems:
        line = line_of(root, loc)
        where = f"line {line}, " if line is not None else ""
        details.append(f"{where}{format_location(loc)}: {message}")
    return details


def load_workflow_sync(path: Path, known_recipes: Iterable[str]) -> Workflow:
    """Read, parse and validate `path`, checking recipe references against `known_recipes`."""
    text = read_text_sync(path, MAX_WORKFLOW_BYTES)
    document = parse_yaml(path, text)
    try:
        workflow = parse_workflow(document)
    except WorkflowDefinitionError as exc:
        raise WorkflowFileError(path, _details(text, exc.problems)) from None
    missing = missing_recipes(workflow, known_recipes)
    if missing:
        raise WorkflowFileError(path, _details(text, missing))
    return workflow
