"""`.cde/state.json` on disk, updated only under the cross-process lock.

Reads are served from a process-wide snapshot per file, guarded by the file's
fingerprint: a state written by this process is primed into the snapshot by the
writer (with the fingerprint taken under the lock), so the next read costs a
stat, not a parse. Another process's write changes the fingerprint and is read
afresh. Snapshots are shared: callers must not mutate what `load()` returns.

An update costs what changed, not the size of the state: under the lock the file
is read and, when its bytes are exactly the snapshot's, the snapshot is reused
(a shallow copy: the features are immutable, a change swaps the one it edits)
instead of parsed; and the document is written from the JSON of each feature,
kept from the previous write for every feature that is still the same object.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from domain.clock import utc_now
from domain.errors import CorruptDataError, LimitExceededError, NotFoundError
from domain.ports import Staged
from domain.project_state import SCHEMA_VERSION, ProjectState
from infrastructure import files
from infrastructure.cache import Fingerprint, cached

T = TypeVar("T")
logger = logging.getLogger(__name__)

STATE_FILE = Path(".cde") / "state.json"
MAX_STATE_BYTES = files.DEFAULT_MAX_BYTES  # what a read accepts: a bigger write would lock the project out

# The JSON line of each model in the document, with the object it was made from: by field, then by key in
# that field's mapping ("" for a field holding one model). Reused while that place holds the very same
# (immutable) object.
Parts = Mapping[str, Mapping[str, tuple[BaseModel, str]]]


@dataclass(frozen=True)
class Snapshot:
    """A parsed state with the exact text it was read from or written as (None: there was no file)."""

    state: ProjectState
    text: str | None
    parts: Parts = field(default_factory=dict)


_JSON_TYPES = {
    type(None): "null",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
}


def parse_state(path: Path, raw: Any) -> ProjectState:
    """Validate a decoded state document, refusing other shapes and newer schema versions."""
    if not isinstance(raw, dict):  # `null` too: only a missing file is an empty state
        raise CorruptDataError(path, f"expected a JSON object, found {_JSON_TYPES.get(type(raw), 'something else')}")
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
    """Decode (refusing repeated keys, which pydantic's JSON parser would drop unseen), then validate.

    Runs only for text this process did not write itself: another server's write, a hand edit.
    """
    return parse_state(path, files.parse_json(path, text))


def load_state_sync(path: Path) -> ProjectState:
    """Read and validate in one thread hop (validating a large state is milliseconds of CPU)."""
    return _read_snapshot_sync(path).state


def _read_snapshot_sync(path: Path) -> Snapshot:
    try:
        text = files.read_text_sync(path)
    except NotFoundError:
        return Snapshot(ProjectState(), None)
    return Snapshot(parse_state_text(path, text), text)


_read_snapshot = files.in_thread(_read_snapshot_sync)


@cached("state.snapshot", maxsize=64, depends_on=lambda path: [path])
async def _snapshot(path: Path) -> Snapshot:
    return await _read_snapshot(path)


def render_state(state: ProjectState, known: Parts | None = None) -> tuple[str, Parts]:
    """The state document, one line per feature (and per other model field), and the JSON of its parts.

    One line per feature keeps the file small (it is fsynced on every update) and
    its diffs to the features that changed. Each feature is encoded on its own, or
    taken from `known` when it is the very object encoded there, so rewriting a
    state where one feature changed encodes that feature only (and costs ~0.3 us
    per unchanged one: this runs under the state lock on every update).
    """
    previous = known or {}
    parts: dict[str, dict[str, tuple[BaseModel, str]]] = {}
    lines = []
    for name in type(state).model_fields:
        value = getattr(state, name)
        seen = previous.get(name, {})
        if isinstance(value, BaseModel):
            part = seen.get("")
            if part is None or part[0] is not value:
                part = (value, f"  {_json(name)}: {value.model_dump_json()}")
            parts[name] = {"": part}
            lines.append(part[1])
        elif isinstance(value, dict) and value and (block := _model_lines(value, seen)) is not None:
            parts[name] = block
            entries = ",\n".join([part[1] for part in block.values()])
            lines.append(f'  "{name}": {{\n{entries}\n  }}')
        else:
            lines.append(f'  "{name}": {_json(value)}')
    return "{\n" + ",\n".join(lines) + "\n}\n", parts


def _model_lines(
    value: dict[Any, Any], seen: Mapping[str, tuple[BaseModel, str]]
) -> dict[str, tuple[BaseModel, str]] | None:
    """The line of each model in a mapping of models (reusing `seen`), or None if it holds anything else."""
    block: dict[str, tuple[BaseModel, str]] = {}
    for key, model in value.items():
        part = seen.get(key)
        if part is None or part[0] is not model:
            if not isinstance(model, BaseModel):
                return None
            part = (model, f"    {_json(key)}: {model.model_dump_json()}")
        block[key] = part
    return block


def _json(value: Any) -> str:
    return pydantic_core.to_json(value).decode("utf-8")


def _editable(state: ProjectState) -> ProjectState:
    """A copy `change` may edit: its own top-level fields and features mapping, sharing the immutable features."""
    return state.model_copy(update={"features": dict(state.features)})


def _update_sync(
    path: Path,
    change: Callable[[ProjectState], T],
    previous: Snapshot | None,
    lock_timeout: float,
    first: Staged | None = None,
) -> tuple[T, Snapshot, Fingerprint]:
    """[first →] read → change → write under the file lock; reuses `previous` when the file still holds its bytes.

    `first` runs before the file lock is taken (it only has to land before the state does),
    though after this process's other writers of the state, which queue on the writer lock.
    """
    if first is not None:
        first.run()
    landed: list[bool] = []  # set once the new state has taken the file's place
    try:
        return _locked_update_sync(path, change, previous, lock_timeout, landed)
    except BaseException:
        # Undone unless the new state took the file's place (it refers to what `first` made; a failure
        # after that, at the directory fsync, leaves it there): a refusal, a full disk or a read-only
        # folder before it leaves the old state, which knows nothing of it.
        if first is not None and not landed:
            try:
                first.undo()
            except Exception:  # the update's own failure is the one to report
                logger.warning("undoing what an update staged failed", exc_info=True)
        raise


def _locked_update_sync(
    path: Path,
    change: Callable[[ProjectState], T],
    previous: Snapshot | None,
    lock_timeout: float,
    landed: list[bool],
) -> tuple[T, Snapshot, Fingerprint]:
    outcome: list[Any] = []

    def loads(path: Path, text: str) -> ProjectState:
        if previous is not None and text == previous.text:
            return _editable(previous.state)
        return parse_state_text(path, text)

    def apply(current: ProjectState | None) -> ProjectState:
        state = current if current is not None else ProjectState()
        outcome.append(change(state))
        state.updated_at = utc_now()
        return state

    def dumps(state: ProjectState) -> str:
        text, parts = render_state(state, previous.parts if previous is not None else None)
        if len(text) > MAX_STATE_BYTES // 4 and len(text.encode("utf-8")) > MAX_STATE_BYTES:
            raise LimitExceededError(
                f"this change would make {path} {len(text.encode('utf-8'))} bytes, over the {MAX_STATE_BYTES} it "
                "can be read back with; it is refused. It keeps every feature's prompt and results: keep results "
                "short (submit the path of a file holding long text), or archive old features out of it by hand"
            )
        outcome.append(Snapshot(state, text, parts))
        return text

    _, written = files.tracked_update_sync(
        path, apply, timeout=lock_timeout, loads=loads, dumps=dumps, on_replaced=lambda: landed.append(True)
    )
    result, snapshot = outcome
    return result, snapshot, written


def _finished_late(first: Staged | None, work: asyncio.Future[Any]) -> None:
    """An update whose caller was cancelled has finished in its thread: settle what it staged."""
    if not work.cancelled() and work.exception() is not None:
        logger.warning("a state update finished after its caller went away: %s", work.exception())
    if first is not None:
        first.settle()


class FsStateRepository:
    """The StateRepository port for one project root."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0) -> None:
        self.root = root
        self.path = root / STATE_FILE
        self._lock_timeout = lock_timeout

    async def load(self) -> ProjectState:
        """The current state: a shared snapshot, never to be mutated by the caller."""
        return (await _snapshot(self.path)).state

    async def update(self, change: Callable[[ProjectState], T], *, first: Staged | None = None) -> T:
        """Apply `change` under the lock. It gets a copy of the latest state whose fields and features
        mapping are its own; the features in it are immutable and shared, so it replaces the ones it edits.
        `first` runs in the same worker-thread hop, before the state is read (see `Staged`)."""
        settle_now = first is not None
        try:
            async with files.writer_lock(self.path):  # in-process writers queue here: `previous` is the latest
                previous = _snapshot.cache.peek(self.path)
                work = files.start_in_thread(_update_sync, self.path, change, previous, self._lock_timeout, first)
                try:
                    result, snapshot, written = await asyncio.shield(work)
                except BaseException as exc:
                    _snapshot.invalidate(self.path)
                    if isinstance(exc, asyncio.CancelledError):
                        # The worker thread goes on: settle `first` once it is done with it, not before.
                        work.add_done_callback(functools.partial(_finished_late, first))
                        settle_now = False
                    raise
                _snapshot.cache.prime(snapshot, [(str(self.path), written)], self.path)
        finally:
            if settle_now and first is not None:
                first.settle()
        return result
