"""Recipes: prompt templates with a role, a task, an output format and examples.

A recipe is data. Rendering replaces `{{ name }}` placeholders with plain text
from a context mapping, in one pass: inserted values are never scanned again,
never escaped, never evaluated. A placeholder the context does not define is an
error naming it, so a typo in a recipe cannot silently produce a prompt with a
hole in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidInputError, LimitExceededError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PLACEHOLDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_RENDERED_CHARS = 4_000_000
"""A rendered prompt's size bound: far above real use, it stops a value repeated by many placeholders."""

RecipeSource = Literal["bundled", "project"]


class RecipeTemplateError(ValueError):
    """A section holds a malformed placeholder; `offset` is the index of the `{{` in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def scan_placeholders(text: str) -> list[str]:
    """Placeholder names in order of first use; raise RecipeTemplateError on a malformed `{{ ... }}`."""
    names: list[str] = []
    start = 0
    while (opening := text.find("{{", start)) != -1:
        match = PLACEHOLDER.match(text, opening)
        if match is None:
            closing = text.find("}}", opening)
            snippet = text[opening : closing + 2 if closing != -1 else opening + 20].strip()
            raise RecipeTemplateError(
                f"malformed placeholder {snippet!r}; write {{{{ name }}}} with a letters/digits/_ name", opening
            )
        if len(match.group(1)) > 64:  # no context could fill it: context keys are names of at most 64
            raise RecipeTemplateError(
                f"placeholder name {match.group(1)[:20]}… is {len(match.group(1))} characters; use at most 64",
                opening,
            )
        if match.group(1) not in names:
            names.append(match.group(1))
        start = match.end()
    return names


class RecipeRef(BaseModel):
    """Where a recipe lives; `overrides` is true for a project recipe replacing a bundled one."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: str
    source: RecipeSource
    path: str
    overrides: bool = False


class Recipe(BaseModel):
    """A parsed recipe. `meta` holds its `<let>` values (description, version, tools, topology…)."""

    model_config = ConfigDict(frozen=True)

    ref: RecipeRef
    meta: dict[str, str] = Field(default_factory=dict)
    role: str = ""
    task: str
    output_format: str = ""
    examples: list[str] = Field(default_factory=list)
    # Placeholder name → the line of the source file that first uses it (for problems that name it).
    lines: dict[str, int] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.ref.id

    def located(self, names: list[str]) -> str:
        """`a (line 3), b` - the names, each with its line in the recipe's file where known."""
        return ", ".join(f"{n} (line {self.lines[n]})" if n in self.lines else n for n in names)

    @property
    def description(self) -> str:
        return self.meta.get("description", "")

    @cached_property
    def placeholders(self) -> tuple[str, ...]:
        """Placeholder names in order of first use (computed once: recipes are immutable and cached)."""
        names: list[str] = []
        for section in (self.role, self.task, self.output_format, *self.examples):
            names += [n for n in scan_placeholders(section) if n not in names]
        return tuple(names)

    def missing(self, available: set[str] | frozenset[str]) -> list[str]:
        """Placeholders this recipe uses that `available` does not provide."""
        return [n for n in self.placeholders if n not in available]

    def render(self, context: Mapping[str, str], *, role_prefix: str = "") -> str:
        """The prompt as Markdown. `role_prefix` (a role recipe's role) goes before this recipe's role."""
        missing = self.missing(set(context))
        if missing:
            names = ", ".join(missing)
            raise InvalidInputError(
                f"recipe {self.id!r} uses placeholder(s) {names} that the context does not define; "
                f"pass them in context (defined: {', '.join(sorted(context))})"
            )
        check_rendered_size(self.id, [self.role, self.task, self.output_format, *self.examples], context, role_prefix)
        # Each section is substituted on its own and `role_prefix` is already rendered text, so a
        # value that happens to contain "{{ x }}" (a user prompt about templates) is never expanded.
        role = "\n\n".join(part for part in (role_prefix.strip(), substitute(self.role, context)) if part)
        sections = [("Role", role), ("Task", substitute(self.task, context))]
        sections.append(("Output format", substitute(self.output_format, context)))
        sections += [("Example", substitute(example, context)) for example in self.examples]
        return "\n\n".join(f"# {title}\n\n{body}" for title, body in sections if body)

    def render_role(self, context: Mapping[str, str]) -> str:
        missing = [n for n in scan_placeholders(self.role) if n not in context]
        if missing:
            raise InvalidInputError(
                f"role recipe {self.id!r} uses placeholder(s) {', '.join(missing)} that the context does not define"
            )
        check_rendered_size(self.id, [self.role], context)
        return substitute(self.role, context)


def check_rendered_size(recipe_id: str, sections: list[str], context: Mapping[str, str], prefix: str = "") -> None:
    """Refuse, before building it, a prompt over MAX_RENDERED_CHARS (a large value used many times)."""
    size = len(prefix)
    uses: dict[str, int] = {}
    for section in sections:
        size += len(section)
        for match in PLACEHOLDER.finditer(section):
            name = match.group(1)
            size += len(context[name]) - (match.end() - match.start())
            uses[name] = uses.get(name, 0) + 1
    if size > MAX_RENDERED_CHARS:
        name = max(uses, key=lambda n: len(context[n]) * uses[n], default="")
        largest = f"{{{{ {name} }}}} ({len(context[name]):,} characters, used {uses[name]} times)" if name else "text"
        raise LimitExceededError(
            f"recipe {recipe_id!r} would render {size:,} characters (limit {MAX_RENDERED_CHARS:,}); its largest "
            f"part is {largest} - shorten it"
        )


def substitute(text: str, context: Mapping[str, str]) -> str:
    """Replace every placeholder with its value as plain text (one pass: values are not rescanned)."""
    return PLACEHOLDER.sub(lambda m: context[m.group(1)], text)
