"""The health probes of the real environment: the CDE home, the allowed roots, the default project and its
data, free disk space.

A handful of syscalls in one thread hop, and the project's data read through the tools' own caches; all
of it cached together for a few seconds (`PolledProbes`) so a client polling health turns it into neither
disk traffic nor per-call work.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from domain.errors import DomainError
from domain.health import HealthProbe, gather_problems
from infrastructure.cache import cached
from infrastructure.files import in_thread
from infrastructure.paths import resolve_project_sync

if TYPE_CHECKING:
    from domain.ports import StateRepository
    from domain.workflow_ports import ProjectConfig

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


def _project_problems(root: Path, allowed: tuple[Path, ...] | None, contained: tuple[str, ...]) -> list[str]:
    try:
        resolve_project_sync(".", base=root, allowed_roots=allowed, contained=contained)
    except DomainError as exc:
        return [f"the default project {root} (CDE_PROJECT_ROOT, else the start directory) is unusable: {exc.message}"]
    return []


def _environment_problems(
    home: Path, roots: tuple[Path, ...] | None, project_root: Path, contained: tuple[str, ...] = ()
) -> list[str]:
    """Every check in one thread hop; each is guarded, so one failing check never hides the others."""
    checks: list[tuple[str, Callable[[], list[str]]]] = [
        ("CDE home", lambda: _home_problems(home)),
        ("allowed roots", lambda: [] if roots is None else _roots_problems(roots)),
        ("default project", lambda: _project_problems(project_root, roots, contained)),
    ]
    problems: list[str] = []
    for what, check in checks:
        try:
            problems.extend(check())
        except Exception as exc:  # the diagnostic tool reports a failing check, it never fails
            problems.append(f"the {what} check failed: {type(exc).__name__}: {exc}")
    return problems


_environment_problems_async = in_thread(_environment_problems)


class EnvironmentProbe:
    """The CDE home can be created/written and its disk has room; every configured allowed root exists
    (a typo in CDE_ALLOWED_ROOTS shows up here); the default project (where tools act without
    project_path) exists and is allowed."""

    def __init__(
        self, home: Path, roots: tuple[Path, ...] | None, project_root: Path, contained: tuple[str, ...] = ()
    ) -> None:
        self.home = home
        self.roots = roots
        self.project_root = project_root
        self.contained = contained  # folders of a project the server writes into (see resolve_project_sync)

    async def problems(self) -> list[str]:
        return await _environment_problems_async(self.home, self.roots, self.project_root, self.contained)


class ProjectDataProbe:
    """The default project's `.cde/state.json` and `.cde/workflow.yml` can be read.

    Every feature tool refuses a corrupt state or a broken workflow override: health names the file
    before an agent runs into it. `open_project` gives the project's state and configuration, or None
    when the project itself is unusable (the environment probe reports that).
    """

    def __init__(self, open_project: Callable[[], Awaitable[tuple[StateRepository, ProjectConfig] | None]]) -> None:
        self._open = open_project

    async def problems(self) -> list[str]:
        project = await self._open()
        if project is None:
            return []
        state, config = project
        problems = []
        for check in (state.load, config.workflow):
            try:
                await check()
            except DomainError as exc:
                problems.append(f"the default project's data: {exc.message}")
        return problems


class PolledProbes:
    """The probes' problems, checked at most every `ttl` seconds (5 s: the README's promise).

    One entry for all of them, guarded by its age alone: a poll is one dictionary hit. Guarded by
    the files the project probe reads too, every poll would stat them, which costs more than the
    rest of the call. A fix shows within `ttl`; the tools themselves always read the files fresh.
    """

    def __init__(self, probes: list[HealthProbe]) -> None:
        self.probes = probes  # a live list: the composition root may add probes after building this

    @cached("health.probes", maxsize=4, ttl=5.0, track_files=False)
    async def problems(self) -> list[str]:
        return await gather_problems(self.probes)
