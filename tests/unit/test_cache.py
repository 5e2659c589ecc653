"""Every promise of `@cached` (see infrastructure/cache.py), one test each."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from pathlib import Path

import pytest

from infrastructure.cache import (
    SETTINGS_TTL,
    CachedFunction,
    all_cache_stats,
    cached,
    configure_caches,
    get_cache,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_async_function_is_cached_and_counts_hits_and_misses() -> None:
    calls: list[int] = []

    @cached()
    async def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert await square(3) == 9
    assert await square(3) == 9
    assert await square(4) == 16
    assert calls == [3, 4]
    stats = square.cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (1, 2, 2)
    assert stats.hit_rate == pytest.approx(1 / 3)


async def test_lru_is_bounded_and_counts_evictions() -> None:
    calls: list[int] = []

    @cached(maxsize=2)
    async def ident(x: int) -> int:
        calls.append(x)
        return x

    for x in (1, 2, 1, 3):  # 3 evicts 2, the least recently used
        await ident(x)
    await ident(1)
    await ident(2)
    assert calls == [1, 2, 3, 2]
    stats = ident.cache.stats()
    assert stats.size == 2
    assert stats.evictions == 2


async def test_none_results_are_cached() -> None:
    calls = 0

    @cached()
    async def nothing() -> None:
        nonlocal calls
        calls += 1

    assert await nothing() is None
    assert await nothing() is None
    assert calls == 1


async def test_key_spellings_share_one_entry() -> None:
    calls = 0

    @cached()
    async def f(a: int, b: int = 2) -> int:
        nonlocal calls
        calls += 1
        return a + b

    assert await f(1) == 3
    assert await f(a=1) == 3
    assert await f(1, 2) == 3
    assert await f(1, b=2) == 3
    assert await f(b=2, a=1) == 3
    assert calls == 1
    assert await f(1, 3) == 4
    assert calls == 2


async def test_keys_never_collide_by_joining_or_by_equal_hashes() -> None:
    seen: list[tuple[object, ...]] = []

    @cached()
    async def f(*parts: object) -> tuple[object, ...]:
        seen.append(parts)
        return parts

    assert await f("a:b") == ("a:b",)
    assert await f("a", "b") == ("a", "b")
    assert await f(1) == (1,)
    assert await f(True) == (True,)  # 1 == True in Python, but not as a cache key
    assert await f(1.0) == (1.0,)
    assert len(seen) == 5


async def test_unhashable_arguments_are_frozen_into_keys() -> None:
    calls = 0

    @cached()
    async def total(values: list[int], weights: dict[str, int]) -> int:
        nonlocal calls
        calls += 1
        return sum(values) + sum(weights.values())

    assert await total([1, 2], {"a": 1, "b": 2}) == 6
    assert await total([1, 2], {"b": 2, "a": 1}) == 6
    assert await total([2, 1], {"a": 1, "b": 2}) == 6
    assert calls == 2  # dict order is irrelevant, list order is not


async def test_single_flight_runs_once_for_100_concurrent_misses() -> None:
    calls = 0
    release = asyncio.Event()

    @cached()
    async def slow(x: int) -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return x * 10

    waiters = [asyncio.create_task(slow(7)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [70] * 100
    assert calls == 1
    assert slow.cache.stats().size == 1


async def test_exception_reaches_every_waiter_and_is_not_cached() -> None:
    calls = 0
    release = asyncio.Event()

    @cached()
    async def flaky() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        if calls == 1:
            raise ValueError("boom")
        return "ok"

    waiters = [asyncio.create_task(flaky()) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ValueError) and str(r) == "boom" for r in results)
    assert calls == 1
    assert flaky.cache.stats().size == 0
    assert await flaky() == "ok"  # the failure was not cached
    assert calls == 2


async def test_cancelling_one_waiter_does_not_cancel_the_shared_computation() -> None:
    calls = 0
    started = asyncio.Event()
    release = asyncio.Event()

    @cached()
    async def work() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return "done"

    first = asyncio.create_task(work())
    second = asyncio.create_task(work())
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await second == "done"
    assert calls == 1
    assert await work() == "done"
    assert calls == 1


async def test_ttl_expires_with_an_injected_clock() -> None:
    clock = FakeClock()
    calls = 0

    @cached(ttl=10, clock=clock)
    async def value() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await value() == 1
    clock.now += 9.9
    assert await value() == 1
    clock.now += 0.2
    assert await value() == 2
    assert value.cache.stats().hits == 1


async def test_settings_ttl_follows_configure_caches() -> None:
    clock = FakeClock()

    @cached(ttl=SETTINGS_TTL, clock=clock)
    async def value() -> float:
        return clock.now

    try:
        configure_caches(ttl=5.0)
        assert value.cache.ttl == 5.0
        first = await value()
        clock.now += 4
        assert await value() == first
        clock.now += 2
        assert await value() != first
    finally:
        configure_caches()
    assert value.cache.ttl == 30.0


async def test_configure_caches_overrides_maxsize() -> None:
    @cached(maxsize=2)
    async def ident(x: int) -> int:
        return x

    try:
        configure_caches(maxsize=7)
        assert ident.cache.maxsize == 7
    finally:
        configure_caches()
    assert ident.cache.maxsize == 2


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _text_loader() -> CachedFunction[[Path], str]:
    @cached(depends_on=lambda p: [p])
    async def load(p: Path) -> str:
        return p.read_text(encoding="utf-8")

    return load


async def test_depends_on_sees_an_edit(tmp_path: Path) -> None:
    source = tmp_path / "recipe.txt"
    _write(source, "v1")
    load = _text_loader()
    assert await load(source) == "v1"
    assert await load(source) == "v1"
    _write(source, "version two")
    assert await load(source) == "version two"
    assert load.cache.stats().invalidations == 1


async def test_current_returns_only_a_still_valid_value_and_counts_the_lookup(tmp_path: Path) -> None:
    source = tmp_path / "recipe.txt"
    _write(source, "v1")
    load = _text_loader()
    assert load.cache.current(source) is None  # nothing stored: a miss, and nothing computed
    assert (load.cache.stats().hits, load.cache.stats().misses, load.cache.stats().size) == (0, 1, 0)
    await load(source)
    assert load.cache.current(source) == "v1"
    _write(source, "version two")
    assert load.cache.current(source) is None  # stale: dropped, never returned
    stats = load.cache.stats()
    assert (stats.hits, stats.misses, stats.invalidations, stats.size) == (1, 3, 1, 0)


async def test_depends_on_sees_a_same_size_rewrite_with_the_same_mtime(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    _write(source, "aaaa")

    @cached(depends_on=lambda p: [p])
    async def load(p: Path) -> str:
        return p.read_text(encoding="utf-8")

    assert await load(source) == "aaaa"
    before = os.stat(source)
    _write(source, "bbbb")  # same size, rewritten in place
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))  # even with the old mtime restored...
    after = os.stat(source)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert await load(source) == "bbbb"  # ...the ctime changed, so this is a miss


async def test_depends_on_sees_replacement_and_deletion(tmp_path: Path) -> None:
    source = tmp_path / "state.json"
    _write(source, "1")

    @cached(depends_on=lambda p: [p])
    async def load(p: Path) -> str | None:
        return p.read_text(encoding="utf-8") if p.exists() else None

    assert await load(source) == "1"
    replacement = tmp_path / "new.json"
    _write(replacement, "2")
    os.replace(replacement, source)
    assert await load(source) == "2"
    source.unlink()
    assert await load(source) is None
    _write(source, "3")
    assert await load(source) == "3"


async def test_depends_on_many_paths_checks_them_all(tmp_path: Path) -> None:
    files = [tmp_path / f"f{i}.txt" for i in range(20)]  # above the inline-stat limit: one thread hop
    for f in files:
        _write(f, "x")

    @cached(depends_on=lambda d: sorted(d.iterdir()))
    async def listing(d: Path) -> int:
        return sum(len(f.read_text(encoding="utf-8")) for f in d.iterdir())

    assert await listing(tmp_path) == 20
    assert await listing(tmp_path) == 20
    _write(files[17], "xyz")
    assert await listing(tmp_path) == 22


async def test_fingerprint_is_taken_before_computing(tmp_path: Path) -> None:
    source = tmp_path / "s.txt"
    _write(source, "old")

    @cached(depends_on=lambda p: [p])
    async def load(p: Path) -> str:
        text = p.read_text(encoding="utf-8")
        _write(p, "changed during the computation")
        return text

    assert await load(source) == "old"
    # The value was derived from content that changed meanwhile: the next call must not trust it.
    assert await load(source) == "changed during the computation"


class Repo:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    @cached()
    async def get(self, key: str) -> str:
        self.calls += 1
        return f"{self.name}:{key}"


async def test_methods_are_cached_per_instance() -> None:
    a, b = Repo("a"), Repo("b")
    assert await a.get("k") == "a:k"
    assert await a.get("k") == "a:k"
    assert await b.get("k") == "b:k"
    assert (a.calls, b.calls) == (1, 1)
    assert a.get.invalidate("k") is True
    assert await a.get("k") == "a:k"
    assert (a.calls, b.calls) == (2, 1)


async def test_methods_do_not_keep_instances_alive_and_drop_their_entries() -> None:
    repo = Repo("temp")
    await repo.get("x")
    ref = weakref.ref(repo)
    before = Repo.get.cache.stats().size
    del repo
    gc.collect()
    assert ref() is None
    assert Repo.get.cache.stats().size == before - 1


async def test_invalidate_clear_and_invalidate_if() -> None:
    calls: list[tuple[str, int]] = []

    @cached()
    async def load(root: str, n: int) -> int:
        calls.append((root, n))
        return n

    for root in ("p1", "p2"):
        for n in (1, 2):
            await load(root, n)
    assert load.invalidate("p1", 1) is True
    assert load.invalidate("p1", 1) is False
    assert load.cache.invalidate_if(lambda values: values[0] == "p2") == 2
    assert load.cache.stats().size == 1
    load.clear()
    assert load.cache.stats().size == 0
    assert load.cache.stats().invalidations == 4
    await load("p1", 2)
    assert calls[-1] == ("p1", 2)


async def test_invalidation_during_computation_does_not_store_the_stale_value() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    version = 1

    @cached()
    async def read() -> int:
        seen = version
        started.set()
        await release.wait()
        return seen

    pending = asyncio.create_task(read())
    await started.wait()
    version = 2
    read.invalidate()
    release.set()
    assert await pending == 1  # the caller that asked before the write gets the old value...
    assert await read() == 2  # ...but it is not stored


async def test_named_caches_are_listed_with_metrics_and_names_are_unique() -> None:
    @cached("test.metrics.unique")
    async def f() -> int:
        return 1

    await f()
    await f()
    stats = {s.name: s for s in all_cache_stats()}
    assert stats["test.metrics.unique"].hits == 1
    assert get_cache("test.metrics.unique") is f.cache
    with pytest.raises(ValueError, match="already exists"):

        @cached("test.metrics.unique")
        async def g() -> int:
            return 2


def test_refuses_sync_functions_and_bad_bounds() -> None:
    with pytest.raises(TypeError, match="async"):
        cached()(lambda: 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cached(maxsize=0)
    with pytest.raises(ValueError):
        cached(ttl=-1)


async def test_current_without_counting_a_miss_leaves_it_to_the_call_that_follows(tmp_path: Path) -> None:
    source = tmp_path / "doc.md"
    _write(source, "v1")
    load = _text_loader()
    assert load.cache.current(source, count_miss=False) is None
    assert await load(source) == "v1"  # the call counts the miss, once
    assert load.cache.current(source, count_miss=False) == "v1"
    stats = load.cache.stats()
    assert (stats.hits, stats.misses) == (1, 1)
