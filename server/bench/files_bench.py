"""Durable writes: atomic_write and locked_update of a 4 KB JSON document."""

from __future__ import annotations

import json

from infrastructure import files
from server.bench.util import BenchContext, Row, median, ms, p95, time_each


async def run(ctx: BenchContext) -> list[Row]:
    n = ctx.n(200, 30)
    document = {"items": [{"id": i, "name": f"item-{i:04d}", "tags": ["a", "b"]} for i in range(80)]}
    payload = json.dumps(document)
    assert 3500 < len(payload) < 4600, len(payload)
    target = ctx.workdir / "doc.json"
    state = ctx.workdir / "state.json"

    writes = await time_each(lambda: files.atomic_write(target, payload), n)

    def bump(value: object) -> object:
        current: dict[str, object] = value if isinstance(value, dict) else dict(document)
        current["n"] = len(str(current.get("n", ""))) + 1
        return current

    updates = await time_each(lambda: files.locked_update(state, bump), n)
    reads = await time_each(lambda: files.read_json(target), n)

    suite = "files"
    return [
        Row(suite, "atomic_write 4 KB median", ms(median(writes)), "ms", "<= 2 ms", median(writes) <= 2e-3),
        Row(suite, "atomic_write 4 KB p95", ms(p95(writes)), "ms"),
        Row(suite, "locked_update 4 KB median", ms(median(updates)), "ms", "<= 2 ms", median(updates) <= 2e-3),
        Row(suite, "locked_update 4 KB p95", ms(p95(updates)), "ms"),
        Row(suite, "read_json 4 KB median", ms(median(reads)), "ms"),
    ]
