"""Tool-call round trips and cold start, side by side with a minimal echo MCPServer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from domain.health import HealthReport
from infrastructure.settings import Settings
from server.bench.echo_server import build as build_echo
from server.bench.stdio_peer import StdioPeer
from server.bench.util import BenchContext, Row, median, ms, time_each
from server.bootstrap import bootstrap

OURS = (sys.executable, "-m", "server", "serve")
ECHO = (sys.executable, "-m", "server.bench.echo_server")


def build_report() -> MCPServer:
    """A second baseline, in-process only: a bare MCPServer whose one tool answers a constant report."""
    server: MCPServer = MCPServer(name="report")

    @server.tool()
    async def report(details: bool = False) -> HealthReport:
        """A constant report of cde_healthCheck's type."""
        return HealthReport(status="ok", version="0.0.0", uptime_s=1.0, tools=1)

    return server


async def _interleaved(calls: Sequence[Callable[[], Awaitable[Any]]], n: int, rounds: int = 8) -> list[list[float]]:
    """Seconds per call of each of `calls`, about `n` calls each, in `rounds` that alternate their order,
    so that drift on a noisy machine hits every target alike."""
    samples: list[list[float]] = [[] for _ in calls]
    per_round = max(1, n // rounds)
    for turn in range(rounds):
        order = range(len(calls)) if turn % 2 == 0 else reversed(range(len(calls)))
        for i in order:
            samples[i] += await time_each(calls[i], per_round, warmup=10)
    return samples


async def _in_process(targets: list[tuple[Any, str]], n: int) -> list[list[float]]:
    """Seconds per call of each (server, tool), interleaved; each target keeps one client session throughout."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(server)) for server, _ in targets]
        calls = [functools.partial(c.call_tool, tool, {}) for c, (_, tool) in zip(clients, targets, strict=True)]
        return await _interleaved(calls, n)


async def _over_stdio(targets: list[tuple[tuple[str, ...], str]], n: int, env: dict[str, str]) -> list[list[float]]:
    """Seconds per call of each (command, tool), each over its own stdio process, interleaved."""
    peers: list[StdioPeer] = []
    try:
        for command, _ in targets:
            peers.append(await StdioPeer.spawn(*command, env=env))
            await peers[-1].initialize()
            await peers[-1].request("tools/list")
        calls = [
            functools.partial(peer.request, "tools/call", {"name": tool, "arguments": {}})
            for peer, (_, tool) in zip(peers, targets, strict=True)
        ]
        return await _interleaved(calls, n)
    finally:
        for peer in peers:
            await peer.close()


async def _cold_start(command: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to the initialize response, and to the first tools/list response."""
    start = time.perf_counter()
    peer = await StdioPeer.spawn(*command, env=env)
    await peer.initialize()
    initialized = time.perf_counter() - start
    await peer.request("tools/list")
    listed = time.perf_counter() - start
    await peer.close()
    return initialized, listed


async def run(ctx: BenchContext) -> list[Row]:
    n = ctx.n(400, 50)
    home = Path(tempfile.mkdtemp(dir=ctx.workdir))
    env = {"CDE_HOME": str(home), "CDE_LOG_LEVEL": "WARNING"}
    settings = Settings.from_env({**env, "CDE_PROJECT_ROOT": str(ctx.workdir)})
    app = bootstrap(settings)

    echo_server = build_echo()
    ours_inproc, echo_inproc, shaped_inproc = await _in_process(
        [(app.server, "cde_healthCheck"), (echo_server, "echo"), (build_report(), "report")], n
    )
    # The same calls without a client: what the server itself spends per call.
    ours_direct = await time_each(lambda: app.server.call_tool("cde_healthCheck", {}), n, warmup=10)
    echo_direct = await time_each(lambda: echo_server.call_tool("echo", {}), n, warmup=10)
    ours_stdio, echo_stdio = await _over_stdio([(OURS, "cde_healthCheck"), (ECHO, "echo")], n, env)

    starts: dict[str, list[tuple[float, float]]] = {"ours": [], "echo": []}
    for _ in range(ctx.n(7, 2)):  # interleaved, so drift on a noisy machine hits both alike
        starts["echo"].append(await _cold_start(ECHO, env))
        starts["ours"].append(await _cold_start(OURS, env))
    cold_ours, cold_echo = (statistics.median(s[0] for s in starts[k]) for k in ("ours", "echo"))
    list_ours, list_echo = (statistics.median(s[1] for s in starts[k]) for k in ("ours", "echo"))

    r_inproc = median(ours_inproc) / median(echo_inproc)
    r_stdio = median(ours_stdio) / median(echo_stdio)
    r_cold = cold_ours / cold_echo
    suite = "rpc"
    await asyncio.sleep(0)
    return [
        Row(suite, "healthCheck in-process median", ms(median(ours_inproc)), "ms"),
        Row(suite, "echo in-process median", ms(median(echo_inproc)), "ms"),
        Row(suite, "in-process ratio vs echo", round(r_inproc, 3), "x", "<= 1.2x", r_inproc <= 1.2),
        Row(
            suite,
            "bare SDK tool returning the same report shape",
            ms(median(shaped_inproc)),
            "ms",
            note="the client validates each field of a structured result",
        ),
        Row(
            suite,
            "that same-shaped tool's ratio vs echo",
            round(median(shaped_inproc) / median(echo_inproc), 3),
            "x",
            note="the floor for this result shape with the SDK's client",
        ),
        Row(
            suite,
            "in-process ratio vs that same-shaped tool",
            round(median(ours_inproc) / median(shaped_inproc), 3),
            "x",
            note="this server's own overhead per call",
        ),
        Row(suite, "healthCheck server-side median", ms(median(ours_direct)), "ms", note="no client"),
        Row(suite, "echo server-side median", ms(median(echo_direct)), "ms", note="no client"),
        Row(suite, "healthCheck over stdio median", ms(median(ours_stdio)), "ms"),
        Row(suite, "echo over stdio median", ms(median(echo_stdio)), "ms"),
        Row(suite, "stdio ratio vs echo", round(r_stdio, 3), "x", "<= 1.2x", r_stdio <= 1.2),
        Row(suite, "cold start to initialize", ms(cold_ours), "ms"),
        Row(suite, "echo cold start to initialize", ms(cold_echo), "ms"),
        Row(suite, "cold start ratio vs echo", round(r_cold, 3), "x", "<= 1.15x", r_cold <= 1.15),
        Row(suite, "spawn to first tools/list", ms(list_ours), "ms", note=f"{len(app.server.tool_names())} tools"),
        Row(suite, "echo spawn to first tools/list", ms(list_echo), "ms", note="1 tool"),
        Row(
            suite,
            "spawn to first tools/list ratio",
            round(list_ours / list_echo, 3),
            "x",
            note="tool schemas are built on first need, after the handshake",
        ),
    ]
