"""What `tools/list` costs a client: the exact JSON and a token estimate."""

from __future__ import annotations

import math

from mcp_types import ListToolsResult

from server.app import CdeServer


async def tools_list_json(server: CdeServer) -> str:
    """The `tools/list` result exactly as it is serialised on the wire."""
    result = ListToolsResult(tools=await server.list_tools())
    return result.model_dump_json(by_alias=True, exclude_none=True)


def estimate_tokens(text: str) -> int:
    """~4 characters per token, the usual rule of thumb for JSON with English text."""
    return math.ceil(len(text) / 4)
