"""Delegation: how fast a delegated task reports its status, and whether streaming agents stall the server.

Agents are generated shell scripts (fake CLIs) declared in the bench project's
`.cde/agents.yml`; the server, its pool and its tools are the real ones, called
through the in-process MCP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from mcp.client import Client

from infrastructure.settings import Settings
from server.bench.util import BenchContext, LagMonitor, Row, call_ok, median, ms, p95
from server.bootstrap import bootstrap

SUITE = "delegation"
STREAM_JOBS = 8

AGENTS_YML = """agents:
  quick:
    command: ["bench-quick", "{prompt}"]
  stream:
    command: ["bench-stream", "{prompt}"]
"""
SCRIPTS = {
    "bench-quick": "#!/bin/sh\necho ok\n",
    # Prints $1 bytes of 100-character lines as fast as the pipe takes them.
    "bench-stream": '#!/bin/sh\nyes "$(printf "%099d" 0)" | head -c "$1"\n',
}


@contextlib.contextmanager
def _on_path(bin_dir: Path) -> Iterator[None]:
    saved = os.environ.get("PATH", os.defpath)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{saved}"
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def _setup(workdir: Path) -> Settings:
    bin_dir = workdir / "bin"
    bin_dir.mkdir()
    for name, text in SCRIPTS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    project = workdir / "project"
    (project / ".cde").mkdir(parents=True)
    (project / ".cde" / "agents.yml").write_text(AGENTS_YML)
    return Settings(
        home=workdir / "home",
        allowed_roots=(workdir,),
        project_root=project,
        max_jobs=STREAM_JOBS,
        job_queue=STREAM_JOBS,
        job_kill_grace=1.0,
    )


async def _wait(client: Client, task_ids: list[str]) -> list[str]:
    statuses = []
    for task_id in task_ids:
        while (status := (await call_ok(client, "cde_getTaskStatus", {"task_id": task_id}))["status"]) in (
            "queued",
            "running",
        ):
            await asyncio.sleep(0.01)
        statuses.append(status)
    return statuses


async def run(ctx: BenchContext) -> list[Row]:
    settings = _setup(ctx.workdir)
    rows: list[Row] = []
    with _on_path(ctx.workdir / "bin"):
        async with Client(bootstrap(settings).server) as client:
            rows += await _first_status(ctx, client)
            rows += await _streaming(ctx, client)
    return rows


async def _first_status(ctx: BenchContext, client: Client) -> list[Row]:
    to_status: list[float] = []
    to_end: list[float] = []
    warmup = 2  # first calls pay one-time costs: agents.yml parse, PATH lookup, client schema compilation
    for i in range(warmup + ctx.n(40, 8)):
        start = time.perf_counter()
        started = await call_ok(client, "cde_delegateTask", {"task_description": "go", "agent": "quick"})
        await call_ok(client, "cde_getTaskStatus", {"task_id": started["task_id"]})
        first = time.perf_counter() - start
        await _wait(client, [started["task_id"]])
        if i >= warmup:
            to_status.append(first)
            to_end.append(time.perf_counter() - start)
    return [
        Row(SUITE, "delegate→first status median", ms(median(to_status)), "ms", "<= 25 ms", median(to_status) <= 0.025),
        Row(SUITE, "delegate→first status p95", ms(p95(to_status)), "ms", "<= 50 ms", p95(to_status) <= 0.05),
        Row(SUITE, "delegate→finished (trivial agent) median", ms(median(to_end)), "ms", note="spawn+exit+records"),
    ]


async def _streaming(ctx: BenchContext, client: Client) -> list[Row]:
    size = (2 if ctx.quick else 10) * 1024 * 1024
    call_times: list[float] = []
    # The in-process client compiles a tool's output schema on first use (~30 ms of client work on the shared loop).
    await call_ok(client, "cde_getWorkerStats", {})
    started_at = time.perf_counter()
    async with LagMonitor() as lag:
        ids = [
            (await call_ok(client, "cde_delegateTask", {"task_description": str(size), "agent": "stream"}))["task_id"]
            for _ in range(STREAM_JOBS)
        ]
        while True:
            start = time.perf_counter()
            stats = await call_ok(client, "cde_getWorkerStats", {})
            call_times.append(time.perf_counter() - start)
            if stats["running"] == 0 and stats["queued"] == 0:
                break
            await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started_at
    statuses = await _wait(client, ids)
    logs = [ctx.workdir / "project" / ".cde" / "tasks" / task_id / "output.log" for task_id in ids]
    complete = all(s == "succeeded" for s in statuses) and all(p.stat().st_size == size for p in logs)
    total_mb = STREAM_JOBS * size / 1024 / 1024
    note = f"{STREAM_JOBS} jobs x {size // 1024 // 1024} MB" + ("" if complete else "; OUTPUT INCOMPLETE")
    return [
        Row(SUITE, "loop lag max, 8 streaming jobs", ms(lag.max_lag), "ms", "<= 20 ms", lag.max_lag <= 0.02, note),
        Row(SUITE, "loop lag p95, 8 streaming jobs", ms(p95(lag.samples)), "ms", "<= 5 ms", p95(lag.samples) <= 0.005),
        Row(SUITE, "tool call under load median", ms(median(call_times)), "ms", "<= 10 ms", median(call_times) <= 0.01),
        Row(SUITE, "tool call under load max", ms(max(call_times)), "ms", "<= 50 ms", max(call_times) <= 0.05),
        Row(SUITE, "output streamed to logs", round(total_mb / elapsed, 1), "MB/s", ok=complete, note=note),
    ]
