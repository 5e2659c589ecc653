"""Ports: what the use cases need from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from domain.project_state import ProjectState

T = TypeVar("T")


class Staged(Protocol):
    """Blocking work that must land before a state change, handed to `StateRepository.update` to do first.

    A feature's documents written and recorded in the state are then one trip to
    the disk (one worker-thread hop), not two. `run` blocks, may run in a worker
    thread, and is called at most once. `settle` is called once afterwards on the
    caller's side (the event loop), whether or not `run` or the state change
    succeeded, and never while `run` is still going (a cancelled caller leaves it to
    the end of the update): it refreshes whatever depends on what `run` wrote.
    `undo` is called right after a successful `run` when the state change then fails before the
    state is written (a corrupt state, a lock timeout, a refusal): it removes what `run` made,
    which nothing can refer to yet.
    """

    def run(self) -> None: ...

    def undo(self) -> None: ...

    def settle(self) -> None: ...


class StateRepository(Protocol):
    """Reads and updates one project's state; `update` is atomic across processes."""

    async def load(self) -> ProjectState:
        """The current state (a fresh empty one when none was saved yet)."""
        ...

    async def update(self, change: Callable[[ProjectState], T], *, first: Staged | None = None) -> T:
        """Apply `change` to the latest state under an exclusive lock and persist it.

        `change` mutates the state it receives and returns a value that `update`
        returns. If it raises, nothing is written. `first` runs before the state is
        read; if it raises, the state is left alone and its error propagates.
        """
        ...
