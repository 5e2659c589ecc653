"""ListFeatures: a compact list of the project's features, newest activity first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from domain.errors import DomainError, InvalidInputError
from domain.feature import Feature
from domain.ports import StateRepository
from domain.workflow import TERMINAL_STATUSES
from domain.workflow_ports import ProjectConfig

ACTIVE = "active"


class FeatureSummary(BaseModel):
    feature_id: str
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
    def __init__(self, state: StateRepository, config: ProjectConfig) -> None:
        self._state = state
        self._config = config

    async def __call__(self, status: str | None = None, limit: int = 50) -> FeatureList:
        """`status`: None (all), "active" (not finished), a terminal status or a phase id."""
        features = (await self._state.load()).features
        chosen = [f for f in features.values() if matches(f, status)]
        if status is not None and not chosen:
            await self._check_status(status, features.values())
        chosen.sort(key=lambda f: (f.updated_at, f.id), reverse=True)
        return FeatureList(
            features=[
                FeatureSummary(
                    feature_id=f.id,
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

    async def _check_status(self, status: str, features: Iterable[Feature]) -> None:
        """An empty list for a misspelt status would read as "no features": name the valid ones instead."""
        known = [ACTIVE, *TERMINAL_STATUSES]
        try:
            phases = (await self._config.workflow()).phase_ids
        except DomainError:  # a broken workflow file must not hide the features
            phases = []
        for phase in [*phases, *(p for f in features for p in f.phases)]:
            if phase not in known:
                known.append(phase)
        if status not in known:
            raise InvalidInputError(f"status {status!r} is not one of: {', '.join(known)}")
