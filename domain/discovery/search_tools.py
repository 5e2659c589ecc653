"""SearchTools: find the tools that fit a need without paying for every schema up front."""

from __future__ import annotations

from domain.discovery.catalog import ToolSpec
from domain.discovery.model import DetailLevel, ToolInfo, ToolSearchResult
from domain.discovery.ports import ToolRegistry
from domain.errors import InvalidInputError

MAX_QUERY = 500


def describe(spec: ToolSpec, detail: DetailLevel) -> ToolInfo:
    if detail == "name_only":
        return ToolInfo(name=spec.name)
    if detail == "name_and_description":
        return ToolInfo(name=spec.name, description=spec.description)
    return ToolInfo(
        name=spec.name,
        description=spec.description,
        input_schema=dict(spec.input_schema),
        output_schema=dict(spec.output_schema) if spec.output_schema is not None else None,
    )


class SearchTools:
    def __init__(self, registry: ToolRegistry) -> None:
        self._registry = registry

    async def __call__(
        self, query: str = "", *, detail_level: DetailLevel = "name_and_description", limit: int | None = None
    ) -> ToolSearchResult:
        if len(query) > MAX_QUERY:
            raise InvalidInputError(f"query is longer than {MAX_QUERY} characters; use a few words")
        ranked = (await self._registry.catalog()).search(query)
        shown = ranked if limit is None else ranked[:limit]
        return ToolSearchResult(tools=[describe(r.spec, detail_level) for r in shown], total=len(ranked))
