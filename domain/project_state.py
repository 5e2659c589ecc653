"""The project's state: one versioned document stored at `.cde/state.json`.

Every feature of the product that keeps per-project state adds a field here, so
the file always has exactly one shape for a given `schema_version`. A file written
by a newer release (higher version) is refused rather than rewritten, so an older
server can never drop fields it does not know.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.clock import utc_now
from domain.feature import Feature
from domain.onboarding.analysis import ProjectAnalysis

SCHEMA_VERSION = 1


class ProjectState(BaseModel):
    """Root of `.cde/state.json`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    schema_version: int = SCHEMA_VERSION
    updated_at: datetime = Field(default_factory=utc_now)
    # Features walked through the workflow, by id (see domain/feature.py).
    features: dict[str, Feature] = Field(default_factory=dict)
    # The last onboarding scan's facts (see domain/onboarding/analysis.py); None until the first scan.
    onboarding: ProjectAnalysis | None = None
