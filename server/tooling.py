"""How tool modules register their handlers: annotations, profile filtering, structured output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_types import ToolAnnotations

from server.app import CdeServer

PROFILE_ATTR = "cde_profile"


def add_tool(
    server: CdeServer,
    fn: Callable[..., Any],
    *,
    name: str,
    description: str,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
    core: bool = False,
) -> None:
    """Register `fn` as tool `name` unless the lean profile (CDE_TOOLS=core) excludes it.

    `description` is one short paragraph: it is sent in every `tools/list`, so
    long guidance belongs in the README or a docs resource. `fn` returns a
    pydantic model, which becomes the tool's structured output and schema.
    """
    if getattr(server, PROFILE_ATTR, "all") == "core" and not core:
        return
    server.add_tool(
        fn,
        name=name,
        description=description,
        annotations=ToolAnnotations(
            read_only_hint=read_only,
            destructive_hint=None if read_only else destructive,
            idempotent_hint=idempotent,
            open_world_hint=open_world,
        ),
        structured_output=True,
    )
