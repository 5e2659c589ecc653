"""cde_healthCheck."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.health import HealthReport
from server.tooling import add_tool

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container


def register(server: CdeServer, container: Container) -> None:
    async def cde_healthCheck() -> HealthReport:  # noqa: N802 - MCP tool names are camelCase
        return await container.check_health()

    add_tool(
        server,
        cde_healthCheck,
        name="cde_healthCheck",
        description="Server status (ok/degraded with reasons), version, uptime, tool count and cache metrics.",
        read_only=True,
        idempotent=True,
        core=True,
    )
