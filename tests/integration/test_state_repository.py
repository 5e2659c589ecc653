from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import adapters.fs_state_repository as state_module
from adapters.fs_state_repository import FsStateRepository, load_state_sync, render_state
from domain.errors import CorruptDataError, DomainError, LimitExceededError
from domain.feature import Feature
from domain.project_state import SCHEMA_VERSION, ProjectState
from infrastructure import files


async def test_missing_state_is_empty_and_update_creates_it(project: Path) -> None:
    repo = FsStateRepository(project)
    state = await repo.load()
    assert state.schema_version == SCHEMA_VERSION
    assert not repo.path.exists()

    def touch(s: ProjectState) -> str:
        return "changed"

    assert await repo.update(touch) == "changed"
    saved = json.loads(repo.path.read_text(encoding="utf-8"))
    assert saved["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{broken", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema_version": 1, "unexpected": true}', "unexpected"),
        (b'{"schema_version": 99}', "newer cde-orchestrator"),
        (b"\xff\xfe", "invalid UTF-8"),
        (b"null", "expected a JSON object, found null"),
        (b'{"schema_version": 1, "features": {}, "onboarding": {"n": ' + b"1" * 5000 + b"}}", "invalid JSON: "),
        (b'{"schema_version": 1, "features": {}, "features": {}}', "'features' appears twice"),
        (b'{"schema_version": 1, "onboarding": ' + b"[" * 1200 + b"]" * 1200 + b"}", "nested too deeply"),
        (b'{"schema_version": 1, "features": {}, "onboarding": {"x": "a\\ud800b"}}', "lone UTF-16 surrogate"),
    ],
)
async def test_corrupt_state_is_reported_and_preserved(project: Path, content: bytes, fragment: str) -> None:
    repo = FsStateRepository(project)
    repo.path.parent.mkdir(parents=True)
    repo.path.write_bytes(content)
    with pytest.raises(CorruptDataError, match=fragment) as info:
        await repo.load()
    assert str(repo.path) in str(info.value)
    with pytest.raises(CorruptDataError):
        await repo.update(lambda s: None)
    assert repo.path.read_bytes() == content


async def test_a_folder_in_place_of_the_lock_file_is_named(project: Path) -> None:
    repo = FsStateRepository(project)
    (project / ".cde/state.json.lock").mkdir(parents=True)
    with pytest.raises(DomainError, match=r"state\.json\.lock is a directory"):
        await repo.update(lambda state: None)


async def test_an_escaped_surrogate_pair_is_text(project: Path) -> None:
    repo = FsStateRepository(project)
    await repo.update(_add(_feature("a1", "smile", prompt="Add a \U0001f642 button")))
    text = repo.path.read_text(encoding="utf-8")
    repo.path.write_text(text.replace("\U0001f642", "\\ud83d\\ude42"), encoding="utf-8")  # as ensure_ascii writes it
    assert (await repo.load()).features["a1"].user_prompt == "Add a \U0001f642 button"


async def test_a_change_that_would_outgrow_what_can_be_read_back_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = FsStateRepository(project)
    await repo.update(_add(_feature("a1", "small")))
    before = repo.path.read_bytes()
    monkeypatch.setattr(state_module, "MAX_STATE_BYTES", 4096)
    with pytest.raises(LimitExceededError, match="over the 4096 it can be read back with"):
        await repo.update(_add(_feature("b2", "big", prompt="x" * 5000)))
    assert repo.path.read_bytes() == before
    assert set((await repo.load()).features) == {"a1"}


def _feature(fid: str, name: str, prompt: str = "Add a flag") -> Feature:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return Feature.start(
        feature_id=fid, name=name, user_prompt=prompt, workflow="cde-default@1.0", workflow_type="standard",
        recipe_id="ai-engineer", phases=["define", "review"], skipped=[], skills=[], now=now,
    )  # fmt: skip


def _add(feature: Feature) -> Callable[[ProjectState], None]:
    def change(state: ProjectState) -> None:
        state.features[feature.id] = feature

    return change


def test_the_document_is_what_pydantic_writes_with_one_line_per_feature() -> None:
    state = ProjectState()
    for i, prompt in enumerate(["plain", 'quotes " and \\ and \n newline', "non-ASCII: é ✓ 🚀 \u2028"]):
        state.features[f"abc00000000{i}"] = _feature(f"abc00000000{i}", f"f{i}", prompt)
    text, _ = render_state(state)
    assert json.loads(text) == json.loads(state.model_dump_json())
    assert ProjectState.model_validate_json(text) == state
    lines = text.rstrip("\n").split("\n")  # (splitlines would also break at U+2028)
    assert len(lines) == 1 + 2 + 1 + 3 + 1 + 1 + 1  # {, version, updated_at, features {, 3 features, }, onboarding, }
    assert all(line.startswith('    "abc00000000') for line in lines[4:7])
    empty = ProjectState()
    assert json.loads(render_state(empty)[0]) == json.loads(empty.model_dump_json())


async def test_an_update_edits_a_copy_and_encodes_only_what_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = FsStateRepository(project)
    first, second = _feature("aaa000000001", "one"), _feature("bbb000000002", "two")
    await repo.update(_add(first))
    await repo.update(_add(second))
    before = await repo.load()
    parses: list[int] = []
    encodes: list[str] = []
    real_parse = state_module.parse_state_text
    monkeypatch.setattr(state_module, "parse_state_text", lambda p, t: parses.append(1) or real_parse(p, t))
    real_dump = BaseModel.model_dump_json

    def counting_dump(model: BaseModel, **kwargs: Any) -> str:
        encodes.append(type(model).__name__)
        return real_dump(model, **kwargs)

    monkeypatch.setattr(BaseModel, "model_dump_json", counting_dump)

    def submit(state: ProjectState) -> None:
        edited = state.features[first.id].close("cancelled", "stop", now=datetime(2025, 1, 2, tzinfo=UTC))
        state.features[first.id] = edited

    await repo.update(submit)
    assert parses == []  # the file still held what this process wrote: no re-parse
    assert encodes == ["Feature"]  # only the feature that changed
    after = await repo.load()
    assert after.features[first.id].status == "cancelled"
    assert after.features[second.id] is before.features[second.id]  # shared, never copied
    assert before.features[first.id].status == "define"  # the previous snapshot is untouched
    monkeypatch.setattr(BaseModel, "model_dump_json", real_dump)
    assert load_state_sync(repo.path) == after


async def test_another_writers_change_is_read_under_the_lock_and_kept(project: Path) -> None:
    repo = FsStateRepository(project)
    await repo.update(_add(_feature("aaa000000001", "one")))
    await repo.load()
    # Another process adds a feature behind this one's back (same size and timestamps would not matter:
    # the update compares the file's bytes with what this process last wrote, not its fingerprint).
    document = json.loads(repo.path.read_text(encoding="utf-8"))
    document["features"]["ccc000000003"] = json.loads(_feature("ccc000000003", "three").model_dump_json())
    repo.path.write_text(json.dumps(document), encoding="utf-8")
    await repo.update(_add(_feature("bbb000000002", "two")))
    assert set(load_state_sync(repo.path).features) == {"aaa000000001", "bbb000000002", "ccc000000003"}


async def test_a_failing_change_writes_nothing_and_keeps_the_snapshot(project: Path) -> None:
    repo = FsStateRepository(project)
    await repo.update(_add(_feature("aaa000000001", "one")))
    written = repo.path.read_bytes()
    snapshot = await repo.load()

    def half_done(state: ProjectState) -> None:
        state.features["bbb000000002"] = _feature("bbb000000002", "two")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await repo.update(half_done)
    assert repo.path.read_bytes() == written
    assert list((await repo.load()).features) == ["aaa000000001"]
    assert list(snapshot.features) == ["aaa000000001"]


async def test_an_empty_file_appearing_after_a_missing_one_is_reported_not_replaced(project: Path) -> None:
    repo = FsStateRepository(project)
    assert (await repo.load()).features == {}  # no file yet
    repo.path.parent.mkdir(parents=True)
    repo.path.write_bytes(b"")
    with pytest.raises(CorruptDataError):
        await repo.update(_add(_feature("aaa000000001", "one")))
    assert repo.path.read_bytes() == b""


class _Step:
    """A staged step that records where and in what order it ran."""

    def __init__(self, log: list[str], *, fail: bool = False) -> None:
        self.log = log
        self.fail = fail

    def run(self) -> None:
        self.log.append(f"run in {threading.current_thread().name}")
        if self.fail:
            raise OSError(28, "No space left on device")

    def settle(self) -> None:
        self.log.append(f"settle in {threading.current_thread().name}")

    def undo(self) -> None:
        self.log.append(f"undo in {threading.current_thread().name}")


async def test_a_write_that_fails_once_the_state_landed_undoes_nothing_and_one_before_undoes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the new state takes the file's place (a full disk) the step is undone; after it (the directory
    fsync fails) the state refers to the step's work, which stays, whatever another writer does next."""
    real_temp, real_fsync_dir = files._durable_temp_sync, files.fsync_dir
    failing: list[str] = []

    def durable_temp(path: Path, payload: bytes, mode: int) -> str:
        if failing == ["before"]:
            raise OSError(28, "No space left on device")
        return real_temp(path, payload, mode)

    def fsync_dir(directory: Path) -> None:
        if failing == ["after"]:
            raise OSError(5, "Input/output error")
        real_fsync_dir(directory)

    monkeypatch.setattr(files, "_durable_temp_sync", durable_temp)
    monkeypatch.setattr(files, "fsync_dir", fsync_dir)
    repo = FsStateRepository(project)
    await repo.update(lambda state: None)  # the folder exists: only the state file's writes are at stake
    logs: dict[str, list[str]] = {}
    for when in ("after", "before"):
        failing[:] = [when]
        logs[when] = []
        with pytest.raises(DomainError):
            await repo.update(lambda state: None, first=_Step(logs[when]))
    assert {k: [entry.split(" in ")[0] for entry in v] for k, v in logs.items()} == {
        "after": ["run", "settle"],
        "before": ["run", "undo", "settle"],
    }


async def test_a_state_change_that_fails_undoes_the_staged_step(project: Path) -> None:
    repo = FsStateRepository(project)
    repo.path.parent.mkdir(parents=True)
    repo.path.write_bytes(b"null")
    log: list[str] = []
    with pytest.raises(CorruptDataError):
        await repo.update(lambda state: None, first=_Step(log))
    assert [entry.split(" in ")[0] for entry in log] == ["run", "undo", "settle"]
    assert repo.path.read_bytes() == b"null"


async def test_a_staged_step_runs_first_in_the_updates_worker_thread_and_settles_on_the_loop(project: Path) -> None:
    repo = FsStateRepository(project)
    log: list[str] = []

    def change(state: ProjectState) -> None:
        log.append(f"change in {threading.current_thread().name}")
        state.features["aaa000000001"] = _feature("aaa000000001", "one")

    await repo.update(change, first=_Step(log))
    main = threading.current_thread().name
    worker = log[0].removeprefix("run in ")
    assert worker != main  # the disk work did not block the event loop...
    assert log == [f"run in {worker}", f"change in {worker}", f"settle in {main}"]  # ...and took one hop
    assert list(load_state_sync(repo.path).features) == ["aaa000000001"]


async def test_a_failing_staged_step_leaves_the_state_alone_and_still_settles(project: Path) -> None:
    repo = FsStateRepository(project)
    await repo.update(_add(_feature("aaa000000001", "one")))
    written = repo.path.read_bytes()
    log: list[str] = []
    with pytest.raises(OSError, match="No space left"):
        await repo.update(_add(_feature("bbb000000002", "two")), first=_Step(log, fail=True))
    assert [entry.split(" in ")[0] for entry in log] == ["run", "settle"]
    assert repo.path.read_bytes() == written
    assert list((await repo.load()).features) == ["aaa000000001"]


async def test_a_cancelled_update_settles_its_step_only_once_the_thread_is_done(project: Path) -> None:
    repo = FsStateRepository(project)
    log: list[str] = []
    release = threading.Event()

    class Blocking(_Step):
        def run(self) -> None:
            log.append("run starts")
            release.wait(10)
            log.append("run ends")

    updating = asyncio.create_task(repo.update(_add(_feature("aaa000000001", "one")), first=Blocking(log)))
    while not log:
        await asyncio.sleep(0.001)
    updating.cancel()
    with pytest.raises(asyncio.CancelledError):
        await updating
    assert log == ["run starts"]  # not settled while the thread still runs the step
    release.set()
    for _ in range(1000):
        if len(log) == 3:
            break
        await asyncio.sleep(0.005)
    assert [entry.split(" in ")[0] for entry in log] == ["run starts", "run ends", "settle"]
    assert list(load_state_sync(repo.path).features) == ["aaa000000001"]  # the commit itself landed


async def test_a_feature_filed_under_another_key_is_reported_not_duplicated(project: Path) -> None:
    """A bad merge or hand edit: updates look features up by id and would otherwise file a second copy."""
    feature = Feature.start(
        feature_id="a1b2c3d4e5f6",
        name="export",
        user_prompt="Export",
        workflow="default@1",
        workflow_type="standard",
        recipe_id="ai-engineer",
        phases=["define", "test"],
        skipped=[],
        skills=[],
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    repo = FsStateRepository(project)
    repo.path.parent.mkdir(parents=True)
    text, _ = render_state(ProjectState.model_construct(features={"aaaaaaaaaaaa": feature}))
    repo.path.write_text(text)
    with pytest.raises(CorruptDataError, match="filed under the key 'aaaaaaaaaaaa'; the key must be its id"):
        await repo.load()
    assert repo.path.read_text() == text
