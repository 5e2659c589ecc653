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
    guide: str | None = None,
) -> None:
    """Register `fn` as tool `name`; the lean profile (CDE_TOOLS=core) leaves it out of `tools/list` unless `core`.

    An unlisted tool is still callable, found by cde_searchTools and documented by
    `cde://tools/{name}`: the agent discovers it when needed instead of paying for its schema.

    `description` is one short paragraph: it is sent in every `tools/list`, so
    long guidance belongs in the README or a docs resource. `fn` returns a
    pydantic model, which becomes the tool's structured output and schema.
    `guide` is longer Markdown guidance served by the `cde://tools/{name}` resource.
    """
    if getattr(server, PROFILE_ATTR, "all") == "core" and not core:
        server.unlist(name)
    if guide:
        if server.guides is None:
            server.guides = {}
        server.guides[name] = guide
    server.add_tool(
        fn,
        name=name,
        description=description,
        # Every tools/list carries these, so hints equal to the protocol's defaults (readOnly false,
        # idempotent false) and hints the spec ignores for read-only tools (destructive, idempotent) are
        # left out. destructive (default true) stays explicit for write tools. openWorld is sent only when
        # true: leaving out "false" costs 22 bytes less per tool and errs on the cautious side.
        annotations=ToolAnnotations(
            read_only_hint=True if read_only else None,
            destructive_hint=None if read_only else destructive,
            idempotent_hint=True if idempotent and not read_only else None,
            open_world_hint=True if open_world else None,
        ),
        structured_output=True,
    )
