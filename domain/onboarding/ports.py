"""What the onboarding use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from domain.onboarding.facts import GitFacts, ScanFacts

Progress = Callable[[float, float, str], Awaitable[None]]
"""`progress(done, total, message)`: reports how far a long operation is."""


async def no_progress(done: float, total: float, message: str) -> None:
    """A Progress that reports nowhere."""


class ProjectScanner(Protocol):
    """Reads the facts of a project tree (cached; a repeated call on an unchanged tree is cheap)."""

    async def count_files(self, root: Path) -> int:
        """How many files the project has (walking it, honouring ignore rules)."""
        ...

    async def facts(self, root: Path) -> ScanFacts: ...


class GitReader(Protocol):
    async def facts(self, root: Path) -> GitFacts | None:
        """Git facts, or None when `root` is not in a repository or git is unavailable."""
        ...


class CurrentDocument(NamedTuple):
    """A document as it is now: its normalised path, its text (None: absent), and whether that text is
    exactly the file (False: not valid UTF-8, shown with replacement characters, so never "unchanged")."""

    path: str
    text: str | None
    exact: bool = True


class DocumentStore(Protocol):
    """Text files inside a project root; every path is checked before anything is read or written."""

    async def current(self, root: Path, paths: Sequence[str]) -> list[CurrentDocument]:
        """Each path normalised (POSIX, relative to `root`) with the file's text now (None when absent).

        Raises on the first unsafe path: absolute, containing '..', escaping the
        root through a symlink, inside `.git/`, or naming a directory.
        """
        ...

    async def write(self, root: Path, documents: Mapping[str, str], *, only_new: Collection[str] = ()) -> None:
        """Write each document atomically (temp file, fsync, rename), creating parent folders.

        The paths in `only_new` are created only if nothing is there at that moment (checked
        atomically, not before): else ConflictError, and the files this call created are removed.
        """
        ...
