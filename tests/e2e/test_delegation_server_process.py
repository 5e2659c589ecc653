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


def server_env(tmp_path: Path, project: Path, **extra: str) -> dict[str, str]:
    bin_dir = install(tmp_path / "bin", project)
    return {
        "PATH": path_with(bin_dir),
        "CDE_HOME": str(tmp_path / "cde-home"),
        "CDE_PROJECT_ROOT": str(project),
        "CDE_ALLOWED_ROOTS": str(tmp_path),
        **extra,
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
    # The default kill grace (5 s) is longer than the client waits before it kills the server (2 s + 2 s):
    # on shutdown the server must escalate to SIGKILL sooner, or an agent ignoring SIGTERM survives it.
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


def serve(env: dict[str, str]) -> subprocess.Popen[str]:
    """A `cde-orchestrator serve` process spoken to with raw JSON-RPC lines (so a test can signal it)."""
    return subprocess.Popen(
        [SERVER, "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )


def delegate(proc: subprocess.Popen[str], arguments: dict[str, Any]) -> str:
    """Initialize the session and delegate one task; its id."""
    client = {"name": "t", "version": "0"}
    rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client},
        },
    )
    rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    call = {"name": "cde_delegateTask", "arguments": arguments}
    reply = rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    assert reply is not None and "result" in reply, reply
    task_id: str = reply["result"]["structuredContent"]["task_id"]
    return task_id


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_server_kills_running_agents(tmp_path: Path, project: Path, signum: int) -> None:
    proc = serve(server_env(tmp_path, project, CDE_JOB_KILL_GRACE="0.3"))
    try:
        task_id = delegate(proc, {"task_description": "x", "agent": "stubborn"})
        wait_until(lambda: record(project, task_id)["status"] == "running")
        pgid = record(project, task_id)["pgid"]
        assert not gone(pgid)
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0  # a clean shutdown: the agents are stopped first
    finally:
        stop(proc)
    wait_until(lambda: gone(pgid))
    assert record(project, task_id)["status"] == "interrupted"  # stopped and recorded before the exit


def test_after_a_sigkill_the_next_server_stops_the_orphans_in_every_project(tmp_path: Path, project: Path) -> None:
    other = tmp_path / "other-project"  # not the default project: nothing reads its tasks on start-up
    other.mkdir()
    env = server_env(tmp_path, project)
    install(tmp_path / "bin", other)
    proc = serve(env)
    try:
        task_id = delegate(proc, {"task_description": "x", "agent": "hang", "project_path": str(other)})
        wait_until(lambda: record(other, task_id)["status"] == "running")
        pgid = record(other, task_id)["pgid"]
        proc.kill()
        proc.wait()
    finally:
        stop(proc)
    assert not gone(pgid)  # a SIGKILLed server cannot stop its agents: the next one must
    second = serve(env)  # no request: recovery is part of start-up
    try:
        wait_until(lambda: record(other, task_id)["status"] == "interrupted")
        wait_until(lambda: gone(pgid))
    finally:
        assert second.stdin is not None
        second.stdin.close()
        second.wait(timeout=10)
        stop(second)
    assert "its agent was still running and was killed" in record(other, task_id)["error"]
    assert not (tmp_path / "cde-home" / "running" / task_id).exists()


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_signal_while_git_is_queried_leaves_no_git_behind(tmp_path: Path, project: Path) -> None:
    marker = "987.654321"  # a sleep only this test's fake git runs
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f"#!/bin/sh\nexec sleep {marker}\n")
    (bin_dir / "git").chmod(0o755)
    (project / ".git").mkdir()
    env = {**server_env(tmp_path, project), "PATH": path_with(bin_dir), "CDE_GIT_TIMEOUT": "60"}
    server = subprocess.Popen(
        [SERVER, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert server.stdin is not None
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "cde_onboardingProject", "arguments": {}}},
    ):  # fmt: skip
        server.stdin.write(json.dumps(message).encode() + b"\n")
    server.stdin.flush()
    try:
        wait_until(lambda: processes_with(marker) != [])
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
        wait_until(lambda: processes_with(marker) == [], within=5.0)
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        if server.poll() is None:
            server.kill()
        server.communicate()
