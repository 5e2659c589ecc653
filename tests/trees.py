"""Builders for fixture project trees on disk."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def make_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create `files` (relative path → text or bytes) under `root`; returns `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def edit_in_place(path: Path, content: str) -> None:
    """Rewrite `path` in place (same inode) with a later mtime, as many editors save."""
    st = path.stat()
    path.write_text(content, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


def remove_tree(root: Path) -> None:
    """Delete `root` and everything in it without recursion: shutil.rmtree (and pytest's clean-up of old
    temporary folders with it) overflows the stack on a folder about a thousand levels deep."""
    stack = [(os.fspath(root), False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            os.rmdir(path)
            continue
        stack.append((path, True))
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, False))
            else:
                os.unlink(entry.path)
