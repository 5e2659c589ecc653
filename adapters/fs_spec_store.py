"""`specs/<feature>/` on disk: created on start, one durable file per saved phase output."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from domain.errors import InvalidInputError, NotFoundError
from domain.names import validate_name
from infrastructure import files
from infrastructure.paths import resolve_inside_sync

SPECS_DIR = "specs"


def _existing_sync(root: Path) -> set[str]:
    try:
        return {info.rel for info in files.list_dir_sync(root / SPECS_DIR) if info.is_dir}
    except (InvalidInputError, NotFoundError):
        return set()


def _create_sync(root: Path, rel: str) -> None:
    target = resolve_inside_sync(root, rel)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise files.os_error(target, exc) from None


def _check_sync(root: Path, rels: list[str]) -> None:
    for rel in rels:
        resolve_inside_sync(root, rel)


def _write_sync(root: Path, items: list[tuple[str, str]]) -> None:
    for rel, content in items:
        files.atomic_write_sync(resolve_inside_sync(root, rel), content)


_existing = files.in_thread(_existing_sync)
_create = files.in_thread(_create_sync)
_check = files.in_thread(_check_sync)
_write = files.in_thread(_write_sync)


def _with_newline(content: str) -> str:
    return content if content.endswith("\n") else content + "\n"


class FsSpecStore:
    """The SpecStore port for one project root; every path goes through `resolve_inside`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def _rel(name: str, file: str | None = None) -> str:
        validate_name(name, "feature name")
        if file is None:
            return f"{SPECS_DIR}/{name}"
        return f"{SPECS_DIR}/{name}/{validate_name(file, 'file')}"

    async def existing(self) -> set[str]:
        return await _existing(self.root)

    async def create(self, name: str) -> str:
        rel = self._rel(name)
        await _create(self.root, rel)
        return rel

    async def check(self, name: str, names: list[str]) -> None:
        await _check(self.root, [self._rel(name, file) for file in names])

    async def write(self, name: str, documents: Mapping[str, str]) -> list[str]:
        items = [(self._rel(name, file), _with_newline(content)) for file, content in documents.items()]
        await _write(self.root, items)
        return [rel for rel, _ in items]
