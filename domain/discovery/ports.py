"""What tool discovery needs: the live registry, and somewhere to write generated code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from domain.discovery.catalog import ToolCatalog, ToolSpec
from domain.discovery.model import GeneratedPackage


class ToolRegistry(Protocol):
    async def catalog(self) -> ToolCatalog:
        """The tools registered right now (rebuilt whenever the registry changes)."""
        ...


class ToolPackageGenerator(Protocol):
    async def generate(self, target: Path, specs: Sequence[ToolSpec]) -> GeneratedPackage:
        """Make `target` a package with one module per spec; files whose content is unchanged are left alone."""
        ...
