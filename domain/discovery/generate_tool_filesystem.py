"""GenerateToolFilesystem: the registered tools as a Python package (the code-execution pattern).

An agent that writes code can import the package, call several tools, and filter
their results in code, instead of routing every intermediate result through its
context window.
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

from domain.discovery.model import GeneratedPackage
from domain.discovery.ports import ToolPackageGenerator, ToolRegistry
from domain.errors import InvalidInputError


class GenerateToolFilesystem:
    def __init__(self, registry: ToolRegistry, generator: ToolPackageGenerator) -> None:
        self._registry = registry
        self._generator = generator

    async def __call__(self, target: Path) -> GeneratedPackage:
        """Write the package into `target` (already resolved inside an allowed root)."""
        # ASCII only: `import ﬁle` looks for `file` (Python reads identifiers NFKC-normalised), not this folder.
        if not (target.name.isascii() and target.name.isidentifier()) or keyword.iskeyword(target.name):
            raise InvalidInputError(
                f"output_dir must end in a Python package name (ASCII letters, digits, '_'), e.g. .cde/servers/cde; "
                f"got {target.name!r}"
            )
        if target.name in sys.stdlib_module_names:
            # Importing it would shadow the standard module for the whole script (the runtime needs json, ...).
            raise InvalidInputError(
                f"output_dir must not end in the name of a standard-library module ({target.name!r}); "
                "choose another, e.g. .cde/servers/cde"
            )
        catalog = await self._registry.catalog()
        return await self._generator.generate(target, catalog.specs)
