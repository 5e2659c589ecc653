"""Ports of the workflow use cases: project configuration, spec files, project facts.

Each is bound to one project root by the composition root, so use cases never
see paths they did not ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel, Field

from domain.errors import DomainError
from domain.ports import Staged
from domain.project import Project
from domain.recipe import Recipe, RecipeRef
from domain.workflow import Workflow


class RecipeCatalog(BaseModel):
    """Recipe ids the project can use (bundled, overridden or added) and the problems found listing them."""

    refs: dict[str, RecipeRef]
    bundled: list[str]
    problems: list[str] = Field(default_factory=list)
    # Recipe id → (path, why) of a project recipe that cannot be loaded (a folder, a link, a FIFO, or in a
    # folder that is not loaded): using that id is an error naming the file, never a silent fall back to
    # the bundled recipe of that id.
    broken: dict[str, tuple[str, str]] = Field(default_factory=dict)


class ProjectConfig(Protocol):
    """The workflow and recipes that apply to one project: bundled defaults plus its `.cde/` overrides."""

    async def workflow(self) -> Workflow:
        """The project's workflow; a broken override raises (the bundled default is never substituted)."""
        ...

    async def workflow_source(self) -> str:
        """`bundled` or the project-relative path of the override."""
        ...

    async def catalog(self, *, fresh: bool = False) -> RecipeCatalog:
        """Every recipe id with where it comes from; `fresh` bypasses the cache (diagnostics)."""
        ...

    async def recipe(self, recipe_id: str) -> Recipe:
        """A parsed recipe; NotFoundError lists the ids, CorruptDataError names file and line."""
        ...

    async def recipes(self, recipe_ids: Sequence[str]) -> dict[str, Recipe | DomainError]:
        """Each recipe, or the error that keeps it from loading (as `recipe` would raise it).

        For listings: the ones not cached are read in one batch, not one at a time.
        """
        ...


class StagedFolder(Staged, Protocol):
    """A new `specs/<name>/` folder, made when the step runs."""

    @property
    def created(self) -> tuple[str, str]:
        """(name, project-relative path); only once the step has run."""
        ...


class StagedDocuments(Staged, Protocol):
    """Documents written durably when the step runs."""

    @property
    def paths(self) -> list[str]:
        """The project-relative path of each document, in order (known before it runs)."""
        ...


class SpecStore(Protocol):
    """`specs/<feature-name>/` documents of one project.

    Folders and documents are staged, then made by the state update that records
    them (`StateRepository.update(..., first=...)`): they land before the record does.
    """

    def new_folder(self, choose: Callable[[set[str]], str]) -> StagedFolder:
        """Stage `specs/<name>/`, with `name = choose(names already under specs/)` when it runs.

        `choose` is pure (it runs in a worker thread, with the folder listing).
        """
        ...

    def documents(self, name: str, files: Mapping[str, str]) -> StagedDocuments:
        """Stage `specs/<name>/<file>` for each item; names are validated now, before anything is written."""
        ...

    async def read(self, paths: list[str]) -> dict[str, str]:
        """The text of each project-relative path that exists (missing ones are left out)."""
        ...

    def locked(self) -> AbstractAsyncContextManager[None]:
        """Hold the project's lock on feature changes (across processes): start, submit and cancel take it, so
        the folders and documents always match what the state records."""
        ...


class ProjectFacts(Protocol):
    """The project with a short factual description of it, for prompts."""

    async def summary(self) -> Project: ...
