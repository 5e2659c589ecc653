from __future__ import annotations

from infrastructure.cache import cached


class Box:
    def __init__(self) -> None:
        self.calls = 0

    @cached("test.peek", maxsize=4, ttl=60)
    async def value(self) -> list[int]:
        self.calls += 1
        return [self.calls]


async def test_peek_never_computes_and_sees_in_place_updates() -> None:
    box = Box()
    assert box.value.peek() is None and box.calls == 0
    stored = await box.value()
    before = box.value.cache.stats()
    peeked = box.value.peek()
    assert peeked is stored
    peeked.append(99)  # a mutable cached value updated in place
    assert await box.value() == [1, 99] and box.calls == 1
    after = box.value.cache.stats()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)  # the peek itself was not counted
    box.value.invalidate()
    assert box.value.peek() is None
