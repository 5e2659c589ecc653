"""ListRecipes: every recipe the project can use, with where it comes from and what it needs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from domain.errors import DomainError
from domain.workflow_ports import ProjectConfig


class RecipeInfo(BaseModel):
    id: str
    category: str
    source: Literal["bundled", "project", "override"]
    description: str
    placeholders: list[str]
    problem: str = ""


class RecipeList(BaseModel):
    recipes: list[RecipeInfo]


class ListRecipes:
    def __init__(self, config: ProjectConfig) -> None:
        self._config = config

    async def __call__(self) -> RecipeList:
        catalog = await self._config.catalog()
        ids = sorted(catalog.refs)
        loaded = await self._config.recipes(ids)
        infos = []
        for recipe_id in ids:
            recipe = loaded[recipe_id]
            ref = catalog.refs[recipe_id]
            source: Literal["bundled", "project", "override"] = "override" if ref.overrides else ref.source
            if isinstance(recipe, DomainError):  # listed with its problem, never silently dropped
                infos.append(
                    RecipeInfo(id=recipe_id, category=ref.category, source=source, description="", placeholders=[],
                               problem=recipe.message)
                )  # fmt: skip
            else:
                infos.append(
                    RecipeInfo(
                        id=recipe_id,
                        category=ref.category,
                        source=source,
                        description=recipe.description,
                        placeholders=list(recipe.placeholders),
                    )
                )
        return RecipeList(recipes=infos)
