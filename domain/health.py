"""Health: is this server able to do its job right now, and if not, why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple, Protocol

from domain.compact import CompactModel, omitted


class HealthReport(CompactModel):
    """What `cde_healthCheck` returns: what a poll needs; versions and cache metrics only on request.

    A poll is the most frequent call of all: an `ok` answer is four fields, with `reasons` only
    when there are some.
    """

    status: Literal["ok", "degraded"]
    reasons: list[str] | None = omitted(description="why the status is degraded; left out when ok")
    version: str
    uptime_s: float
    tools: int
    # Free-form on purpose: {python, mcp, cache_hit_rate, caches: [{name, hits, misses, ...}]} as a typed
    # model would cost ~700 bytes of schema in every tools/list for a debugging aid. Left out unless asked for.
    details: dict[str, object] | None = omitted()


class RuntimeFacts(NamedTuple):
    """Facts about the running process that only the server layer knows (a tuple: built on every health call)."""

    version: str
    uptime_s: float
    tools: int
    python: str
    mcp: str


@dataclass(frozen=True)
class CacheCounters:
    """Counters of one named cache."""

    name: str
    hits: int
    misses: int
    evictions: int
    invalidations: int
    size: int

    def as_dict(self) -> dict[str, object]:
        lookups = self.hits + self.misses
        return {**asdict(self), "hit_rate": round(self.hits / lookups, 4) if lookups else 0.0}


class CacheMetricsSource(Protocol):
    """The process's caches, as counters."""

    def totals(self) -> tuple[int, int]:
        """(hits, misses) over all caches."""
        ...

    def counters(self) -> list[CacheCounters]: ...


class HealthProbe(Protocol):
    """One check of the environment; returns the problems found (empty when fine)."""

    async def problems(self) -> list[str]: ...


async def gather_problems(probes: Sequence[HealthProbe]) -> list[str]:
    """Every probe's problems, in order; a probe that fails is one more problem, never hides the others."""
    reasons: list[str] = []
    for probe in probes:
        try:
            reasons.extend(await probe.problems())
        except Exception as exc:  # the diagnostic tool reports a failing probe, it never fails
            reasons.append(f"{type(probe).__name__} failed: {type(exc).__name__}: {exc}")
    return reasons


class CheckHealth:
    """Runs every probe and reports `degraded` with the reasons when any finds a problem."""

    def __init__(
        self,
        probes: Sequence[HealthProbe],
        runtime: Callable[[], RuntimeFacts],
        caches: CacheMetricsSource,
    ) -> None:
        self._probes = probes
        self._runtime = runtime
        self._caches = caches

    async def __call__(self, *, details: bool = False) -> HealthReport:
        reasons = await gather_problems(self._probes)
        facts = self._runtime()
        report = HealthReport(
            status="degraded" if reasons else "ok",
            reasons=reasons or None,
            version=facts.version,
            uptime_s=round(facts.uptime_s, 3),
            tools=facts.tools,
        )
        if details:
            hits, misses = self._caches.totals()
            lookups = hits + misses
            report.details = {
                "python": facts.python,
                "mcp": facts.mcp,
                "cache_hit_rate": round(hits / lookups, 4) if lookups else 0.0,
                "caches": [c.as_dict() for c in self._caches.counters()],
            }
        return report
