"""Writes the generated tool package incrementally.

A file is rewritten only when its content would change. A manifest
(`.manifest.json` in the package) records the SHA-256 and the fingerprint (mtime,
size, inode, ctime) of every file we wrote, so an unchanged package is confirmed
with one `stat` per file; a file whose fingerprint moved (edited, replaced,
truncated) is re-read and re-hashed, and rewritten if its content differs. Stale
modules of tools no longer registered are deleted - but only files the manifest
records as written here and still as written: a file the user put there (even a
copy of a generated one), or a generated one they edited, is never removed; and a
directory holding files we would overwrite that lack the header (the user's,
even where we wrote that name before) is refused before anything is written.

Each changed file is replaced atomically (temp file + rename) and `__init__.py`
is written last, so a script that imports the package while it is regenerated
sees the old package or the complete new one; a module that did not exist before
is written in place (nothing imports it until the new `__init__.py` appears).
The files are derived data, re-checked on every run, so nothing is fsync'ed (a
directory fsync after writing 43 modules cost 10-20 ms, twice the rest): after a
crash the next run finds what did not reach the disk - a module missing, empty or
different from the manifest - and rewrites it (an empty file counts as a crash
leftover only in a folder holding our manifest: an empty `__init__.py` of the
user's own package is theirs).
Rendering is cached per catalog (the registry keeps its catalog, and its spec
objects, until the tool set changes) and runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from adapters.tool_codegen import MARKER, render_package
from domain.discovery.catalog import ToolSpec
from domain.discovery.model import GeneratedPackage
from domain.errors import ConflictError, CorruptDataError, DomainError, InvalidInputError
from infrastructure.cache import cached, fingerprint
from infrastructure.files import (
    STALE_TEMP_S,
    UMASK,
    in_thread,
    make_dirs_sync,
    open_file_sync,
    os_error,
    read_fd,
    read_text_sync,
)

MANIFEST = ".manifest.json"
_MAX_GENERATED_BYTES = 1024 * 1024
_MAX_MANIFEST_BYTES = 1024 * 1024  # ~100 bytes per tool

Rendered = dict[str, tuple[bytes, str]]  # file name → (content, sha256 hex)


def render_sync(specs: Sequence[ToolSpec], package: str, parent: str, version: str) -> Rendered:
    files = render_package(specs, package=package, parent=parent, version=version)
    rendered: Rendered = {}
    for name, content in files.items():
        data = content.encode("utf-8")
        rendered[name] = (data, hashlib.sha256(data).hexdigest())
    return rendered


def _digest_of(path: Path) -> str | None:
    try:
        fd, _ = open_file_sync(path)
        try:
            return hashlib.sha256(read_fd(fd, _MAX_GENERATED_BYTES)).hexdigest()
        finally:
            os.close(fd)
    except (FileNotFoundError, IsADirectoryError):
        return None
    except CorruptDataError:  # a FIFO or device in the package: never ours, so left alone and reported
        return ""


# What an ordinary file gets (0o666 minus the umask), not mkstemp's 0o600: the package may be shared.
MODULE_MODE = 0o666 & ~UMASK


def _is_generated(path: Path) -> bool:
    try:
        fd, _ = open_file_sync(path)
        with os.fdopen(fd, "rb") as handle:
            return handle.read(len(MARKER)).decode("utf-8", "replace") == MARKER
    except (OSError, CorruptDataError):
        return False


def _is_empty_file(path: Path) -> bool:
    """An empty regular file (a FIFO or device reads as empty too, and is never ours)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def _still_as_written(target: Path, name: str, known: object) -> bool:
    """Whether `name` is a module this generator wrote (its manifest entry `known`) that nobody changed since:
    a copy the user made of one, or a module they edited, is theirs and stays."""
    if not isinstance(known, list) or not known or name.startswith(".") or not name.endswith(".py"):
        return False
    path = target / name
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    current = fingerprint(path)
    return known == [known[0], list(current) if current else None] or _digest_of(path) == known[0]


def _create(directory: Path, name: str, data: bytes) -> bool:
    """Create a file that does not exist yet, complete from its first appearance (a temp file linked into
    place: a concurrent generator never reads it half-written and takes it for the user's); False if it
    exists after all."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), MODULE_MODE)
        try:
            os.link(tmp, directory / name)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links (vfat, some network mounts): create in place
            try:
                with open(directory / name, "xb") as handle:
                    handle.write(data)
            except FileExistsError:
                return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _replace(directory: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), MODULE_MODE)
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load_manifest(target: Path) -> dict[str, list[object]]:
    try:
        raw = json.loads(read_text_sync(target / MANIFEST, _MAX_MANIFEST_BYTES))
    except (DomainError, ValueError, RecursionError):  # our own bookkeeping: unreadable means start afresh
        return {}
    return raw if isinstance(raw, dict) else {}


def _refuse_shadowing(target: Path) -> None:
    """A package named like a module this Python imports (`server`, `mcp`, `pydantic`…) would shadow it in
    the scripts that import the package, and its calls start this server, which then cannot import itself."""
    try:
        found = importlib.util.find_spec(target.name)
    except (ImportError, ValueError):
        return
    origin = getattr(found, "origin", None) or next(
        iter(getattr(found, "submodule_search_locations", None) or []), None
    )
    if found is None or (origin is not None and Path(origin).resolve().is_relative_to(target)):
        return  # no such module, or this very package (its folder is on sys.path)
    raise InvalidInputError(
        f"output_dir must not end in {target.name!r}: a module of that name is installed, and the package would "
        "hide it from the scripts that import it (the tools themselves need it); choose another, e.g. .cde/servers/cde"
    )


def _sweep_stale_builds(parent: Path, name: str) -> None:
    """Remove what a first generation killed mid-way left beside the package: folders named exactly as
    `mkdtemp` names its builds (`.<name>.<8 random>.tmp`), never another of the user's."""
    cutoff = time.time() - STALE_TEMP_S
    ours = re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            if ours.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        shutil.rmtree(entry.path, ignore_errors=True)


def _build_whole(target: Path, rendered: Mapping[str, tuple[bytes, str]], tools: int) -> GeneratedPackage | None:
    """A first generation (`target` missing): the package written in a new folder beside it, renamed into
    place whole.

    Creating each file in place is all it costs (a temp file linked in per module cost 1.3-2.8x that), and
    a script importing the package sees it complete or not at all. None if that cannot be done (`target`
    made meanwhile by another generator, a parent folder that is not writable): the caller then goes file
    by file. An existing folder, even empty, is never replaced: its mode, owner, ACLs or mount stay.
    """
    _sweep_stale_builds(target.parent, target.name)
    try:
        build = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError:  # e.g. a parent folder that is not writable: `target` itself may be
        return None
    try:
        os.chmod(build, 0o777 & ~UMASK)  # what a plain mkdir gives, not mkdtemp's 0o700: the package may be shared
        recorded: dict[str, list[object]] = {}
        for name in sorted(rendered, key=lambda n: n == "__init__.py"):  # as a regeneration: __init__.py last
            data, digest = rendered[name]
            with open(build / name, "xb") as handle:  # 0o666 minus the umask, as MODULE_MODE
                handle.write(data)
            current = fingerprint(build / name)
            recorded[name] = [digest, list(current) if current else None]
        (build / MANIFEST).write_bytes(json.dumps(recorded, sort_keys=True).encode("utf-8"))
        try:
            os.rename(build, target)  # `target` was missing: never a folder of the user's replaced
        except OSError:  # made meanwhile (another generator), or not possible here: go file by file
            shutil.rmtree(build, ignore_errors=True)
            return None
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return GeneratedPackage(
        path=str(target),
        tools=tools,
        written=sorted(rendered),
        unchanged=0,
        removed=[],
        usage=f"sys.path.insert(0, {str(target.parent)!r}); import {target.name}",
    )


def write_sync(target: Path, rendered: Mapping[str, tuple[bytes, str]], tools: int) -> GeneratedPackage:
    written: list[str] = []
    removed: list[str] = []
    unchanged = 0
    _refuse_shadowing(target)
    try:
        if target.exists() and not target.is_dir():
            raise InvalidInputError(f"output_dir {target} is a file; pass a directory for the package")
        if not os.path.lexists(target):
            # a loop (Path.mkdir recursed: a deep output_dir overflowed the stack)
            make_dirs_sync(target.parent, durable=False)
            whole = _build_whole(target, rendered, tools)
            if whole is not None:
                return whole
        make_dirs_sync(target, durable=False)
        manifest = _load_manifest(target)
        has_manifest = os.path.lexists(target / MANIFEST)  # (a crash may have left it empty: it is still ours)
        recorded: dict[str, list[object]] = {}
        changed: list[str] = []
        foreign: list[str] = []
        # __init__.py last: an import running meanwhile sees the old package or a complete new one.
        for name in sorted(rendered, key=lambda n: n == "__init__.py"):
            data, digest = rendered[name]
            path = target / name
            current = fingerprint(path)
            known = manifest.get(name)
            same = isinstance(known, list) and known == [digest, list(current) if current else None]
            if not same and current is not None and _digest_of(path) == digest:
                same = True  # touched but identical (e.g. copied back): leave it, record its new fingerprint
            if same:
                unchanged += 1
                recorded[name] = [digest, list(current) if current else None]
            else:
                changed.append(name)
                leftover = (name in manifest or has_manifest) and _is_empty_file(path)
                if current is not None and not leftover and not _is_generated(path):
                    # Ours once or not, it is the user's now (an empty file holds nothing: e.g. a module a
                    # crash left before its text reached the disk)
                    foreign.append(name)
        if foreign:
            listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise ConflictError(
                f"output_dir {target} holds files cde-orchestrator did not generate ({listed}); "
                "move them away or choose another directory"
            )
        for name in changed:
            data, digest = rendered[name]
            if name == "__init__.py" or os.path.lexists(target / name) or not _create(target, name, data):
                _replace(target, name, data)
            written.append(name)
            current = fingerprint(target / name)
            recorded[name] = [digest, list(current) if current else None]
        with os.scandir(target) as entries:  # names from the folder, never from the manifest's text
            stale = [e.name for e in entries if e.name not in rendered and e.name in manifest]
        for name in stale:
            if _still_as_written(target, name, manifest[name]):
                os.unlink(target / name)
                removed.append(name)
        if recorded != manifest:
            _replace(target, MANIFEST, json.dumps(recorded, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        raise os_error(target, exc) from None
    return GeneratedPackage(
        path=str(target),
        tools=tools,
        written=sorted(written),
        unchanged=unchanged,
        removed=sorted(removed),
        usage=f"sys.path.insert(0, {str(target.parent)!r}); import {target.name}",
    )


_render = in_thread(render_sync)
_write = in_thread(write_sync)


class FsToolPackageGenerator:
    """The ToolPackageGenerator port on the local filesystem."""

    def __init__(self, version: str) -> None:
        self._version = version

    @cached("tools.package_render", maxsize=8)
    async def _rendered(self, specs: tuple[ToolSpec, ...], package: str, parent: str) -> Rendered:
        return await _render(specs, package, parent, self._version)

    async def generate(self, target: Path, specs: Sequence[ToolSpec]) -> GeneratedPackage:
        rendered: Rendered = await self._rendered(tuple(specs), target.name, str(target.parent))
        return await _write(target, rendered, len(specs))
