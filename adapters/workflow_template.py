"""The `.cde/workflow.yml` that cde_setupProject writes: the bundled default workflow, verbatim.

A project set up this way starts from exactly what the server uses without an
override, with the schema documented in the file's header comments.
"""

from __future__ import annotations

from adapters.fs_project_config import BUNDLED_DIR
from infrastructure import files

BUNDLED_WORKFLOW = BUNDLED_DIR / "workflow.yml"
HEADER = "# Written by cde_setupProject from the bundled default: edit it to customise this project's workflow.\n"


async def default_workflow_yaml() -> str:
    """The content to write to a project's `.cde/workflow.yml`."""
    return HEADER + await files.read_text(BUNDLED_WORKFLOW)
