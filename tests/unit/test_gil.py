"""GilYielder hands the GIL over once per `every` seconds of work, not on every item."""

from __future__ import annotations

import pytest

from infrastructure import gil


def test_tick_sleeps_only_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    sleeps: list[float] = []
    monkeypatch.setattr(gil.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(gil.time, "sleep", sleeps.append)
    yielder = gil.GilYielder(every=0.002)
    for _ in range(5):  # 1.5 ms of work in all: not yet due
        now[0] += 0.0003
        yielder.tick()
    assert sleeps == []
    now[0] += 0.0006  # 2.1 ms since the start
    yielder.tick()
    assert sleeps == [0]
    now[0] += 0.001  # the next hand-over is counted from the last one
    yielder.tick()
    assert sleeps == [0]
    now[0] += 0.0011
    yielder.tick()
    assert sleeps == [0, 0]
