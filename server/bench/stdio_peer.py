"""A minimal JSON-RPC peer speaking MCP over a spawned server's stdio (no SDK client in between).

Used by the end-to-end tests and the stdio benchmarks, so both speak the raw protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent / "cde-orchestrator"
PROTOCOL = "2025-11-25"


class StdioPeer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[bytes] = []  # every stdout line, for the protocol-purity assertion
        self._next_id = 0

    @classmethod
    async def spawn(cls, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> StdioPeer:
        proc = await asyncio.create_subprocess_exec(
            *(args or (str(BIN), "serve")),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        return cls(proc)

    async def send(self, message: dict[str, Any] | list[Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        self._next_id += 1
        request_id = self._next_id
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        while True:
            message = await self.read(timeout)
            if message.get("id") == request_id and ("result" in message or "error" in message):
                return message

    async def read(self, timeout: float = 60) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            stderr = await self.proc.stderr.read() if self.proc.stderr else b""
            raise EOFError(f"server closed stdout; stderr: {stderr.decode(errors='replace')[-2000:]}")
        self.lines.append(line)
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    async def initialize(self) -> dict[str, Any]:
        response = await self.request(
            "initialize",
            {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}},
        )
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    async def close(self, timeout: float = 30) -> tuple[int, bytes]:
        """Shut down the stdio way (close stdin), drain what is left, return (exit code, stderr)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        rest = await asyncio.wait_for(self.proc.stdout.read(), timeout)
        self.lines.extend(line + b"\n" for line in rest.splitlines())
        stderr = await self.proc.stderr.read() if self.proc.stderr else b""
        return await asyncio.wait_for(self.proc.wait(), timeout), stderr
