"""`.cde/state.json` on disk, updated only under the cross-process lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from domain.errors import CorruptDataError, NotFoundError
from domain.project_state import SCHEMA_VERSION, ProjectState, utc_now
from infrastructure import files

T = TypeVar("T")

STATE_FILE = Path(".cde") / "state.json"


def parse_state(path: Path, raw: Any) -> ProjectState:
    """Validate a decoded state document, refusing other shapes and newer schema versions."""
    if raw is None:
        return ProjectState()
    if not isinstance(raw, dict):
        raise CorruptDataError(path, f"expected a JSON object, found {type(raw).__name__}")
    version = raw.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise CorruptDataError(
            path, f"schema_version {version} was written by a newer cde-orchestrator; upgrade this server"
        )
    try:
        return ProjectState.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise CorruptDataError(path, f"{where}: {first['msg']}") from None


def load_state_sync(path: Path) -> ProjectState:
    """Read and validate in one go (one thread hop: validating a large state is milliseconds of CPU)."""
    try:
        raw = files.read_json_sync(path)
    except NotFoundError:
        return ProjectState()
    return parse_state(path, raw)


_load_state = files.in_thread(load_state_sync)


def dump_state(state: ProjectState) -> str:
    """Indented JSON, written by pydantic's encoder: same shape as `json.dumps(indent=2)` of the
    dumped model, several times faster on a large state (the stdlib indenting encoder is pure Python)."""
    return state.model_dump_json(indent=2) + "\n"


class FsStateRepository:
    """The StateRepository port for one project root."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._lock_timeout = lock_timeout

    async def load(self) -> ProjectState:
        return await _load_state(self.path)

    async def update(self, change: Callable[[ProjectState], T]) -> T:
        results: list[T] = []

        def apply(raw: Any) -> ProjectState:
            state = parse_state(self.path, raw)
            results.append(change(state))
            state.updated_at = utc_now()
            return state

        await files.locked_update(self.path, apply, lock_timeout=self._lock_timeout, dumps=dump_state)
        return results[0]
