"""docs: search index build/refresh/query latency, docs scan and analysis, event-loop lag while indexing."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from mcp.client import Client

from adapters.docs_corpus import INDEX_FILE
from adapters.fts_index import FtsIndex
from infrastructure.cache import get_cache
from infrastructure.settings import Settings
from server.bench.corpora import doc_path, vocabulary, write_docs
from server.bench.util import BenchContext, LagMonitor, Row, median, ms, p95, time_each
from server.bootstrap import App, bootstrap, shut_down

SUITE = "docs"


async def started_app(ctx: BenchContext, root: Path) -> App:
    """The app for project `root` as a served one is shortly after start: its start-up and warm-up hooks run
    (the area modules preloaded, the start-up heap frozen, delegation started)."""
    app = bootstrap(Settings(home=ctx.workdir / "home", allowed_roots=(ctx.workdir,), project_root=root))
    for hook in (*app.container.startup_hooks, *app.container.warm_up_hooks):
        await hook()
    return app


def _queries() -> list[str]:
    """A mix like an agent's: specific words (mid-frequency in the Zipf-distributed text), two-word
    queries, phrases, prefixes, OR and exclusion. Very common words are measured separately."""
    words = vocabulary()
    mid = [words[200 + i * 97] for i in range(12)]
    return [
        *mid[:6],
        f"{mid[6]} {mid[7]}",
        f"{mid[8]} {words[40]}",
        f'"{words[30]} {words[31]}"',
        f"{words[150][:4]}*",
        f"{mid[9]} OR {mid[10]}",
        f"{mid[11]} -{words[3]}",
        "handler",
    ]


def _clear_docs_caches() -> None:
    for name in ("project.tree", "docs.analysis"):
        cache = get_cache(name)
        if cache is not None:
            cache.clear()


async def _build(app: App, root: Path) -> tuple[float, float]:
    """(seconds for the first search, which walks, parses and indexes everything; max loop lag)."""
    search = app.container.onboarding.search_docs
    async with LagMonitor() as lag:
        start = time.perf_counter()
        result = await search(root, "guide", 10)
        elapsed = time.perf_counter() - start
    assert result.docs > 0 and result.reindexed == result.docs, result
    return elapsed, lag.max_lag


async def _warm_queries(app: App, root: Path, queries: list[str], n: int) -> list[float]:
    """Seconds per search, cycling through `queries` (each seen once in the warm-up)."""
    search = app.container.onboarding.search_docs
    cycle = itertools.cycle(queries)
    return await time_each(lambda: search(root, next(cycle), 10), n, warmup=len(queries))


async def run(ctx: BenchContext) -> list[Row]:
    rows: list[Row] = []
    small = 200 if ctx.quick else 1000
    large = 2000 if ctx.quick else 10_000
    root = ctx.workdir / f"docs{small}"
    write_docs(root, small)
    app = await started_app(ctx, root)
    search = app.container.onboarding.search_docs
    build, lag = await _build(app, root)
    rows.append(Row(SUITE, f"index build cold, {small} docs", ms(build), "ms", "<= 1500 ms", build <= 1.5))
    rows.append(Row(SUITE, f"loop lag max during index build, {small} docs", ms(lag), "ms", "<= 20 ms", lag <= 0.02))

    queries = _queries()
    samples = await _warm_queries(app, root, queries, ctx.n(300, 60))
    rows.append(
        Row(SUITE, f"search warm median, {small} docs", ms(median(samples)), "ms", "<= 5 ms", median(samples) <= 0.005)
    )
    rows.append(Row(SUITE, f"search warm p95, {small} docs", ms(p95(samples)), "ms"))
    common = vocabulary()[0]  # in nearly every section: BM25 must rank every match
    common_samples = await time_each(lambda: search(root, common, 10), ctx.n(30, 10))
    rows.append(Row(SUITE, f"search warm, a word in every doc, {small} docs", ms(median(common_samples)), "ms"))

    async with Client(app.server) as client:

        async def over_mcp() -> None:
            result = await client.call_tool("cde_searchDocumentation", {"query": queries[0]})
            assert not result.is_error

        mcp_samples = await time_each(over_mcp, ctx.n(100, 20))
    rows.append(Row(SUITE, f"search over in-process MCP median, {small} docs", ms(median(mcp_samples)), "ms"))

    refresh: list[float] = []
    for k in range(ctx.n(15, 5)):
        target = root / doc_path(k * 13 % small)
        with target.open("a", encoding="utf-8") as handle:
            handle.write(f"\nappendix mentions uniqueword{k}\n")
        start = time.perf_counter()
        result = await search(root, f"uniqueword{k}", 10)
        refresh.append(time.perf_counter() - start)
        assert result.reindexed == 1 and result.hits, result
    rows.append(
        Row(
            SUITE,
            "search after one doc changed median (re-index + query)",
            ms(median(refresh)),
            "ms",
            "<= 50 ms",
            median(refresh) <= 0.05,
        )
    )

    scan = app.container.onboarding.scan_docs
    analyze = app.container.onboarding.analyze_docs
    start = time.perf_counter()
    await scan(root, "summary")
    cold_scan = time.perf_counter() - start
    rows.append(Row(SUITE, f"docs scan cold (parse + analyse), {small} docs", ms(cold_scan), "ms"))
    scan_samples = await time_each(lambda: scan(root, "summary"), ctx.n(50, 10))
    rows.append(
        Row(
            SUITE,
            f"docs scan unchanged median, {small} docs",
            ms(median(scan_samples)),
            "ms",
            "<= 70 ms",
            median(scan_samples) <= 0.07,
            "earlier system: ~70 ms",
        )
    )
    analyze_samples = await time_each(lambda: analyze(root), ctx.n(50, 10))
    rows.append(Row(SUITE, f"docs analysis unchanged median, {small} docs", ms(median(analyze_samples)), "ms"))

    big_root = ctx.workdir / f"docs{large}"
    write_docs(big_root, large, seed=13)
    big_app = await started_app(ctx, big_root)
    _clear_docs_caches()
    build, lag = await _build(big_app, big_root)
    rows.append(Row(SUITE, f"index build cold, {large} docs", ms(build), "ms"))
    rows.append(Row(SUITE, f"loop lag max during index build, {large} docs", ms(lag), "ms", "<= 20 ms", lag <= 0.02))
    samples = await _warm_queries(big_app, big_root, queries, ctx.n(100, 20))
    rows.append(
        Row(
            SUITE,
            f"search warm median, {large} docs",
            ms(median(samples)),
            "ms",
            "<= 20 ms",
            median(samples) <= 0.02,
            "change watch: only the docs reported changed are stat-ed",
        )
    )
    index = FtsIndex(big_root / INDEX_FILE)  # the same file, to split freshness check from query time
    cycle = itertools.cycle(queries)
    samples = await time_each(
        lambda: asyncio.to_thread(index.search, next(cycle), limit=10), ctx.n(100, 20), warmup=len(queries)
    )
    rows.append(Row(SUITE, f"index query only (no freshness check), {large} docs", ms(median(samples)), "ms"))
    index.close()
    await shut_down(app.container)
    await shut_down(big_app.container)
    return rows
