"""Dependencies a @cached computation discovers while it runs, and their inheritance by outer caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infrastructure.cache import add_dependencies, cached, fingerprint


def _bump(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


async def test_recorded_dependencies_guard_the_value(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("one")
    calls: list[str] = []

    @cached(maxsize=4)
    async def read(path: Path) -> str:
        add_dependencies([(os.fspath(path), fingerprint(path))])
        calls.append("read")
        return path.read_text()

    assert await read(data) == "one"
    assert await read(data) == "one"
    assert calls == ["read"]
    _bump(data, "two")
    assert await read(data) == "two"
    assert calls == ["read", "read"]
    assert read.cache.stats().invalidations == 1


async def test_outer_value_inherits_inner_dependencies(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("a")
    outer_calls: list[int] = []

    @cached(maxsize=4)
    async def inner(path: Path) -> str:
        add_dependencies([(os.fspath(path), fingerprint(path))])
        return path.read_text()

    @cached(maxsize=4)
    async def outer(path: Path) -> str:
        outer_calls.append(1)
        return (await inner(path)).upper()

    assert await outer(data) == "A"
    await inner(data)  # a hit outside any computation records nothing anywhere
    assert await outer(data) == "A"
    assert len(outer_calls) == 1
    _bump(data, "b")
    assert await outer(data) == "B"  # the outer entry saw the inner file change
    assert len(outer_calls) == 2
    # Served from the inner cache this time, the outer value still inherits the dependency.
    _bump(data, "c")
    await inner(data)
    assert await outer(data) == "C"
    assert len(outer_calls) == 3


async def test_add_dependencies_outside_a_computation_is_harmless(tmp_path: Path) -> None:
    add_dependencies([(os.fspath(tmp_path), fingerprint(tmp_path))])


async def test_track_files_false_keeps_a_value_for_its_ttl_alone(tmp_path: Path) -> None:
    """A health-style poll: one dictionary hit per call, at most `ttl` stale, never a stat."""
    data = tmp_path / "data.txt"
    data.write_text("a")
    now = [0.0]

    @cached(maxsize=4)
    async def inner(path: Path) -> str:
        add_dependencies([(os.fspath(path), fingerprint(path))])
        return path.read_text()

    @cached(maxsize=4, ttl=5.0, track_files=False, clock=lambda: now[0])
    async def poll(path: Path) -> str:
        return await inner(path)

    @cached(maxsize=4)
    async def above(path: Path) -> str:
        return await poll(path)

    assert await poll(data) == "a"
    assert await above(data) == "a"
    _bump(data, "b")
    assert await poll(data) == "a"  # the file changed, but the entry is guarded by its ttl only
    assert await above(data) == "a"  # and nothing was passed on to a cache built on it
    now[0] = 5.1
    assert await poll(data) == "b"
    assert poll.cache.stats().invalidations == 0


def test_track_files_false_needs_a_ttl_and_no_depends_on() -> None:
    async def f() -> int:
        return 1

    with pytest.raises(ValueError, match="needs a ttl"):
        cached(track_files=False)(f)
    with pytest.raises(ValueError, match="needs a ttl"):
        cached(ttl=1.0, track_files=False, depends_on=lambda: ["x"])(f)
