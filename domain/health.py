"""Health: is this server able to do its job right now, and if not, why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, Field


class CacheMetrics(BaseModel):
    """Counters of one named cache."""

    name: str
    hits: int
    misses: int
    evictions: int
    invalidations: int
    size: int
    hit_rate: float = Field(description="hits / (hits + misses), 0 when unused")


class HealthReport(BaseModel):
    """What `cde_healthCheck` returns."""

    status: Literal["ok", "degraded"]
    reasons: list[str] = Field(description="why the status is degraded; empty when ok")
    version: str
    uptime_s: float
    tools: int
    python: str
    mcp: str
    caches: list[CacheMetrics]


@dataclass(frozen=True)
class RuntimeFacts:
    """Facts about the running process that only the server layer knows."""

    version: str
    uptime_s: float
    tools: int
    python: str
    mcp: str


class HealthProbe(Protocol):
    """One check of the environment; returns the problems found (empty when fine)."""

    async def problems(self) -> list[str]: ...


class CheckHealth:
    """Runs every probe and reports `degraded` with the reasons when any finds a problem."""

    def __init__(
        self,
        probes: Sequence[HealthProbe],
        runtime: Callable[[], RuntimeFacts],
        caches: Callable[[], list[CacheMetrics]],
    ) -> None:
        self._probes = probes
        self._runtime = runtime
        self._caches = caches

    async def __call__(self) -> HealthReport:
        reasons: list[str] = []
        for probe in self._probes:
            reasons.extend(await probe.problems())
        facts = self._runtime()
        return HealthReport(
            status="degraded" if reasons else "ok",
            reasons=reasons,
            version=facts.version,
            uptime_s=round(facts.uptime_s, 3),
            tools=facts.tools,
            python=facts.python,
            mcp=facts.mcp,
            caches=self._caches(),
        )
