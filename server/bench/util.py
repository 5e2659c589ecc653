"""Measurement helpers shared by the benchmark suites."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any


@dataclass
class Row:
    """One measured quantity. `ok` is None when there is no target to compare with."""

    suite: str
    metric: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchContext:
    quick: bool
    workdir: Path

    def n(self, full: int, quick: int | None = None) -> int:
        """Iteration count: `full` normally, a small number with --quick."""
        return quick if quick is not None and self.quick else (max(1, full // 10) if self.quick else full)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def time_each(fn: Callable[[], Awaitable[Any]], n: int, *, warmup: int = 3) -> list[float]:
    """Seconds per call of `fn`, measured one call at a time."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


async def per_call(fn: Callable[[], Awaitable[Any]], n: int, *, repeats: int = 5) -> float:
    """Best-of-`repeats` mean seconds per call over `n` back-to-back calls (for µs-scale paths)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


class LagMonitor:
    """Measures event-loop lag: a ticker that sleeps `interval` and records how late it wakes."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.max_lag = 0.0
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - start - self.interval)
            self.samples.append(lag)
            self.max_lag = max(self.max_lag, lag)

    async def __aenter__(self) -> LagMonitor:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def call_ok(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool through an MCP client; its structured result, or RuntimeError (a benchmark must not go on)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"{tool} failed: {result.content}")
    content: dict[str, Any] = result.structured_content
    return content


def us(seconds: float) -> float:
    return round(seconds * 1e6, 2)


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)
