"""Async file primitives on a real filesystem, including two-process and crash tests."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from domain.errors import (
    ConflictError,
    CorruptDataError,
    DomainError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
)
from infrastructure import files

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def test_reads_text_json_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("héllo", encoding="utf-8")
    (tmp_path / "a.json").write_text('{"n": 1}', encoding="utf-8")
    (tmp_path / "a.yml").write_text("name: x\nitems: [1, 2]\n", encoding="utf-8")
    assert await files.read_text(tmp_path / "a.txt") == "héllo"
    assert await files.read_json(tmp_path / "a.json") == {"n": 1}
    assert await files.read_yaml(tmp_path / "a.yml") == {"name": "x", "items": [1, 2]}


async def test_whole_operation_runs_in_a_worker_thread() -> None:
    seen: list[int] = []

    def job() -> int:
        seen.append(threading.get_ident())
        return 42

    assert await files.in_thread(job)() == 42
    assert seen and seen[0] != threading.get_ident()


@pytest.mark.parametrize(
    ("name", "content", "reader", "problem"),
    [
        ("bad.txt", b"ok \xff\xfe broken", files.read_text, "invalid UTF-8 at byte 3"),
        ("bad.json", b'{"a": 1,,}', files.read_json, "invalid JSON at line 1 column 9"),
        ("bad.yml", b"a: [1, 2\nb: 3\n", files.read_yaml, "invalid YAML at line"),
    ],
)
async def test_unparseable_files_raise_a_clear_error_and_stay_untouched(
    tmp_path: Path, name: str, content: bytes, reader: object, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorruptDataError) as info:
        await reader(path)  # type: ignore[operator]
    assert str(path) in str(info.value) and problem in str(info.value)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == content


async def test_locked_update_refuses_corrupt_json_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"{not json")
    called = False

    def change(value: object) -> object:
        nonlocal called
        called = True
        return {}

    with pytest.raises(CorruptDataError, match="invalid JSON"):
        await files.locked_update(path, change)
    assert not called
    assert path.read_bytes() == b"{not json"


async def test_missing_directory_and_oversize_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        await files.read_text(tmp_path / "nope.txt")
    with pytest.raises(InvalidInputError, match="is a directory"):
        await files.read_text(tmp_path)
    with pytest.raises(InvalidInputError, match="is a directory"):  # not "over the limit", whatever its size
        await files.read_text(tmp_path, max_bytes=1)
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(LimitExceededError, match="2048 bytes"):
        await files.read_text(big, max_bytes=1024)


def test_reads_are_sized_by_the_file_yet_see_growth_and_sizeless_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "doc.md"
    path.write_bytes(b"x" * 70_000 + b"\xc3\xa9")
    assert files.read_text_sync(path).endswith("é") and len(files.read_bytes_sync(path)) == 70_002
    assert files.read_bytes_sync(path, max_bytes=70_002) == path.read_bytes()  # exactly at the limit
    procfs = Path("/proc/self/status")
    if procfs.exists():  # st_size 0, yet it has content: it is read to the end
        assert files.read_text_sync(procfs).startswith("Name:")

    # A file that grows between the size check and the read: fstat reports the old size.
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10, *st[7:]))

    monkeypatch.setattr(os, "fstat", stale_fstat)
    assert files.read_bytes_sync(path) == path.read_bytes()  # read on to the real end
    with pytest.raises(LimitExceededError, match="grew over the 1000-byte limit"):
        files.read_bytes_sync(path, max_bytes=1000)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert files.read_fd(fd, 100) == b"x" * 101  # never more than limit + 1
    finally:
        os.close(fd)


async def test_atomic_write_replaces_durably_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "doc.md"
    await files.atomic_write(path, "first")
    assert path.read_text(encoding="utf-8") == "first"
    path.chmod(0o600)
    await files.atomic_write(path, "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["doc.md"]  # no temp files left


def _deleted_files_held(folder: Path) -> list[str]:
    held = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)) and target.endswith(" (deleted)"):
                held.append(target)
    return held


@pytest.mark.skipif(not hasattr(os, "O_PATH"), reason="replaced files are held only where O_PATH exists")
def test_replaced_files_are_released_after_the_write_without_leaking_handles(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    files.atomic_write_sync(path, "v0")
    files.atomic_write_sync(path, "v1")
    assert _deleted_files_held(tmp_path) in ([], [f"{path} (deleted)"])  # v0, held until released
    assert files._RELEASER.drain()
    before = len(os.listdir("/proc/self/fd"))
    for i in range(2, 200):
        files.atomic_write_sync(path, f"v{i}")
    assert path.read_text(encoding="utf-8") == "v199"
    assert files._RELEASER.drain()
    assert len(os.listdir("/proc/self/fd")) == before
    assert _deleted_files_held(tmp_path) == []


class _Keeper:
    """A releaser that keeps what it is handed, to see which replaced files were held."""

    def __init__(self) -> None:
        self.held: list[int] = []

    def close_later(self, fd: int, size: int) -> None:
        self.held.append(fd)

    def close_all(self) -> None:
        for fd in self.held:
            os.close(fd)


@pytest.mark.skipif(not hasattr(os, "O_PATH"), reason="replaced files are held only where O_PATH exists")
def test_big_files_and_files_on_network_filesystems_are_freed_by_the_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = _Keeper()
    monkeypatch.setattr(files, "_RELEASER", keeper)
    small, big = tmp_path / "small.json", tmp_path / "big.json"
    try:
        if files._fs_type(os.stat(tmp_path).st_dev) in files._HOLDING_FS:
            files.atomic_write_sync(small, "a")
            files.atomic_write_sync(small, "b")
            assert len(keeper.held) == 1  # a small file on a local filesystem is held
        before = len(keeper.held)
        files.atomic_write_sync(big, "x" * (files._HOLD_MAX_BYTES + 1))
        files.atomic_write_sync(big, "y")  # the old 64 KiB + 1 are freed by the replace, as before
        monkeypatch.setattr(files, "_holds_on_device", {})
        monkeypatch.setattr(files, "_fs_type", lambda device: "nfs4")  # would show as .nfsXXXX while held
        files.atomic_write_sync(small, "c")
        assert len(keeper.held) == before and small.read_text(encoding="utf-8") == "c"
    finally:
        keeper.close_all()


def test_a_full_disk_lets_held_files_go_then_tries_once_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = files._durable_temp_sync
    failures = [errno.ENOSPC]
    drained: list[bool] = []

    def temp(path: Path, payload: bytes, mode: int) -> str:
        if failures:
            raise OSError(failures.pop(), os.strerror(errno.ENOSPC))
        return real(path, payload, mode)

    monkeypatch.setattr(files, "_durable_temp_sync", temp)
    monkeypatch.setattr(files._RELEASER, "drain", lambda timeout=10.0: drained.append(True) or True)
    path = tmp_path / "state.json"
    files.atomic_write_sync(path, "1")
    assert path.read_text(encoding="utf-8") == "1" and drained == [True]
    failures[:] = [errno.ENOSPC, errno.ENOSPC]  # still full once they are freed: reported, file kept
    with pytest.raises(LimitExceededError):
        files.atomic_write_sync(path, "2")
    assert path.read_text(encoding="utf-8") == "1" and len(drained) == 2
    failures[:] = [errno.EACCES]  # not about space: no waiting, no second try
    with pytest.raises(PermissionDeniedError):
        files.atomic_write_sync(path, "3")
    assert len(drained) == 2 and failures == []


def test_a_fifo_in_the_way_is_replaced_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    files.atomic_write_sync(path, "text")  # opening a FIFO to read it would wait for a writer forever
    assert path.read_text(encoding="utf-8") == "text"


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_the_releaser_is_bounded_in_handles_and_bytes_and_starts_over_after_a_fork(tmp_path: Path) -> None:
    releaser = files._Releaser(limit=2, max_bytes=100)
    releaser._start = lambda: True  # type: ignore[method-assign]  # a thread that never gets to run
    a, b, c, d = (os.open(tmp_path, os.O_RDONLY) for _ in range(4))
    releaser.close_later(a, 60)
    releaser.close_later(b, 60)  # 120 bytes would be held: closed at once
    releaser.close_later(c, 40)
    releaser.close_later(d, 0)  # two handles wait already: closed at once
    assert [_is_open(fd) for fd in (a, b, c, d)] == [True, False, True, False]
    assert releaser._held_bytes == 100
    releaser.after_fork()  # a child inherits the queue, not the thread: what waited is closed
    assert not _is_open(a) and not _is_open(c)
    assert releaser._queue.empty() and not releaser._started and releaser._held_bytes == 0


def test_the_releaser_thread_gives_back_what_it_closes(tmp_path: Path) -> None:
    releaser = files._Releaser(limit=8, max_bytes=1000)
    fds = [os.open(tmp_path, os.O_RDONLY) for _ in range(5)]
    for fd in fds:
        releaser.close_later(fd, 100)
    assert releaser.drain()
    assert not any(_is_open(fd) for fd in fds) and releaser._held_bytes == 0


def test_a_killed_writers_temp_file_is_swept_by_the_next_write_into_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_swept", set())
    target = tmp_path / "spec.md"
    target.write_text("kept")
    old = time.time() - files.STALE_TEMP_S - 60
    leftovers = {
        ".spec.md.x1y2z3w4.tmp": (old, False),  # ours, beside its file, stale: removed
        ".spec.md.a_b_c_d_.tmp": (time.time(), True),  # maybe another process's write in flight
        ".plan.md.x1y2z3w4.tmp": (old, True),  # no plan.md: not known to be ours
        ".notes.tmp": (old, True),  # not our name
        "spec.md.x1y2z3w4.tmp": (old, True),
    }
    for name, (mtime, _) in leftovers.items():
        (tmp_path / name).write_text("partial")
        os.utime(tmp_path / name, (mtime, mtime))
    os.symlink(tmp_path / "spec.md", tmp_path / ".spec.md.linklink.tmp")
    os.utime(tmp_path / ".spec.md.linklink.tmp", (old, old), follow_symlinks=False)
    files.atomic_write_sync(tmp_path / "other.md", "x")
    kept = {name for name, (_, stays) in leftovers.items() if stays} | {".spec.md.linklink.tmp"}
    assert {p.name for p in tmp_path.iterdir()} == kept | {"spec.md", "other.md"}
    (tmp_path / ".spec.md.q1q2q3q4.tmp").write_text("partial")
    os.utime(tmp_path / ".spec.md.q1q2q3q4.tmp", (old, old))
    files.atomic_write_sync(tmp_path / "other.md", "y")  # once per folder per process: not swept again
    assert (tmp_path / ".spec.md.q1q2q3q4.tmp").exists()


async def test_locked_update_creates_then_modifies(tmp_path: Path) -> None:
    path = tmp_path / "counter.json"
    assert await files.locked_update(path, lambda v: {"n": (v or {"n": 0})["n"] + 1}) == {"n": 1}
    assert await files.locked_update(path, lambda v: {"n": v["n"] + 1}) == {"n": 2}
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": 2}


async def test_locked_update_failure_in_fn_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"n": 1}', encoding="utf-8")

    def boom(value: object) -> object:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await files.locked_update(path, boom)
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": 1}


async def test_lock_timeout_is_a_conflict_error(tmp_path: Path) -> None:
    import filelock

    path = tmp_path / "s.json"
    # Another holder (same process, separate lock object).
    with filelock.FileLock(f"{path}.lock"), pytest.raises(ConflictError, match="stayed locked"):
        await files.locked_update(path, lambda v: 1, lock_timeout=0.2)


async def test_concurrent_in_process_updates_lose_nothing(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "counter.json"
    await asyncio.gather(*(files.locked_update(path, lambda v: (v or 0) + 1) for _ in range(50)))
    assert json.loads(path.read_text(encoding="utf-8")) == 50


@pytest.mark.slow
def test_two_processes_200_locked_increments_each_end_at_400(tmp_path: Path) -> None:
    counter = tmp_path / "counter.json"
    code = """
        import sys
        from pathlib import Path
        from infrastructure.files import locked_update_sync
        path = Path(sys.argv[1])
        for _ in range(200):
            locked_update_sync(path, lambda v: {"n": (v or {"n": 0})["n"] + 1})
    """
    workers = [run_python(code, str(counter)) for _ in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    assert json.loads(counter.read_text(encoding="utf-8")) == {"n": 400}


@pytest.mark.slow
def test_sigkill_during_a_write_loop_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    code = """
        import sys
        from pathlib import Path
        from infrastructure.files import atomic_write_sync, dump_json
        path = Path(sys.argv[1])
        i = 0
        while True:
            i += 1
            # Sizes vary a lot so a torn write would be visible as truncated JSON.
            atomic_write_sync(path, dump_json({"i": i, "pad": "x" * ((i * 7919) % 200_000)}))
    """
    for round_ in range(12):
        child = run_python(code, str(target))
        deadline = time.monotonic() + 10
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05 + (round_ % 4) * 0.03)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        document = json.loads(target.read_text(encoding="utf-8"))  # must always parse
        assert document["i"] >= 1
        assert len(document["pad"]) == (document["i"] * 7919) % 200_000


async def test_walk_skips_symlinks_and_pruned_dirs(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x", encoding="utf-8")
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "i.js").write_text("x", encoding="utf-8")
    (tmp_path / "src" / "loop").symlink_to(tmp_path)  # a loop if followed
    (tmp_path / "outside").symlink_to("/")
    found = await files.walk(tmp_path, skip_dirs={"node_modules"})
    assert [f.rel for f in found] == ["src/a.py"]
    with pytest.raises(LimitExceededError):
        await files.walk(tmp_path, max_entries=0)


async def test_list_dir_and_stat(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("12345", encoding="utf-8")
    entries = await files.list_dir(tmp_path)
    assert [(e.rel, e.is_dir, e.size if not e.is_dir else None) for e in entries] == [
        ("a.txt", False, 5),
        ("b", True, None),
    ]
    st = await files.stat(tmp_path / "a.txt")
    assert st is not None and st.st_size == 5
    assert await files.stat(tmp_path / "missing") is None


def test_make_dirs_fsyncs_each_new_folder_into_its_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(files, "fsync_dir", synced.append)
    files.make_dirs_sync(tmp_path / "a" / "b" / "c")
    assert (tmp_path / "a/b/c").is_dir()
    assert synced == [tmp_path, tmp_path / "a", tmp_path / "a" / "b"]
    synced.clear()
    files.make_dirs_sync(tmp_path / "a" / "b")  # already there: nothing to make durable
    assert synced == []
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="a file is in the way"):
        files.make_dirs_sync(tmp_path / "f")
    with pytest.raises(NotADirectoryError):
        files.make_dirs_sync(tmp_path / "f" / "g")


async def test_a_too_long_name_is_invalid_input_naming_the_path(tmp_path: Path) -> None:
    target = tmp_path / ("p" * 300) / "state.json"
    with pytest.raises(InvalidInputError, match="too long"):
        await files.atomic_write(target, "{}")
    with pytest.raises(InvalidInputError, match="too long"):
        await files.read_text(target)


async def test_a_symlinked_lock_file_is_refused_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.lock"
    path = tmp_path / "state.json"
    (tmp_path / "state.json.lock").symlink_to(elsewhere)
    with pytest.raises(PermissionDeniedError, match="symlink"):
        await files.locked_update(path, lambda v: 1)
    assert not elsewhere.exists() and not path.exists()


@pytest.mark.parametrize(
    ("err", "kind"),
    [(errno.ENOSPC, LimitExceededError), (errno.EROFS, PermissionDeniedError), (errno.EIO, DomainError)],
)
def test_os_errors_become_domain_errors_an_agent_can_act_on(err: int, kind: type[DomainError]) -> None:
    translated = files.os_error("/p/x", OSError(err, os.strerror(err)))
    assert type(translated) is kind and "/p/x" in translated.message


def test_yaml_with_a_duplicate_key_or_an_impossible_value_is_corrupt_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yml"
    with pytest.raises(CorruptDataError, match="line 3 column 1: duplicate key 'name'"):
        files.parse_yaml(path, "name: a\nversion: 1\nname: b\n")
    with pytest.raises(CorruptDataError, match=r"month must be in 1\.\.12"):
        files.parse_yaml(path, "created: 2025-13-45\n")
    base = "base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n"
    assert files.parse_yaml(path, base)["d"] == {"x": 1, "y": 2}  # merge keys are not duplicates
    nested = "top: {<<: &mid {<<: &base {a: 1}, a: 2}}\nx: *mid\n"  # flattened in place by the first use
    assert files.parse_yaml(path, nested)["x"] == {"a": 2}
    assert files.parse_yaml(path, '1: a\n"1": b\n') == {1: "a", "1": "b"}  # an int and a string
    with pytest.raises(CorruptDataError, match="line 2 column 12: duplicate key 'x'"):
        files.parse_yaml(path, "l:\n  - {x: 1, x: 2}\n")


def test_a_number_too_long_to_read_is_named_in_the_files_terms(tmp_path: Path) -> None:
    """Python's own message advised calling sys.set_int_max_str_digits(), which a user cannot act on."""
    huge = "1" * 5001
    for parse, text in ((files.parse_yaml, f"version: {huge}\n"), (files.parse_json, f'{{"n": {huge}}}')):
        with pytest.raises(CorruptDataError) as caught:
            parse(tmp_path / "f", text)
        assert "a number has over 4300 digits; quote it if it is text, or shorten it" in caught.value.message
        assert "sys." not in caught.value.message


def test_json_decodes_as_the_standard_library_does_and_refuses_what_would_lose_data(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    document = {
        "s": 'café \U0001f600 \\ " \t \x7f',
        "n": [0, -1, 1.5, 1e-320, 2.2250738585072011e-308, 12345678901234567890123, None, True, False],
        "o": {"a": [{"k": 1}, {"k": 1}], "": {}},
    }
    text = json.dumps(document, indent=1)
    assert files.parse_json(path, text) == json.loads(text) == document
    # The fast parser stops at 200 levels; deeper but valid documents are still read.
    deep = "[" * 500 + "]" * 500
    assert files.parse_json(path, deep) == json.loads(deep)
    with pytest.raises(CorruptDataError, match="'b' appears twice"):
        files.parse_json(path, '{"a": [{"b": 1, "c": 2, "b": 3}]}')
    with pytest.raises(CorruptDataError, match="'b' appears twice"):
        files.parse_json(path, "[" * 300 + '{"b": 1, "b": 1}' + "]" * 300)
    with pytest.raises(CorruptDataError, match="lone UTF-16 surrogate"):
        files.parse_json(path, '["\\ud83d\\ude00", "\\ude00"]')
    with pytest.raises(CorruptDataError, match="line 2 column 1"):
        files.parse_json(path, '{"a": 1,\n}')


def test_make_dirs_goes_as_deep_as_the_os_allows(tmp_path: Path) -> None:
    """It recursed once per missing level: 2,000 new levels (4 KB of path) were a RecursionError."""
    deep = tmp_path.joinpath(*["a"] * 2000)
    files.make_dirs_sync(deep)
    assert deep.is_dir()
    while deep != tmp_path:  # removed here: shutil.rmtree (pytest's cleanup) recurses once per level
        deep.rmdir()
        deep = deep.parent
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        files.make_dirs_sync(tmp_path / "file" / "sub")


def test_our_own_temp_names_are_the_ones_the_sweep_recognises(tmp_path: Path) -> None:
    fd, tmp = files._new_temp(os.fspath(tmp_path), "spec.md")
    os.close(fd)
    found = files._TEMP_NAME.fullmatch(os.path.basename(tmp))
    assert found is not None and found.group(1) == "spec.md"
    assert stat.S_IMODE(os.stat(tmp).st_mode) == 0o600  # private until it is complete


def test_a_short_write_is_continued_until_everything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))  # 7 bytes a call
    files.atomic_write_sync(tmp_path / "f.txt", "0123456789" * 10)
    assert (tmp_path / "f.txt").read_text() == "0123456789" * 10


def test_a_folder_this_process_made_is_not_listed_for_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_swept", set())
    scanned: list[str] = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: scanned.append(os.fspath(path)) or real_scandir(path))
    files.atomic_write_sync(tmp_path / "new" / "deeper" / "f.txt", "x")
    files.atomic_write_sync(tmp_path / "g.txt", "y")
    assert scanned == [os.fspath(tmp_path)]  # made just now: nobody can have left a temp file there


def test_a_read_that_must_not_follow_links_refuses_one(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("real")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    assert files.read_text_sync(tmp_path / "link.txt") == "real"
    assert files.read_text_sync(tmp_path / "real.txt", follow_symlinks=False) == "real"
    with pytest.raises(DomainError, match="symlink"):
        files.read_text_sync(tmp_path / "link.txt", follow_symlinks=False)


def test_a_write_that_makes_no_progress_fails_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(DomainError):
        files.atomic_write_sync(target, "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_a_locked_update_told_not_to_follow_links_refuses_one(tmp_path: Path) -> None:
    """Used for SKILL.md: a file swapped for a link while the update waited for its lock is not read through."""
    outside = tmp_path / "outside.json"
    outside.write_text('{"secret": 1}')
    linked = tmp_path / "data.json"
    linked.symlink_to(outside)
    with pytest.raises(PermissionDeniedError, match="symlink"):
        files.locked_update_sync(linked, lambda current: {"seen": current}, follow_symlinks=False)
    assert outside.read_text() == '{"secret": 1}' and linked.is_symlink()
