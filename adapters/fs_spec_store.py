"""`specs/<feature>/` on disk: created on start, one durable file per saved phase output.

The documents are the record of the outputs saved to them (later prompts read
them back), so reads are cached by file fingerprint: unchanged documents cost a
stat, an edit by the user is seen at once. Folders and documents are written
under the project's lock on feature changes (`.cde/specs.lock`, see `locked`),
held by the use case until the state records them. They are staged, and made by
the state update that records them, in the same worker-thread hop, first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path, PurePosixPath

from domain.errors import InvalidInputError, NotFoundError
from domain.names import validate_file_name, validate_name
from infrastructure import files
from infrastructure.cache import Fingerprint, cached, fingerprint
from infrastructure.paths import resolve_inside_sync

SPECS_DIR = "specs"
LOCK_FILE = Path(".cde") / "specs.lock"  # `*.lock` is in the .gitignore cde_setupProject writes
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
_UNKNOWN = object()  # not in the read cache (a document known to be missing is cached as None)


def _existing_sync(root: Path) -> set[str]:
    """Every name taken under specs/ (a file or link there blocks a folder of that name too): no stat each."""
    folder = root / SPECS_DIR
    try:
        return set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except OSError as exc:
        raise files.os_error(folder, exc) from None


def _is_empty_folder(path: Path) -> bool:
    try:
        return not path.is_symlink() and path.is_dir() and not os.listdir(path)
    except OSError:
        return False


def _create_new_sync(root: Path, choose: Callable[[set[str]], str]) -> tuple[str, str]:
    """Under the project's lock: the first free name; its folder when a start killed before recording its
    feature left it empty (`choose` already skips every recorded feature's name), so a retry is not `-2`."""
    preferred = choose(set())
    taken = _existing_sync(root)
    name = preferred if preferred in taken and _is_empty_folder(root / SPECS_DIR / preferred) else choose(taken)
    rel = FsSpecStore.relative(name)
    target = resolve_inside_sync(root, rel)
    try:
        files.make_dirs_sync(target)
    except OSError as exc:
        raise files.os_error(target, exc) from None
    return name, rel


def _targets_sync(root: Path, rels: list[str]) -> list[Path]:
    """Where each document goes: each folder resolved once (file names are validated slugs; a symlink in
    the last component is replaced by the atomic write, never written through)."""
    folders: dict[str, Path] = {}
    targets = []
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        if folder not in folders:
            folders[folder] = resolve_inside_sync(root, folder)
        targets.append(folders[folder] / name)
    return targets


def _text_before_sync(root: Path, rel: str, target: Path) -> str | None:
    """What the document at `target` (`rel`) holds before it is replaced; None when there is none."""
    try:
        if stat.S_ISLNK(os.lstat(target).st_mode):
            return _read_sync(root, rel)  # read where the link leads, if that is inside the project
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise files.os_error(target, exc) from None
    try:  # not through a link swapped in since: that is read only by `_read_sync`
        return files.read_text_sync(target, MAX_DOCUMENT_BYTES, follow_symlinks=False)
    except NotFoundError:
        return None


def _write_sync(items: list[tuple[str, str]], targets: list[Path], prints: list[Fingerprint | None]) -> None:
    """Write each document durably, appending to `prints` the fingerprint of each as written (None if it
    changed since), so a failure part-way leaves the fingerprints of those already written."""
    for (_, content), target in zip(items, targets, strict=True):
        written = files.atomic_write_sync(target, content)
        now = fingerprint(target)
        # An editor saving in between (a new inode, size or mtime) must not be hidden behind our text.
        ours = now is not None and now[:3] == (written.st_mtime_ns, written.st_size, written.st_ino)
        prints.append(now if ours else None)


def _read_sync(root: Path, rel: str) -> str | None:
    parts = PurePosixPath(rel).parts
    if len(parts) != 3 or parts[0] != SPECS_DIR:  # paths come from the state file: trust nothing else
        raise InvalidInputError(f"{rel!r} is not a specs/<feature>/<file> path; fix .cde/state.json")
    try:
        return files.read_text_sync(resolve_inside_sync(root, rel), MAX_DOCUMENT_BYTES)
    except NotFoundError:
        return None


_read = files.in_thread(_read_sync)


@cached("workflow.spec_document", maxsize=64, depends_on=lambda root, rel: [root / rel])
async def read_document(root: Path, rel: str) -> str | None:
    """The text of `root/rel` (None when missing), cached until the file changes."""
    return await _read(root, rel)


def _with_newline(content: str) -> str:
    return content if content.endswith("\n") else content + "\n"


class NewFolder:
    """A staged `specs/<name>/` (see `SpecStore.new_folder`)."""

    def __init__(self, root: Path, choose: Callable[[set[str]], str]) -> None:
        self._root = root
        self._choose = choose
        self._created: tuple[str, str] | None = None

    def run(self) -> None:
        self._created = _create_new_sync(self._root, self._choose)

    def settle(self) -> None:
        pass

    def undo(self) -> None:
        """The feature was not recorded: its folder goes too, if still empty (a retry would be `<name>-2`)."""
        if self._created is not None:
            with contextlib.suppress(OSError):  # not empty (someone wrote there already), or gone
                os.rmdir(self._root / self._created[1])

    @property
    def created(self) -> tuple[str, str]:
        if self._created is None:
            raise RuntimeError("the folder is made when the staged step runs")
        return self._created


class Documents:
    """Staged documents (see `SpecStore.documents`); once written, primed into the read cache."""

    def __init__(self, root: Path, items: list[tuple[str, str]]) -> None:
        self._root = root
        self._items = items
        self._prints: list[Fingerprint | None] = []
        self._before: list[str | Exception | None] = []  # each document's text before the write (None: none)

    @property
    def paths(self) -> list[str]:
        return [rel for rel, _ in self._items]

    def run(self) -> None:
        targets = _targets_sync(self._root, self.paths)
        for (rel, _), target in zip(self._items, targets, strict=True):
            try:
                self._before.append(_text_before_sync(self._root, rel, target))
            except Exception as exc:  # unreadable: it cannot be put back, which must not block the write
                self._before.append(exc)
        _write_sync(self._items, targets, self._prints)

    def undo(self) -> None:
        """The state refused the submission (too big, unreadable): put back what the documents held, so that
        they only ever hold accepted results."""
        for (rel, _), before in zip(self._items[: len(self._prints)], self._before, strict=False):
            target = resolve_inside_sync(self._root, rel)
            if before is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
                    files.fsync_dir(target.parent)
            elif isinstance(before, str):
                files.atomic_write_sync(target, before)
        self._prints = []  # nothing of ours to prime: `settle` forgets these documents

    def settle(self) -> None:
        # The next prompts read these documents back: a stat, not a read, until somebody edits one.
        prints = list(self._prints)
        for i, (rel, content) in enumerate(self._items):
            written = prints[i] if i < len(prints) else None
            if written is not None:
                read_document.cache.prime(content, [(os.fspath(self._root / rel), written)], self._root, rel)
            else:
                read_document.invalidate(self._root, rel)


class FsSpecStore:
    """The SpecStore port for one project root; every path goes through `resolve_inside`."""

    def __init__(self, root: Path, *, lock_timeout: float = 10.0) -> None:
        self.root = root
        self._lock_timeout = lock_timeout

    @staticmethod
    def relative(name: str, file: str | None = None) -> str:
        """`specs/<name>[/<file>]`, both validated safe names."""
        validate_name(name, "feature name")
        if file is None:
            return f"{SPECS_DIR}/{name}"
        return f"{SPECS_DIR}/{name}/{validate_file_name(file, 'file')}"

    def new_folder(self, choose: Callable[[set[str]], str]) -> NewFolder:
        return NewFolder(self.root, choose)

    def documents(self, name: str, documents: Mapping[str, str]) -> Documents:
        items = [(self.relative(name, file), _with_newline(content)) for file, content in documents.items()]
        return Documents(self.root, items)

    async def read(self, paths: list[str]) -> dict[str, str]:
        # Documents were primed when written, so most are hits: taken inline, a task only for each miss.
        found = {rel: read_document.cache.current(self.root, rel, count_miss=False, default=_UNKNOWN) for rel in paths}
        missing = [rel for rel, text in found.items() if text is _UNKNOWN]
        if missing:
            texts = await asyncio.gather(*(read_document(self.root, rel) for rel in missing))
            found.update(zip(missing, texts, strict=True))
        return {rel: text for rel, text in found.items() if isinstance(text, str)}

    def locked(self) -> AbstractAsyncContextManager[None]:
        return files.holding_lock(self.root / LOCK_FILE, lock_timeout=self._lock_timeout)
