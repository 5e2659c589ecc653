"""Job output to disk from one dedicated thread, so streaming agents never block the event loop.

The loop hands each chunk over with a non-blocking queue put (a bounded queue:
when the disk falls behind, the producer waits in a worker thread instead of
growing memory). The thread appends to the open log files and flushes whenever
the queue runs dry, so `output.log` trails the agent by at most one burst. A
write error (disk full) is remembered on the handle and later chunks are dropped
rather than crashing the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

_STOP = object()


@dataclass(eq=False)
class LogHandle:
    path: Path
    error: str | None = None
    bytes_written: int = 0
    _file: IO[bytes] | None = field(default=None, repr=False)


class LogWriter:
    def __init__(self, max_pending: int = 256) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._open: set[LogHandle] = set()

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cde-log-writer", daemon=True)
                self._thread.start()

    async def _put(self, item: Any) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)

    async def open(self, path: Path) -> LogHandle:
        handle = LogHandle(path)
        await self._put(("open", handle))
        return handle

    async def write(self, handle: LogHandle, data: bytes) -> None:
        await self._put(("write", handle, data))

    async def close(self, handle: LogHandle) -> None:
        """Flush and close; returns once every chunk written before it is on disk (in the page cache)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        await self._put(("close", handle, loop, done))
        await done

    async def stop(self) -> None:
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        await self._put(_STOP)
        await asyncio.to_thread(thread.join)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                for handle in list(self._open):
                    self._close(handle)
                return
            self._apply(item)
            if self._queue.empty():
                for handle in self._open:
                    self._flush(handle)

    def _apply(self, item: tuple[Any, ...]) -> None:
        op, handle = item[0], item[1]
        if op == "open":
            try:
                handle._file = open(handle.path, "ab")  # noqa: SIM115 - closed by the "close" op
                self._open.add(handle)
            except OSError as exc:
                handle.error = f"cannot open {handle.path}: {exc.strerror or exc}"
        elif op == "write":
            if handle._file is not None and handle.error is None:
                try:
                    handle._file.write(item[2])
                    handle.bytes_written += len(item[2])
                except OSError as exc:
                    handle.error = f"writing {handle.path} failed: {exc.strerror or exc}; later output was dropped"
                    logger.warning(handle.error)
        elif op == "close":
            self._close(handle)
            loop, done = item[2], item[3]
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, done)

    def _flush(self, handle: LogHandle) -> None:
        if handle._file is not None and handle.error is None:
            try:
                handle._file.flush()
            except OSError as exc:
                handle.error = f"writing {handle.path} failed: {exc.strerror or exc}; later output was dropped"

    def _close(self, handle: LogHandle) -> None:
        self._flush(handle)
        self._open.discard(handle)
        if handle._file is not None:
            with contextlib.suppress(OSError):
                handle._file.close()
            handle._file = None


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)
