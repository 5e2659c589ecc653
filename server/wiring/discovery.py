"""Tool discovery: search over the live registry and the generated tool package."""

from __future__ import annotations

from adapters.fs_tool_package import FsToolPackageGenerator
from domain.discovery.generate_tool_filesystem import GenerateToolFilesystem
from domain.discovery.ports import ToolRegistry
from domain.discovery.search_tools import SearchTools
from server import __version__


class DiscoveryWiring:
    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
        self.tool_package = FsToolPackageGenerator(__version__)

    def search_tools(self) -> SearchTools:
        return SearchTools(self.registry)

    def generate_tool_filesystem(self) -> GenerateToolFilesystem:
        return GenerateToolFilesystem(self.registry, self.tool_package)
