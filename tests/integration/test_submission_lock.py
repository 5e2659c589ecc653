"""The lock SubmitWork holds across its steps: exclusive across processes, never leaked by a cancelled waiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from domain.errors import ConflictError
from infrastructure.files import holding_lock
from infrastructure.locks import LockTimeoutError, exclusive


async def test_held_across_awaits_and_exclusive_for_other_holders(tmp_path: Path) -> None:
    lock = tmp_path / ".cde" / "specs.lock"  # the folder is created on first use
    async with holding_lock(lock, lock_timeout=1):
        await asyncio.sleep(0)
        with pytest.raises(LockTimeoutError):  # another open file description: what another process sees
            await asyncio.to_thread(lambda: exclusive(lock, 0.01).__enter__())
    with exclusive(lock, 0.01):
        pass


async def test_a_waiter_cancelled_while_queued_does_not_keep_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "specs.lock"
    with exclusive(lock, 1):  # held by "another process": the waiter's thread is blocked on it
        waiter = asyncio.create_task(holding_lock(lock, lock_timeout=5).__aenter__())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    # The waiter's thread takes the lock once it is free, then releases it for the cancelled caller.
    async with asyncio.timeout(5):
        async with holding_lock(lock, lock_timeout=5):
            pass


async def test_timeout_is_a_one_line_conflict(tmp_path: Path) -> None:
    lock = tmp_path / "specs.lock"
    with exclusive(lock, 1), pytest.raises(ConflictError, match=r"stayed locked by another process for over 0\.05s"):
        async with holding_lock(lock, lock_timeout=0.05):
            pass
