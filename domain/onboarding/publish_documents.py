"""PublishDocuments: write caller-supplied documents inside the project, or preview them as diffs."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from domain.errors import InvalidInputError, LimitExceededError, PermissionDeniedError, shown
from domain.onboarding.ports import DocumentStore

MAX_DOCUMENTS = 50
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_DIFF_LINES = 300  # per document in a preview
# And in characters: one line can be megabytes (a minified file), which a line count does not bound.
MAX_DIFF_LINE_CHARS = 400
MAX_DIFF_CHARS = 64 * 1024  # per document
MAX_PREVIEW_CHARS = 512 * 1024  # all the diffs of one preview
# Files the server manages itself: writing them around it would corrupt its state (a lock file replaced
# by a new inode would even let two processes hold "the" lock at once).
PROTECTED = (".cde/state.json", ".cde/cache/", ".cde/tasks/")
# Folders it keeps: a file in their place (`.cde` itself, say) would break every tool using them.
PROTECTED_FOLDERS = frozenset({".cde", ".cde/cache", ".cde/tasks", ".cde/skills"})


def _managed(path: str) -> bool:
    return (
        path in PROTECTED_FOLDERS or path.startswith(PROTECTED) or (path.startswith(".cde/") and path.endswith(".lock"))
    )


# No docstrings or field descriptions: they would be sent in every tools/list (the README has them).
class DocumentChange(BaseModel):
    path: str
    action: Literal["create", "update", "unchanged"]
    diff: str | None = None  # unified diff, in previews only


class PublishResult(BaseModel):
    applied: bool  # false for a preview: nothing was written
    documents: list[DocumentChange]


def unified_diff(path: str, old: str | None, new: str) -> str:
    lines = list(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile="/dev/null" if old is None else f"a/{path}",
            tofile=f"b/{path}",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more diff lines\n"]
    text = "".join(_shown(line) for line in lines)
    if len(text) > MAX_DIFF_CHARS:
        cut = text.rfind("\n", 0, MAX_DIFF_CHARS) + 1
        text = text[:cut] + f"… diff cut at {MAX_DIFF_CHARS:,} characters ({len(text) - cut:,} more)\n"
    return text


def _shown(line: str) -> str:
    body = line.removesuffix("\n")
    if len(body) > MAX_DIFF_LINE_CHARS:
        body = body[:MAX_DIFF_LINE_CHARS] + f" … ({len(body) - MAX_DIFF_LINE_CHARS:,} more characters)"
    return body + "\n" if line.endswith("\n") else body + "\n\\ No newline at end of file\n"


def _within_budget(diffs: list[str]) -> list[str]:
    """The diffs, left out from the one that would take the preview past MAX_PREVIEW_CHARS."""
    kept, used = [], 0
    for diff in diffs:
        used += len(diff)
        if used > MAX_PREVIEW_CHARS and diff:
            diff = f"(diff left out: this preview is over {MAX_PREVIEW_CHARS:,} characters; preview fewer documents)\n"
        kept.append(diff)
    return kept


def _check_bounds(documents: Mapping[str, str]) -> None:
    if not documents:
        raise InvalidInputError("documents is empty; pass {relative_path: content}")
    if len(documents) > MAX_DOCUMENTS:
        raise LimitExceededError(f"{len(documents)} documents given; publish at most {MAX_DOCUMENTS} per call")
    total = 0
    for path, content in documents.items():
        if path.endswith(("/", "\\")):  # a folder's name: its file part would be dropped, not refused
            raise InvalidInputError(f"{shown(path)} ends with a slash; name a file, such as docs/setup.md")
        size = len(content.encode("utf-8"))
        if size > MAX_DOCUMENT_BYTES:
            raise LimitExceededError(f"{path} is {size} bytes; a document may be at most {MAX_DOCUMENT_BYTES} bytes")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise LimitExceededError(f"documents total {total} bytes; split them into calls of at most {MAX_TOTAL_BYTES}")


class PublishDocuments:
    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def __call__(self, root: Path, documents: Mapping[str, str], *, approve: bool) -> PublishResult:
        _check_bounds(documents)
        current = await self._store.current(root, list(documents))
        planned: dict[str, tuple[str | None, str]] = {}
        inexact = {doc.path for doc in current if not doc.exact}
        for (path, old, _), content in zip(current, documents.values(), strict=True):
            if _managed(path):
                raise PermissionDeniedError(f"{path} is managed by cde-orchestrator and cannot be published over")
            if path in planned:
                raise InvalidInputError(f"two documents resolve to {path}; pass each file once")
            planned[path] = (old, content)
        changes = [
            DocumentChange(
                path=p, action="create" if old is None else "unchanged" if old == new and p not in inexact else "update"
            )
            for p, (old, new) in planned.items()
        ]
        if approve:
            changed = {c.path: planned[c.path][1] for c in changes if c.action != "unchanged"}
            if changed:
                created = [c.path for c in changes if c.action == "create"]
                await self._store.write(root, changed, only_new=created)  # never over a file made since
            return PublishResult(applied=True, documents=changes)
        # difflib is pure CPU and quadratic in the worst case: keep it off the event loop.
        diffs = await asyncio.to_thread(
            lambda: _within_budget(
                [unified_diff(c.path, *planned[c.path]) if c.action != "unchanged" else "" for c in changes]
            )
        )
        for change, diff in zip(changes, diffs, strict=True):
            change.diff = diff or None
        return PublishResult(applied=False, documents=changes)
