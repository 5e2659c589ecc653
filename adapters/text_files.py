"""Reading the start of a text file safely, with the fingerprint that guards what was read."""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from infrastructure.cache import Fingerprint, fingerprint

SNIFF_BYTES = 8192  # a NUL byte in the first 8 KB means binary, as git decides

Prints = list[tuple[str, Fingerprint]]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_prefix(path: str | Path, limit: int, prints: Prints) -> tuple[int, bytes] | None:
    """(size, first `limit` bytes) of a regular file, fingerprinted before reading; None if unreadable.

    O_NOFOLLOW and O_NONBLOCK: a file swapped for a symlink or a FIFO since the
    walk is refused instead of followed or waited on.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        prints.append((os.fspath(path), fingerprint(path)))
        return None
    try:
        st = os.fstat(fd)
        prints.append((os.fspath(path), (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)))
        if not stat_module.S_ISREG(st.st_mode):
            return None
        want = min(st.st_size, limit)
        chunks: list[bytes] = []
        while want > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        return st.st_size, b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:SNIFF_BYTES]
