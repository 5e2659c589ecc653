"""In-memory implementations of the workflow ports, for fast unit tests of the use cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from domain.errors import DomainError, NotFoundError
from domain.ports import Staged
from domain.project import Project
from domain.project_state import ProjectState
from domain.recipe import Recipe, RecipeRef
from domain.workflow import Workflow, parse_workflow
from domain.workflow_ports import RecipeCatalog

T = TypeVar("T")


class InMemoryStateRepository:
    """Keeps the state as its JSON form, like the file, so a failed change leaves no trace.

    Like the real adapter, `load()` returns one shared snapshot, which `update` replaces with
    the state it wrote (the value `change` returned is part of it). Every call first checks
    that nobody mutated the snapshot, so a use case that does fails its tests.
    """

    def __init__(self) -> None:
        self.saved: dict[str, Any] = ProjectState().model_dump(mode="json")
        self._snapshot = ProjectState.model_validate(self.saved)
        self.updates = 0

    def check_snapshot(self) -> None:
        assert self._snapshot.model_dump(mode="json") == self.saved, "the shared state snapshot was mutated"

    async def load(self) -> ProjectState:
        self.check_snapshot()
        return self._snapshot

    async def update(self, change: Callable[[ProjectState], T], *, first: Staged | None = None) -> T:
        try:
            return await self._update(change, first)
        finally:
            if first is not None:
                first.settle()

    async def _update(self, change: Callable[[ProjectState], T], first: Staged | None) -> T:
        self.check_snapshot()
        await asyncio.sleep(0)  # the real update is a thread hop: let other coroutines run meanwhile
        if first is not None:
            first.run()
        try:
            return self._change(change)
        except BaseException:
            if first is not None:
                first.undo()
            raise

    def _change(self, change: Callable[[ProjectState], T]) -> T:
        # Like the real adapter: a copy sharing the (immutable) features, which `change` must replace, not edit.
        state = self._snapshot.model_copy(update={"features": dict(self._snapshot.features)})
        try:
            result = change(state)
        finally:
            self.check_snapshot()
        self.saved = state.model_dump(mode="json")
        self._snapshot = state
        self.updates += 1
        return result


class InMemoryConfig:
    def __init__(self, workflow: Workflow, recipes: Mapping[str, Recipe]) -> None:
        self._workflow = workflow
        self.recipes = dict(recipes)

    async def workflow(self) -> Workflow:
        return self._workflow

    async def workflow_source(self) -> str:
        return "bundled"

    async def catalog(self, *, fresh: bool = False) -> RecipeCatalog:
        return RecipeCatalog(refs={k: r.ref for k, r in self.recipes.items()}, bundled=sorted(self.recipes))

    async def recipe(self, recipe_id: str) -> Recipe:
        if recipe_id not in self.recipes:
            raise NotFoundError(f"recipe {recipe_id!r} does not exist")
        return self.recipes[recipe_id]

    async def recipes(self, recipe_ids: Sequence[str]) -> dict[str, Recipe | DomainError]:
        found: dict[str, Recipe | DomainError] = {}
        for recipe_id in recipe_ids:
            try:
                found[recipe_id] = await self.recipe(recipe_id)
            except DomainError as exc:
                found[recipe_id] = exc
        return found


class StagedStep:
    """A staged folder or set of documents; fails loudly if used in the wrong order."""

    def __init__(self) -> None:
        self.action: Callable[[], None] = lambda: None
        self.undo_action: Callable[[], None] = lambda: None
        self.paths: list[str] = []
        self.ran = self.settled = False
        self._created: tuple[str, str] | None = None

    @property
    def created(self) -> tuple[str, str]:
        assert self._created is not None, "`created` read before the step ran"
        return self._created

    @created.setter
    def created(self, value: tuple[str, str]) -> None:
        self._created = value

    def run(self) -> None:
        assert not self.ran and not self.settled, "a staged step runs once, before it is settled"
        self.ran = True
        self.action()

    def settle(self) -> None:
        assert not self.settled, "a staged step is settled once"
        self.settled = True

    def undo(self) -> None:
        assert self.ran and not self.settled, "only a step that ran is undone, before it is settled"
        self.undo_action()


class InMemorySpecStore:
    def __init__(self, existing: set[str] | None = None) -> None:
        self.dirs: set[str] = set(existing or ())
        self.files: dict[str, str] = {}
        self.reads = 0
        self._lock = asyncio.Lock()

    def new_folder(self, choose: Callable[[set[str]], str]) -> StagedStep:
        step = StagedStep()

        def run() -> None:
            name = choose(set(self.dirs))
            self.dirs.add(name)
            step.created = (name, f"specs/{name}")

        step.action = run
        step.undo_action = lambda: self.dirs.discard(step.created[0])
        return step

    def documents(self, name: str, files: Mapping[str, str]) -> StagedStep:
        step = StagedStep()
        step.paths = [f"specs/{name}/{file}" for file in files]

        def run() -> None:
            for path, content in zip(step.paths, files.values(), strict=True):
                self.files[path] = content

        step.action = run
        return step

    async def read(self, paths: list[str]) -> dict[str, str]:
        self.reads += len(paths)
        return {p: self.files[p] for p in paths if p in self.files}

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        async with self._lock:
            yield


class StaticFacts:
    async def summary(self) -> Project:
        return Project(root=Path("/projects/demo"), name="demo", facts="Manifests: pyproject.toml (Python).")


def recipe(rid: str, task: str, *, role: str = "", category: str = "phases", **meta: str) -> Recipe:
    return Recipe(
        ref=RecipeRef(id=rid, category=category, source="bundled", path=f"<memory>/{rid}.poml"),
        meta=meta,
        role=role,
        task=task,
    )


# A custom workflow: custom phase ids (one with a dash), a human phase, outputs saved to files.
WORKFLOW_DOC: dict[str, Any] = {
    "name": "team",
    "version": 2,
    "default_type": "full",
    "phases": [
        {
            "id": "spec",
            "description": "Write the spec",
            "recipe": "spec",
            "outputs": [{"key": "spec", "file": "spec.md"}, {"key": "notes", "required": False}],
        },
        {
            "id": "build",
            "description": "Build it",
            "recipe": "build",
            "inputs": ["spec"],
            "outputs": [{"key": "summary"}, {"key": "files_changed"}],
        },
        {
            "id": "security-audit",
            "description": "Audit it",
            "recipe": "audit",
            "inputs": ["spec", "summary"],
            "outputs": [{"key": "audit", "file": "audit.md"}],
        },
        {
            "id": "sign-off",
            "description": "A human approves",
            "recipe": "audit",
            "handler": "human",
            "inputs": ["audit"],
            "outputs": [{"key": "decision"}],
        },
    ],
    "types": {
        "full": {"recipe": "engineer"},
        "fast": {"recipe": "engineer", "skip": ["security-audit"]},
    },
}


def team_workflow() -> Workflow:
    return parse_workflow(WORKFLOW_DOC)


def team_recipes() -> dict[str, Recipe]:
    return {
        "spec": recipe("spec", "Specify {{ user_prompt }} for {{ project_name }}.\n{{ required_outputs }}"),
        "build": recipe("build", "Build {{ feature_name }}.\n{{ previous_results }}\nSpec again: {{ spec }}"),
        "audit": recipe(
            "audit", "Audit. Tasks: {{ summary }}\n{{ previous_results }}\nAudit: {{ audit }}", role="Auditor."
        ),
        "engineer": recipe(
            "engineer", "Do {{ user_prompt }}", role="You are an engineer on {{ project_name }}.", category="roles"
        ),
    }
