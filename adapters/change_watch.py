"""Kernel change notifications for a project tree: what changed since the last look, in O(changes).

Checking freshness by stat-ing every file costs ~3.5 µs per file on this kind of
VM (35 ms for 10,000 docs) on every query. inotify (Linux, through the small
`inotify_simple` wrapper) instead queues an event in the kernel before the
writing call returns; `changes()` drains that queue without blocking, right
before an answer, so a change made before a query is always seen and an
unchanged tree costs one `read` syscall.

When the watch cannot be trusted the result says `rescan=True` and the caller
falls back to checking every file: no inotify on this OS, the per-user watch
limit reached, or the kernel's event queue overflowed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

try:
    from inotify_simple import INotify
    from inotify_simple import flags as _flags

    _AVAILABLE = True
except (ImportError, OSError):  # not Linux, or no libc with inotify
    _AVAILABLE = False

if _AVAILABLE:
    _FILE_EVENTS = (
        _flags.MODIFY
        | _flags.CLOSE_WRITE
        | _flags.ATTRIB
        | _flags.CREATE
        | _flags.DELETE
        | _flags.MOVED_FROM
        | _flags.MOVED_TO
    )
    _MASK = _FILE_EVENTS | _flags.DELETE_SELF | _flags.MOVE_SELF | _flags.DONT_FOLLOW | _flags.EXCL_UNLINK
    _DIR_GONE = _flags.DELETE_SELF | _flags.MOVE_SELF | _flags.IGNORED | _flags.UNMOUNT


@dataclass
class Changes:
    """What happened since the previous call."""

    rescan: bool = False  # the watch missed something or never worked: check everything
    dirs_changed: bool = False  # a directory appeared, vanished or moved: walk the tree again
    paths: set[str] = field(default_factory=set)  # files written, created, deleted or renamed (relative)


class TreeWatch:
    """Watches chosen directories of one root (non-recursive inotify watches, one per directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._inotify: INotify | None = None
        self._dirs: dict[int, str] = {}  # watch descriptor → directory relative to root ("" = root)
        self._watched: set[str] = set()
        self._broken = not _AVAILABLE
        if _AVAILABLE:
            try:
                self._inotify = INotify(nonblocking=True)
            except OSError as exc:
                logger.info("no change notifications for %s (%s); files are checked one by one", root, exc)
                self._broken = True

    @property
    def active(self) -> bool:
        return not self._broken

    def watch_dirs(self, rel_dirs: Iterable[str]) -> bool:
        """Watch these directories too (idempotent); False once the watch is unusable."""
        with self._lock:
            if self._broken or self._inotify is None:
                return False
            base = os.fspath(self.root)
            for rel in rel_dirs:
                if rel in self._watched:
                    continue
                try:
                    wd = self._inotify.add_watch(f"{base}/{rel}" if rel else base, _MASK)
                except FileNotFoundError:
                    continue  # gone since the walk: the next walk sees it
                except OSError as exc:  # ENOSPC: the per-user watch limit
                    logger.info("change notifications for %s stopped (%s); checking files one by one", base, exc)
                    self._break()
                    return False
                self._dirs[wd] = rel
                self._watched.add(rel)
            return True

    def changes(self) -> Changes:
        """Drain the queued events without blocking."""
        with self._lock:
            if self._broken or self._inotify is None:
                return Changes(rescan=True)
            try:
                events = self._inotify.read(timeout=0)
            except OSError as exc:
                logger.info("reading change notifications failed (%s); checking files one by one", exc)
                self._break()
                return Changes(rescan=True)
            result = Changes()
            for event in events:
                if event.mask & _flags.Q_OVERFLOW:
                    result.rescan = True
                    continue
                folder = self._dirs.get(event.wd)
                if folder is None:
                    continue
                if event.mask & _DIR_GONE:
                    result.dirs_changed = True
                    self._dirs.pop(event.wd, None)
                    self._watched.discard(folder)
                    continue
                if event.mask & _flags.ISDIR:
                    result.dirs_changed = True
                    continue
                if event.name:
                    result.paths.add(f"{folder}/{event.name}" if folder else event.name)
            return result

    def _break(self) -> None:
        self._broken = True
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def close(self) -> None:
        with self._lock:
            self._break()
