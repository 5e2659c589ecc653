"""The project's file list: what Git would consider the project, walked without following any symlink.

The walk honours `.gitignore` files at every level plus `.git/info/exclude` (for a
project inside a larger repository, also those of the folders above it, up to that
repository's root), prunes dependency/build/cache folders wherever they appear (and
any folder that marks itself as a virtualenv or a cache), and never follows a symlink — so a
link cannot lead out of the root or into a loop. It reads nothing but directory
listings and ignore files, so it is cheap; file contents are read by the callers
that need them.

Freshness: while walking, the fingerprint of every directory is taken *before*
it is listed (a directory's mtime changes whenever an entry is added, removed or
renamed in it), together with the fingerprints of the ignore files read. They
are recorded as the cached value's dependencies, so an unchanged tree is answered
by stat-ing directories only, in one thread hop.
"""

from __future__ import annotations

import os
import stat as stat_module
from dataclasses import dataclass, field
from pathlib import Path

from adapters.ignore_rules import IgnoreFile, is_ignored
from domain.errors import CorruptDataError, NotFoundError
from infrastructure.cache import Fingerprint, add_dependencies, cached, fingerprint
from infrastructure.files import in_thread, open_file_sync, os_error, read_fd

# Folders that hold dependencies, build output or caches: never part of what a project *is*.
HEAVY_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".cde",
        "node_modules",
        "bower_components",
        "jspm_packages",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".cache",
        ".gradle",
        ".dart_tool",
        ".terraform",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".parcel-cache",
        ".angular",
        ".direnv",
        "site-packages",
        "dist",
        "build",
        "target",
        "coverage",
        "htmlcov",
        "vendor",
        "Pods",
        "DerivedData",
    }
)
# A folder containing one of these is a virtualenv or a cache whatever its name.
MARKER_FILES = ("pyvenv.cfg", "CACHEDIR.TAG")
MAX_IGNORE_FILE_BYTES = 1024 * 1024
MAX_UNWALKED = 10_000
MAX_PRUNED_LISTED = 50


@dataclass(frozen=True)
class ProjectTree:
    """The walk's result. `files` are POSIX paths relative to `root`, sorted."""

    root: Path
    files: tuple[str, ...]
    dirs: tuple[str, ...]  # walked directories ("" is the root), sorted
    ignored: int  # files and folders left out by ignore rules
    pruned: tuple[str, ...]  # dependency/build/cache folders skipped (first few)
    symlinks: int
    unreadable_dirs: int
    truncated: bool  # stopped at the file limit
    bad_names: int  # files and folders left out because their names are not valid UTF-8
    fingerprints: tuple[tuple[str, Fingerprint], ...] = field(repr=False)
    # Paths that exist but were not walked: symlinks (not followed) and pruned folders, so that a
    # link to one is not taken for a link to nothing. Bounded, like the walk.
    unwalked: tuple[str, ...] = ()


def pruned_name(name: str) -> bool:
    """Whether a folder of this name is pruned wherever it appears (dependencies, build output, caches)."""
    return name in HEAVY_DIRS or name.endswith(".egg-info")


def _valid_utf8(name: str) -> bool:
    """False for a name decoded with surrogate escapes (bytes that are not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stat_print(st: os.stat_result) -> Fingerprint:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _read_ignore(path: Path, base: str, prints: list[tuple[str, Fingerprint]], *, above: str = "") -> IgnoreFile | None:
    prints.append((os.fspath(path), fingerprint(path)))
    try:
        fd, _ = open_file_sync(path)  # a FIFO named .gitignore is skipped, not waited on
        try:
            data = read_fd(fd, MAX_IGNORE_FILE_BYTES)[:MAX_IGNORE_FILE_BYTES]
        finally:
            os.close(fd)
    except (OSError, CorruptDataError):
        return None
    # Like git, a byte-order mark (Windows editors write one) is not part of the first pattern.
    rules = IgnoreFile(base, data.decode("utf-8", "replace").removeprefix("\ufeff").splitlines(), above=above)
    return rules if rules.prefilter is not None else None


def _enclosing_rules(root: Path, prints: list[tuple[str, Fingerprint]]) -> list[IgnoreFile]:
    """For a project inside a larger git work tree (a package of a monorepo): that repository's
    `info/exclude` and the `.gitignore` files from its root down to the project's parent, as git
    applies them. Empty when the project is itself the top of its repository, in none, or in one
    rooted at the home folder or above it."""
    folders: list[Path] = []
    for folder in root.parents:
        folders.append(folder)
        if os.path.lexists(folder / ".git"):
            break
    else:
        return []
    top = folders[-1]
    try:
        home: Path | None = Path.home()
    except (KeyError, RuntimeError):  # no home directory known
        home = None
    if top == Path(top.anchor) or (home is not None and home.is_relative_to(top)):
        return []  # a repository of the home folder (dotfiles, often ignoring "*") or the disk is not the project's
    rules: list[IgnoreFile] = []
    git_dir = top / ".git"
    if git_dir.is_dir() and not git_dir.is_symlink():
        exclude = _read_ignore(git_dir / "info" / "exclude", "", prints, above=f"{root.relative_to(top)}/")
        if exclude is not None:
            rules.append(exclude)
    for folder in reversed(folders):  # shallow to deep: the deeper file decides
        prints.append((os.fspath(folder), fingerprint(folder)))  # a .gitignore added there is seen
        found = _read_ignore(folder / ".gitignore", "", prints, above=f"{root.relative_to(folder)}/")
        if found is not None:
            rules.append(found)
    return rules


def walk_project_sync(root: Path, *, max_files: int) -> ProjectTree:
    """Walk `root` (an existing directory); see the module docstring."""
    prints: list[tuple[str, Fingerprint]] = [(os.fspath(root), fingerprint(root))]
    git_dir = root / ".git"
    base_rules = [] if os.path.lexists(git_dir) else _enclosing_rules(root, prints)
    if git_dir.is_dir() and not git_dir.is_symlink():
        exclude = _read_ignore(git_dir / "info" / "exclude", "", prints)
        if exclude is not None:
            base_rules.append(exclude)
    files: list[str] = []
    dirs: list[str] = []
    pruned: list[str] = []
    unwalked: list[str] = []
    ignored = symlinks = unreadable = bad_names = 0
    truncated = False
    pending: list[tuple[Path, str, tuple[IgnoreFile, ...]]] = [(root, "", tuple(base_rules))]
    while pending and not truncated:
        directory, prefix, rules = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except FileNotFoundError:
            if directory == root:
                raise NotFoundError(f"{root} does not exist") from None
            continue
        except OSError as exc:
            if directory == root:
                raise os_error(root, exc) from None
            unreadable += 1
            continue
        names = {e.name for e in entries}
        if prefix and any(marker in names for marker in MARKER_FILES):
            _note(pruned, prefix.rstrip("/"))
            _note(unwalked, prefix.rstrip("/"), MAX_UNWALKED)
            continue
        dirs.append(prefix.rstrip("/"))
        if ".gitignore" in names:
            local = _read_ignore(directory / ".gitignore", prefix, prints)
            if local is not None:
                rules = (*rules, local)
        for entry in entries:
            name = entry.name
            if not name.isascii() and not _valid_utf8(name):
                bad_names += 1  # no tool could report it (JSON), index it (SQLite) or store it (state)
                continue
            rel = prefix + name
            try:
                if entry.is_symlink():
                    symlinks += 1
                    if not (rules and is_ignored(rules, rel, is_dir=False)):
                        _note(unwalked, rel, MAX_UNWALKED)
                elif entry.is_dir(follow_symlinks=False):
                    if pruned_name(name):
                        _note(pruned, rel)
                        if not (rules and is_ignored(rules, rel, is_dir=True)):  # there on GitHub too
                            _note(unwalked, rel, MAX_UNWALKED)
                    elif rules and is_ignored(rules, rel, is_dir=True):
                        ignored += 1
                    else:
                        st = entry.stat(follow_symlinks=False)
                        if stat_module.S_ISDIR(st.st_mode):
                            prints.append((entry.path, _stat_print(st)))
                            pending.append((Path(entry.path), f"{rel}/", rules))
                elif entry.is_file(follow_symlinks=False) and name != ".git":
                    if rules and is_ignored(rules, rel, is_dir=False):
                        ignored += 1
                    elif len(files) >= max_files:
                        truncated = True
                        break
                    else:
                        files.append(rel)
            except OSError:  # e.g. a folder past PATH_MAX: its stat fails; counted, never dropped unseen
                unreadable += 1
                continue
    files.sort()
    dirs.sort()
    return ProjectTree(
        root=root,
        files=tuple(files),
        dirs=tuple(dirs),
        ignored=ignored,
        pruned=tuple(sorted(pruned)),
        symlinks=symlinks,
        unreadable_dirs=unreadable,
        truncated=truncated,
        bad_names=bad_names,
        fingerprints=tuple(prints),
        unwalked=tuple(unwalked),
    )


def _note(found: list[str], rel: str, limit: int = 0) -> None:
    if len(found) < (limit or MAX_PRUNED_LISTED):
        found.append(rel)


_walk = in_thread(walk_project_sync)


class FsProjectTree:
    """Cached project walks; one instance per process (the cache is keyed by root)."""

    def __init__(self, *, max_files: int) -> None:
        self.max_files = max_files

    @cached("project.tree", maxsize=8)
    async def tree(self, root: Path) -> ProjectTree:
        found = await _walk(root, max_files=self.max_files)
        add_dependencies(found.fingerprints)
        return found
