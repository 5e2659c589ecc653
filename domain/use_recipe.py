"""UseRecipe: render one recipe for a request, outside of any feature.

The context starts with `user_prompt`, `project_name` and `project_facts`;
the caller's `context` adds (or replaces) values. With `lenient=False` a
placeholder nobody defined is an error naming it; the MCP prompt adapter uses
`lenient=True` because a slash command may leave optional arguments empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from domain.errors import InvalidInputError, shown
from domain.recipe import PLACEHOLDER_NAME
from domain.workflow_ports import ProjectConfig, ProjectFacts

NOT_PROVIDED = "(not provided)"
AUTOMATIC = ("project_name", "project_facts")


class RenderedRecipe(BaseModel):
    recipe_id: str
    source: str
    prompt: str


class UseRecipe:
    def __init__(self, config: ProjectConfig, facts: ProjectFacts) -> None:
        self._config = config
        self._facts = facts

    async def __call__(
        self, recipe_id: str, user_prompt: str, context: Mapping[str, str] | None = None, *, lenient: bool = False
    ) -> RenderedRecipe:
        extra = dict(context or {})
        bad = [k for k in extra if not PLACEHOLDER_NAME.fullmatch(k)]
        if bad:
            listed = ", ".join(shown(key, 40) for key in bad[:5])
            raise InvalidInputError(f"context key(s) {listed} are not placeholder names")
        filled = [k for k in ("user_prompt", *AUTOMATIC) if k in extra]
        if filled:  # silently replaced, the request or the project's own facts would not reach the prompt
            raise InvalidInputError(
                f"context key(s) {', '.join(filled)} are filled by the server (user_prompt from its own "
                "argument); drop them from context"
            )
        recipe = await self._config.recipe(recipe_id)
        project = await self._facts.summary()
        values = {"user_prompt": user_prompt, "project_name": project.name, "project_facts": project.facts, **extra}
        if lenient:
            values.update({name: NOT_PROVIDED for name in recipe.missing(set(values))})
        source = "override" if recipe.ref.overrides else recipe.ref.source
        return RenderedRecipe(recipe_id=recipe.id, source=source, prompt=recipe.render(values))
