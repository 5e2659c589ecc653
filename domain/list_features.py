"""ListFeatures: a compact list of the project's features, newest activity first."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.feature import Feature
from domain.ports import StateRepository
from domain.workflow import TERMINAL_STATUSES

ACTIVE = "active"


class FeatureSummary(BaseModel):
    id: str
    name: str
    status: str
    workflow_type: str
    done: int
    total: int
    updated_at: datetime


class FeatureList(BaseModel):
    features: list[FeatureSummary]
    total: int


def matches(feature: Feature, status: str | None) -> bool:
    if status is None:
        return True
    if status == ACTIVE:
        return feature.status not in TERMINAL_STATUSES
    return feature.status == status


class ListFeatures:
    def __init__(self, state: StateRepository) -> None:
        self._state = state

    async def __call__(self, status: str | None = None, limit: int = 50) -> FeatureList:
        """`status`: None (all), "active" (not finished), a terminal status or a phase id."""
        chosen = [f for f in (await self._state.load()).features.values() if matches(f, status)]
        chosen.sort(key=lambda f: (f.updated_at, f.id), reverse=True)
        return FeatureList(
            features=[
                FeatureSummary(
                    id=f.id,
                    name=f.name,
                    status=f.status,
                    workflow_type=f.workflow_type,
                    done=f.done,
                    total=len(f.phases),
                    updated_at=f.updated_at,
                )
                for f in chosen[:limit]
            ],
            total=len(chosen),
        )
