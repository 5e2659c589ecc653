"""The composition root: builds every adapter and use case once and hands them to the tools.

Tests call `bootstrap()` with their own Settings (and, where they need to, swap a
field of the Container for a fake) to get the same app the CLI serves.
"""

from __future__ import annotations

import gc
import logging
import platform
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import anyio

from adapters.docs_corpus import FsDocsCorpus
from adapters.fs_document_store import FsDocumentStore
from adapters.fs_project_config import FsConfigStore, FsProjectConfig
from adapters.fs_skill_library import FsSkillLibrary
from adapters.fs_spec_store import FsSpecStore
from adapters.fs_state_repository import FsStateRepository
from adapters.fs_tool_package import FsToolPackageGenerator
from adapters.git_reader import GitCli
from adapters.health_probes import AllowedRootsProbe, HomeProbe
from adapters.project_facts import FsProjectFacts, ProjectFactsReader
from adapters.project_scanner import FsProjectScanner
from adapters.project_tree import FsProjectTree
from adapters.workflow_template import default_workflow_yaml
from domain.cancel_feature import CancelFeature
from domain.check_recipes import CheckRecipes
from domain.discovery.generate_tool_filesystem import GenerateToolFilesystem
from domain.discovery.ports import ToolRegistry
from domain.discovery.search_tools import SearchTools
from domain.docs.analyze_documentation import AnalyzeDocumentation
from domain.docs.scan_documentation import ScanDocumentation
from domain.docs.search_documentation import SearchDocumentation
from domain.errors import DomainError
from domain.feature_status import GetFeatureStatus
from domain.health import CacheCounters, CheckHealth, RuntimeFacts
from domain.list_features import ListFeatures
from domain.list_recipes import ListRecipes
from domain.onboarding.generate_spec import GenerateSpec
from domain.onboarding.onboard_project import OnboardProject
from domain.onboarding.publish_documents import PublishDocuments
from domain.onboarding.setup_project import SetupProject
from domain.phase_prompt import PhasePrompter
from domain.project_state import utc_now
from domain.select_workflow import SelectWorkflow
from domain.skills.delete import DeleteSkill
from domain.skills.expire import PurgeExpiredSkills
from domain.skills.find import FindSkills
from domain.skills.get import GetSkill
from domain.skills.save import SaveSkill
from domain.skills.source import SourceSkill
from domain.skills.update import UpdateSkill
from domain.start_feature import StartFeature
from domain.submit_work import SubmitWork
from domain.use_recipe import UseRecipe
from infrastructure import paths
from infrastructure.cache import all_cache_stats, cache_totals, cached, configure_caches
from infrastructure.settings import Settings
from server import __version__
from server.app import CdeServer
from server.delegation_root import Delegation, build_delegation
from server.skill_sweeper import SkillSweeper
from server.tool_registry import ServerToolRegistry
from server.tooling import PROFILE_ATTR

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

INSTRUCTIONS = (
    "cde-orchestrator walks a feature through phases (define, decompose, design, implement, test, "
    "review) and keeps project knowledge. Tools take project_path (default: the server's project). "
    "Use cde_searchTools to discover tools by need."
)


@dataclass(frozen=True)
class SkillUseCases:
    """The skill use cases of one project, built per call around its (cached) library."""

    save: SaveSkill
    get: GetSkill
    find: FindSkills
    update: UpdateSkill
    delete: DeleteSkill
    source: SourceSkill
    purge: PurgeExpiredSkills


@dataclass(frozen=True)
class OnboardingServices:
    """Use cases of project onboarding and documentation (server/tools/onboarding.py, docs.py)."""

    onboard: OnboardProject
    setup: SetupProject
    publish: PublishDocuments
    generate_spec: GenerateSpec
    scan_docs: ScanDocumentation
    analyze_docs: AnalyzeDocumentation
    search_docs: SearchDocumentation


@dataclass
class Container:
    """Everything the tool handlers need, built once per process."""

    settings: Settings
    check_health: CheckHealth
    started_at: float = field(default_factory=time.monotonic)
    startup_hooks: list[Hook] = field(default_factory=list)
    shutdown_hooks: list[Hook] = field(default_factory=list)
    # Set when the server's lifespan has run its shutdown hooks (None until it starts).
    lifespan_done: anyio.Event | None = None
    # Workflows, features, recipes: process-wide readers whose caches are keyed by project root.
    config_store: FsConfigStore = field(default_factory=FsConfigStore)
    facts_reader: ProjectFactsReader = field(default_factory=ProjectFactsReader)
    # The time of day for expiry and timestamps; tests replace it to move time.
    clock: Callable[[], datetime] = utc_now
    # Set by bootstrap() once the server exists (the registry is the server's own).
    tool_registry: ToolRegistry | None = None
    _skill_libraries: weakref.WeakSet[FsSkillLibrary] = field(default_factory=weakref.WeakSet)
    tool_package: FsToolPackageGenerator = field(default_factory=lambda: FsToolPackageGenerator(__version__))
    onboarding: OnboardingServices = field(init=False, repr=False)

    async def project_root(self, project_path: str) -> Path:
        """Resolve a caller's `project_path` (relative to CDE_PROJECT_ROOT) inside the allowed roots."""
        return await paths.resolve_project(
            project_path, base=self.settings.project_root, allowed_roots=self.settings.allowed_roots
        )

    def state_repository(self, root: Path) -> FsStateRepository:
        return FsStateRepository(root, lock_timeout=self.settings.lock_timeout)

    # -- workflows, features, recipes (per project root; cheap to build per call) ------------------------

    def project_config(self, root: Path) -> FsProjectConfig:
        return FsProjectConfig(self.config_store, root)

    def _prompter(self, root: Path) -> PhasePrompter:
        return PhasePrompter(self.project_config(root), FsProjectFacts(self.facts_reader, root), FsSpecStore(root))

    def select_workflow(self, root: Path) -> SelectWorkflow:
        return SelectWorkflow(self.project_config(root))

    def start_feature(self, root: Path) -> StartFeature:
        config = self.project_config(root)
        return StartFeature(self.state_repository(root), config, FsSpecStore(root), self._prompter(root))

    def submit_work(self, root: Path) -> SubmitWork:
        config = self.project_config(root)
        return SubmitWork(self.state_repository(root), config, FsSpecStore(root), self._prompter(root))

    def feature_status(self, root: Path) -> GetFeatureStatus:
        return GetFeatureStatus(self.state_repository(root), self.project_config(root), self._prompter(root))

    def list_features(self, root: Path) -> ListFeatures:
        return ListFeatures(self.state_repository(root))

    def cancel_feature(self, root: Path) -> CancelFeature:
        return CancelFeature(self.state_repository(root))

    def list_recipes(self, root: Path) -> ListRecipes:
        return ListRecipes(self.project_config(root))

    def use_recipe(self, root: Path) -> UseRecipe:
        return UseRecipe(self.project_config(root), FsProjectFacts(self.facts_reader, root))

    def check_recipes(self, root: Path) -> CheckRecipes:
        return CheckRecipes(self.project_config(root))

    @cached("container.skill_library", maxsize=32)
    async def skill_library(self, root: Path) -> FsSkillLibrary:
        """The project's skill libraries (project, user, bundled) with the project's search index."""
        library = FsSkillLibrary(root, self.settings.home, lock_timeout=self.settings.lock_timeout)
        self._skill_libraries.add(library)
        return library

    async def skills(self, project_path: str) -> SkillUseCases:
        library: FsSkillLibrary = await self.skill_library(await self.project_root(project_path))
        clock = self.clock
        return SkillUseCases(
            save=SaveSkill(library, clock, timedelta(hours=self.settings.skill_ttl_hours)),
            get=GetSkill(library, clock),
            find=FindSkills(library, clock),
            update=UpdateSkill(library, clock),
            delete=DeleteSkill(library, clock),
            source=SourceSkill(library, clock),
            purge=PurgeExpiredSkills(library, clock),
        )

    async def sweep_expired_skills(self) -> int:
        """Purge expired ephemeral skills in the default project, the user library and every open project."""
        try:  # make sure the default project (and through it the user library) is swept
            await self.skill_library(await self.project_root("."))
        except DomainError as exc:
            logger.debug("not sweeping the default project: %s", exc)
        removed = 0
        for library in list(self._skill_libraries):
            removed += len(await PurgeExpiredSkills(library, self.clock)())
        return removed

    def registry(self) -> ToolRegistry:
        if self.tool_registry is None:
            raise RuntimeError("the tool registry is set by bootstrap(); build the app with it")
        return self.tool_registry

    def search_tools(self) -> SearchTools:
        return SearchTools(self.registry())

    def generate_tool_filesystem(self) -> GenerateToolFilesystem:
        return GenerateToolFilesystem(self.registry(), self.tool_package)

    @cached_property
    def delegation(self) -> Delegation:
        return build_delegation(self.settings)


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


def _onboarding(container: Container) -> OnboardingServices:
    settings = container.settings
    trees = FsProjectTree(max_files=settings.scan_max_files)  # one walk cache shared by scan and docs
    corpus = FsDocsCorpus(trees, max_bytes=settings.docs_max_bytes)
    container.shutdown_hooks.append(corpus.close)
    store = FsDocumentStore()
    onboard = OnboardProject(FsProjectScanner(trees), GitCli(timeout=settings.git_timeout), container.state_repository)
    return OnboardingServices(
        onboard=onboard,
        setup=SetupProject(onboard, store, default_workflow_yaml),
        publish=PublishDocuments(store),
        generate_spec=GenerateSpec(onboard, store),
        scan_docs=ScanDocumentation(corpus),
        analyze_docs=AnalyzeDocumentation(corpus),
        search_docs=SearchDocumentation(corpus),
    )


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
            tools=len(server_ref[0].tool_names()) if server_ref else 0,
            python=python_version,
            mcp=mcp_version,
        )

    container = Container(
        settings=settings,
        started_at=started,
        check_health=CheckHealth(
            probes=[HomeProbe(settings.home), AllowedRootsProbe(settings.allowed_roots)],
            runtime=runtime,
            caches=_CacheMetrics(),
        ),
    )
    container.onboarding = _onboarding(container)
    container.startup_hooks.append(freeze_startup_heap)

    container.startup_hooks.append(container.delegation.start)
    container.shutdown_hooks.append(container.delegation.stop)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        container.lifespan_done = anyio.Event()
        try:
            for hook in container.startup_hooks:
                await hook()
            yield None
        finally:
            # Shielded: on SIGTERM the serving scope is cancelled, and cleanup (killing child
            # processes, flushing state) must still run to completion.
            with anyio.CancelScope(shield=True):
                for hook in reversed(container.shutdown_hooks):
                    try:
                        await hook()
                    except Exception:
                        logger.exception("shutdown hook %r failed", hook)
            container.lifespan_done.set()

    server = CdeServer(
        name="cde-orchestrator",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
        lifespan=lifespan,
    )
    setattr(server, PROFILE_ATTR, settings.tools)
    server_ref.append(server)
    container.tool_registry = ServerToolRegistry(server)
    sweeper = SkillSweeper(container.sweep_expired_skills, settings.skill_sweep_interval)
    container.startup_hooks.append(sweeper.start)
    container.shutdown_hooks.append(sweeper.stop)

    from server.tools import register_all

    register_all(server, container)
    return App(server=server, container=container)
