"""CancelFeature: stop a feature as cancelled (or failed); it accepts no more work afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from domain.clock import utc_now
from domain.errors import InvalidInputError
from domain.feature import ClosingStatus, Feature, find_feature
from domain.ports import StateRepository
from domain.project_state import ProjectState
from domain.text import check_plain, visible
from domain.workflow_ports import SpecStore


class FeatureClosed(BaseModel):
    feature_id: str
    name: str
    status: str


class CancelFeature:
    def __init__(self, state: StateRepository, specs: SpecStore, *, now: Callable[[], datetime] = utc_now) -> None:
        self._state = state
        self._specs = specs
        self._now = now

    async def __call__(self, feature_ref: str, reason: str, status: ClosingStatus = "cancelled") -> FeatureClosed:
        why = " ".join(reason.split())
        check_plain(why, "reason")
        if not visible(why):
            raise InvalidInputError("reason is empty; say briefly why the feature stops")

        def close(state: ProjectState) -> Feature:
            feature = find_feature(state.features, feature_ref).close(status, why, now=self._now())
            state.features[feature.id] = feature
            return feature

        # Under the lock on feature changes: a submission in progress lands (files and commit) or is refused
        # before anything is written, never half-way (files written for a phase the feature never records).
        # Shielded, so a caller going away cannot release the lock before the commit lands.
        feature = await asyncio.shield(self._close(close))
        return FeatureClosed(feature_id=feature.id, name=feature.name, status=feature.status)

    async def _close(self, close: Callable[[ProjectState], Feature]) -> Feature:
        async with self._specs.locked():
            return await self._state.update(close)
