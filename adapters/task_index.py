"""Which project a task id belongs to: one small pointer file per task under the CDE home.

`cde_getTaskStatus` and `cde_cancelTask` take only a task id. Delegating writes
`<CDE home>/tasks/<id>` holding the project root, so any server sharing that home
(this one after a restart, or another session's) can find the record. An id with
no pointer (another CDE_HOME) is looked for in the default project root. The
project found must still be inside the allowed roots.
"""

from __future__ import annotations

from pathlib import Path

from adapters.fs_job_store import RECORD, TASKS_DIR
from domain.delegation.job import validate_job_id
from domain.errors import NotFoundError, PermissionDeniedError
from infrastructure import files, paths
from infrastructure.cache import cached


def _remove_all_sync(pointers: list[Path], root: Path) -> None:
    """Delete each pointer that names `root` (one naming another project is that project's)."""
    for pointer in pointers:
        try:
            if files.read_text_sync(pointer, max_bytes=8192).strip() != str(root):
                continue
            pointer.unlink()
        except (FileNotFoundError, NotFoundError):
            continue
        except OSError as exc:
            raise files.os_error(pointer, exc) from None


_remove_all = files.in_thread(_remove_all_sync)


class HomeTaskIndex:
    """The TaskLocator port backed by `<home>/tasks/`."""

    def __init__(self, home: Path, *, default_root: Path, allowed_roots: tuple[Path, ...] | None) -> None:
        self.dir = home / "tasks"
        self._default_root = default_root
        self._allowed_roots = allowed_roots

    async def remember(self, job_id: str, root: Path) -> None:
        await files.atomic_write(self.dir / validate_job_id(job_id), f"{root}\n")
        self._pointer.invalidate(job_id)

    async def forget(self, job_ids: list[str], root: Path) -> None:
        await _remove_all([self.dir / validate_job_id(job_id) for job_id in job_ids], root)
        for job_id in job_ids:
            self._pointer.invalidate(job_id)

    @cached("delegation.task_index", maxsize=512)
    async def _pointer(self, job_id: str) -> str | None:
        try:
            return (await files.read_text(self.dir / job_id, max_bytes=8192)).strip()
        except NotFoundError:
            pass
        if await files.stat(self._default_root / TASKS_DIR / job_id / RECORD) is not None:
            return str(self._default_root)
        return None

    async def locate(self, job_id: str) -> Path:
        raw = await self._pointer(validate_job_id(job_id))
        if raw is None:
            self._pointer.invalidate(job_id)  # not cached as absent: it may be delegated in a moment
            raise NotFoundError(
                f"unknown task_id {job_id!r}; list a project's tasks with cde_listActiveTasks(project_path)"
            )
        try:
            return await paths.resolve_project(raw, base=Path("/"), allowed_roots=self._allowed_roots)
        except NotFoundError:
            raise NotFoundError(f"task {job_id} belongs to {raw}, which no longer exists") from None
        except PermissionDeniedError as exc:  # the caller gave a task id, not a project_path: say whose it is
            raise PermissionDeniedError(exc.message.replace("project_path", f"task {job_id}'s project", 1)) from None
