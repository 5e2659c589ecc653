"""The project's state: one versioned document stored at `.cde/state.json`.

Every feature of the product that keeps per-project state adds a field here, so
the file always has exactly one shape for a given `schema_version`. A file written
by a newer release (higher version) is refused rather than rewritten, so an older
server can never drop fields it does not know.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.clock import UtcDatetime, utc_now
from domain.feature import Feature
from domain.onboarding.analysis import ProjectAnalysis

SCHEMA_VERSION = 1


class ProjectState(BaseModel):
    """Root of `.cde/state.json`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    schema_version: int = SCHEMA_VERSION
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    # Features walked through the workflow, by id (see domain/feature.py).
    features: dict[str, Feature] = Field(default_factory=dict)
    # The last onboarding scan's facts (see domain/onboarding/analysis.py); None until the first scan.
    onboarding: ProjectAnalysis | None = None

    @model_validator(mode="after")
    def _features_filed_under_their_ids(self) -> ProjectState:
        # A hand edit or bad merge filing a feature under another key must fail validation (corrupt_data
        # naming the file): updates look features up by id and would file a second copy.
        for key, feature in self.features.items():
            if feature.id != key:
                raise ValueError(f"feature {feature.id!r} is filed under the key {key!r}; the key must be its id")
        return self
