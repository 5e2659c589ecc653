"""@cached: hit cost against the bare function and a dict memo, and single-flight."""

from __future__ import annotations

import asyncio

from infrastructure.cache import cached
from server.bench.util import BenchContext, Row, per_call, us


async def run(ctx: BenchContext) -> list[Row]:
    n = ctx.n(20_000, 2_000)
    source = ctx.workdir / "source.txt"
    source.write_text("x", encoding="utf-8")

    async def bare(x: int) -> int:
        return x

    memo: dict[int, int] = {}

    async def dict_memo(x: int) -> int:
        value = memo.get(x)
        if value is None:
            value = memo[x] = x
        return value

    @cached("bench.hit", maxsize=128)
    async def hit(x: int) -> int:
        return x

    @cached("bench.hit_fingerprint", maxsize=128, depends_on=lambda p: [p])
    async def hit_fp(p: object) -> int:
        return 1

    class Repo:
        @cached("bench.method")
        async def get(self, x: int) -> int:
            return x

    repo = Repo()
    await hit(1)
    await hit_fp(source)
    await repo.get(1)
    t_bare = await per_call(lambda: bare(1), n)
    t_dict = await per_call(lambda: dict_memo(1), n)
    t_hit = await per_call(lambda: hit(1), n)
    t_kw = await per_call(lambda: hit(x=1), n)
    t_method = await per_call(lambda: repo.get(1), n)
    t_fp = await per_call(lambda: hit_fp(source), n)

    calls = 0

    @cached("bench.single_flight")
    async def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return x

    await asyncio.gather(*(slow(1) for _ in range(100)))

    suite = "cache"
    return [
        Row(suite, "bare async call", us(t_bare), "µs"),
        Row(suite, "dict-memo async call", us(t_dict), "µs"),
        Row(suite, "@cached hit", us(t_hit), "µs", "<= 3 µs", t_hit <= 3e-6, f"{t_hit / t_bare:.1f}x bare"),
        Row(suite, "@cached hit overhead vs bare", us(t_hit - t_bare), "µs"),
        Row(suite, "@cached hit overhead vs dict memo", us(t_hit - t_dict), "µs"),
        Row(suite, "@cached hit (keyword spelling)", us(t_kw), "µs", note="binds arguments"),
        Row(suite, "@cached method hit", us(t_method), "µs", note="per-instance key"),
        Row(suite, "@cached hit + fingerprint check", us(t_fp), "µs", "<= 10 µs", t_fp <= 10e-6),
        Row(suite, "single-flight: calls for 100 misses", calls, "calls", "== 1", calls == 1),
    ]
