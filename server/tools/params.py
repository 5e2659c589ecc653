"""Parameter types shared by the tool modules, so one concept has one schema everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infrastructure.paths import MAX_PATH_CHARS

# A project directory, absolute or relative to CDE_PROJECT_ROOT; the name says enough (no description:
# it would be repeated in every tool's schema).
ProjectPath = Annotated[str, Field(max_length=MAX_PATH_CHARS)]
# A slug-like identifier (workflow type, recipe id, skill name...); validated by the use case.
Name = Annotated[str, Field(max_length=64)]
