"""Recipe tools (list, render, check) and the recipes served as MCP prompts.

Prompts have no project argument, so `prompts/list` offers the recipes of the
server's own project (CDE_PROJECT_ROOT): the bundled ones plus that project's
overrides and additions. The list follows the recipe files (re-checked, through
the caches, before each prompts/list and prompts/get), and `prompts/get` renders
the current version of the file. A recipe's placeholders are the prompt's
arguments (`user_prompt` required, the rest optional; `project_name` and
`project_facts` are filled in by the server).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

from domain.check_recipes import RecipeCheck
from domain.errors import DomainError
from domain.list_recipes import RecipeList
from domain.recipe import Recipe
from domain.use_recipe import AUTOMATIC, RenderedRecipe
from server.tooling import add_tool
from server.tools.params import ProjectPath
from server.tools.workflow import UserPrompt

if TYPE_CHECKING:
    from pathlib import Path

    from server.app import CdeServer
    from server.bootstrap import Container

logger = logging.getLogger(__name__)

RecipeId = Annotated[str, Field(min_length=1, max_length=64)]


# Kept upper case in a prompt's title: "AI engineer", not "Ai engineer".
_ACRONYMS = frozenset({"adr", "ai", "api", "ci", "cli", "llm", "mcp", "qa", "sql", "ui", "ux"})


def prompt_title(recipe_id: str) -> str:
    """`ai-engineer` → `AI engineer`: the id's words, the first capitalised, known acronyms upper case."""
    words = [w.upper() if w in _ACRONYMS else w for w in recipe_id.replace("_", "-").split("-") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def register(server: CdeServer, container: Container) -> None:
    async def cde_listRecipes(project_path: ProjectPath = ".") -> RecipeList:  # noqa: N802
        root = await container.project_root(project_path)
        return await container.workflow.list_recipes(root)()

    async def cde_useRecipe(  # noqa: N802
        recipe_id: RecipeId,
        user_prompt: UserPrompt,
        context: Annotated[
            dict[str, Annotated[str, Field(max_length=100_000)]],
            Field(max_length=50),
        ]
        | None = None,
        project_path: ProjectPath = ".",
    ) -> RenderedRecipe:
        root = await container.project_root(project_path)
        return await container.workflow.use_recipe(root)(recipe_id, user_prompt, context or {})

    async def cde_checkRecipes(project_path: ProjectPath = ".") -> RecipeCheck:  # noqa: N802
        root = await container.project_root(project_path)
        return await container.workflow.check_recipes(root)()

    add_tool(
        server,
        cde_listRecipes,
        name="cde_listRecipes",
        description="The project's recipes (prompt templates): source, description, placeholders.",
        read_only=True,
        idempotent=True,
    )
    add_tool(
        server,
        cde_useRecipe,
        name="cde_useRecipe",
        description="Render a recipe; context fills placeholders beyond user_prompt.",
        read_only=True,
        idempotent=True,
    )
    add_tool(
        server,
        cde_checkRecipes,
        name="cde_checkRecipes",
        description="Validate the project's recipes and workflow; lists overrides and every problem.",
        read_only=True,
        idempotent=True,
    )
    server.add_prompt_refresher(RecipePrompts(server, container).refresh)


class RecipePrompts:
    """Keeps one MCP prompt per recipe of the server's project; `refresh` re-registers only what changed."""

    def __init__(self, server: CdeServer, container: Container) -> None:
        self._server = server
        self._container = container
        self._registered: dict[str, Recipe] = {}
        self._reported: set[str] = set()

    def _warn_once(self, message: str) -> None:
        if message not in self._reported:
            self._reported.add(message)
            logger.warning("%s", message)

    async def refresh(self) -> None:
        root = self._container.settings.project_root
        config = self._container.workflow.project_config(root)
        try:
            catalog = await config.catalog()
        except DomainError as exc:
            self._warn_once(f"recipes are not served as prompts: {exc.message}")
            return
        for problem in catalog.problems:
            self._warn_once(f"recipe problem: {problem}")
        current: dict[str, Recipe] = {}
        problems: dict[str, str] = {}
        for recipe_id, outcome in (await config.recipes(sorted(catalog.refs))).items():
            if isinstance(outcome, DomainError):
                self._warn_once(f"recipe {recipe_id} is not served as a prompt: {outcome.message}")
                problems[recipe_id] = f"{outcome.code}: recipe {recipe_id} is not served as a prompt: {outcome.message}"
            else:
                current[recipe_id] = outcome
        self._server.prompt_problems = problems
        for recipe_id in [r for r in self._registered if r not in current]:
            self._server.remove_prompt(recipe_id)
            del self._registered[recipe_id]
        for recipe_id, recipe in current.items():
            if self._registered.get(recipe_id) is recipe:
                continue  # the cached recipe object is unchanged: so is its prompt
            if recipe_id in self._registered:
                self._server.remove_prompt(recipe_id)
            self._server.add_prompt(self._prompt(recipe, root))
            self._registered[recipe_id] = recipe

    def _prompt(self, recipe: Recipe, root: Path) -> Prompt:
        recipe_id = recipe.id
        container = self._container

        async def render(**arguments: Any) -> str:
            values = {k: str(v) for k, v in arguments.items() if v is not None}
            user_prompt = values.pop("user_prompt", "")
            try:
                rendered = await container.workflow.use_recipe(root)(recipe_id, user_prompt, values, lenient=True)
            except DomainError as exc:
                raise MCPError(INVALID_PARAMS, f"{exc.code}: {exc.message}") from None
            return rendered.prompt

        arguments = [
            PromptArgument(name=name, description=None, required=name == "user_prompt")
            for name in recipe.placeholders
            if name not in AUTOMATIC
        ]
        return Prompt(
            name=recipe_id,
            title=prompt_title(recipe_id),
            description=recipe.description or f"Recipe {recipe_id}",
            arguments=arguments,
            fn=render,
            context_kwarg=None,
        )
