"""Tool discovery: cde_searchTools latency, tool-package generation for 40 tools, tools/list size.

Fewer than 40 tools may be registered (other areas merge theirs later): a
bench-only server instance gets synthetic tools with realistic schemas until it
has 40, so generation is measured at the size the issue asks for.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from infrastructure.settings import Settings
from server.bench.util import BenchContext, Row, median, ms, per_call, us
from server.bootstrap import App, bootstrap
from server.introspection import estimate_tokens, tools_list_json
from server.tooling import add_tool

SUITE = "tools"
TARGET_TOOLS = 40


class SyntheticItem(BaseModel):
    id: str
    title: str
    score: float | None = None


class SyntheticResult(BaseModel):
    items: list[SyntheticItem]
    total: int


def _synthetic(index: int) -> object:
    async def tool(
        query: Annotated[str, Field(description="what to look for", max_length=500)] = "",
        tags: tuple[str, ...] = (),
        mode: Literal["fast", "full"] = "fast",
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
        project_path: Annotated[str, Field(max_length=4096)] = ".",
    ) -> SyntheticResult:
        return SyntheticResult(items=[], total=index)

    return tool


def _create_files(folder: Path, sizes: list[int]) -> float:
    start = time.perf_counter()
    folder.mkdir()
    for i, size in enumerate(sizes):
        fd = os.open(folder / f"m{i}.py", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"x" * size)
        finally:
            os.close(fd)
    return time.perf_counter() - start


def _pad_to(app: App, count: int) -> int:
    added = 0
    while len(app.server.tool_names()) < count:
        name = f"cde_benchTool{added:02d}"
        add_tool(
            app.server,
            _synthetic(added),  # type: ignore[arg-type]
            name=name,
            description=f"Synthetic tool {added} for the generation benchmark: searches items by query and tags.",
            read_only=True,
        )
        added += 1
    return added


async def run(ctx: BenchContext) -> list[Row]:
    project = ctx.workdir / "project"
    project.mkdir()
    settings = Settings(
        home=ctx.workdir / "home", allowed_roots=(ctx.workdir,), project_root=project, log_level="WARNING"
    )
    app = bootstrap(settings)
    rows: list[Row] = []

    for profile in ("all", "core"):
        instance = app if profile == "all" else bootstrap(settings.model_copy(update={"tools": "core"}))
        listing = await tools_list_json(instance.server)
        count = len(instance.server.tool_names())
        size = len(listing.encode("utf-8"))
        tokens = estimate_tokens(listing)
        limit_bytes, limit_tokens = (24 * 1024, 6000) if profile == "all" else (8 * 1024, 2000)
        note = f"{count} tools listed"
        rows.append(
            Row(SUITE, f"tools/list bytes ({profile})", size, "B", f"<= {limit_bytes}", size <= limit_bytes, note)
        )
        rows.append(
            Row(SUITE, f"tools/list tokens ({profile})", tokens, "tok", f"<= {limit_tokens}", tokens <= limit_tokens)
        )

    n = ctx.n(2000, 200)
    for query, detail in (("save skill", "name_and_description"), ("find skills by tag", "full_schema")):
        arguments = {"query": query, "detail_level": detail, "limit": 5}
        seconds = await per_call(lambda a=arguments: app.server.call_tool("cde_searchTools", a), n)  # type: ignore[misc]
        rows.append(
            Row(
                SUITE,
                f"cde_searchTools '{query}' ({detail})",
                us(seconds),
                "us",
                "<= 1000 us",
                seconds <= 0.001,
                note="in-process server.call_tool",
            )
        )

    bench_app = bootstrap(settings)
    synthetic = _pad_to(bench_app, TARGET_TOOLS)
    generate = bench_app.container.discovery.generate_tool_filesystem()
    tools = len(bench_app.server.tool_names())
    cold: list[float] = []
    floor: list[float] = []
    for i in range(ctx.n(30, 8)):
        target = ctx.workdir / f"gen{i}" / "cde"
        bench_app.container.discovery.tool_package._rendered.cache.clear()  # cold: nothing rendered, nothing on disk
        start = time.perf_counter()
        await generate(target)
        cold.append(time.perf_counter() - start)
        # Interleaved, the floor on this disk right now: as many files of the same sizes created in a new
        # folder (open, write, close each) - creating files here swings from ~0.2 to ~0.5 ms apiece.
        sizes = [entry.stat().st_size for entry in target.iterdir()]
        floor.append(await asyncio.to_thread(_create_files, ctx.workdir / f"floor{i}", sizes))
    # Removed after the timed loop, not between samples: on this VM's disk (ext4, mounted with `discard`)
    # removing files slows the creations that follow (20,000 removed: 43 files took ~9 ms instead of ~1 ms).
    for i in range(1, len(cold)):
        shutil.rmtree(ctx.workdir / f"gen{i}")
    for i in range(len(floor)):
        shutil.rmtree(ctx.workdir / f"floor{i}")
    note = f"{tools} tools ({synthetic} synthetic)"
    rows.append(
        Row(
            SUITE,
            f"generate tool package, cold ({tools} tools)",
            ms(median(cold)),
            "ms",
            "<= 20 ms",
            median(cold) <= 0.020,
            f"{note}; renders, then writes {tools + 3} files",
        )
    )
    rows.append(
        Row(
            SUITE,
            "floor: create as many files in a new folder",
            ms(median(floor)),
            "ms",
            note=f"{len(sizes)} files; same disk, same moment",
        )
    )
    rows.append(
        Row(
            SUITE,
            "generate cold / floor",
            round(median(cold) / median(floor), 2),
            "x",
            note="the rest is rendering (~5 ms) and the manifest",
        )
    )
    target = ctx.workdir / "gen0" / "cde"
    unchanged: list[float] = []
    for _ in range(ctx.n(50, 10)):
        start = time.perf_counter()
        report = await generate(target)
        unchanged.append(time.perf_counter() - start)
        assert not report.written, report.written
    rows.append(
        Row(
            SUITE,
            f"generate tool package, unchanged ({tools} tools)",
            ms(median(unchanged)),
            "ms",
            "<= 3 ms",
            median(unchanged) <= 0.003,
            note,
        )
    )
    return rows
