"""Starting an agent process without blocking the event loop, and learning when it exits.

`asyncio.create_subprocess_exec` forks and waits for the child's exec on the
loop thread; on a busy 2-core machine that wait measured 1-12 ms per spawn, so
eight jobs starting together stalled the loop for tens of milliseconds. Here the
`Popen` runs in a worker thread. The exit is observed through a pidfd registered
with the loop (Linux >= 5.3), or a small waiter thread elsewhere. The agent's
stdout and stderr share one pipe whose read end goes to the output pump.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections.abc import Mapping

from domain.delegation.launch import LaunchPlan


def popen_sync(plan: LaunchPlan, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start the agent in its own session (pgid = pid); returns it and its output pipe's read end."""
    stdin_fd = os.open(plan.prompt_file, os.O_RDONLY) if plan.stdin_prompt else subprocess.DEVNULL
    try:
        read_end, write_end = os.pipe()
    except BaseException:
        if stdin_fd != subprocess.DEVNULL:
            os.close(stdin_fd)
        raise
    try:
        proc = subprocess.Popen(
            plan.argv,
            cwd=plan.cwd,
            stdin=stdin_fd,
            stdout=write_end,
            stderr=write_end,
            start_new_session=True,
            env=dict(env),
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
        if stdin_fd != subprocess.DEVNULL:
            os.close(stdin_fd)
    return proc, read_end


def exit_future(proc: subprocess.Popen[bytes]) -> asyncio.Future[int]:
    """A future resolved with the process's return code once it exits (and is reaped)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # pragma: no cover - no pidfd (macOS, old kernels)
        _wait_in_thread(loop, proc, done)
        return done

    def ready() -> None:
        code = proc.poll()
        if code is None:  # pragma: no cover - spurious wake-up
            return
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if not done.done():
            done.set_result(code)

    loop.add_reader(pidfd, ready)
    return done


def _wait_in_thread(
    loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes], done: asyncio.Future[int]
) -> None:  # pragma: no cover - no pidfd (macOS, old kernels)
    def deliver(code: int) -> None:
        if not done.done():
            done.set_result(code)

    def wait() -> None:
        loop.call_soon_threadsafe(deliver, proc.wait())

    threading.Thread(target=wait, name=f"cde-wait-{proc.pid}", daemon=True).start()
