"""The real `cde-orchestrator serve` process: delegated agents never outlive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from server.bench.stdio_peer import BIN
from tests.conftest import call_ok
from tests.fake_agents import gone, install, path_with

pytestmark = pytest.mark.slow

SERVER = str(BIN)  # the entry point of the interpreter running the tests, never another install on PATH


def server_env(tmp_path: Path, project: Path) -> dict[str, str]:
    bin_dir = install(tmp_path / "bin", project)
    return {
        "PATH": path_with(bin_dir),
        "CDE_HOME": str(tmp_path / "cde-home"),
        "CDE_PROJECT_ROOT": str(project),
        "CDE_ALLOWED_ROOTS": str(tmp_path),
        "CDE_JOB_KILL_GRACE": "0.3",
    }


def record(project: Path, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / ".cde" / "tasks" / task_id / "job.json").read_text())
    return data


def wait_until(check: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


async def test_closing_the_session_stops_the_server_and_every_agent(tmp_path: Path, project: Path) -> None:
    params = StdioServerParameters(command=SERVER, args=["serve"], env=server_env(tmp_path, project))
    async with Client(params) as client:
        ids = [
            (await call_ok(client, "cde_delegateTask", {"task_description": "x", "agent": agent}))["task_id"]
            for agent in ("stubborn", "spawner")
        ]
        for task_id in ids:
            wait_until(lambda task_id=task_id: record(project, task_id)["status"] == "running")
    records = [record(project, task_id) for task_id in ids]
    # Written by the server's own shutdown, not by a later recovery: it stopped its agents itself.
    assert [r["error"] for r in records] == ["the server stopped while the task was active"] * 2
    for r in records:
        assert gone(r["pgid"])


def rpc(proc: subprocess.Popen[str], message: dict[str, Any]) -> dict[str, Any] | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    if "id" not in message:
        return None
    reply: dict[str, Any] = json.loads(proc.stdout.readline())
    return reply


def test_sigterm_to_the_server_kills_running_agents(tmp_path: Path, project: Path) -> None:
    env = {**os.environ, **server_env(tmp_path, project)}
    proc = subprocess.Popen(
        [SERVER, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "0"},
                },
            },
        )
        rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        reply = rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "cde_delegateTask", "arguments": {"task_description": "x", "agent": "stubborn"}},
            },
        )
        assert reply is not None, reply
        task_id = reply["result"]["structuredContent"]["task_id"]
        wait_until(lambda: record(project, task_id)["status"] == "running")
        pgid = record(project, task_id)["pgid"]
        assert not gone(pgid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0  # a clean shutdown: the agents are stopped first
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_until(lambda: gone(pgid))
    assert record(project, task_id)["status"] == "interrupted"  # stopped and recorded before the exit
