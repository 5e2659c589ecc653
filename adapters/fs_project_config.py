"""Workflow and recipes of a project on disk: bundled defaults plus `.cde/` overrides, cached.

* `.cde/workflow.yml`, when present, replaces the bundled workflow entirely; if it
  is broken every call reports it (file, line, field) and the bundled default is
  not used instead.
* `.cde/recipes/<category>/<id>.poml` overrides the bundled recipe with the same
  id, or adds a new one.

Caching (all through `@cached`): the recipe catalog and the workflow per project
with the settings TTL plus fingerprints of the files and folders they come from;
each parsed recipe by the fingerprint of its file, so an edit is seen by the
next call. A recipe id missing from a cached catalog triggers one fresh scan
before NotFound (a file added to an existing folder is found at once).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Sequence
from pathlib import Path

from adapters.poml import read_recipe_sync
from adapters.workflow_file import load_workflow_sync
from domain.errors import CorruptDataError, DomainError, InvalidInputError, NotFoundError
from domain.names import validate_name
from domain.recipe import Recipe, RecipeRef
from domain.workflow import Workflow
from domain.workflow_ports import RecipeCatalog
from infrastructure import files
from infrastructure.cache import SETTINGS_TTL, Fingerprint, cached, fingerprint

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
WORKFLOW_FILE = Path(".cde") / "workflow.yml"
RECIPES_DIR = Path(".cde") / "recipes"
RECIPE_SUFFIX = ".poml"


def _poml_files(directory: Path) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as entries:
        return sorted(entries, key=lambda e: e.name)


def scan_catalog_sync(bundled: Path, project: Path | None) -> RecipeCatalog:
    """Every `<category>/<id>.poml` under the bundled and (unless None) the project recipe folders."""
    refs: dict[str, RecipeRef] = {}
    problems: list[str] = []
    broken: dict[str, tuple[str, str]] = {}
    for category in _poml_files(bundled):
        for entry in _poml_files(Path(category.path)):
            if entry.name.endswith(RECIPE_SUFFIX):
                rid = entry.name.removesuffix(RECIPE_SUFFIX)
                refs[rid] = RecipeRef(id=rid, category=category.name, source="bundled", path=entry.path)
    bundled_ids = sorted(refs)
    try:
        categories = _poml_files(project) if project is not None else []
    except FileNotFoundError:
        categories = []
    except OSError as exc:
        problems.append(files.os_error(project or bundled, exc).message)
        categories = []
    seen: dict[str, str] = {}
    for category in categories:
        if not category.is_dir(follow_symlinks=False):
            if category.is_symlink() and category.is_dir():
                problems.append(
                    f"{category.path}: not loaded; it is a symlink, and recipe folders must be real folders "
                    "(copy the shared recipes in)"
                )
                _mark_broken(broken, category.path, "in a symlinked folder; recipe folders must be real folders")
            elif category.name.lower().endswith(RECIPE_SUFFIX):
                problems.append(
                    f"{category.path}: not loaded; put recipes in a category folder (.cde/recipes/<category>/)"
                )
            continue
        if (why := _unsafe_because(category.name, "the folder name")) is not None:
            problems.append(f"{category.path}: not loaded; {why}")
            _mark_broken(broken, category.path, "in a folder whose name is not a lowercase slug")
            continue
        try:
            entries = _poml_files(Path(category.path))
        except OSError as exc:
            problems.append(files.os_error(Path(category.path), exc).message)
            continue
        for entry in entries:
            if not entry.name.endswith(RECIPE_SUFFIX):
                if entry.name.lower().endswith(RECIPE_SUFFIX):
                    problems.append(f"{entry.path}: not loaded; recipe files end in {RECIPE_SUFFIX} (lowercase)")
                elif entry.is_dir(follow_symlinks=False) and _holds_recipes(entry.path):
                    problems.append(
                        f"{entry.path}: its recipes are not loaded; recipes go directly in a category folder "
                        "(.cde/recipes/<category>/<id>.poml), not in a folder below it"
                    )
                continue
            rid = entry.name.removesuffix(RECIPE_SUFFIX)
            if not entry.is_file(follow_symlinks=False):
                kind = "a symlink" if entry.is_symlink() else "a folder" if entry.is_dir() else "not a regular file"
                problems.append(f"{entry.path}: not loaded; it is {kind}, and recipes must be regular files")
                if _safe(rid) and rid not in seen:
                    broken[rid] = (entry.path, "not a regular file, as a recipe must be")
            elif (why := _unsafe_because(rid, "the recipe id (file name)")) is not None:
                problems.append(f"{entry.path}: not loaded; {why}")
            elif rid in seen:
                problems.append(f"{entry.path}: not loaded; recipe id {rid!r} is already defined by {seen[rid]}")
            else:
                seen[rid] = entry.path
                refs[rid] = RecipeRef(
                    id=rid, category=category.name, source="project", path=entry.path, overrides=rid in bundled_ids
                )
    for rid in seen:
        broken.pop(rid, None)  # another category's file of that id is the recipe
    return RecipeCatalog(refs=refs, bundled=bundled_ids, problems=problems, broken=broken)


def _holds_recipes(folder: str, budget: int = 500) -> bool:
    """Whether a `.poml` file lies anywhere below `folder` (looking at `budget` entries at most)."""
    pending = [folder]
    while pending and budget > 0:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    budget -= 1
                    if entry.name.lower().endswith(RECIPE_SUFFIX):
                        return True
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
        except OSError:
            continue
    return False


def _mark_broken(broken: dict[str, tuple[str, str]], folder: str, reason: str) -> None:
    """The ids of the recipes in a category folder that is not loaded (names only: nothing is read)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            rid = entry.name.removesuffix(RECIPE_SUFFIX)
            if entry.name.endswith(RECIPE_SUFFIX) and _safe(rid):
                broken.setdefault(rid, (entry.path, reason))


def _safe(name: str) -> bool:
    return _unsafe_because(name) is None


def _unsafe_because(name: str, what: str = "name") -> str | None:
    """Why `name` cannot be a recipe id or category, as validate_name says it (None: it can)."""
    try:
        validate_name(name, what)
    except InvalidInputError as exc:
        return exc.message
    return None


def _catalog_paths(_: FsConfigStore, root: Path) -> list[Path]:
    """The project recipe folder and its category folders: adding or removing a file changes one of them."""
    base = root / RECIPES_DIR
    paths = [base]
    try:
        with os.scandir(base) as entries:
            paths += sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        pass
    return paths


def _bundled_workflow_sync(bundled: Path) -> Workflow:
    catalog = scan_catalog_sync(bundled / "recipes", None)
    return load_workflow_sync(bundled / "workflow.yml", catalog.refs)


_scan_catalog = files.in_thread(scan_catalog_sync)
_load_workflow = files.in_thread(load_workflow_sync)
_load_bundled_workflow = files.in_thread(_bundled_workflow_sync)
_read_recipe = files.in_thread(read_recipe_sync)


def _read_recipes_sync(refs: list[RecipeRef]) -> list[tuple[RecipeRef, Recipe | DomainError, Fingerprint]]:
    """Read and parse each recipe, with the fingerprint its file had just before."""
    outcomes: list[tuple[RecipeRef, Recipe | DomainError, Fingerprint]] = []
    for ref in refs:
        path = Path(ref.path)
        printed = fingerprint(path)
        try:
            outcomes.append((ref, read_recipe_sync(path, ref), printed))
        except DomainError as exc:
            outcomes.append((ref, exc, printed))
    return outcomes


_read_recipes = files.in_thread(_read_recipes_sync)


async def _outcome(loading: Awaitable[Recipe]) -> Recipe | DomainError:
    try:
        return await loading
    except DomainError as exc:
        return exc


_exists = files.in_thread(os.path.lexists)


class FsConfigStore:
    """Process-wide reader of project configurations; its caches are keyed by project root."""

    def __init__(self, bundled: Path = BUNDLED_DIR) -> None:
        self.bundled = bundled

    @cached("workflow.recipe_catalog", maxsize=64, ttl=SETTINGS_TTL, depends_on=_catalog_paths)
    async def catalog(self, root: Path) -> RecipeCatalog:
        return await _scan_catalog(self.bundled / "recipes", root / RECIPES_DIR)

    @cached(
        "workflow.definition",
        maxsize=64,
        ttl=SETTINGS_TTL,
        depends_on=lambda _self, root: [root / WORKFLOW_FILE],
    )
    async def workflow(self, root: Path) -> Workflow:
        override = root / WORKFLOW_FILE
        if await _exists(override):
            catalog: RecipeCatalog = await self.catalog(root)
            return await _load_workflow(override, frozenset(catalog.refs))
        bundled: Workflow = await self.bundled_workflow()
        return bundled

    @cached("workflow.bundled_definition", maxsize=4, depends_on=lambda self: [self.bundled / "workflow.yml"])
    async def bundled_workflow(self) -> Workflow:
        """Parsed once per process: every project without an override shares it."""
        return await _load_bundled_workflow(self.bundled)

    @cached("workflow.recipe", maxsize=512, depends_on=lambda _self, ref: [ref.path])
    async def recipe(self, ref: RecipeRef) -> Recipe:
        return await _read_recipe(Path(ref.path), ref)

    async def recipes(self, refs: Sequence[RecipeRef]) -> list[Recipe | DomainError]:
        """Each recipe or its error; those not cached are read and parsed in one worker-thread hop.

        A cold listing of 20 recipes as 20 concurrent hops took ~12 ms here (threads
        contending for 2 cores); one hop for all is about the sum of their parses.
        """
        cache = self.recipe.cache
        loaded: dict[RecipeRef, Recipe | DomainError] = {}
        for ref in refs:
            found = cache.current(self, ref)
            if found is not None:
                loaded[ref] = found
        missing = [ref for ref in refs if ref not in loaded]
        if missing:
            for ref, outcome, printed in await _read_recipes(missing):
                loaded[ref] = outcome
                if isinstance(outcome, Recipe):  # guarded by the fingerprint taken before the read
                    cache.prime(outcome, [(ref.path, printed)], self, ref)
        return [loaded[ref] for ref in refs]


class FsProjectConfig:
    """The ProjectConfig port for one project root."""

    def __init__(self, store: FsConfigStore, root: Path) -> None:
        self._store = store
        self.root = root

    async def workflow(self) -> Workflow:
        workflow: Workflow = await self._store.workflow(self.root)
        return workflow

    async def workflow_source(self) -> str:
        present = await _exists(self.root / WORKFLOW_FILE)
        return WORKFLOW_FILE.as_posix() if present else "bundled"

    async def catalog(self, *, fresh: bool = False) -> RecipeCatalog:
        if fresh:
            self._store.catalog.invalidate(self.root)
            self._store.workflow.invalidate(self.root)
        catalog: RecipeCatalog = await self._store.catalog(self.root)
        return catalog

    async def recipe(self, recipe_id: str) -> Recipe:
        catalog: RecipeCatalog = await self._store.catalog(self.root)
        if recipe_id in catalog.broken:  # never the bundled recipe of that id in its place
            raise CorruptDataError(*catalog.broken[recipe_id])
        ref = catalog.refs.get(recipe_id)
        if ref is None:  # maybe added since the catalog was cached: look once more, fresh
            validate_name(recipe_id, "recipe_id")
            self._store.catalog.invalidate(self.root)
            catalog = await self._store.catalog(self.root)
            ref = catalog.refs.get(recipe_id)
        if ref is None:
            raise NotFoundError(
                f"recipe {recipe_id!r} does not exist; available: {', '.join(sorted(catalog.refs))} "
                "(cde_listRecipes describes them)"
            )
        recipe: Recipe = await self._store.recipe(ref)
        return recipe

    async def recipes(self, recipe_ids: Sequence[str]) -> dict[str, Recipe | DomainError]:
        catalog: RecipeCatalog = await self._store.catalog(self.root)
        known = [rid for rid in recipe_ids if rid in catalog.refs and rid not in catalog.broken]
        loaded = dict(zip(known, await self._store.recipes([catalog.refs[rid] for rid in known]), strict=True))
        return {rid: loaded[rid] if rid in loaded else await _outcome(self.recipe(rid)) for rid in recipe_ids}
