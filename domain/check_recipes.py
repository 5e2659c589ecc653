"""CheckRecipes: what is bundled, what the project overrides or adds, and every problem found.

Unlike the other tools it reads everything fresh (no cache), parses every
recipe, loads the workflow, and checks that each phase recipe only uses
placeholders a phase prompt defines.
"""

from __future__ import annotations

from pydantic import BaseModel

from domain.errors import DomainError
from domain.phase_prompt import context_keys
from domain.recipe import Recipe, scan_placeholders
from domain.workflow import Workflow, WorkflowFileError
from domain.workflow_ports import ProjectConfig


class RecipeCheck(BaseModel):
    workflow: str
    bundled: list[str]
    overrides: list[str]
    added: list[str]
    problems: list[str]


def placeholder_problems(workflow: Workflow, recipes: dict[str, Recipe]) -> list[str]:
    """Phase recipes (and the roles of type recipes) using placeholders phase prompts do not define."""
    known = context_keys(workflow)
    problems = []
    for phase in workflow.phases:
        recipe = recipes.get(phase.recipe)
        unknown = recipe.missing(known) if recipe is not None else []
        if recipe is not None and unknown:
            problems.append(
                f"recipe {recipe.id!r} ({recipe.ref.path}), used by phase {phase.id}, has placeholder(s) "
                f"{recipe.located(unknown)} that phase prompts do not define"
            )
    for name, wtype in workflow.types.items():
        role = recipes.get(wtype.recipe)
        unknown = [n for n in scan_placeholders(role.role) if n not in known] if role is not None else []
        if role is not None and unknown:
            problems.append(
                f"role recipe {role.id!r} ({role.ref.path}) of type {name} has placeholder(s) "
                f"{role.located(unknown)} in its <role> that phase prompts do not define"
            )
    return problems


class CheckRecipes:
    def __init__(self, config: ProjectConfig) -> None:
        self._config = config

    async def __call__(self) -> RecipeCheck:
        catalog = await self._config.catalog(fresh=True)
        problems = list(catalog.problems)
        ids = sorted(catalog.refs)
        recipes: dict[str, Recipe] = {}
        for recipe_id, outcome in (await self._config.recipes(ids)).items():
            if isinstance(outcome, DomainError):
                problems.append(outcome.message)
            else:
                recipes[recipe_id] = outcome
        source = await self._config.workflow_source()
        try:
            workflow = await self._config.workflow()
        except WorkflowFileError as exc:  # every problem, not only the first one the other tools report
            problems += [f"{exc.path}: {detail}" for detail in exc.details]
        except DomainError as exc:
            problems.append(exc.message)
        else:
            problems += placeholder_problems(workflow, recipes)
        refs = catalog.refs.values()
        return RecipeCheck(
            workflow=source,
            bundled=sorted(catalog.bundled),
            overrides=sorted(r.id for r in refs if r.overrides),
            added=sorted(r.id for r in refs if r.source == "project" and not r.overrides),
            problems=problems,
        )
