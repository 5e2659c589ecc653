"""Ports: what the use cases need from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from domain.project_state import ProjectState

T = TypeVar("T")


class StateRepository(Protocol):
    """Reads and updates one project's state; `update` is atomic across processes."""

    async def load(self) -> ProjectState:
        """The current state (a fresh empty one when none was saved yet)."""
        ...

    async def update(self, change: Callable[[ProjectState], T]) -> T:
        """Apply `change` to the latest state under an exclusive lock and persist it.

        `change` mutates the state it receives and returns a value that `update`
        returns. If it raises, nothing is written.
        """
        ...
