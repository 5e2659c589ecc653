from __future__ import annotations

from mcp.client import Client

from server.bootstrap import App
from tests.conftest import call_ok


async def test_health_check_reports_ok(app: App) -> None:
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_healthCheck")
    assert report["status"] == "ok"
    assert report["reasons"] == []
    assert report["tools"] >= 1
