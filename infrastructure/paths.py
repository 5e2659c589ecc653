"""Resolution of caller-supplied paths: projects inside the allowed roots, files inside a project.

Callers are LLM agents; a path is data to validate, not an instruction. Both
functions resolve symlinks before checking containment, so a link cannot smuggle
a write outside the root.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from infrastructure.files import in_thread

MAX_PATH_CHARS = 4096
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")  # C:, C:\\x, C:x


def _check_text(raw: str, what: str, *, example: str = ".") -> None:
    if not raw or not raw.strip():
        raise InvalidInputError(f"{what} is empty; pass a path such as {example!r}")
    if "\x00" in raw:
        raise InvalidInputError(f"{what} contains a NUL byte")
    if len(raw) > MAX_PATH_CHARS:
        raise InvalidInputError(f"{what} is longer than {MAX_PATH_CHARS} characters")


def _resolve(path: Path, what: str, *, strict: bool) -> Path:
    try:
        return path.resolve(strict=strict)
    except FileNotFoundError:
        raise NotFoundError(f"{what} {path} does not exist") from None
    except RuntimeError:  # Python < 3.13 reports symlink loops this way
        raise InvalidInputError(f"{what} {path} is a symlink loop") from None
    except OSError as exc:
        raise InvalidInputError(f"{what} {path} cannot be resolved: {exc.strerror or exc}") from None


def resolve_project_sync(
    raw: str, *, base: Path, allowed_roots: tuple[Path, ...] | None, contained: tuple[str, ...] = ()
) -> Path:
    """An existing directory, absolute and symlink-free, inside one of `allowed_roots` (None: anywhere).

    Each of `contained` (relative folders the server writes into) must not lead outside it through
    a symlink: a cloned repository's `.cde` linked to `~/.ssh` must not receive state files.
    """
    _check_text(raw, "project_path")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base / path
    resolved = _resolve(path, "project_path", strict=True)
    if not resolved.is_dir():
        raise InvalidInputError(f"project_path {resolved} is not a directory")
    if allowed_roots is not None and not any(resolved.is_relative_to(r) for r in allowed_roots):
        roots = ", ".join(str(r) for r in allowed_roots) or "none"
        raise PermissionDeniedError(
            f"project_path {resolved} is outside the allowed roots ({roots}); add it to CDE_ALLOWED_ROOTS"
        )
    for folder in contained:
        try:
            resolve_inside_sync(resolved, folder, what=folder)
        except PermissionDeniedError:
            raise PermissionDeniedError(
                f"{resolved / folder} leads outside the project through a symlink; this server writes there, "
                "so replace the link with a real folder"
            ) from None
    return resolved


resolve_project = in_thread(resolve_project_sync)


def resolve_inside_sync(root: Path, raw: str, *, what: str = "path") -> Path:
    """`raw` (relative, no `..`) joined to `root`, symlinks resolved, still inside `root`.

    The target need not exist. `.git` is never written through this path, at any depth (a
    nested repository's `.git/config` runs commands) and in any case (`.GIT` is `.git` on
    case-insensitive filesystems). `root` must be absolute and symlink-free, as `resolve_project` returns it.
    Plain string work: this runs on every document write and read (pathlib's objects made it ~100 us here).
    """
    _check_text(raw, what)
    if raw.startswith(("/", "\\", "~")) or _WINDOWS_DRIVE.match(raw):
        raise InvalidInputError(f"{what} {raw!r} must be relative to the project, not absolute")
    parts = [part for part in raw.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidInputError(f"{what} {raw!r} must not contain '..'")
    hit = _banned_part(parts)
    if hit is not None:
        raise PermissionDeniedError(f"{what} {raw!r} points into {hit}/, which is never written")
    base = os.fspath(root)
    resolved = _resolve_below(base, parts, what)
    if resolved != base:
        prefix = base if base.endswith("/") else base + "/"
        if not resolved.startswith(prefix):
            raise PermissionDeniedError(f"{what} {raw!r} resolves outside the project (through a symlink)")
        hit = _banned_part(resolved[len(prefix) :].split("/"))
        if hit is not None:
            raise PermissionDeniedError(f"{what} {raw!r} resolves into {hit}/, which is never written")
    return Path(resolved)


_NEVER_WRITTEN = frozenset({".git"})  # casefolded, as `_banned_part` compares


def _banned_part(parts: list[str]) -> str | None:
    return next((part for part in parts if part.casefold() in _NEVER_WRITTEN), None)


def _resolve_below(base: str, parts: list[str], what: str) -> str:
    """`_realpath` of `base/parts...` for a symlink-free `base`: an lstat per part below it, not per
    component from `/` as `realpath` does (4-6 fewer syscalls per document read or write, at ~20 us
    each on the VMs here). At the first symlink, the whole path goes to `_realpath`."""
    path = base.rstrip("/")
    for i, part in enumerate(parts):
        path = f"{path}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return _realpath(os.path.join(path, *parts[i + 1 :]), what)
        except (FileNotFoundError, NotADirectoryError):  # nothing below exists: taken literally, as realpath does
            return os.path.join(path, *parts[i + 1 :])
        except OSError:  # unreadable on the way: realpath takes it as it is too
            pass
    return path or base


def _realpath(path: str, what: str) -> str:
    """`os.path.realpath` (non-strict), refusing a symlink loop as `Path.resolve` does (it stats the result)."""
    resolved = os.path.realpath(path)
    try:
        os.stat(resolved)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidInputError(f"{what} {path} is a symlink loop") from None
    return resolved


resolve_inside = in_thread(resolve_inside_sync)


def resolve_output_dir_sync(
    root: Path,
    raw: str,
    *,
    also: tuple[Path, ...] = (),
    managed: tuple[Path, ...] = (),
    what: str = "output_dir",
) -> Path:
    """A directory to write into: relative to `root` (as `resolve_inside`), or absolute inside `root` or `also`.

    The root itself is refused: generated files get a directory of their own. So is any
    folder in or under `managed` (what the server keeps there would be mistaken for, or mix with, them).
    """
    _check_text(raw, what, example=".cde/servers/cde")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        resolved = resolve_inside_sync(root, raw, what=what)
    else:
        resolved = _resolve(path, what, strict=False)
        bases = [root, *(_resolve(b, what, strict=False) for b in also)]
        if not any(resolved.is_relative_to(b) for b in bases):
            allowed = ", ".join(str(b) for b in bases)
            raise PermissionDeniedError(f"{what} {raw!r} is outside the allowed places ({allowed}); use a path inside")
        base = next(b for b in bases if resolved.is_relative_to(b))
        hit = _banned_part(list(resolved.relative_to(base).parts))
        if hit is not None:
            raise PermissionDeniedError(f"{what} {raw!r} resolves into {hit}/, which is never written")
    if resolved == root or any(resolved == _resolve(b, what, strict=False) for b in also):
        raise InvalidInputError(f"{what} {raw!r} is a root directory; name a subdirectory such as .cde/servers/cde")
    for folder in managed:
        if resolved.is_relative_to(_resolve(folder, what, strict=False)):
            raise PermissionDeniedError(
                f"{what} {raw!r} is in {folder}, which cde-orchestrator manages; use another folder such as "
                ".cde/servers/cde"
            )
    return resolved


resolve_output_dir = in_thread(resolve_output_dir_sync)
