from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.fs_state_repository import FsStateRepository
from domain.errors import CorruptDataError
from domain.project_state import SCHEMA_VERSION, ProjectState


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
