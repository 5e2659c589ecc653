"""Async file primitives: whole operations in one thread hop, durable atomic writes, locked updates.

Each public coroutine runs one small synchronous function in a worker thread
(open+read+decode+parse, or temp+write+fsync+replace+fsync-dir), so the event
loop never blocks on disk and never pays for a dozen tiny awaited calls per file.
OS and parse failures become domain errors that name the file; a file that
cannot be parsed is never modified.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import os
import queue
import re
import stat as stat_module
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import aiofiles.os
import jiter
import pydantic_core

from domain.errors import (
    ConflictError,
    CorruptDataError,
    DomainError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
)
from infrastructure.cache import Fingerprint, fingerprint
from infrastructure.locks import LockGoneError, LockTimeoutError, exclusive

P = ParamSpec("P")
R = TypeVar("R")

# Text files above this size are refused unless the caller raises the bound.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024

# The process's umask, read once at import (reading it means setting it): new files get 0o666 minus it.
UMASK = os.umask(0)
os.umask(UMASK)


def in_thread(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Make a whole synchronous file operation awaitable as a single executor hop."""
    wrapped = aiofiles.os.wrap(fn)

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        result: R = await wrapped(*args, **kwargs)
        return result

    return run


def start_in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[R]:
    """Hand `fn` to a worker thread now, not when a task wrapping it is first scheduled.

    A caller that goes on with other work (rendering while a write lands) gets the
    thread going first; the future is awaited, shielded or given callbacks as usual.
    """
    return asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


# -- errors ------------------------------------------------------------------------------------------


def os_error(path: Path | str, exc: OSError) -> DomainError:
    """Translate an OSError into the domain error an agent can act on."""
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(f"{path} does not exist")
    if isinstance(exc, IsADirectoryError):
        return InvalidInputError(f"{path} is a directory, expected a file")
    if isinstance(exc, NotADirectoryError):
        return InvalidInputError(f"{path} (or one of its parents) is not a directory")
    if isinstance(exc, PermissionError):
        return PermissionDeniedError(f"permission denied on {path}; check its owner and mode")
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidInputError(f"{path} is too long a path (or a name in it is over 255 bytes); use a shorter one")
    if exc.errno == errno.ELOOP:
        return PermissionDeniedError(f"{path} is, or passes through, a symlink where a real file is required")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LimitExceededError(f"no space left for {path}; free some disk space, then retry")
    if exc.errno == errno.EROFS:
        return PermissionDeniedError(f"{path} is on a read-only filesystem")
    return DomainError(f"cannot access {path}: {exc.strerror or exc}")


# -- reading -----------------------------------------------------------------------------------------


def read_fd(fd: int, limit: int, size: int | None = None) -> bytes:
    """Up to `limit + 1` bytes of an open file, asking for its fstat size plus one byte.

    A buffered `read(limit + 1)` allocates the whole limit up front (16 MiB for a
    1 KiB file here, ~80 us per read); this allocates what the file holds. A file
    that does not grow takes two reads (the second sees its end); one that grew, or
    reports no size (as /proc files do), is read on. `size` is the file's st_size
    when the caller has just taken it.
    """
    want = min(os.fstat(fd).st_size if size is None else size, limit) + 1
    chunks = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = min(max(want, 65536), limit + 1 - total)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def open_file_sync(path: Path | str, *, follow_symlinks: bool = True) -> tuple[int, os.stat_result]:
    """A read-only descriptor on the regular file at `path`, and its stat; the caller closes it.

    A FIFO, socket or device there (planted in a project, or a link to /dev/zero) raises
    CorruptDataError: never waited on or streamed. O_NONBLOCK makes opening a FIFO return at
    once and changes nothing for a regular file. A directory raises IsADirectoryError. Without
    `follow_symlinks`, a symlink as the last component raises (ELOOP).
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if stat_module.S_ISDIR(st.st_mode):  # os.open, unlike open(), accepts a directory
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat_module.S_ISREG(st.st_mode):
            mode = st.st_mode
            kind = "a FIFO" if stat_module.S_ISFIFO(mode) else "a socket" if stat_module.S_ISSOCK(mode) else "a device"
            raise CorruptDataError(path, f"{kind}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_bytes_sync(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file at `path`, at most `max_bytes` (see `open_file_sync`)."""
    try:
        fd, st = open_file_sync(path, follow_symlinks=follow_symlinks)
        try:
            size = st.st_size
            if size > max_bytes:
                raise LimitExceededError(f"{path} is {size} bytes, over the {max_bytes}-byte limit for this read")
            data = read_fd(fd, max_bytes, size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise os_error(path, exc) from None
    if len(data) > max_bytes:
        raise LimitExceededError(f"{path} grew over the {max_bytes}-byte limit while being read")
    return data


def decode_utf8(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptDataError(path, f"invalid UTF-8 at byte {exc.start}") from None


def read_text_sync(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, *, follow_symlinks: bool = True) -> str:
    return decode_utf8(path, read_bytes_sync(path, max_bytes, follow_symlinks=follow_symlinks))


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all distinct: a repeated key (a bad hand merge) would drop data unseen."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return found


def parse_json(path: Path, text: str) -> Any:
    """Decode a JSON document, refusing what would lose data or crash: repeated keys, absurd nesting.

    jiter (pydantic's parser) checks for repeated keys natively, 2.5x faster than a Python
    `object_pairs_hook`; every state read pays this. Whatever it refuses (invalid JSON, but also
    valid nesting past its 200 levels) is decoded again below, which words the error or accepts it.
    """
    try:
        return jiter.from_json(text.encode("utf-8", "surrogatepass"), catch_duplicate_keys=True, cache_mode="keys")
    except ValueError:
        pass
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
        if _SURROGATE_ESCAPE.search(text):  # rare: only then look for an unpaired one, which is not text
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise CorruptDataError(
            path, "holds a lone UTF-16 surrogate escape (\\udXXX without its pair), which is not text; fix it"
        ) from None
    except json.JSONDecodeError as exc:
        raise CorruptDataError(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _DuplicateKeyError as exc:
        raise CorruptDataError(
            path, f"key {exc.key!r} appears twice in one object; keep one (the other's data would be lost)"
        ) from None
    except RecursionError:
        raise CorruptDataError(path, "JSON nested too deeply (about 1000 levels or more)") from None
    except ValueError as exc:  # e.g. a number of more than 4300 digits
        raise CorruptDataError(path, f"invalid JSON: {_value_problem(exc)}") from None


def _value_problem(exc: Exception) -> str:
    """What was wrong with a value a parser could not build, in the file's terms (not Python's advice)."""
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return f"a number has over {sys.get_int_max_str_digits()} digits; quote it if it is text, or shorten it"
    return str(exc)


def parse_yaml(path: Path, text: str) -> Any:
    """`text` as YAML (safe types, duplicate keys refused); errors name `path` and the line."""
    import yaml  # ~20 ms of import paid by the first YAML read, not by start-up

    from infrastructure.yaml_loader import YAML_LOADER

    try:
        return yaml.load(text, Loader=YAML_LOADER)  # a SafeLoader variant
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CorruptDataError(path, f"invalid YAML{where}: {problem}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value YAML types but cannot build: 2025-13-45
        raise CorruptDataError(path, f"invalid YAML value: {_value_problem(exc)}") from None


def read_json_sync(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    return parse_json(path, read_text_sync(path, max_bytes))


def read_yaml_sync(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    return parse_yaml(path, read_text_sync(path, max_bytes))


read_bytes = in_thread(read_bytes_sync)
read_text = in_thread(read_text_sync)
read_json = in_thread(read_json_sync)
read_yaml = in_thread(read_yaml_sync)


# -- metadata and listing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One directory entry as seen without following symlinks."""

    path: Path
    rel: str  # POSIX-style path relative to the listing root
    size: int
    mtime_ns: int
    is_dir: bool
    is_symlink: bool


def stat_sync(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise os_error(path, exc) from None


stat = in_thread(stat_sync)


def _info(entry: os.DirEntry[str], rel: str) -> FileInfo:
    st = entry.stat(follow_symlinks=False)
    return FileInfo(
        path=Path(entry.path),
        rel=rel,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        is_dir=stat_module.S_ISDIR(st.st_mode),
        is_symlink=stat_module.S_ISLNK(st.st_mode),
    )


def list_dir_sync(path: Path) -> list[FileInfo]:
    try:
        with os.scandir(path) as entries:
            return sorted((_info(e, e.name) for e in entries), key=lambda i: i.rel)
    except OSError as exc:
        raise os_error(path, exc) from None


list_dir = in_thread(list_dir_sync)


def walk_sync(
    root: Path,
    *,
    skip_dirs: Iterable[str] = (),
    max_entries: int | None = None,
) -> list[FileInfo]:
    """Every regular file under `root`, never following symlinks (so no loops, no escapes).

    Directories named in `skip_dirs` are pruned wherever they appear. Unreadable
    subdirectories are skipped. Stops with LimitExceededError past `max_entries`.
    """
    skip = frozenset(skip_dirs)
    found: list[FileInfo] = []
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as entries:
                batch = list(entries)
        except FileNotFoundError:
            if directory == root:
                raise NotFoundError(f"{root} does not exist") from None
            continue
        except OSError as exc:
            if directory == root:
                raise os_error(root, exc) from None
            continue
        for entry in batch:
            rel = f"{prefix}{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip:
                        stack.append((Path(entry.path), f"{rel}/"))
                elif entry.is_file(follow_symlinks=False):
                    found.append(_info(entry, rel))
            except OSError:
                continue
            if max_entries is not None and len(found) > max_entries:
                raise LimitExceededError(f"{root} holds more than {max_entries} files")
    found.sort(key=lambda i: i.rel)
    return found


walk = in_thread(walk_sync)


# -- writing -----------------------------------------------------------------------------------------


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (no-op where directories cannot be opened)."""
    if os.name == "nt":  # pragma: no cover - Windows has no directory fsync
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_sync(path: Path, *, durable: bool = True) -> None:
    """`mkdir -p` whose new folders survive a crash: each is fsynced into its parent (unless not `durable`:
    for derived data that is checked and rebuilt anyway).

    Otherwise a file fsynced into a folder created just before could vanish with
    the folder's own (not yet durable) directory entry. One stat when it exists.
    """
    missing: list[Path] = []  # from `path` up to the first folder that exists (a loop: any depth)
    current = path
    while True:
        try:
            if stat_module.S_ISDIR(os.stat(current).st_mode):
                break
        except FileNotFoundError:
            pass
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
        except FileExistsError:
            if not folder.is_dir():  # a file where a folder must be: say so, not "File exists"
                raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", os.fspath(folder)) from None
        else:
            note_new_folder(os.fspath(folder))
        if durable:
            fsync_dir(folder.parent)


_O_PATH: int | None = getattr(os, "O_PATH", None)
# The biggest replaced file held for a later close (`_Releaser` bounds what all of them keep of the
# disk): freeing 81 KiB costs ~0.3 ms more than freeing 4 KiB here, and a big state file is rewritten
# on every submission; a bigger file is freed by the replace, as it would be anyway.
_HOLD_MAX_BYTES = 1024 * 1024
# Filesystems where a held, replaced file simply waits. On NFS or SMB it would be renamed to a
# visible .nfsXXXX file until closed; on an unknown one the replace frees it.
_HOLDING_FS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "zfs", "bcachefs"})
_holds_on_device: dict[int, bool] = {}


def _fs_type(device: int) -> str | None:
    """The type of the filesystem mounted from `device` (st_dev), from /proc/self/mountinfo."""
    wanted = f"{os.major(device)}:{os.minor(device)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split(" ", 3)
                if len(fields) > 2 and fields[2] == wanted:
                    _, _, after = line.partition(" - ")
                    return after.split(" ", 1)[0] or None
    except OSError:
        pass
    return None


def _holds(st: os.stat_result) -> bool:
    """Whether the replaced file `st` is held open so that freeing it happens after the write."""
    if st.st_size > _HOLD_MAX_BYTES or not stat_module.S_ISREG(st.st_mode):
        return False
    held = _holds_on_device.get(st.st_dev)
    if held is None:
        held = _holds_on_device[st.st_dev] = _fs_type(st.st_dev) in _HOLDING_FS
    return held


@dataclass(frozen=True)
class _Previous:
    """The file a write replaces: its permission bits and size, and a handle holding it (Linux)."""

    st_mode: int
    st_size: int
    fd: int | None

    def release(self, *, later: bool) -> None:
        if self.fd is not None:
            if later:
                _RELEASER.close_later(self.fd, self.st_size)
            else:
                os.close(self.fd)


def _previous(path: Path) -> _Previous | None:
    """The file at `path` about to be replaced, held open so that freeing it waits (None if absent).

    Dropping the last link of a file makes the kernel free it inside `os.replace`: on ext4 here
    that is ~300 µs of a ~1.4 ms durable write. Held open, the replaced file is freed when the
    handle closes, off the writer's path (`_Releaser`); only small regular files on local
    filesystems are held (`_holds`). O_PATH needs no read permission and opens nothing for I/O,
    so a FIFO in the way cannot block. Without O_PATH: a plain stat.
    """
    try:
        if _O_PATH is None:  # pragma: no cover - not Linux
            st = os.stat(path)
            return _Previous(st.st_mode, st.st_size, None)
        fd = os.open(path, _O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if _holds(st):
        return _Previous(st.st_mode, st.st_size, fd)
    os.close(fd)
    return _Previous(st.st_mode, st.st_size, None)


class _Releaser:
    """Closes handles on replaced files in a daemon thread, so freeing them costs no writer time.

    Until closed, a replaced file keeps its disk space. Bounded both ways: past `limit` waiting
    handles, or `max_bytes` of files waiting, a writer closes its own, so a stalled thread can
    pile up neither open files nor disk space; a write that finds the disk full waits for the
    held ones first (see `atomic_write_sync`). In practice each waits for milliseconds.
    """

    def __init__(self, limit: int = 64, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._limit = limit
        self._max_bytes = max_bytes
        self._held_bytes = 0
        self._queue: queue.SimpleQueue[tuple[int, int] | threading.Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False

    def close_later(self, fd: int, size: int) -> None:
        with self._lock:
            held = self._queue.qsize() < self._limit and self._held_bytes + size <= self._max_bytes
            if held:
                self._held_bytes += size
        if not held or not self._start():
            self._closed(fd, size if held else 0)
            return
        self._queue.put((fd, size))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every handle queued so far is closed (a write that found the disk full; tests)."""
        if not self._started:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _closed(self, fd: int, size: int) -> None:
        with contextlib.suppress(OSError):
            os.close(fd)
        if size:
            with self._lock:
                self._held_bytes -= size

    def _start(self) -> bool:
        if self._started:
            return True
        with self._lock:
            if not self._started:
                try:
                    threading.Thread(target=self._run, name="cde-release-replaced", daemon=True).start()
                except RuntimeError:  # interpreter shutting down: no new threads
                    return False
                self._started = True
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._closed(*item)

    def after_fork(self) -> None:
        """A forked child has the queue but not the thread: start over, and close what it inherited."""
        inherited = self._queue
        self.__init__(self._limit, self._max_bytes)  # type: ignore[misc]
        while not inherited.empty():
            item = inherited.get_nowait()
            if isinstance(item, tuple):
                with contextlib.suppress(OSError):
                    os.close(item[0])


_RELEASER = _Releaser()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RELEASER.after_fork)


# The temp files `_durable_temp_sync` makes: `.<target name>.<8 random characters>.tmp`.
_TEMP_NAME = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")
# Older than this, such a temp file is a killed writer's leftover: a live write takes milliseconds.
STALE_TEMP_S = 600.0
_swept: set[str] = set()


def note_new_folder(directory: str) -> None:
    """`directory` needs no sweep of leftover temp files: swept already, or just made by this process."""
    if len(_swept) >= 4096:  # bounded: a long-lived server writes into many folders
        _swept.clear()
    _swept.add(directory)


def _sweep_stale_temps(directory: str) -> None:
    """Remove what writers killed mid-write left in `directory`: once per directory per process.

    Only files named as ours, beside the file they were for, and untouched for STALE_TEMP_S:
    without this, a SIGKILL at the wrong moment leaves a `.spec.md.x1y2z3w4.tmp` in a folder
    the user commits.
    """
    if directory in _swept:
        return
    note_new_folder(directory)
    cutoff = time.time() - STALE_TEMP_S
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            found = _TEMP_NAME.fullmatch(entry.name)
            if found is None or not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime < cutoff and os.path.lexists(
                os.path.join(directory, found.group(1))
            ):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _new_temp(directory: str, name: str) -> tuple[int, str]:
    """A new, empty file `.<name>.<8 random hex digits>.tmp` in `directory`, open for writing (mode 0o600).

    What `tempfile.mkstemp` does, without its per-call setup and the buffered file object
    around the descriptor: three fewer syscalls and ~30 us less per durable write here.
    """
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.path.join(directory, f".{name}.*.tmp"))


def write_all(fd: int, payload: bytes) -> None:
    """`os.write` until all of `payload` is written (a write may take only part of it)."""
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # never for a regular file, but a loop must not spin on it
            raise OSError(errno.EIO, "the write made no progress")
        view = view[written:]


def _durable_temp_sync(path: Path, payload: bytes, mode: int) -> str:
    """A fsync'ed temp file beside `path` holding `payload` with permission bits `mode`; returns its path."""
    directory = os.fspath(path.parent)
    _sweep_stale_temps(directory)
    fd, tmp = _new_temp(directory, path.name)
    try:
        try:
            write_all(fd, payload)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write_sync(
    path: Path, data: str | bytes, *, mode: int | None = None, on_replaced: Callable[[], None] | None = None
) -> os.stat_result:
    """Replace `path` with `data` so that a crash at any point leaves the old or the new file.

    Temp file in the same directory → write → fsync → os.replace → fsync the directory.
    The file keeps its previous permission bits (new files get 0o666 minus the umask).
    Returns the stat of the file written, taken before it took the place of `path`:
    a later stat of `path` showing another inode, size or mtime means somebody else wrote since.
    `on_replaced` is called once the new file has taken the place of `path`: a failure after it
    (the directory fsync) leaves the new content there, maybe not durably.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    parent = path.parent
    tmp = None
    previous = None
    try:
        make_dirs_sync(parent)
        previous = _previous(path)
        if mode is None:
            mode = 0o666 & ~UMASK if previous is None else stat_module.S_IMODE(previous.st_mode)
        try:
            tmp = _durable_temp_sync(path, payload, mode)
        except OSError as exc:
            # Replaced files still held may be what fills the disk: let them go, and try once more.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not _RELEASER.drain():
                raise
            tmp = _durable_temp_sync(path, payload, mode)
        written = os.stat(tmp)
        os.replace(tmp, path)
        if on_replaced is not None:
            on_replaced()
        fsync_dir(parent)
    except BaseException as exc:
        if previous is not None:
            previous.release(later=False)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise os_error(path, exc) from None
        raise
    if previous is not None:
        previous.release(later=True)
    return written


atomic_write = in_thread(atomic_write_sync)


def create_exclusive_sync(path: Path, data: str | bytes) -> os.stat_result | None:
    """Create `path` holding `data`, durably, only if nothing exists there; None if something does.

    Returns the stat of the file created, taken before it was linked into place: a later stat of
    `path` showing another inode, size or mtime means somebody else replaced or changed it since.

    Temp file in the same directory → write → fsync → `os.link` to `path` (atomic,
    fails if `path` exists) → fsync the directory. Needs no lock: two creators
    race on the link and exactly one wins; a reader never sees a partial file.
    The parent directory must exist.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        tmp = _durable_temp_sync(path, payload, 0o666 & ~UMASK)
        written = os.stat(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
        fsync_dir(path.parent)
        return written
    except OSError as exc:
        raise os_error(path, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def dump_json(value: Any) -> str:
    """Indented JSON (readable in diffs) via pydantic-core: json's indent mode is pure Python, 20x slower."""
    return pydantic_core.to_json(value, indent=2).decode("utf-8") + "\n"


def locked_update_sync(
    path: Path,
    fn: Callable[[Any], Any],
    *,
    timeout: float = 10.0,
    loads: Callable[[Path, str], Any] = parse_json,
    dumps: Callable[[Any], str] = dump_json,
    follow_symlinks: bool = True,
) -> Any:
    """Read → `fn(current)` → atomic write, all under an exclusive lock on `<path>.lock`.

    `current` is None when the file does not exist. The file is re-read inside the
    lock, so concurrent updaters in other processes never lose each other's
    changes. If the file cannot be parsed or `fn` raises, nothing is written.
    Returns what `fn` returned (the new value). Without `follow_symlinks`, a link at
    `path` is refused, not read through.
    """
    return tracked_update_sync(path, fn, timeout=timeout, loads=loads, dumps=dumps, follow_symlinks=follow_symlinks)[0]


def tracked_update_sync(
    path: Path,
    fn: Callable[[Any], Any],
    *,
    timeout: float = 10.0,
    loads: Callable[[Path, str], Any] = parse_json,
    dumps: Callable[[Any], str] = dump_json,
    follow_symlinks: bool = True,
    on_replaced: Callable[[], None] | None = None,
) -> tuple[Any, Fingerprint]:
    """`locked_update_sync`, also returning the fingerprint of the file it wrote, taken under the lock.

    The fingerprint identifies exactly the content written here (no other writer
    can slip in before it is taken), so a cache can hold the new value without
    reading the file back.
    """
    try:
        make_dirs_sync(path.parent)
        with exclusive(f"{path}.lock", timeout):
            try:
                text: str | None = read_text_sync(path, follow_symlinks=follow_symlinks)
            except NotFoundError:
                text = None
            current = None if text is None else loads(path, text)
            new = fn(current)
            atomic_write_sync(path, dumps(new), on_replaced=on_replaced)
            return new, fingerprint(path)
    except LockTimeoutError:
        raise _locked_too_long(path, timeout) from None
    except LockGoneError:  # e.g. a skill deleted (its folder renamed away) while this update waited
        raise ConflictError(f"{path} was moved or deleted while this change waited for it; retry") from None
    except OSError as exc:  # named after the file it is about: the lock file, a temp file, or the file itself
        raise os_error(exc.filename or path, exc) from None


def _locked_too_long(path: Path | str, timeout: float) -> ConflictError:
    return ConflictError(
        f"{path} stayed locked by another process for over {timeout:g}s; retry, or raise CDE_LOCK_TIMEOUT"
    )


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def writer_lock(path: Path) -> asyncio.Lock:
    """One asyncio lock per file per loop, so in-process writers queue without holding threads.

    `tracked_update` takes it; a caller that must read its own cache between queueing
    and writing holds it around `tracked_update_in_thread` instead.
    """
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    key = os.fspath(path)
    lock = locks.get(key)
    if lock is None:
        lock = locks[key] = asyncio.Lock()
    return lock


tracked_update_in_thread = in_thread(tracked_update_sync)


async def locked_update(
    path: Path,
    fn: Callable[[Any], Any],
    *,
    lock_timeout: float = 10.0,
    loads: Callable[[Path, str], Any] = parse_json,
    dumps: Callable[[Any], str] = dump_json,
) -> Any:
    """Async `locked_update_sync`: in-process callers queue on an asyncio lock first.

    `fn` runs in the worker thread while the file lock is held: keep it to pure
    computation on the value it receives.
    """
    return (await tracked_update(path, fn, lock_timeout=lock_timeout, loads=loads, dumps=dumps))[0]


async def tracked_update(
    path: Path,
    fn: Callable[[Any], Any],
    *,
    lock_timeout: float = 10.0,
    loads: Callable[[Path, str], Any] = parse_json,
    dumps: Callable[[Any], str] = dump_json,
    follow_symlinks: bool = True,
) -> tuple[Any, Fingerprint]:
    """Async `tracked_update_sync` (the new value and the written file's fingerprint)."""
    async with writer_lock(path):
        result: tuple[Any, Fingerprint] = await tracked_update_in_thread(
            path, fn, timeout=lock_timeout, loads=loads, dumps=dumps
        )
        return result


def _take_lock_sync(lock_path: Path, timeout: float) -> contextlib.AbstractContextManager[None]:
    """Enter `exclusive(lock_path)` and return it, still held, for the caller to exit later."""
    try:
        make_dirs_sync(lock_path.parent)
        held = exclusive(lock_path, timeout)
        held.__enter__()
    except LockTimeoutError:
        raise _locked_too_long(lock_path, timeout) from None
    except OSError as exc:
        raise os_error(lock_path, exc) from None
    return held


_take_lock = in_thread(_take_lock_sync)


def _release_when_taken(taking: asyncio.Future[contextlib.AbstractContextManager[None]]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        taking.result().__exit__(None, None, None)


@contextlib.asynccontextmanager
async def holding_lock(lock_path: Path, *, lock_timeout: float = 10.0) -> AsyncIterator[None]:
    """Hold the cross-process lock on `lock_path` across several awaited steps (not one locked update).

    In-process callers queue on an asyncio lock first, so at most one worker thread
    waits for the file lock. An uncontended lock is taken inline (an open and a
    non-blocking flock: metadata syscalls, like the cache's inline stats, far cheaper
    than a thread hop); otherwise a worker thread waits for it. It is released inline
    (an unlock and a close); a caller cancelled while the thread waits releases it as
    soon as the thread gets it.
    """
    async with writer_lock(lock_path):
        held = _try_lock_now(lock_path)
        if held is None:
            taking = asyncio.ensure_future(_take_lock(lock_path, lock_timeout))
            try:
                held = await asyncio.shield(taking)
            except asyncio.CancelledError:
                taking.add_done_callback(_release_when_taken)
                raise
        try:
            yield
        finally:
            held.__exit__(None, None, None)


def _try_lock_now(lock_path: Path) -> contextlib.AbstractContextManager[None] | None:
    """The lock if it is free right now (one attempt, no waiting), else None."""
    held = exclusive(lock_path, 0)
    try:
        held.__enter__()
    except (LockTimeoutError, OSError):  # held elsewhere, or the folder is missing: the thread deals with it
        return None
    return held
