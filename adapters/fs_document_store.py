"""The DocumentStore port on the filesystem: project-confined paths, whole-file reads, atomic writes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from adapters.text_files import read_prefix
from domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from domain.onboarding.ports import CurrentDocument
from infrastructure.files import atomic_write_sync, create_exclusive_sync, in_thread, make_dirs_sync, os_error
from infrastructure.paths import resolve_inside_sync

MAX_CURRENT_BYTES = 4 * 1024 * 1024  # existing files are read this far to compare/diff


def _resolve(root: Path, rel: str) -> Path:
    target = resolve_inside_sync(root, rel, what="document path")
    try:
        if target == root:
            raise InvalidInputError(f"document path {rel!r} is the project folder; name a file inside it")
        if target.is_dir():
            raise InvalidInputError(
                f"{rel} is a folder in the project, where a document file is to be written; "
                "move or rename that folder, or write the document elsewhere"
            )
        folder = target.parent
        while folder != root and not os.path.lexists(folder):
            folder = folder.parent
        if not folder.is_dir():
            inside = folder.relative_to(root).as_posix()
            raise InvalidInputError(
                f"document path {rel!r} goes through {inside}, which is a file; choose another path"
            )
    except OSError as exc:  # e.g. a folder on the way that cannot be searched
        raise os_error(target, exc) from None
    return target


def _resolve_batch(root: Path, paths: Sequence[str]) -> list[Path]:
    """Every path resolved and checked, and none of them a folder of another (`docs` and `docs/a.md`):
    such a batch would fail half-way through."""
    targets = [_resolve(root, rel) for rel in paths]
    by_path = dict(zip(targets, paths, strict=True))
    for target, rel in zip(targets, paths, strict=True):
        for folder in target.parents:
            if folder == root:
                break
            if folder in by_path:
                raise InvalidInputError(
                    f"document paths {by_path[folder]!r} and {rel!r} clash: the first is a folder of the second"
                )
    return targets


def current_sync(root: Path, paths: Sequence[str]) -> list[CurrentDocument]:
    found: list[CurrentDocument] = []
    for rel, target in zip(paths, _resolve_batch(root, paths), strict=True):
        text, exact = None, True
        if os.path.lexists(target):
            read = read_prefix(target, MAX_CURRENT_BYTES, [])
            if read is None:
                raise PermissionDeniedError(f"{rel} exists but cannot be read; check its owner and mode")
            try:
                text = read[1].decode("utf-8")
            except UnicodeDecodeError:  # shown with U+FFFD, which the new text may hold: never "unchanged"
                text, exact = read[1].decode("utf-8", "replace"), False
        found.append(CurrentDocument(target.relative_to(root).as_posix(), text, exact))
    return found


def write_sync(root: Path, documents: Mapping[str, str], only_new: Collection[str] = ()) -> None:
    targets = _resolve_batch(root, list(documents))  # check all, then write
    batch = [
        (rel in only_new, target, content)
        for rel, target, content in zip(documents, targets, documents.values(), strict=True)
    ]
    batch.sort(key=lambda item: not item[0])  # the new files first: a conflict stops the call before any overwrite
    created: list[tuple[Path, os.stat_result]] = []
    try:
        for new, target, content in batch:
            if not new:
                atomic_write_sync(target, content)
                continue
            try:
                make_dirs_sync(target.parent)
            except OSError as exc:
                raise os_error(target.parent, exc) from None
            written = create_exclusive_sync(target, content)
            if written is None:
                raise ConflictError(
                    f"{target.relative_to(root).as_posix()} was created by someone else while this call ran; "
                    "nothing was written: look at it, then call again"
                )
            created.append((target, written))
    except BaseException:
        _remove_ours(created)
        raise


def _remove_ours(created: list[tuple[Path, os.stat_result]]) -> None:
    """Undo the files this batch created, each only if it is still the very file it wrote (an editor's
    save since, in place or by rename, changes its inode, size or mtime: that file is theirs, and stays)."""
    for target, written in created:
        with contextlib.suppress(OSError):
            now = os.lstat(target)
            if _identity(now) == _identity(written):
                os.unlink(target)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns


_current = in_thread(current_sync)
_write = in_thread(write_sync)


class FsDocumentStore:
    """Each call is one thread hop for the whole batch."""

    async def current(self, root: Path, paths: Sequence[str]) -> list[CurrentDocument]:
        return await _current(root, paths)

    async def write(self, root: Path, documents: Mapping[str, str], *, only_new: Collection[str] = ()) -> None:
        await _write(root, documents, only_new)
