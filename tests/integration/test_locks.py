"""Cross-process locks on sidecar files: the lock taken is always the one at the path."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.fs_skill_library import FsSkillLibrary
from domain.errors import ConflictError
from domain.skills.model import Skill
from infrastructure import locks
from infrastructure.files import locked_update_sync
from infrastructure.locks import LockGoneError, exclusive

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class _Watched:
    """The locks module's `time`, telling when a waiter first sleeps: it has found the lock held."""

    monotonic = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self.waiting = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.waiting.set()
        time.sleep(seconds)


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> _Watched:
    clock = _Watched()
    monkeypatch.setattr(locks, "time", clock)
    return clock


def _waiter(lock: Path, got: threading.Event, failed: list[BaseException]) -> threading.Thread:
    def wait() -> None:
        try:
            with exclusive(lock, 10):
                got.set()
        except BaseException as exc:  # reported to the test
            failed.append(exc)
            got.set()

    thread = threading.Thread(target=wait)
    thread.start()
    return thread


def test_a_lock_file_moved_away_while_waiting_is_not_the_lock_taken(tmp_path: Path, watched: _Watched) -> None:
    """A skill's delete renames its folder (lock file included) while holding the lock; an update waiting
    on it then got that old lock and wrote beside the holder of the new one: an update was lost."""
    folder = tmp_path / "skill"
    folder.mkdir()
    lock = folder / "SKILL.md.lock"
    got = threading.Event()
    failed: list[BaseException] = []
    with exclusive(lock, 1):  # the delete
        waiter = _waiter(lock, got, failed)
        assert watched.waiting.wait(10)  # blocked on the lock
        os.rename(folder, tmp_path / ".trash-skill")
        folder.mkdir()  # saved again, and a writer of the new skill holds its lock
        new_holder = exclusive(lock, 1)
        new_holder.__enter__()
    try:
        assert not got.wait(0.3), "took the moved lock while the new one was held"
    finally:
        new_holder.__exit__(None, None, None)
    assert got.wait(5) and not failed
    waiter.join(5)


def test_a_lock_whose_folder_is_gone_is_not_recreated(tmp_path: Path, watched: _Watched) -> None:
    folder = tmp_path / "skill"
    folder.mkdir()
    lock = folder / "SKILL.md.lock"
    got = threading.Event()
    failed: list[BaseException] = []
    with exclusive(lock, 1):
        waiter = _waiter(lock, got, failed)
        assert watched.waiting.wait(10)  # blocked on the lock
        os.rename(folder, tmp_path / ".trash-skill")
    assert got.wait(5)
    waiter.join(5)
    assert len(failed) == 1 and isinstance(failed[0], LockGoneError)
    assert not folder.exists()


def test_an_update_waiting_through_a_delete_and_a_new_save_waits_for_the_new_skills_lock(
    tmp_path: Path, watched: _Watched
) -> None:
    """The race a helper review found: two updates both written as version 2, one of them lost."""
    project = tmp_path / "p"
    project.mkdir()
    library = FsSkillLibrary(project, tmp_path / "home", bundled=tmp_path / "bundled")

    def text(body: str) -> Callable[[Skill | None], Skill]:
        return lambda prev: Skill(
            name="rs", description="d", body=body, scope="project", version=prev.version + 1 if prev else 1
        )

    library.write_sync("rs", "project", text("first"), NOW)
    folder = project / ".cde" / "skills" / "rs"
    lock = folder / "SKILL.md.lock"
    done = threading.Event()
    failed: list[BaseException] = []

    def update() -> None:
        try:
            library.write_sync("rs", "project", text("updated"), NOW)
        except BaseException as exc:  # reported to the test
            failed.append(exc)
        done.set()

    with exclusive(lock, 1):  # a delete, under the old skill's lock
        updater = threading.Thread(target=update)
        updater.start()
        assert watched.waiting.wait(10)  # blocked on the lock
        os.rename(folder, folder.parent / ".trash-rs-x")
        library.write_sync("rs", "project", text("saved again"), NOW)
        other = exclusive(lock, 1)  # another process changing the new skill
        other.__enter__()
    try:
        assert not done.wait(0.3), "the update went ahead while the new skill's lock was held"
    finally:
        other.__exit__(None, None, None)
    assert done.wait(5) and not failed, failed
    updater.join(5)
    stored = library.read_sync("rs", NOW, "project", None).skill
    assert (stored.version, stored.body) == (2, "updated")
    assert library.read_sync("rs", NOW, "project", 1).skill.body == "saved again"
    library.close()


def test_an_update_whose_file_went_away_with_its_folder_is_a_conflict_to_retry(
    tmp_path: Path, watched: _Watched
) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    target = folder / "job.json"
    failed: list[BaseException] = []
    done = threading.Event()

    def update() -> None:
        try:
            locked_update_sync(target, lambda current: {"n": 1}, timeout=10)
        except BaseException as exc:  # reported to the test
            failed.append(exc)
        done.set()

    with exclusive(f"{target}.lock", 1):
        updater = threading.Thread(target=update)
        updater.start()
        assert watched.waiting.wait(10)  # blocked on the lock
        os.rename(folder, tmp_path / "gone")
    assert done.wait(5)
    updater.join(5)
    assert [type(e) for e in failed] == [ConflictError]
    assert str(failed[0]) == f"{target} was moved or deleted while this change waited for it; retry"
    assert not folder.exists()  # not made again
