"""Launching the real server (`python -m server serve`) over stdio for end-to-end tests."""

from __future__ import annotations

import sys
from pathlib import Path

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters


def stdio_client(*, home: Path, project_root: Path, allowed_root: Path, cwd: Path) -> Client:
    """A client for a fresh server process whose working directory and default project are `cwd`/`project_root`."""
    return Client(
        StdioServerParameters(
            command=sys.executable,
            args=["-m", "server", "serve"],
            env={
                "CDE_HOME": str(home),
                "CDE_PROJECT_ROOT": str(project_root),
                "CDE_ALLOWED_ROOTS": str(allowed_root),
                "CDE_LOG_LEVEL": "WARNING",
            },
            cwd=cwd,
        ),
        read_timeout_seconds=60,
    )
