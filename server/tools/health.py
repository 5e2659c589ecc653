"""cde_healthCheck."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from domain.health import HealthReport
from server.tooling import add_tool

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container


def register(server: CdeServer, container: Container) -> None:
    async def cde_healthCheck(  # noqa: N802 - MCP tool names are camelCase
        details: Annotated[bool, Field(description="add Python/mcp versions and cache metrics")] = False,
    ) -> HealthReport:
        return await container.check_health(details=details)

    add_tool(
        server,
        cde_healthCheck,
        name="cde_healthCheck",
        description="Server status (ok, or degraded with reasons), version, uptime and tool count.",
        read_only=True,
        idempotent=True,
        core=True,
    )
