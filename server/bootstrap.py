"""The composition root: builds the server, its tools, and the adapters behind them.

Each area (workflow, onboarding, skills, discovery, delegation) is wired in its
own module under `server/wiring/` and built on first use, so start-up pays only
for the tool registry. Work that is not needed to answer the handshake (importing
the areas' modules, freezing the start-up heap, recovering interrupted delegated
tasks) runs shortly after start, in the background.

Tests call `bootstrap()` with their own Settings (and, where they need to, swap a
field of the Container) to get the same app the CLI serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import logging
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.lowlevel.server import NotificationOptions

from adapters.health_probes import EnvironmentProbe, PolledProbes, ProjectDataProbe
from domain.clock import utc_now
from domain.discovery.ports import ToolRegistry
from domain.errors import DomainError
from domain.health import CacheCounters, CheckHealth, HealthProbe, RuntimeFacts
from infrastructure import paths
from infrastructure.cache import all_cache_stats, cache_totals, cached, configure_caches
from infrastructure.settings import Settings
from server import __version__
from server.app import CdeServer
from server.skill_sweeper import SkillSweeper
from server.tool_registry import ServerToolRegistry
from server.tooling import PROFILE_ATTR

if TYPE_CHECKING:
    from adapters.fs_skill_library import FsSkillLibrary
    from adapters.fs_state_repository import FsStateRepository
    from domain.ports import StateRepository
    from domain.workflow_ports import ProjectConfig
    from server.wiring.delegation import Delegation
    from server.wiring.discovery import DiscoveryWiring
    from server.wiring.onboarding import OnboardingServices
    from server.wiring.skills import SkillUseCases, SkillWiring
    from server.wiring.workflow import WorkflowWiring

logger = logging.getLogger(__name__)

# How long a resolved project path is reused (a moved or deleted project is noticed after this).
PROJECT_ROOT_TTL_S = 5.0
# Folders of a project this server writes into: none may lead outside the project through a symlink.
WRITTEN_FOLDERS = (".cde", ".cde/skills", ".cde/cache")
# Folders of the CDE home holding the task index, active-task markers and the user's skills.
MANAGED_IN_HOME = ("tasks", "running", "skills")
# Background start-up work waits this long, so the handshake is answered first.
WARM_UP_DELAY_S = 0.5
# What the areas import on first use (~100 ms in all): preloaded in a worker thread after start.
AREA_MODULES = (
    "server.tools",
    "server.wiring.workflow",
    "server.wiring.onboarding",
    "server.wiring.skills",
    "server.wiring.discovery",
    "server.wiring.delegation",
    "adapters.fs_state_repository",
)

Hook = Callable[[], Awaitable[None]]

INSTRUCTIONS = (
    "cde-orchestrator walks a feature through the project's workflow phases and keeps project knowledge. "
    "Loop: cde_startFeature(user_prompt) -> do what its prompt says -> cde_submitWork(feature_id, phase_id, "
    "results) with the keys it lists -> the next prompt, until completed. After a restart: cde_listFeatures, "
    "then cde_getFeatureStatus(feature_id, include_prompt=true). New project: cde_onboardingProject first. "
    "Tools take project_path (default: the server's project); cde_searchTools finds the others by need."
)
# Added in the lean profile, where tools/list shows only the core tools.
LEAN_INSTRUCTIONS = (
    " Only core tools are listed: cde_searchTools(query, detail_level='full_schema') adds the tools it "
    "returns to your tool list."
)


@dataclass
class Container:
    """Everything the tool handlers need; each area is built on first use."""

    settings: Settings
    check_health: CheckHealth
    started_at: float = field(default_factory=time.monotonic)
    startup_hooks: list[Hook] = field(default_factory=list)
    # Run in the background WARM_UP_DELAY_S after start (not on the handshake's path).
    warm_up_hooks: list[Hook] = field(default_factory=list)
    shutdown_hooks: list[Hook] = field(default_factory=list)
    # Set when the server's lifespan has run its shutdown hooks (None until it starts).
    lifespan_done: anyio.Event | None = None
    # The time of day for expiry and timestamps; tests replace it to move time.
    clock: Callable[[], datetime] = utc_now
    # Set by bootstrap() once the server exists (the registry is the server's own).
    tool_registry: ToolRegistry | None = None
    _delegation: Delegation | None = field(default=None, repr=False)
    _delegation_lock: asyncio.Lock | None = field(default=None, repr=False)

    @cached("container.project_root", maxsize=256, ttl=PROJECT_ROOT_TTL_S)
    async def project_root(self, project_path: str) -> Path:
        """Resolve a caller's `project_path` (relative to CDE_PROJECT_ROOT) inside the allowed roots.

        Cached briefly: every tool call starts here, and resolving is a thread hop with a
        syscall per path component. Failures are not cached.
        """
        return await paths.resolve_project(
            project_path,
            base=self.settings.project_root,
            allowed_roots=self.settings.allowed_roots,
            contained=WRITTEN_FOLDERS,
        )

    def managed_folders(self, root: Path) -> tuple[Path, ...]:
        """Folders whose content this server owns (tasks, indexes, skills): never an output_dir."""
        from adapters.fs_job_store import TASKS_DIR
        from adapters.fs_skill_library import INDEX_FILE, PROJECT_SKILLS

        home = self.settings.home
        return (root / TASKS_DIR, root / PROJECT_SKILLS, root / INDEX_FILE.parent, *(home / d for d in MANAGED_IN_HOME))

    def state_repository(self, root: Path) -> FsStateRepository:
        from adapters.fs_state_repository import FsStateRepository  # the state models: imported after the handshake

        return FsStateRepository(root, lock_timeout=self.settings.lock_timeout)

    # -- areas, built on first use -----------------------------------------------------------------

    @cached_property
    def workflow(self) -> WorkflowWiring:
        from server.wiring.workflow import WorkflowWiring

        return WorkflowWiring(self.state_repository, lock_timeout=self.settings.lock_timeout)

    @cached_property
    def onboarding(self) -> OnboardingServices:
        from server.wiring.onboarding import build_onboarding

        services = build_onboarding(self.settings, self.state_repository)
        self.shutdown_hooks.append(services.close)
        return services

    @cached_property
    def skill_wiring(self) -> SkillWiring:
        from server.wiring.skills import SkillWiring

        return SkillWiring(self.settings, lambda: self.clock())

    async def skills(self, project_path: str) -> SkillUseCases:
        use_cases: SkillUseCases = await self.skill_wiring.use_cases(await self.project_root(project_path))
        return use_cases

    async def skill_library(self, root: Path) -> FsSkillLibrary:
        library: FsSkillLibrary = await self.skill_wiring.library(root)
        return library

    async def sweep_expired_skills(self) -> int:
        """Purge expired ephemeral skills in the default project, the user library and every open project."""
        try:  # make sure the default project (and through it the user library) is swept
            await self.skill_library(await self.project_root("."))
        except DomainError as exc:
            logger.debug("not sweeping the default project: %s", exc)
        return await self.skill_wiring.sweep()

    @cached_property
    def discovery(self) -> DiscoveryWiring:
        from server.wiring.discovery import DiscoveryWiring

        if self.tool_registry is None:
            raise RuntimeError("the tool registry is set by bootstrap(); build the app with it")
        return DiscoveryWiring(self.tool_registry)

    async def delegation(self) -> Delegation:
        """The worker pool and its use cases, started on first use (or by the warm-up)."""
        if self._delegation is None:
            if self._delegation_lock is None:
                self._delegation_lock = asyncio.Lock()
            async with self._delegation_lock:
                if self._delegation is None:
                    from server.wiring.delegation import build_delegation

                    built = build_delegation(self.settings)
                    await built.start()
                    self._delegation = built
        return self._delegation

    async def stop_delegation(self) -> None:
        # Forgotten once stopped: a server run again in this process (another in-process client's
        # lifespan, e.g. the generated tool package on a new event loop) starts a fresh pool.
        delegation, self._delegation = self._delegation, None
        if delegation is not None:
            await delegation.stop()


@dataclass
class App:
    server: CdeServer
    container: Container


class _CacheMetrics:
    """The CacheMetricsSource port over infrastructure.cache's registry."""

    def totals(self) -> tuple[int, int]:
        return cache_totals()

    def counters(self) -> list[CacheCounters]:
        return [
            CacheCounters(
                name=s.name,
                hits=s.hits,
                misses=s.misses,
                evictions=s.evictions + s.expirations,
                invalidations=s.invalidations,
                size=s.size,
            )
            for s in all_cache_stats()
        ]


@contextlib.contextmanager
def _root_logging_left_alone() -> Iterator[None]:
    """Keep the SDK's server constructor from configuring the root logger (`logging.basicConfig` at INFO).

    The CLI configures logging before it builds the server, so that call does nothing there; a program
    using the server as a library (the generated tool package, tests) had its logging taken over, and
    every tool error printed on its stderr. A root handler present during the call makes it a no-op.
    """
    root = logging.getLogger()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the tool that needs it will report the failure; a warm-up never fails the server
            logger.warning("preloading %s failed", name, exc_info=True)


async def preload_area_modules() -> None:
    """Import what the areas need in a worker thread, before a tool needs it.

    Imported on the event loop by an area's first tool call instead, they held it for
    ~30 ms (the onboarding area alone); in a thread the loop gets the GIL every 5 ms.
    """
    await asyncio.to_thread(_import_all, AREA_MODULES)


_heap_frozen = False


async def freeze_startup_heap() -> None:
    """Take what start-up allocated (modules, schemas: ~90,000 objects) out of the garbage collector's scans.

    A full collection holds the GIL; walking that heap took ~45 ms here, a stall
    of the event loop whenever a tool allocates enough to trigger one. Once per process.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


async def shut_down(container: Container) -> None:
    """What the server does when it stops: delegated agents first (a client SIGKILLs a server ~4 s after
    closing its stdin), then the shutdown hooks, last added first."""
    await _run_all([container.stop_delegation, *reversed(container.shutdown_hooks)], "shutdown")


async def _run_all(hooks: list[Hook], what: str) -> None:
    for hook in hooks:
        try:
            await hook()
        except Exception:
            logger.exception("%s hook %r failed", what, hook)


def bootstrap(settings: Settings) -> App:
    """Build the server with every tool registered, wired to real adapters."""
    configure_caches(maxsize=settings.cache_maxsize, ttl=settings.cache_ttl)
    started = time.monotonic()
    mcp_version = package_version("mcp")
    python_version = platform.python_version()
    server_ref: list[CdeServer] = []

    def runtime() -> RuntimeFacts:
        return RuntimeFacts(
            version=__version__,
            uptime_s=time.monotonic() - started,
            tools=server_ref[0].tool_count() if server_ref else 0,
            python=python_version,
            mcp=mcp_version,
        )

    probes: list[HealthProbe] = [
        EnvironmentProbe(settings.home, settings.allowed_roots, settings.project_root, WRITTEN_FOLDERS)
    ]
    container = Container(
        settings=settings,
        started_at=started,
        check_health=CheckHealth(probes=[PolledProbes(probes)], runtime=runtime, caches=_CacheMetrics()),
    )

    async def default_project() -> tuple[StateRepository, ProjectConfig] | None:
        try:
            root = await container.project_root(".")
        except DomainError:  # the environment probe says why
            return None
        return container.state_repository(root), container.workflow.project_config(root)

    probes.append(ProjectDataProbe(default_project))
    container.warm_up_hooks.append(preload_area_modules)  # first: the heap it adds is frozen next
    container.warm_up_hooks.append(freeze_startup_heap)

    async def start_delegation() -> None:
        # Jobs left running by a previous server are marked interrupted whenever they are read;
        # starting the pool also checks the default project for them in the background.
        await container.delegation()

    container.warm_up_hooks.append(start_delegation)
    sweeper = SkillSweeper(container.sweep_expired_skills, settings.skill_sweep_interval)
    container.startup_hooks.append(sweeper.start)
    container.shutdown_hooks.append(sweeper.stop)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        container.lifespan_done = anyio.Event()
        warm_up: asyncio.Task[None] | None = None
        try:
            for hook in container.startup_hooks:
                await hook()

            async def warm() -> None:
                await asyncio.sleep(WARM_UP_DELAY_S)
                await _run_all(container.warm_up_hooks, "warm-up")

            warm_up = asyncio.create_task(warm(), name="cde-warm-up")
            yield None
        finally:
            # Shielded: on SIGTERM the serving scope is cancelled, and cleanup (killing child
            # processes, flushing state) must still run to completion.
            with anyio.CancelScope(shield=True):
                if warm_up is not None and not warm_up.done():
                    warm_up.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await warm_up
                await shut_down(container)
            container.lifespan_done.set()

    with _root_logging_left_alone():
        server = CdeServer(
            name="cde-orchestrator",
            version=__version__,
            instructions=INSTRUCTIONS + (LEAN_INSTRUCTIONS if settings.tools == "core" else ""),
            log_level=settings.log_level,
            lifespan=lifespan,
        )
    setattr(server, PROFILE_ATTR, settings.tools)
    if settings.tools == "core":
        # Handshake-era clients learn from `tools.listChanged` that the list grows (cde_searchTools reveals
        # tools); the 2026-07-28 era derives it from the subscriptions/listen handler the SDK serves.
        lowlevel = server._lowlevel_server
        lowlevel.create_initialization_options = functools.partial(  # type: ignore[method-assign]
            lowlevel.create_initialization_options, notification_options=NotificationOptions(tools_changed=True)
        )
    server_ref.append(server)
    container.tool_registry = ServerToolRegistry(server)

    def register() -> None:
        from server.tools import register_all

        register_all(server, container)

    server.register_later(register)
    return App(server=server, container=container)
