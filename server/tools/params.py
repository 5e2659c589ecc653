"""Parameter types shared by the tool modules, so one concept has one schema everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# A project directory, absolute or relative to CDE_PROJECT_ROOT. No description and no maxLength in
# the schema (both would be repeated in every tool's schema): the name says enough, and
# Container.project_root refuses paths over infrastructure.paths.MAX_PATH_CHARS with a clear error.
ProjectPath = str
# A slug-like identifier (workflow type, recipe id, skill name...); validated by the use case.
Name = Annotated[str, Field(max_length=64)]
