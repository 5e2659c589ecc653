"""Project onboarding and documentation intelligence: one walk cache shared by scan and docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.docs_corpus import FsDocsCorpus
from adapters.fs_document_store import FsDocumentStore
from adapters.fs_spec_store import FsSpecStore
from adapters.git_reader import GitCli
from adapters.project_scanner import FsProjectScanner
from adapters.project_tree import FsProjectTree
from adapters.workflow_template import default_workflow_yaml
from domain.docs.analyze_documentation import AnalyzeDocumentation
from domain.docs.scan_documentation import ScanDocumentation
from domain.docs.search_documentation import SearchDocumentation
from domain.onboarding.generate_spec import GenerateSpec
from domain.onboarding.onboard_project import OnboardProject
from domain.onboarding.publish_documents import PublishDocuments
from domain.onboarding.setup_project import SetupProject
from domain.ports import StateRepository
from infrastructure.settings import Settings


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
    close: Callable[[], Awaitable[None]]


def build_onboarding(settings: Settings, state_repository: Callable[[Path], StateRepository]) -> OnboardingServices:
    trees = FsProjectTree(max_files=settings.scan_max_files)
    corpus = FsDocsCorpus(trees, max_bytes=settings.docs_max_bytes)
    store = FsDocumentStore()
    onboard = OnboardProject(FsProjectScanner(trees), GitCli(timeout=settings.git_timeout), state_repository)
    return OnboardingServices(
        onboard=onboard,
        setup=SetupProject(onboard, store, default_workflow_yaml),
        publish=PublishDocuments(store),
        generate_spec=GenerateSpec(
            onboard, store, state_repository, lambda root: FsSpecStore(root, lock_timeout=settings.lock_timeout)
        ),
        scan_docs=ScanDocumentation(corpus),
        analyze_docs=AnalyzeDocumentation(corpus),
        search_docs=SearchDocumentation(corpus),
        close=corpus.close,
    )
