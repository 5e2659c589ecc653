"""The three skill libraries of a project on disk, searched through one SQLite FTS5 index.

Layout of a library (project: `<project>/.cde/skills`, user: `<CDE home>/skills`,
bundled: shipped in this package)::

    <library>/<name>/SKILL.md            the current version
    <library>/<name>/history/v<N>.md     earlier versions, verbatim
    <library>/<name>/<anything else>     extra files the skill refers to

The index (`<project>/.cde/cache/skills.db`, derived data) holds one record per
skill file, keyed `<scope>/<name>`. Our own writes are held in memory and applied
to it (in one transaction) by the next search of this library, in that search's
worker hop (or by the 64th save held): a save returns as soon as its file is
durable, and a search still finds it. A held record whose file changed since is
dropped, not applied: the index is shared with other processes. Before a search,
the fingerprint of every SKILL.md is compared with the index and only files
changed behind our back are re-read (everything is compared again once another
process has written the index). That needs one `stat` per skill, so the list of
fingerprints (a *snapshot*) is cached for `SCAN_TTL` seconds. Our own writes
patch the cached snapshot (of every library in this process that sees the
skill), so they are searchable at once without a rescan; changes made by hand
or by another process are searchable within `SCAN_TTL`. Reading a skill by name
always reads the file itself.

A new skill is created without a lock by an atomic create-if-absent
(`create_exclusive_sync`: fsync'ed temp file linked into place), so two creators
of one name cannot both win. Changes to an existing skill run under its
cross-process lock on `SKILL.md.lock` via `locked_update_sync`: the current file is
re-read inside the lock, its text copied to the history when the version changes,
then SKILL.md is replaced atomically. Deletion renames the directory away (atomic)
before removing it, so a reader never sees half a skill.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import stat as stat_module
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from adapters.fts_index import MAX_FETCH, MAX_LIMIT, FtsIndex, IndexedRecord, SearchHit, index_failure
from adapters.skill_markdown import parse_skill, render_skill
from domain.errors import (
    ConflictError,
    CorruptDataError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from domain.skills.model import SCOPES, Skill, SkillHit, SkillQuery, SkillScope, StoredSkill, WritableScope
from infrastructure.cache import cached
from infrastructure.files import (
    atomic_write_sync,
    create_exclusive_sync,
    fsync_dir,
    in_thread,
    locked_update_sync,
    make_dirs_sync,
    note_new_folder,
    os_error,
    read_text_sync,
)
from infrastructure.locks import LockTimeoutError, exclusive

logger = logging.getLogger(__name__)

# Saves held for the index at most (one transaction of this many takes ~10 ms).
PENDING_LIMIT = 64

BUNDLED_SKILLS = Path(__file__).parent / "bundled" / "skills"
INDEX_FILE = Path(".cde") / "cache" / "skills.db"
PROJECT_SKILLS = Path(".cde") / "skills"
SKILL_FILE = "SKILL.md"
HISTORY_DIR = "history"
MAX_SKILL_BYTES = 1024 * 1024
SCAN_TTL = 2.0

_HISTORY_FILE = re.compile(r"^v([1-9][0-9]{0,8})\.md$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
# A deleted skill's folder is renamed to `.trash-<name>-<hex>` (never a skill name), then removed.
TRASH_PREFIX = ".trash-"


def _remove_trash(path: str) -> None:
    """Remove what a delete killed between its rename and its removal left: a full copy of the deleted
    skill, which would otherwise stay in a folder the user commits. Harmless if that delete is live."""
    logger.info("removing %s, left by an interrupted skill delete", path)
    shutil.rmtree(path, ignore_errors=True)


_NOT_EXTRA = {SKILL_FILE, f"{SKILL_FILE}.lock", HISTORY_DIR}


def split_source(source: str) -> tuple[SkillScope, str]:
    """`<scope>/<name>` (an index source) as (scope, name)."""
    scope, name = source.split("/", 1)
    return cast(SkillScope, scope), name


def _stamp(path: str | Path) -> str | None:
    """The fingerprint of a skill file; None when absent or not a regular file (a link is never read)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat_module.S_ISREG(st.st_mode):
        return None
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}:{st.st_ctime_ns}"


def _refuse_links(root: Path, path: Path) -> None:
    """Refuse `path` under a library `root` when a folder or file on the way is a symlink.

    A repository can ship `.cde/skills/x -> ~/.ssh` or a SKILL.md linked to any file: read
    through, its text (and the folder's listing) would come back as a skill. Skills are read
    from real folders and files only, as they are written (see `_writable_dir`).
    """
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if not _refuse_link(current):
            return  # missing (or unreadable): the read that follows says so


def _refuse_link(path: str | Path) -> bool:
    """Refuse `path` if it is a symlink; whether it exists."""
    try:
        linked = stat_module.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False
    if linked:
        raise PermissionDeniedError(
            f"{path} is a symlink; skills are read from real folders and files only "
            "(a link could expose files outside the library) - replace it with a copy"
        )
    return True


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def record_of(skill: Skill) -> IndexedRecord:
    """The searchable form of a skill: name as title, description as heading, filters as attrs."""
    return IndexedRecord(
        title=skill.name,
        heading=skill.description,
        body=skill.body,
        tags=tuple(skill.tags),
        attrs={
            "name": skill.name,
            "scope": skill.scope,
            "domain": skill.domain or "",
            "kind": skill.kind,
            "version": str(skill.version),
            "expires": _iso(skill.expires),
        },
    )


@dataclass(frozen=True)
class Snapshot:
    """The fingerprint of every SKILL.md of the three libraries at one moment."""

    stamps: Mapping[str, str]  # "<scope>/<name>" → fingerprint
    scopes: Mapping[str, tuple[SkillScope, ...]] = field(default_factory=dict)  # name → scopes holding it
    misplaced: tuple[str, ...] = ()  # "<scope>/<folder>" of folders that look meant as skills but are not one

    def with_source(self, source: str, stamp: str | None) -> Snapshot:
        """A copy with one source's fingerprint set (or removed when `stamp` is None); self if unchanged."""
        if self.stamps.get(source) == stamp:
            return self
        stamps = dict(self.stamps)
        scope, name = split_source(source)
        held = set(self.scopes.get(name, ()))
        if stamp is None:
            stamps.pop(source, None)
            held.discard(scope)
        else:
            stamps[source] = stamp
            held.add(scope)
        scopes = dict(self.scopes)
        if held:
            scopes[name] = tuple(sorted(held, key=SCOPES.index))
        else:
            scopes.pop(name, None)
        return Snapshot(stamps=stamps, scopes=scopes, misplaced=self.misplaced)

    @classmethod
    def of(cls, stamps: dict[str, str], misplaced: tuple[str, ...] = ()) -> Snapshot:
        scopes: dict[str, list[SkillScope]] = {}
        for source in stamps:
            scope, name = split_source(source)
            scopes.setdefault(name, []).append(scope)
        return cls(
            stamps=stamps,
            scopes={n: tuple(sorted(s, key=SCOPES.index)) for n, s in scopes.items()},
            misplaced=misplaced,
        )


_LOOK_INSIDE = 200  # entries of a folder without SKILL.md looked at for a misplaced one


def _meant_as_skill(folder: str) -> bool:
    """Whether a folder holds what was meant as a skill: a SKILL.md in any case (in a folder whose name we
    refuse, or `skill.md`), or a skill folder one level down (`group/inner/SKILL.md`)."""
    try:
        with os.scandir(folder) as entries:
            for seen, entry in enumerate(entries):
                if seen >= _LOOK_INSIDE:
                    return False
                if entry.name.lower() == SKILL_FILE.lower():
                    return True
                if entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, SKILL_FILE)):
                    return True
    except OSError:
        return False
    return False


def _expired(attrs: Mapping[str, str], now: datetime) -> bool:
    expires = attrs.get("expires")
    return attrs.get("kind") == "ephemeral" and bool(expires) and datetime.fromisoformat(str(expires)) <= now


class _SnapshotBox:
    """The cached scan; our own writes swap in a patched copy until the next rescan."""

    __slots__ = ("current",)

    def __init__(self, snapshot: Snapshot) -> None:
        self.current = snapshot


# Every live library, so a write to the shared user library shows in all projects' searches at once.
_LIVE: weakref.WeakSet[FsSkillLibrary] = weakref.WeakSet()


class _Loaded:
    """What locked_update hands to the change function: the parsed skill and its exact text."""

    __slots__ = ("skill", "text")

    def __init__(self, skill: Skill, text: str) -> None:
        self.skill = skill
        self.text = text


class FsSkillLibrary:
    """The SkillLibrary port for one project (see the module docstring)."""

    def __init__(
        self,
        project_root: Path,
        home: Path,
        *,
        bundled: Path = BUNDLED_SKILLS,
        lock_timeout: float = 10.0,
    ) -> None:
        self.project_root = project_root
        self.roots: dict[SkillScope, Path] = {
            "project": project_root / PROJECT_SKILLS,
            "user": home / "skills",
            "bundled": bundled,
        }
        # As strings too: building paths with os.path on every save is ~5x cheaper than with pathlib here.
        self._root_strs: dict[SkillScope, str] = {scope: os.fspath(root) for scope, root in self.roots.items()}
        # A project whose .cde/ is the CDE home (a project at ~ with the default home): its library *is* the
        # user library. It is read as the user library only; writing or deleting "project" skills is refused,
        # or one skill would be both, shadowing itself, and a project-scope delete would remove a user skill.
        # Found out (resolving links: ~/.cde may be one) in the first worker-thread call that needs it.
        self._project_is_user: bool | None = None
        self._project_prefix = os.fspath(project_root) + os.sep
        self.index = FtsIndex(project_root / INDEX_FILE)
        self._lock_timeout = lock_timeout
        self._state_lock = threading.Lock()
        self._synced: Snapshot | None = None
        # Our own saves not yet in the index, by source: applied (in one transaction) by the next search,
        # in its own thread hop, so a save returns once its file is durable. Guarded by _state_lock.
        self._pending: dict[str, tuple[str, list[IndexedRecord]]] = {}
        self._next_expiry: datetime | None = None
        # `scope/name` of each SKILL.md the index could not read, as of the last sync (see `unreadable`).
        self._unreadable: list[str] = []
        self._misplaced: list[str] = []  # and of each folder meant as a skill that is not one (Snapshot)
        self._expiry_known = False
        _LIVE.add(self)

    def close(self) -> None:
        try:
            with self._state_lock:
                self._flush_pending()
        finally:
            self.index.close()

    def _flush_pending(self) -> None:
        """Index the saves made since the last search (call with _state_lock held).

        Only those whose file is still the one saved: the index is shared with other
        processes, and a record written late over their newer one would stay there
        (they trust what they indexed). A file changed since is re-read by the sync.
        """
        if not self._pending:
            return
        current = []
        for source, (stamp, records) in self._pending.items():
            scope, name = split_source(source)
            if _stamp(self.roots[scope] / name / SKILL_FILE) == stamp:
                current.append((source, stamp, records))
        self.index.upsert_many(current)
        if self._unreadable:  # a skill saved over an unreadable one (after deleting it) is readable again
            self._unreadable = [s for s in self._unreadable if s not in self._pending]
        self._pending.clear()

    # -- snapshot ----------------------------------------------------------------------------------

    @cached("skills.snapshot", maxsize=64, ttl=SCAN_TTL)
    async def _scanned(self) -> _SnapshotBox:
        return _SnapshotBox(await _scan(self))

    async def snapshot(self) -> Snapshot:
        """Fingerprints of every skill file; see SCAN_TTL in the module docstring."""
        box: _SnapshotBox = await self._scanned()
        return box.current

    def rescan(self) -> None:
        """Forget the snapshot: the next search stats every skill file again."""
        self._scanned.invalidate()

    def _written(self, scope: SkillScope, name: str, stamp: str | None) -> None:
        """Record our own write in the cached snapshot of every library that sees this skill (no rescan).

        A library without a cached snapshot needs nothing: its next scan sees the file.
        """
        source = f"{scope}/{name}"
        root = self.roots[scope]
        for library in [lib for lib in list(_LIVE) if lib.roots[scope] == root]:
            box: _SnapshotBox | None = library._scanned.peek()
            if box is not None:
                box.current = box.current.with_source(source, stamp)

    def scan_sync(self) -> Snapshot:
        stamps: dict[str, str] = {}
        misplaced: list[str] = []
        for scope in self._scopes:
            root = self.roots[scope]
            try:
                entries = list(os.scandir(root))
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("cannot list skills in %s: %s", root, exc)
                continue
            for entry in entries:
                if not _SLUG.fullmatch(entry.name) or entry.is_symlink():
                    if entry.name.startswith(TRASH_PREFIX) and scope != "bundled":
                        _remove_trash(entry.path)
                    elif (
                        not entry.name.startswith(".")
                        and scope != "bundled"
                        and entry.is_dir(follow_symlinks=False)
                        and _meant_as_skill(entry.path)
                    ):
                        misplaced.append(f"{scope}/{entry.name}")  # e.g. My_Skill/: not a name we accept
                    continue  # hidden entries (trash, temp files) and names we would refuse anyway
                stamp = _stamp(f"{entry.path}/{SKILL_FILE}")
                if stamp is not None:
                    stamps[f"{scope}/{entry.name}"] = stamp
                elif scope != "bundled" and entry.is_dir(follow_symlinks=False) and _meant_as_skill(entry.path):
                    misplaced.append(f"{scope}/{entry.name}")
        return Snapshot.of(stamps, tuple(misplaced))

    def _load(self, source: str) -> list[IndexedRecord]:
        scope, name = split_source(source)
        return [record_of(self._parse_file(self.roots[scope] / name / SKILL_FILE, name, scope))]

    def _ensure_synced(self, snapshot: Snapshot) -> None:
        """Bring the index in line with `snapshot` unless it already is (the last one applied, plus our writes)."""
        with self._state_lock:
            self._misplaced = list(snapshot.misplaced)
            self._flush_pending()
            # Another process writing the shared index (or a rebuild of it) voids what we know it holds.
            if not self.index.written_elsewhere():
                if snapshot is self._synced:
                    return
                if self._synced is not None and snapshot.stamps == self._synced.stamps:
                    self._synced = snapshot  # e.g. a snapshot patched after our own write: nothing to re-read
                    return
            self.index.sync(snapshot.stamps, self._load)
            self._synced = snapshot
            self._expiry_known = False
            self._unreadable = self.index.empty_sources()

    # -- expiry ----------------------------------------------------------------------------------

    def _ephemeral_hits(self) -> list[SearchHit]:
        hits: list[SearchHit] = []
        while True:
            page = self.index.browse(limit=MAX_LIMIT, offset=len(hits), attrs={"kind": "ephemeral"})
            hits.extend(page)
            if len(page) < MAX_LIMIT:
                return hits

    def _purge_sync(self, now: datetime, *, force: bool = False) -> list[str]:
        """Delete expired ephemeral skills; cheap when no ephemeral skill is due (the common case)."""
        with self._state_lock:
            if not force and self._expiry_known and (self._next_expiry is None or now < self._next_expiry):
                return []
            due: list[tuple[SkillScope, str]] = []
            upcoming: list[datetime] = []
            for hit in self._ephemeral_hits():
                scope = hit.attrs["scope"]
                if _expired(hit.attrs, now):
                    if scope != "bundled":
                        due.append((scope, hit.attrs["name"]))  # type: ignore[arg-type]
                elif hit.attrs.get("expires"):
                    upcoming.append(datetime.fromisoformat(hit.attrs["expires"]))
            self._next_expiry = min(upcoming, default=None)
            self._expiry_known = True
        purged = [f"{scope}/{name}" for scope, name in due if self._delete_expired_sync(scope, name, now)]
        if purged:
            logger.info("removed %d expired ephemeral skill(s): %s", len(purged), ", ".join(purged))
        return purged

    def _note_expiry(self, skill: Skill) -> None:
        """Keep the earliest known expiry current after our own write (saves a query per search)."""
        if skill.kind == "ephemeral" and skill.expires is not None:
            with self._state_lock:
                if self._expiry_known and (self._next_expiry is None or skill.expires < self._next_expiry):
                    self._next_expiry = skill.expires

    def _delete_expired_sync(self, scope: SkillScope, name: str, now: datetime) -> bool:
        """Remove one skill if, re-read under its lock, it is still expired (never through a symlink)."""

        def still_expired(skill: Skill | None) -> bool:
            return skill is not None and skill.is_expired(now)

        try:
            if scope == "bundled":
                return False  # shipped read-only with the package
            path = self._writable_dir(scope, name) / SKILL_FILE
            return self._remove_sync(scope, name, path, condition=still_expired) is not None
        except (OSError, ConflictError, CorruptDataError, PermissionDeniedError) as exc:
            logger.warning("could not remove expired skill %s/%s: %s", scope, name, exc)
            return False

    # -- reading ---------------------------------------------------------------------------------

    def _display(self, path: Path) -> str:
        text = os.fspath(path)
        if text.startswith(self._project_prefix):
            return text[len(self._project_prefix) :].replace(os.sep, "/")
        return text

    def _shadows(self, name: str, scope: SkillScope) -> list[SkillScope]:
        scopes = self._scopes
        lower = scopes[scopes.index(scope) + 1 :] if scope in scopes else ()
        return [s for s in lower if os.path.exists(os.path.join(self._root_strs[s], name, SKILL_FILE))]

    def _history(self, skill_dir: Path) -> list[int]:
        try:
            names = os.listdir(skill_dir / HISTORY_DIR)
        except OSError:
            return []
        return sorted(int(m.group(1)) for m in map(_HISTORY_FILE.match, names) if m)

    def _extra_files(self, skill_dir: Path) -> list[str]:
        try:
            entries = list(os.scandir(skill_dir))
        except OSError:
            return []
        found = []
        for entry in entries:
            if entry.name in _NOT_EXTRA or entry.name.startswith("."):
                continue
            found.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
        return sorted(found)[:50]

    def _stored(
        self, skill: Skill, text: str, path: Path, *, history: list[int] | None = None, fresh: bool = False
    ) -> StoredSkill:
        skill_dir = path.parent
        return StoredSkill(
            skill=skill,
            text=text,
            path=self._display(path),
            history=self._history(skill_dir) if history is None else history,
            files=[] if fresh else self._extra_files(skill_dir),
            shadows=self._shadows(skill.name, skill.scope),
        )

    def _parse_file(self, path: Path, name: str, scope: SkillScope) -> Skill:
        return self._read_file(path, name, scope)[0]

    def _read_file(self, path: Path, name: str, scope: SkillScope) -> tuple[Skill, str]:
        _refuse_links(self.roots[scope], path)
        text = read_text_sync(path, MAX_SKILL_BYTES)
        return parse_skill(path, text, name=name, scope=scope), text

    def read_sync(self, name: str, now: datetime, scope: SkillScope | None, version: int | None) -> StoredSkill:
        if scope == "project":
            self._check_project_scope()
        for candidate in (scope,) if scope else self._scopes:
            path = self.roots[candidate] / name / SKILL_FILE
            try:
                skill, text = self._read_file(path, name, candidate)
            except NotFoundError:
                continue
            except InvalidInputError:
                if scope is None and not os.path.isdir(self._root_strs[candidate]):
                    continue  # a file where a library should be holds no skill: the search lists the others too
                raise
            if skill.is_expired(now):
                if candidate != "bundled":
                    self._delete_expired_sync(candidate, name, now)
                continue
            if version is None or version == skill.version:
                return self._stored(skill, text, path)
            history = self._history(path.parent)
            if version not in history:
                listed = ", ".join(str(v) for v in [*history, skill.version])
                raise NotFoundError(f"skill {name!r} ({candidate}) has no version {version}; versions: {listed}")
            old, old_text = self._read_file(path.parent / HISTORY_DIR / f"v{version}.md", name, candidate)
            return self._stored(old.model_copy(update={"version": version}), old_text, path, history=history)
        where = f"in the {scope} library" if scope else "in the project, user or bundled libraries"
        for candidate in (scope,) if scope else self._scopes:
            folder = os.path.join(self._root_strs[candidate], name)
            if candidate != "bundled" and os.path.isdir(folder) and _meant_as_skill(folder):
                raise NotFoundError(
                    f"no skill named {name!r} {where}: {self._display(Path(folder))} has no {SKILL_FILE}; a skill is "
                    f"a {SKILL_FILE} (that exact name) directly in a folder named after it"
                )
        raise NotFoundError(f"no skill named {name!r} {where}; list them with cde_findSkills")

    async def read(
        self, name: str, *, now: datetime, scope: SkillScope | None = None, version: int | None = None
    ) -> StoredSkill:
        return await _read(self, name, now, scope, version)

    # -- writing ---------------------------------------------------------------------------------

    @property
    def _scopes(self) -> tuple[SkillScope, ...]:
        """The scopes with a library of their own (blocking on first use: call it in a worker thread)."""
        if self._project_is_user is None:
            real = {scope: os.path.realpath(self._root_strs[scope]) for scope in ("project", "user")}
            self._project_is_user = real["project"] == real["user"]
        return tuple(s for s in SCOPES if not (s == "project" and self._project_is_user))

    def _check_project_scope(self) -> None:
        if "project" not in self._scopes:
            raise InvalidInputError(
                f"this project's skill library {self.roots['project']} is the user library (CDE_HOME is the "
                "project's .cde): use scope='user', or set CDE_HOME outside the project"
            )

    def _writable_dir(self, scope: WritableScope, name: str) -> Path:
        if scope == "project":
            self._check_project_scope()
        skill_dir = os.path.join(self._root_strs[scope], name)
        if os.path.islink(skill_dir):
            raise PermissionDeniedError(f"{skill_dir} is a symlink; skills are only written to real directories")
        return Path(skill_dir)

    def _create_sync(
        self, name: str, scope: WritableScope, change: Callable[[Skill | None], Skill], base: Skill | None = None
    ) -> tuple[Skill, str] | None:
        """A brand-new skill without any lock: an atomic create-if-absent; None if the file exists.

        `base` (a bundled skill being customised) is written to the history first when the new
        skill is a later version of it, so its text stays readable as that version.
        """
        # First what may refuse (e.g. an update of a skill this library does not hold): a refusal
        # must leave nothing behind, not even the skill's directory.
        skill = change(None).model_copy(update={"name": name, "scope": scope})
        text = render_skill(skill)
        earlier = None
        history_file: Path | None = None
        if base is not None and base.version != skill.version:
            earlier = (base.version, self._verbatim(base) or render_skill(base.model_copy(update={"scope": scope})))
        skill_dir = self.roots[scope] / name
        made_dir = False
        try:
            make_dirs_sync(skill_dir.parent)
            with contextlib.suppress(FileExistsError):
                skill_dir.mkdir()
                made_dir = True
                note_new_folder(os.fspath(skill_dir))  # nothing to sweep in it
        except OSError as exc:
            raise os_error(skill_dir, exc) from None
        try:
            if earlier is not None:  # before SKILL.md: a reader never sees a version without its history
                # Never over a history file a concurrent creator of this skill may have written already.
                make_dirs_sync(skill_dir / HISTORY_DIR)
                history_file = skill_dir / HISTORY_DIR / f"v{earlier[0]}.md"
                if not create_exclusive_sync(history_file, earlier[1]):
                    history_file = None
            created = create_exclusive_sync(skill_dir / SKILL_FILE, text)
            if made_dir:
                # The new directory's entry must survive a crash too. Synced last: the file's fsync
                # already committed the mkdir on journaling filesystems, so this one is nearly free.
                fsync_dir(skill_dir.parent)
        except NotFoundError:  # the directory was removed under us (a concurrent delete)
            raise ConflictError(f"skill {name!r} was deleted while being saved; retry") from None
        except BaseException:
            if made_dir:  # only if still empty: a concurrent creator may have linked its SKILL.md into it
                with contextlib.suppress(OSError):
                    if history_file is not None:
                        os.unlink(history_file)
                        os.rmdir(history_file.parent)
                    os.rmdir(skill_dir)
            raise
        return (skill, text) if created else None

    def _verbatim(self, skill: Skill) -> str | None:
        """The text of `skill` as its library holds it (comments, layout), if that file still holds it."""
        try:
            current, text = self._read_file(self.roots[skill.scope] / skill.name / SKILL_FILE, skill.name, skill.scope)
        except DomainError:
            return None
        return text if current.version == skill.version else None

    def _update_sync(
        self, name: str, scope: WritableScope, change: Callable[[Skill | None], Skill], now: datetime
    ) -> tuple[Skill, str]:
        """Read-modify-write under the skill's cross-process lock, the previous version kept in history."""
        skill_dir = self.roots[scope] / name
        written: list[tuple[Skill, str]] = []

        def loads(file: Path, text: str) -> _Loaded:
            _refuse_links(self.roots[scope], file)  # again under the lock: it may have been swapped since
            return _Loaded(parse_skill(file, text, name=name, scope=scope), text)

        def apply(current: _Loaded | None) -> str:
            previous = current.skill if current is not None and not current.skill.is_expired(now) else None
            skill = change(previous).model_copy(update={"name": name, "scope": scope})
            if current is not None and previous is None:  # an expired skill: the new one starts afresh
                self._clear_leftovers(skill_dir)
            if previous is not None and current is not None and skill.version != previous.version:
                skill = self._keep_in_history(skill_dir, skill, previous.version, current.text)
            text = render_skill(skill)
            written.append((skill, text))
            return text

        locked_update_sync(
            skill_dir / SKILL_FILE, apply, timeout=self._lock_timeout, loads=loads, dumps=str, follow_symlinks=False
        )
        return written[0]

    def _keep_in_history(self, skill_dir: Path, skill: Skill, version: int, text: str) -> Skill:
        """Write the replaced `text` (version `version`) to the history; `skill`, numbered past every version
        the history holds. A history file is never overwritten: one of that number holding another text
        (SKILL.md edited by hand without a new version) is a conflict."""
        kept = skill_dir / HISTORY_DIR / f"v{version}.md"
        _refuse_links(self.roots[skill.scope], kept)  # a linked history folder or file is never written through
        taken = self._history(skill_dir)
        if version in taken and read_text_sync(kept, MAX_SKILL_BYTES) != text:
            raise ConflictError(
                f"{kept} already holds another text than {SKILL_FILE} (both version {version}): {SKILL_FILE} was "
                f"edited without a new version; set `version: {max(taken) + 1}` in its front matter and update again"
            )
        if version not in taken:
            atomic_write_sync(kept, text)
        top = max([*taken, version])
        return skill if skill.version > top else skill.model_copy(update={"version": top + 1})

    def _clear_leftovers(self, skill_dir: Path) -> None:
        """The history and extra files of an expired skill a save replaces (its SKILL.md is rewritten)."""
        for entry in os.scandir(skill_dir):
            if entry.name in (SKILL_FILE, f"{SKILL_FILE}.lock") or entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)

    def write_sync(
        self,
        name: str,
        scope: WritableScope,
        change: Callable[[Skill | None], Skill],
        now: datetime,
        base: Skill | None = None,
    ) -> tuple[StoredSkill, str | None]:
        path = self._writable_dir(scope, name) / SKILL_FILE  # the folder is checked: not a link
        # Never read (for the update, or the conflict a save reports) through a linked SKILL.md.
        exists = _refuse_link(path)
        result = None if exists else self._create_sync(name, scope, change, base)
        created = result is not None
        skill, text = result or self._update_sync(name, scope, change, now)
        stamp = _stamp(path)
        if stamp is not None:  # indexed by the next search, from memory: it has nothing to re-read
            source = f"{scope}/{name}"
            with self._state_lock:  # serialised with sync: the marker and _pending say what the index holds
                self._pending[source] = (stamp, [record_of(skill)])
                # A burst of saves: bound what one search applies; a flush that failed is retried
                # every PENDING_LIMIT saves, not on each one.
                if len(self._pending) % PENDING_LIMIT == 0:
                    try:
                        self._flush_pending()
                    except Exception:  # the skill is saved; the next search retries the indexing
                        logger.warning("indexing saved skills failed; the next search retries", exc_info=True)
                if self._synced is not None:
                    self._synced = self._synced.with_source(source, stamp)
            self._note_expiry(skill)
        # A skill created just now has no extra files, and no history unless made from a base: no need
        # to list its directory.
        history: list[int] | None = [] if created and base is None else None
        return self._stored(skill, text, path, history=history, fresh=created), stamp

    async def write(
        self,
        name: str,
        scope: WritableScope,
        change: Callable[[Skill | None], Skill],
        *,
        now: datetime,
        base: Skill | None = None,
    ) -> StoredSkill:
        stored, stamp = await _write(self, name, scope, change, now, base)
        self._written(scope, name, stamp)
        return stored

    def _remove_sync(
        self,
        scope: SkillScope,
        name: str,
        path: Path,
        *,
        condition: Callable[[Skill | None], bool] = lambda _: True,
    ) -> Skill | None:
        """Under the skill's lock: if `condition(current)`, move the directory away and delete it."""
        skill_dir = path.parent
        try:
            with exclusive(f"{path}.lock", self._lock_timeout):
                try:
                    current: Skill | None = self._parse_file(path, name, scope)
                except NotFoundError:
                    return None
                except CorruptDataError:
                    current = None  # an unreadable skill can still be deleted on request
                if not condition(current):
                    return None
                trash = skill_dir.parent / f"{TRASH_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
                os.replace(skill_dir, trash)
                fsync_dir(skill_dir.parent)
        except LockTimeoutError:
            raise ConflictError(f"skill {name!r} stayed locked for over {self._lock_timeout:g}s; retry") from None
        except FileNotFoundError as exc:
            if not os.path.lexists(skill_dir):  # no such skill (its lock file lives in its folder)
                return None
            raise os_error(skill_dir, exc) from None
        except OSError as exc:
            raise os_error(skill_dir, exc) from None
        shutil.rmtree(trash, ignore_errors=True)
        source = f"{scope}/{name}"
        with self._state_lock:
            self._pending.pop(source, None)
            try:
                self.index.remove([source])
            except (OSError, sqlite3.Error):  # the skill is gone: the next search syncs the whole index
                logger.warning("could not drop skill %s from the search index", source, exc_info=True)
                self._synced = None
            else:
                if self._synced is not None:
                    self._synced = self._synced.with_source(source, None)
                if source in self._unreadable:
                    self._unreadable = [s for s in self._unreadable if s != source]
        return current or Skill(name=name, description="(unreadable)", body="", scope=scope, version=0)

    def delete_sync(self, name: str, scope: WritableScope, now: datetime) -> StoredSkill:
        path = self._writable_dir(scope, name) / SKILL_FILE
        removed = self._remove_sync(scope, name, path)
        if removed is None:
            raise NotFoundError(f"no skill named {name!r} in the {scope} library; list them with cde_findSkills")
        return StoredSkill(skill=removed, text="", path=self._display(path))

    def unreadable(self) -> list[str]:
        """`scope/name` of each skill whose SKILL.md could not be read when the last search indexed it, and
        of each folder that looks meant as a skill but is not one (cde_getSkill says why)."""
        return [*self._unreadable, *self._misplaced]

    async def delete(self, name: str, scope: WritableScope, *, now: datetime) -> StoredSkill:
        stored = await _delete(self, name, scope, now)
        self._written(scope, name, None)
        return stored

    # -- searching -------------------------------------------------------------------------------

    def search_sync(self, snapshot: Snapshot, query: SkillQuery, now: datetime) -> tuple[list[SkillHit], bool]:
        """(hits, whether something was purged) - one worker-thread hop for sync, expiry and query."""
        self._ensure_synced(snapshot)
        gone = frozenset(self._purge_sync(now))  # no longer shadowing what they shadowed in `snapshot`
        attrs = {k: v for k, v in (("domain", query.domain), ("kind", query.kind)) if v}
        shadowed = sum(1 for scopes in snapshot.scopes.values() if len(scopes) > 1)
        fetch = min(MAX_FETCH, query.limit + shadowed)
        while True:  # shadowed and expired rows are left out: fetch more while they leave fewer than `limit`
            raw = self._raw(query, attrs, fetch)
            hits = self._hits_of(raw, snapshot, query.limit, now, gone)
            if len(hits) == query.limit or fetch == MAX_FETCH or len(raw) < fetch:
                return hits, bool(gone)
            fetch = min(MAX_FETCH, fetch * 2)

    def _raw(self, query: SkillQuery, attrs: dict[str, str], fetch: int) -> list[SearchHit]:
        if query.text:
            return self.index.search(  # skill hits show no snippet; name > description > tags > content
                query.text,
                limit=fetch,
                attrs=attrs,
                tags=query.tags,
                snippet_tokens=0,
                explain=query.explain,
                tiered=query.by_field,
            )
        return self.index.browse(limit=fetch, attrs=attrs, tags=query.tags)

    def _hits_of(
        self, raw: list[SearchHit], snapshot: Snapshot, limit: int, now: datetime, gone: frozenset[str] = frozenset()
    ) -> list[SkillHit]:
        hits: list[SkillHit] = []
        for hit in raw:
            scope: SkillScope = hit.attrs["scope"]  # type: ignore[assignment]
            name = hit.attrs["name"]
            present = snapshot.scopes.get(name, (scope,))
            if gone:
                present = tuple(s for s in present if f"{s}/{name}" not in gone) or (scope,)
            if _expired(hit.attrs, now) or (scope in present and present.index(scope) > 0):
                continue  # expired (purged on the next pass) or shadowed by a higher library
            hits.append(
                SkillHit(
                    name=name,
                    scope=scope,
                    description=hit.heading,
                    tags=list(hit.tags),
                    domain=hit.attrs.get("domain") or None,
                    kind=hit.attrs.get("kind", "base"),  # type: ignore[arg-type]
                    version=int(hit.attrs.get("version", "1")),
                    score=hit.score,
                    matched={k: list(v) for k, v in hit.matched.items()},
                    shadows=[s for s in present if SCOPES.index(s) > SCOPES.index(scope)],
                )
            )
            if len(hits) == limit:
                break
        return hits

    async def search(self, query: SkillQuery, *, now: datetime) -> list[SkillHit]:
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}; got {query.limit}")
        try:
            hits, purged = await _search(self, await self.snapshot(), query, now)
        except (OSError, sqlite3.Error) as exc:
            raise index_failure(self.index.db_path, exc) from None
        if purged:
            self.rescan()
        return hits

    def purge_sync(self, snapshot: Snapshot, now: datetime) -> list[str]:
        self._ensure_synced(snapshot)
        return self._purge_sync(now, force=True)

    async def purge_expired(self, *, now: datetime) -> list[str]:
        try:
            purged = await _purge(self, await self.snapshot(), now)
        except (OSError, sqlite3.Error) as exc:
            raise index_failure(self.index.db_path, exc) from None
        if purged:
            self.rescan()
        return purged


_scan = in_thread(FsSkillLibrary.scan_sync)
_read = in_thread(FsSkillLibrary.read_sync)
_write = in_thread(FsSkillLibrary.write_sync)
_delete = in_thread(FsSkillLibrary.delete_sync)
_search = in_thread(FsSkillLibrary.search_sync)
_purge = in_thread(FsSkillLibrary.purge_sync)
