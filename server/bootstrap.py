"""The composition root: builds every adapter and use case once and hands them to the tools.

Tests call `bootstrap()` with their own Settings (and, where they need to, swap a
field of the Container for a fake) to get the same app the CLI serves.
"""

from __future__ import annotations

import gc
import platform
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from adapters.docs_corpus import FsDocsCorpus
from adapters.fs_document_store import FsDocumentStore
from adapters.fs_state_repository import FsStateRepository
from adapters.git_reader import GitCli
from adapters.health_probes import AllowedRootsProbe, HomeProbe
from adapters.project_scanner import FsProjectScanner
from adapters.project_tree import FsProjectTree
from adapters.workflow_template import default_workflow_yaml
from domain.docs.analyze_documentation import AnalyzeDocumentation
from domain.docs.scan_documentation import ScanDocumentation
from domain.docs.search_documentation import SearchDocumentation
from domain.health import CacheMetrics, CheckHealth, RuntimeFacts
from domain.onboarding.generate_spec import GenerateSpec
from domain.onboarding.onboard_project import OnboardProject
from domain.onboarding.publish_documents import PublishDocuments
from domain.onboarding.setup_project import SetupProject
from infrastructure import paths
from infrastructure.cache import all_cache_stats, configure_caches
from infrastructure.settings import Settings
from server import __version__
from server.app import CdeServer
from server.tooling import PROFILE_ATTR

Hook = Callable[[], Awaitable[None]]

INSTRUCTIONS = (
    "cde-orchestrator walks a feature through phases (define, decompose, design, implement, test, "
    "review) and keeps project knowledge. Tools take project_path (default: the server's project). "
    "Use cde_searchTools to discover tools by need."
)


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
    onboarding: OnboardingServices = field(init=False, repr=False)

    async def project_root(self, project_path: str) -> Path:
        """Resolve a caller's `project_path` (relative to CDE_PROJECT_ROOT) inside the allowed roots."""
        return await paths.resolve_project(
            project_path, base=self.settings.project_root, allowed_roots=self.settings.allowed_roots
        )

    def state_repository(self, root: Path) -> FsStateRepository:
        return FsStateRepository(root, lock_timeout=self.settings.lock_timeout)


@dataclass
class App:
    server: CdeServer
    container: Container


def _cache_metrics() -> list[CacheMetrics]:
    return [
        CacheMetrics(
            name=s.name,
            hits=s.hits,
            misses=s.misses,
            evictions=s.evictions + s.expirations,
            invalidations=s.invalidations,
            size=s.size,
            hit_rate=round(s.hit_rate, 4),
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
    server_ref: list[CdeServer] = []

    def runtime() -> RuntimeFacts:
        return RuntimeFacts(
            version=__version__,
            uptime_s=time.monotonic() - started,
            tools=len(server_ref[0].tool_names()) if server_ref else 0,
            python=platform.python_version(),
            mcp=mcp_version,
        )

    container = Container(
        settings=settings,
        started_at=started,
        check_health=CheckHealth(
            probes=[HomeProbe(settings.home), AllowedRootsProbe(settings.allowed_roots)],
            runtime=runtime,
            caches=_cache_metrics,
        ),
    )
    container.onboarding = _onboarding(container)
    container.startup_hooks.append(freeze_startup_heap)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        for hook in container.startup_hooks:
            await hook()
        try:
            yield None
        finally:
            for hook in reversed(container.shutdown_hooks):
                await hook()

    server = CdeServer(
        name="cde-orchestrator",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level=settings.log_level,
        lifespan=lifespan,
    )
    setattr(server, PROFILE_ATTR, settings.tools)
    server_ref.append(server)

    from server.tools import register_all

    register_all(server, container)
    return App(server=server, container=container)
