"""Ports of the workflow use cases: project configuration, spec files, project facts.

Each is bound to one project root by the composition root, so use cases never
see paths they did not ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel, Field

from domain.project import Project
from domain.recipe import Recipe, RecipeRef
from domain.workflow import Workflow


class RecipeCatalog(BaseModel):
    """Recipe ids the project can use (bundled, overridden or added) and the problems found listing them."""

    refs: dict[str, RecipeRef]
    bundled: list[str]
    problems: list[str] = Field(default_factory=list)


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


class SpecStore(Protocol):
    """`specs/<feature-name>/` documents of one project."""

    async def create_new(self, choose: Callable[[set[str]], str]) -> tuple[str, str]:
        """Create `specs/<name>/` with `name = choose(names already under specs/)`, in one step.

        `choose` is pure (it may run in a worker thread); returns (name, project-relative path).
        """
        ...

    async def write(self, name: str, files: Mapping[str, str]) -> list[str]:
        """Durably write `specs/<name>/<file>` for each item; return the project-relative paths."""
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
