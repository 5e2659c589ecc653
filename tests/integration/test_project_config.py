"""The workflow override, recipe overrides and their caches, on real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import adapters.fs_project_config as config_module
from adapters.fs_project_config import BUNDLED_DIR, FsConfigStore, FsProjectConfig
from adapters.project_facts import describe_sync
from domain.errors import CorruptDataError, NotFoundError
from domain.recipe import Recipe, RecipeRef
from infrastructure import files

TASK = '<poml><let name="description">{desc}</let><task>{task}</task></poml>'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def bump_mtime(path: Path) -> None:
    """Same-size rewrites within one timestamp tick are still seen (inode/ctime), but make it explicit."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


@pytest.fixture
def config(project: Path) -> FsProjectConfig:
    return FsProjectConfig(FsConfigStore(), project)


def bundled_workflow() -> dict[str, object]:
    data = yaml.safe_load((BUNDLED_DIR / "workflow.yml").read_text())
    assert isinstance(data, dict)
    return data


async def test_bundled_default_when_no_override(config: FsProjectConfig) -> None:
    workflow = await config.workflow()
    assert workflow.phase_ids == ["define", "decompose", "design", "implement", "test", "review"]
    assert set(workflow.types) == {"standard", "quick-fix", "hotfix", "research", "documentation", "refactor"}
    assert await config.workflow_source() == "bundled"
    catalog = await config.catalog()
    for _, rid in workflow.recipe_references():
        assert rid in catalog.refs


async def test_valid_override_replaces_the_default(project: Path, config: FsProjectConfig) -> None:
    data = bundled_workflow()
    data["name"] = "ours"
    data["phases"] = [*data["phases"], {"id": "security-audit", "description": "audit", "recipe": "review"}]  # type: ignore[misc]
    write(project / ".cde/workflow.yml", yaml.safe_dump(data))
    workflow = await config.workflow()
    assert workflow.name == "ours" and workflow.phase_ids[-1] == "security-audit"
    assert await config.workflow_source() == ".cde/workflow.yml"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nversion: 1\ndefault_type: a\nphases:\n  - id: one\n    description: d\n    recipe: define\n"
         "    handler: robot\ntypes:\n  a:\n    recipe: define\n", "line 8, phases[0].handler"),
        ("name: x\nversion: 1\ndefault_type: a\nphases:\n  - id: one\n    description: d\n    recipe: nonexistent\n"
         "types:\n  a:\n    recipe: define\n", "line 7, phases[0].recipe: recipe 'nonexistent' does not exist"),
        ("name: x\nversion: 1\ndefault_type: a\nphases:\n  - id: one\n    description: d\n    recipe: define\n"
         "types:\n  a:\n    recipe: define\n    skip: [two]\n", "line 11, types.a.skip[0]: skips unknown phase 'two'"),
        ("name: x\nversion: 1\ndefault_type: a\nphases:\n  - id: one\n    recipe: define\ntypes:\n  a:\n"
         "    recipe: define\n", "line 5, phases[0].description: Field required"),
        ("name: x\nphases: [\n", "invalid YAML at line 3"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)  # fmt: skip
async def test_broken_override_is_reported_with_line_and_never_replaced(
    project: Path, config: FsProjectConfig, text: str, fragment: str
) -> None:
    path = write(project / ".cde/workflow.yml", text)
    with pytest.raises(CorruptDataError) as caught:
        await config.workflow()
    assert fragment in caught.value.message
    assert str(path) in caught.value.message
    with pytest.raises(CorruptDataError):  # again: errors are not cached, the default is not substituted
        await config.workflow()
    assert path.read_text() == text  # left untouched


async def test_fixing_the_override_is_seen_on_the_next_call(project: Path, config: FsProjectConfig) -> None:
    path = write(project / ".cde/workflow.yml", "name: [broken\n")
    with pytest.raises(CorruptDataError):
        await config.workflow()
    data = bundled_workflow()
    data["name"] = "fixed"
    write(path, yaml.safe_dump(data))
    assert (await config.workflow()).name == "fixed"
    data["name"] = "edited"
    write(path, yaml.safe_dump(data))
    bump_mtime(path)
    assert (await config.workflow()).name == "edited"


async def test_project_recipe_overrides_and_adds(project: Path, config: FsProjectConfig) -> None:
    write(project / ".cde/recipes/phases/define.poml", TASK.format(desc="ours", task="Our define {{ user_prompt }}"))
    write(project / ".cde/recipes/team/standup.poml", TASK.format(desc="standup", task="Standup"))
    catalog = await config.catalog()
    assert catalog.refs["define"].source == "project" and catalog.refs["define"].overrides
    assert catalog.refs["standup"].source == "project" and not catalog.refs["standup"].overrides
    assert catalog.refs["implement"].source == "bundled"
    assert (await config.recipe("define")).task == "Our define {{ user_prompt }}"


async def test_recipe_edit_is_seen_by_the_next_call_and_hits_are_cached(project: Path) -> None:
    store = FsConfigStore()
    config = FsProjectConfig(store, project)
    path = write(project / ".cde/recipes/team/standup.poml", TASK.format(desc="v1", task="first"))
    first = await config.recipe("standup")
    hits = store.recipe.cache.hits
    assert await config.recipe("standup") is first
    assert store.recipe.cache.hits == hits + 1
    write(path, TASK.format(desc="v2", task="second"))
    bump_mtime(path)
    assert (await config.recipe("standup")).task == "second"


async def test_many_recipes_load_in_one_hop_into_the_same_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FsConfigStore()
    config = FsProjectConfig(store, project)
    path = write(project / ".cde/recipes/team/standup.poml", TASK.format(desc="v1", task="first"))
    bad = write(project / ".cde/recipes/team/bad.poml", "<poml>\n<task>unclosed\n</poml>\n")
    batches: list[list[str]] = []
    real = config_module._read_recipes_sync

    def counted(refs: list[RecipeRef]) -> list[tuple[RecipeRef, object, object]]:
        batches.append([r.id for r in refs])
        return real(refs)  # type: ignore[return-value]

    monkeypatch.setattr(config_module, "_read_recipes", files.in_thread(counted))
    await config.recipe("define")  # already cached: not read again
    loaded = await config.recipes(["bad", "define", "standup", "nope"])
    assert list(loaded) == ["bad", "define", "standup", "nope"]
    assert batches == [["bad", "standup"]]  # one hop for every recipe not cached
    assert isinstance(loaded["bad"], CorruptDataError) and f"{bad}" in loaded["bad"].message
    assert isinstance(loaded["nope"], NotFoundError)
    standup = loaded["standup"]
    assert isinstance(standup, Recipe) and await config.recipe("standup") is standup  # primed, a hit now
    write(path, TASK.format(desc="v2", task="second"))  # guarded by the file's fingerprint
    bump_mtime(path)
    assert (await config.recipe("standup")).task == "second"
    assert (await config.recipes(["standup"]))["standup"] == await config.recipe("standup")
    assert batches == [["bad", "standup"]]  # the edited one was re-read on its own, by `recipe`
    write(path, TASK.format(desc="v3", task="third"))
    bump_mtime(path)
    again = await config.recipes(["define", "standup"])
    assert batches[-1] == ["standup"]  # an entry gone stale joins the batch; the valid one is a hit
    assert isinstance(again["standup"], Recipe) and again["standup"].task == "third"


async def test_a_recipe_added_to_an_existing_folder_is_found_at_once(project: Path, config: FsProjectConfig) -> None:
    write(project / ".cde/recipes/team/one.poml", TASK.format(desc="1", task="one"))
    await config.catalog()  # cached now
    write(project / ".cde/recipes/team/two.poml", TASK.format(desc="2", task="two"))
    assert (await config.recipe("two")).task == "two"
    with pytest.raises(NotFoundError, match=r"recipe 'three' does not exist; available: .*ai-engineer"):
        await config.recipe("three")


async def test_malformed_recipe_is_reported_with_file_and_line(project: Path, config: FsProjectConfig) -> None:
    path = write(project / ".cde/recipes/team/bad.poml", "<poml>\n<task>unclosed\n</poml>\n")
    with pytest.raises(CorruptDataError, match=rf"{path}.*line 3: invalid XML"):
        await config.recipe("bad")


async def test_catalog_problems_are_listed_not_swallowed(project: Path, config: FsProjectConfig) -> None:
    write(project / ".cde/recipes/loose.poml", TASK.format(desc="x", task="x"))
    write(project / ".cde/recipes/Bad Category/x.poml", TASK.format(desc="x", task="x"))
    write(project / ".cde/recipes/a/Upper.poml", TASK.format(desc="x", task="x"))
    write(project / ".cde/recipes/a/dup.poml", TASK.format(desc="x", task="x"))
    write(project / ".cde/recipes/b/dup.poml", TASK.format(desc="x", task="x"))
    (project / ".cde/recipes/a/link.poml").symlink_to(project / ".cde/recipes/a/dup.poml")
    (project / ".cde/recipes/a/folder.poml").mkdir()
    write(project / ".cde/recipes/a/review.POML", TASK.format(desc="x", task="x"))
    write(project / ".cde/recipes/a/index.poml", TASK.format(desc="x", task="x"))  # a slug, but reserved
    write(project / ".cde/recipes/a/v2/deeper/define.poml", TASK.format(desc="x", task="x"))  # was skipped unseen
    write(project / ".cde/recipes/a/assets/notes.txt", "no recipes here")
    shared = write(project.parent / "shared/define.poml", TASK.format(desc="x", task="x")).parent
    (project / ".cde/recipes/team").symlink_to(shared)
    problems = "\n".join((await config.catalog()).problems)
    assert "review.POML: not loaded; recipe files end in .poml (lowercase)" in problems
    assert "recipes/team: not loaded; it is a symlink, and recipe folders must be real folders" in problems
    assert "loose.poml: not loaded; put recipes in a category folder" in problems
    assert "Bad Category: not loaded; the folder name 'Bad Category' must be a lowercase slug" in problems
    assert "Upper.poml: not loaded; the recipe id (file name) 'Upper' must be a lowercase slug" in problems
    assert "index.poml: not loaded; the recipe id (file name) 'index' is a reserved name" in problems
    assert "b/dup.poml: not loaded; recipe id 'dup' is already defined by" in problems
    assert "link.poml: not loaded; it is a symlink, and recipes must be regular files" in problems
    assert "folder.poml: not loaded; it is a folder, and recipes must be regular files" in problems
    assert "recipes/a/v2: its recipes are not loaded; recipes go directly in a category folder" in problems
    assert "assets" not in problems


async def test_an_override_that_is_not_a_file_is_an_error_not_the_bundled_recipe(
    project: Path, config: FsProjectConfig
) -> None:
    """A folder or FIFO named define.poml was skipped, and the bundled define served in silence."""
    override = project / ".cde/recipes/phases/define.poml"
    override.mkdir(parents=True)
    (project / ".cde/recipes/mine").mkdir()
    os.mkfifo(project / ".cde/recipes/mine/own.poml")
    for recipe_id, path in (("define", override), ("own", project / ".cde/recipes/mine/own.poml")):
        with pytest.raises(CorruptDataError) as caught:
            await config.recipe(recipe_id)
        assert caught.value.message.startswith(f"{path} is unreadable (not a regular file, as a recipe must be)")
    outcome = (await config.recipes(["define", "review"]))["define"]
    assert isinstance(outcome, CorruptDataError)
    # Another category's regular file of that id is the recipe.
    write(project / ".cde/recipes/more/own.poml", TASK.format(desc="x", task="mine"))
    assert (await config.recipe("own")).ref.path == str(project / ".cde/recipes/more/own.poml")


async def test_a_recipe_in_a_folder_that_is_not_loaded_is_an_error_not_the_bundled_recipe(
    project: Path, config: FsProjectConfig
) -> None:
    shared = write(project.parent / "shared/review.poml", TASK.format(desc="x", task="x")).parent
    (project / ".cde/recipes").mkdir(parents=True)
    (project / ".cde/recipes/team").symlink_to(shared)
    write(project / ".cde/recipes/Bad Name/test.poml", TASK.format(desc="x", task="x"))
    for recipe_id, folder, why in (
        ("review", "team", "in a symlinked folder; recipe folders must be real folders"),
        ("test", "Bad Name", "in a folder whose name is not a lowercase slug"),
    ):
        with pytest.raises(CorruptDataError) as caught:
            await config.recipe(recipe_id)
        assert caught.value.message.startswith(
            f"{project}/.cde/recipes/{folder}/{recipe_id}.poml is unreadable ({why})"
        )
    assert (await config.recipe("define")).ref.source == "bundled"  # the others are untouched


def test_project_facts_give_the_test_and_lint_commands_the_prompts_ask_for(tmp_path: Path) -> None:
    """The prompts said "run the whole test suite" with no command: an agent ran a bare pytest, outside the venv."""
    (tmp_path / "pyproject.toml").write_text("[project]\n[tool.pytest.ini_options]\n")
    (tmp_path / "Makefile").write_text("test:\n\t.venv/bin/pytest\nlint:\n\t.venv/bin/ruff check .\n")
    assert "Commands: test `make test`, lint `make lint`." in describe_sync(tmp_path)
    node = tmp_path / "web"
    node.mkdir()
    (node / "package.json").write_text('{"scripts": {"test": "vitest"}}')
    (node / "pnpm-lock.yaml").write_text("")
    assert "Commands: test `pnpm test`." in describe_sync(node)


def test_project_facts_name_manifests_guides_folders_and_git(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "README.md").write_text("# r\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").write_text("a file, not the folder\n")
    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")  # a worktree's .git is a file
    for folder in ("server", "domain", ".venv", "node_modules", "__pycache__", "demo.egg-info", "build", "obj", "a\tb"):
        (tmp_path / folder).mkdir()  # the project's own code, then what is not: environments, builds, caches
    facts = describe_sync(tmp_path)
    assert facts == (
        "Manifests: pyproject.toml (Python). Read first: README.md. Top-level folders: src/, domain/, server/. "
        "It is a git repository."
    )
    assert describe_sync(tmp_path / "missing").startswith("(project listing failed: ")
    for i in range(20):
        (tmp_path / f"pkg{i:02d}").mkdir()
    listed = describe_sync(tmp_path).split("Top-level folders: ")[1].split(". ")[0]
    assert listed.startswith("src/, domain/, pkg00/") and listed.endswith(", pkg09/, and 11 more")
