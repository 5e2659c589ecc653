"""Health probes on the real environment: the CDE home, the allowed roots, the default project, free disk space.

Each probe is a couple of syscalls in one thread hop, cached for a few seconds so
a client polling health does not turn it into disk traffic.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from domain.errors import DomainError
from infrastructure.cache import cached
from infrastructure.files import in_thread
from infrastructure.paths import resolve_project_sync

MIN_FREE_BYTES = 100 * 1024 * 1024


def _home_problems(home: Path) -> list[str]:
    try:
        return _home_problems_unguarded(home)
    except OSError as exc:  # e.g. a name too long: report it, never fail the health check
        return [f"CDE home {home} cannot be checked: {exc.strerror or exc}"]


def _home_problems_unguarded(home: Path) -> list[str]:
    target = home
    while not target.exists():  # the home is created on first write; its nearest parent must allow that
        if target.parent == target:
            return [f"CDE home {home} cannot be created: no existing parent"]
        target = target.parent
    if not target.is_dir():
        return [f"CDE home {home} is not a directory ({target} is a file)"]
    if not os.access(target, os.W_OK | os.X_OK):
        return [f"CDE home {home} is not writable; fix its permissions or set CDE_HOME"]
    free = shutil.disk_usage(target).free
    if free < MIN_FREE_BYTES:
        return [f"only {free // (1024 * 1024)} MiB free under {target}; writes may fail"]
    return []


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _roots_problems(roots: tuple[Path, ...]) -> list[str]:
    return [f"allowed root {r} does not exist or is not a directory" for r in roots if not _is_dir(r)]


def _project_problems(root: Path, allowed: tuple[Path, ...] | None) -> list[str]:
    try:
        resolve_project_sync(".", base=root, allowed_roots=allowed)
    except DomainError as exc:
        return [f"the default project {root} (CDE_PROJECT_ROOT, else the start directory) is unusable: {exc.message}"]
    return []


_home_problems_async = in_thread(_home_problems)
_roots_problems_async = in_thread(_roots_problems)
_project_problems_async = in_thread(_project_problems)


class HomeProbe:
    """The CDE home can be created/written and its disk has room."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @cached("health.home", maxsize=4, ttl=5.0)
    async def problems(self) -> list[str]:
        return await _home_problems_async(self.home)


class AllowedRootsProbe:
    """Every configured allowed root exists (a typo in CDE_ALLOWED_ROOTS shows up here)."""

    def __init__(self, roots: tuple[Path, ...] | None) -> None:
        self.roots = roots

    @cached("health.roots", maxsize=4, ttl=5.0)
    async def problems(self) -> list[str]:
        if self.roots is None:
            return []
        return await _roots_problems_async(self.roots)


class ProjectRootProbe:
    """The default project (where tools act without project_path) exists and is allowed."""

    def __init__(self, root: Path, allowed: tuple[Path, ...] | None) -> None:
        self.root = root
        self.allowed = allowed

    @cached("health.project", maxsize=4, ttl=5.0)
    async def problems(self) -> list[str]:
        return await _project_problems_async(self.root, self.allowed)
