"""Writes the generated tool package incrementally, in one worker-thread hop.

A file is rewritten only when the SHA-256 of its new content differs from the one
on disk, so an unchanged registry touches nothing (mtimes and inodes stay, and
importers' bytecode caches stay valid). Modules of tools that are no longer
registered are deleted - but only files that carry our generated header: a file
the user put there is never removed.

Each changed file is replaced atomically (temp file + rename), so a script that
imports the package while it is regenerated sees the old or the new module,
never half of one. The files are derived data (regenerated whenever their
content differs), so they are not fsync'ed one by one; the directory is fsync'ed
once at the end to make the renames durable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from adapters.tool_codegen import MARKER, render_package
from domain.discovery.catalog import ToolSpec
from domain.discovery.model import GeneratedPackage
from domain.errors import InvalidInputError
from infrastructure.files import fsync_dir, in_thread, os_error

_MAX_GENERATED_BYTES = 1024 * 1024


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _current_digest(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return _digest(handle.read(_MAX_GENERATED_BYTES))
    except (FileNotFoundError, IsADirectoryError):
        return None


def _is_generated(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MARKER)).decode("utf-8", "replace") == MARKER
    except OSError:
        return False


def _replace(directory: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def generate_sync(target: Path, specs: Sequence[ToolSpec], version: str) -> GeneratedPackage:
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"output_dir {target} is a file; pass a directory for the package")
    files = render_package(specs, package=target.name, parent=str(target.parent), version=version)
    written: list[str] = []
    removed: list[str] = []
    unchanged = 0
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            data = content.encode("utf-8")
            if _current_digest(target / name) == _digest(data):
                unchanged += 1
                continue
            _replace(target, name, data)
            written.append(name)
        for entry in os.scandir(target):
            stale = entry.name.endswith(".py") and entry.name not in files and entry.is_file(follow_symlinks=False)
            if stale and _is_generated(Path(entry.path)):
                os.unlink(entry.path)
                removed.append(entry.name)
        if written or removed:
            fsync_dir(target)
    except OSError as exc:
        raise os_error(target, exc) from None
    return GeneratedPackage(
        path=str(target),
        tools=len(specs),
        written=sorted(written),
        unchanged=unchanged,
        removed=sorted(removed),
        usage=f"sys.path.insert(0, {str(target.parent)!r}); import {target.name}",
    )


_generate = in_thread(generate_sync)


class FsToolPackageGenerator:
    """The ToolPackageGenerator port on the local filesystem."""

    def __init__(self, version: str) -> None:
        self._version = version

    async def generate(self, target: Path, specs: Sequence[ToolSpec]) -> GeneratedPackage:
        return await _generate(target, specs, self._version)
