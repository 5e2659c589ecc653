"""`.cde/state.json` on disk, updated only under the cross-process lock.

Reads are served from a process-wide snapshot per file, guarded by the file's
fingerprint: a state written by this process is primed into the snapshot by the
writer (with the fingerprint taken under the lock), so the next read costs a
stat, not a parse. Another process's write changes the fingerprint and is read
afresh. Snapshots are shared: callers must not mutate what `load()` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from domain.errors import CorruptDataError, NotFoundError
from domain.project_state import SCHEMA_VERSION, ProjectState, utc_now
from infrastructure import files
from infrastructure.cache import cached

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


def parse_state_text(path: Path, text: str) -> ProjectState:
    """Parse and validate in one pass (pydantic-core); on any problem, the precise slow path explains it."""
    try:
        state = ProjectState.model_validate_json(text)
    except ValidationError:
        return parse_state(path, files.parse_json(path, text))  # raises the error that names the problem
    if state.schema_version > SCHEMA_VERSION:
        return parse_state(path, {"schema_version": state.schema_version})
    return state


def load_state_sync(path: Path) -> ProjectState:
    """Read and validate in one thread hop (validating a large state is milliseconds of CPU)."""
    try:
        text = files.read_text_sync(path)
    except NotFoundError:
        return ProjectState()
    return parse_state_text(path, text)


_load_state = files.in_thread(load_state_sync)


@cached("state.snapshot", maxsize=64, depends_on=lambda path: [path])
async def _snapshot(path: Path) -> ProjectState:
    return await _load_state(path)


def dump_state(state: ProjectState) -> str:
    """Indented JSON (readable, diffable) written by pydantic's encoder, not the pure-Python stdlib one."""
    return state.model_dump_json(indent=2) + "\n"


class FsStateRepository:
    """The StateRepository port for one project root."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._lock_timeout = lock_timeout

    async def load(self) -> ProjectState:
        """The current state: a shared snapshot, never to be mutated by the caller."""
        return await _snapshot(self.path)

    async def update(self, change: Callable[[ProjectState], T]) -> T:
        results: list[T] = []

        def apply(current: ProjectState | None) -> ProjectState:
            # `current` was parsed from the file under the lock: this call's own copy, safe to mutate.
            state = current if current is not None else ProjectState()
            results.append(change(state))
            state.updated_at = utc_now()
            return state

        try:
            state, written = await files.tracked_update(
                self.path, apply, lock_timeout=self._lock_timeout, loads=parse_state_text, dumps=dump_state
            )
        except BaseException:
            _snapshot.invalidate(self.path)
            raise
        _snapshot.cache.prime(state, [(str(self.path), written)], self.path)
        return results[0]
