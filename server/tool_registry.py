"""The ToolRegistry port over the live server: what `tools/list` would send, as a searchable catalog."""

from __future__ import annotations

from domain.discovery.catalog import ToolCatalog, ToolSpec
from infrastructure.cache import cached
from server.app import CdeServer


class ServerToolRegistry:
    """Builds the catalog from every registered tool as `tools/list` would send it (tools the lean
    profile leaves out of the listing included), again whenever the tool set changes."""

    def __init__(self, server: CdeServer) -> None:
        self._server = server

    async def catalog(self) -> ToolCatalog:
        names = tuple(t.name for t in await self._server.registered_tools())
        catalog: ToolCatalog = await self._catalog(names)
        return catalog

    @cached("tools.catalog", maxsize=4)
    async def _catalog(self, names: tuple[str, ...]) -> ToolCatalog:
        tools = await self._server.registered_tools()
        return ToolCatalog(
            [
                ToolSpec(
                    name=t.name,
                    description=" ".join((t.description or "").split()),
                    input_schema=t.input_schema,
                    output_schema=t.output_schema,
                    annotations=t.annotations.model_dump(by_alias=True, exclude_none=True) if t.annotations else {},
                )
                for t in tools
            ]
        )
