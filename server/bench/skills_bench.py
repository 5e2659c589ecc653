"""Skills: durable saves as the library grows, concurrent saves, finding and sourcing among many.

Every call goes through `server.call_tool` (argument validation, the use case, the
real adapters, result conversion) - what an assistant pays minus the transport.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from infrastructure import files
from infrastructure.settings import Settings
from server.bench.util import BenchContext, Row, median, ms, p95, time_each
from server.bootstrap import bootstrap

SUITE = "skills"
WORDS = (
    "retry",
    "backoff",
    "http",
    "client",
    "cache",
    "invalidation",
    "sqlite",
    "index",
    "schema",
    "migration",
    "pytest",
    "fixture",
    "async",
    "loop",
    "deploy",
    "docker",
    "kubernetes",
    "logging",
    "tracing",
    "metrics",
    "review",
    "refactor",
    "parser",
    "yaml",
    "json",
    "config",
    "secrets",
    "token",
    "queue",
    "worker",
    "timeout",
    "lock",
    "file",
    "atomic",
    "rename",
    "fsync",
    "benchmark",
    "profile",
    "memory",
    "leak",
    "thread",
    "pool",
)


def _skill(i: int) -> dict[str, Any]:
    pick = [WORDS[(i * k + k) % len(WORDS)] for k in (1, 3, 7, 11)]
    body = "\n".join(
        f"{step}. Use {pick[step % 4]} with {pick[(step + 1) % 4]} and check the {WORDS[(i + step) % len(WORDS)]}."
        for step in range(1, 9)
    )
    return {
        "name": f"skill-{i:04d}-{pick[0]}",
        "description": f"How to handle {pick[0]} and {pick[1]} when {pick[2]} misbehaves",
        "content": f"# {pick[0].title()}\n\n{body}\n",
        "tags": [pick[1], pick[3]],
        "domain": ("ops", "backend", "testing")[i % 3],
    }


def _ms_row(metric: str, samples: list[float], target_ms: float | None = None, note: str = "") -> Row:
    value = median(samples)
    detail = f"p95 {ms(p95(samples))} ms" + (f"; {note}" if note else "")
    if target_ms is None:
        return Row(SUITE, metric, ms(value), "ms", note=detail)
    return Row(SUITE, metric, ms(value), "ms", f"<= {target_ms:g} ms", value <= target_ms / 1000, detail)


async def run(ctx: BenchContext) -> list[Row]:
    size = 100 if ctx.quick else 1000
    project = ctx.workdir / "project"
    project.mkdir()
    app = bootstrap(
        Settings(home=ctx.workdir / "home", allowed_roots=(ctx.workdir,), project_root=project, log_level="WARNING")
    )
    server = app.server
    rows: list[Row] = []

    # Durable saves while the library grows; the median of the saves made between n/2 and n skills.
    # Interleaved with them, the floor on this disk right now: one atomic_write (fsync'ed file and
    # directory) of the same text into a new directory - fsync latency swings with the machine's load.
    save_times: list[float] = []
    floor_times: list[float] = []
    floor_dir = ctx.workdir / "floor"
    for i in range(size):
        args = _skill(i)
        start = time.perf_counter()
        await server.call_tool("cde_saveSkill", args)
        save_times.append(time.perf_counter() - start)
        if i % 5 == 0:
            start = time.perf_counter()
            await files.atomic_write(floor_dir / str(i) / "SKILL.md", args["content"])
            floor_times.append(time.perf_counter() - start)
    medians = {}
    for at in (10, 100, 1000):
        if at <= size:
            window = save_times[at // 2 : at]
            medians[at] = median(window)
            rows.append(_ms_row(f"save skill durable, at {at} skills", window, 2, "fsync'ed file and directories"))
    floor = median(floor_times)
    rows.append(_ms_row("floor: atomic_write into a new directory", floor_times, note="same disk, same moment"))
    ratio = median(save_times) / floor
    rows.append(
        Row(
            SUITE,
            "save / floor",
            round(ratio, 2),
            "x",
            "<= 2.5x",
            ratio <= 2.5,
            "3 fsyncs each: file, folder, new folder",
        )
    )
    growth = medians[size] / medians[10]
    rows.append(
        Row(SUITE, f"save growth, median at {size} / at 10", round(growth, 2), "x", "<= 1.5x (flat)", growth <= 1.5)
    )

    start = time.perf_counter()
    await server.call_tool("cde_findSkills", {"query": "retry"})
    first = time.perf_counter() - start
    rows.append(
        Row(
            SUITE,
            f"first find after {size} saves",
            ms(first),
            "ms",
            note="indexes the saves not yet indexed (at most 64)",
        )
    )

    batch = [{**_skill(size + i), "tags": ["concurrent"]} for i in range(50)]
    start = time.perf_counter()
    await asyncio.gather(*(server.call_tool("cde_saveSkill", args) for args in batch))
    concurrent = time.perf_counter() - start
    listed = await server.call_tool("cde_findSkills", {"tags": ["concurrent"], "limit": 100})
    found = {s["name"] for s in (listed.structured_content or {}).get("skills", [])}  # type: ignore[union-attr]
    present = sum(1 for args in batch if args["name"] in found)
    rows.append(
        Row(
            SUITE,
            "50 concurrent saves (wall)",
            ms(concurrent),
            "ms",
            "<= 110 ms (earlier system)",
            concurrent <= 0.110,
            note=f"{present}/50 found by a search right after",
        )
    )

    total = size + 50
    queries = ["retry backoff", "sqlite index", "docker deploy timeout", "pytest fixture", "memory leak thread"]
    counter = iter(range(10**9))

    async def find() -> None:
        await server.call_tool("cde_findSkills", {"query": queries[next(counter) % len(queries)]})

    rows.append(_ms_row(f"find skills among {total}", await time_each(find, ctx.n(200, 30)), 5))

    extra = iter(range(10**6))

    async def save_then_find() -> None:
        await server.call_tool("cde_saveSkill", _skill(100_000 + next(extra)))
        start = time.perf_counter()
        await find()
        after_write.append(time.perf_counter() - start)

    after_write: list[float] = []
    await time_each(save_then_find, ctx.n(50, 10))
    rows.append(
        _ms_row(f"find right after a save, among {total}+", after_write, 5, "the search indexes that save first")
    )

    library = await app.container.skill_library(project)

    async def find_rescanning() -> None:
        library.rescan()
        await find()

    rows.append(
        _ms_row(
            f"find among {total}+, rescanning fingerprints",
            await time_each(find_rescanning, ctx.n(50, 10)),
            note="once per 2 s window: catches edits made by hand or other processes",
        )
    )

    async def listing() -> None:
        await server.call_tool("cde_findSkills", {"domain": "ops", "limit": 20})

    rows.append(_ms_row(f"list skills by domain among {total}+", await time_each(listing, ctx.n(100, 20)), 5))

    async def source() -> None:
        await server.call_tool("cde_sourceSkill", {"need": "our http client times out; add retry with backoff"})

    rows.append(_ms_row(f"source skill among {total}+", await time_each(source, ctx.n(100, 20)), 5))

    async def get() -> None:
        await server.call_tool("cde_getSkill", {"name": batch[7]["name"]})

    rows.append(_ms_row("get skill", await time_each(get, ctx.n(200, 30)), 2))
    library.close()
    return rows
