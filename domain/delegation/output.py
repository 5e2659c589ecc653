"""The tail of an agent's output as lines a caller can read (bounded, whatever the agent printed)."""

from __future__ import annotations

from collections import deque

MAX_LINE_CHARS = 400
TAIL_BYTES = 64 * 1024


def tail_lines(data: bytes, count: int) -> list[str]:
    """The last `count` lines of `data` (UTF-8, undecodable bytes replaced; `\\r` progress redraws split)."""
    if count <= 0 or not data:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return [ln if len(ln) <= MAX_LINE_CHARS else ln[: MAX_LINE_CHARS - 1] + "…" for ln in lines[-count:]]


class OutputTail:
    """The last `limit` bytes of a stream, kept as the chunks that arrived (O(1) per chunk)."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self._limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def add(self, chunk: bytes) -> None:
        if len(chunk) >= self._limit:
            self._chunks.clear()
            chunk = chunk[-self._limit :]
            self._size = 0
        self._chunks.append(chunk)
        self._size += len(chunk)
        while self._size - len(self._chunks[0]) >= self._limit:
            self._size -= len(self._chunks.popleft())

    def data(self) -> bytes:
        return b"".join(self._chunks)

    def lines(self, count: int) -> list[str]:
        return tail_lines(self.data(), count)
