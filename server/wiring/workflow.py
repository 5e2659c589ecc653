"""Workflows, features and recipes: the project-configuration readers and the use cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapters.fs_project_config import FsConfigStore, FsProjectConfig
from adapters.fs_spec_store import FsSpecStore
from adapters.project_facts import FsProjectFacts, ProjectFactsReader
from domain.cancel_feature import CancelFeature
from domain.check_recipes import CheckRecipes
from domain.feature_status import GetFeatureStatus
from domain.list_features import ListFeatures
from domain.list_recipes import ListRecipes
from domain.phase_prompt import PhasePrompter
from domain.ports import StateRepository
from domain.select_workflow import SelectWorkflow
from domain.start_feature import StartFeature
from domain.submit_work import SubmitWork
from domain.use_recipe import UseRecipe


class WorkflowWiring:
    """Process-wide readers (their caches are keyed by project root) and per-call use cases."""

    def __init__(self, state_repository: Callable[[Path], StateRepository], *, lock_timeout: float = 10.0) -> None:
        self.config_store = FsConfigStore()
        self.facts_reader = ProjectFactsReader()
        self._state = state_repository
        self._lock_timeout = lock_timeout

    def project_config(self, root: Path) -> FsProjectConfig:
        return FsProjectConfig(self.config_store, root)

    def _facts(self, root: Path) -> FsProjectFacts:
        return FsProjectFacts(self.facts_reader, root)

    def _specs(self, root: Path) -> FsSpecStore:
        return FsSpecStore(root, lock_timeout=self._lock_timeout)

    def _prompter(self, root: Path) -> PhasePrompter:
        return PhasePrompter(self.project_config(root), self._facts(root), self._specs(root))

    def select_workflow(self, root: Path) -> SelectWorkflow:
        return SelectWorkflow(self.project_config(root))

    def start_feature(self, root: Path) -> StartFeature:
        return StartFeature(self._state(root), self.project_config(root), self._specs(root), self._prompter(root))

    def submit_work(self, root: Path) -> SubmitWork:
        return SubmitWork(self._state(root), self.project_config(root), self._specs(root), self._prompter(root))

    def feature_status(self, root: Path) -> GetFeatureStatus:
        return GetFeatureStatus(self._state(root), self.project_config(root), self._prompter(root))

    def list_features(self, root: Path) -> ListFeatures:
        return ListFeatures(self._state(root), self.project_config(root))

    def cancel_feature(self, root: Path) -> CancelFeature:
        return CancelFeature(self._state(root), self._specs(root))

    def list_recipes(self, root: Path) -> ListRecipes:
        return ListRecipes(self.project_config(root))

    def use_recipe(self, root: Path) -> UseRecipe:
        return UseRecipe(self.project_config(root), self._facts(root))

    def check_recipes(self, root: Path) -> CheckRecipes:
        return CheckRecipes(self.project_config(root))
