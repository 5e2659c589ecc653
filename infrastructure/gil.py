"""Long Python work in a worker thread hands the GIL back to the event loop every few milliseconds.

CPython should pass the GIL to a waiting thread every switch interval (5 ms), but measured
here a worker parsing documents for the search index kept it for 20-37 ms at a stretch while
the event loop waited, and every tool call with it. `time.sleep(0)` releases the GIL, and the
waiting loop takes it: a worker that calls `GilYielder.tick()` between items does so once per
`every` seconds of its own work (measured: the longest loop stall fell to ~3 ms).
"""

from __future__ import annotations

import time

# Seconds of work between two hand-overs: the loop waits at most about this long for the GIL.
DEFAULT_EVERY_S = 0.002


class GilYielder:
    """Call `tick()` between items of a long loop in a worker thread; costs a clock read per call."""

    __slots__ = ("_due", "_every")

    def __init__(self, every: float = DEFAULT_EVERY_S) -> None:
        self._every = every
        self._due = time.perf_counter() + every

    def tick(self) -> None:
        now = time.perf_counter()
        if now >= self._due:
            time.sleep(0)  # releases the GIL: a thread waiting for it (the event loop) runs now
            self._due = time.perf_counter() + self._every
