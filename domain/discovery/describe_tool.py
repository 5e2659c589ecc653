"""DescribeTool: a tool's documentation page (the `cde://tools/{name}` resource).

Descriptions in `tools/list` stay one short paragraph because every conversation
pays for them; the page carries the rest: every parameter with its type and
default, the fields of the result, and the tool's longer guide.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from domain.discovery.catalog import ToolSpec
from domain.discovery.ports import ToolRegistry
from domain.discovery.schema import parameters, result_fields
from domain.errors import NotFoundError, shown

_HINTS = {"readOnlyHint": "read-only", "destructiveHint": "destructive", "idempotentHint": "idempotent"}


def tool_markdown(spec: ToolSpec, guide: str | None = None) -> str:
    lines = [f"# {spec.name}", "", spec.description, ""]
    traits = [label for key, label in _HINTS.items() if spec.annotations.get(key)]
    if traits:
        lines += [f"Traits: {', '.join(traits)}.", ""]
    params = parameters(spec.input_schema)
    lines.append("## Parameters")
    lines.append("")
    if not params:
        lines.append("None.")
    for p in params:
        status = "required" if p.required else f"default `{json.dumps(p.default)}`" if p.has_default else "optional"
        lines.append(f"- `{p.name}`: `{p.annotation}`, {status}" + (f" - {p.description}" if p.description else ""))
    fields = result_fields(spec.output_schema)
    if fields:
        lines += ["", "## Result", ""]
        lines += [f"- `{n}`: `{t}`" + (f" - {d}" if d else "") for n, t, d in fields]
    if guide:
        lines += ["", "## Guide", "", guide.strip()]
    return "\n".join(lines) + "\n"


class DescribeTool:
    def __init__(self, registry: ToolRegistry, guides: Callable[[str], str | None]) -> None:
        self._registry = registry
        self._guides = guides

    async def __call__(self, name: str) -> str:
        catalog = await self._registry.catalog()
        spec = catalog.get(name)
        if spec is None:
            raise NotFoundError(f"no tool named {shown(name)} is registered; find tools with cde_searchTools")
        return tool_markdown(spec, self._guides(spec.name))
