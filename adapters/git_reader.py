"""Git facts (branch, commit count, contributors, recent commits) from the `git` CLI, never blocking the loop.

Each question is one `git` subprocess started with `asyncio.create_subprocess_exec`
(no shell), run concurrently, each bounded by a timeout after which the process
is killed and that fact is reported as unknown. No git on PATH, a directory that
is not a repository, or a repository git refuses to read (e.g. "dubious
ownership") all give None: the scan goes on without git facts.

The result is cached; it depends on the files a commit, checkout or fetch
rewrites (HEAD, its reflog, the branch ref, packed-refs), fingerprinted before
the questions are asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from adapters.process_group import helper_group
from domain.onboarding.facts import Commit, GitFacts
from infrastructure.cache import add_dependencies, cached, fingerprint

logger = logging.getLogger(__name__)

RECENT_COMMITS = 5
_FIELD = "\x1f"
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_PAGER": "cat"}
# A repository's own .git/config is not trusted (a project opened from a tarball): settings that make a
# read-only query run a program it names are overridden. `log.showSignature` has `git log` verify signed
# commits with `gpg.program`; an fsmonitor hook runs on commands that read the index.
_SAFE_CONFIG = (
    "log.showSignature=false",
    "core.fsmonitor=false",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
)
_SAFE_ARGS = tuple(arg for setting in _SAFE_CONFIG for arg in ("-c", setting))


class GitCli:
    """The GitReader port, answered by the `git` executable."""

    def __init__(self, *, timeout: float, executable: str = "git") -> None:
        self.timeout = timeout
        self.executable = executable

    async def _git(self, root: Path, *args: str) -> str | None:
        """stdout of `git -C root args...`, or None on any failure (missing git, error status, timeout)."""
        try:
            process = await asyncio.create_subprocess_exec(
                self.executable,
                *_SAFE_ARGS,
                "-C",
                os.fspath(root),
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env={**os.environ, **_ENV},
                start_new_session=True,  # its own process group: a timeout kills git and any child it spawned
            )
        except OSError as exc:
            logger.debug("git unavailable: %s", exc)
            return None
        try:
            with helper_group(process.pid):
                out, _ = await asyncio.wait_for(process.communicate(), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            _kill_group(process)
            await process.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            logger.info("git %s timed out after %.1fs in %s", args[0], self.timeout, root)
            return None
        if process.returncode != 0:
            return None
        return out.decode("utf-8", "replace")

    @cached("git.facts", maxsize=16)
    async def facts(self, root: Path) -> GitFacts | None:
        dirs = await self._git(root, "rev-parse", "--absolute-git-dir", "--git-common-dir")
        if dirs is None or len(dirs.splitlines()) < 2:
            add_dependencies([(os.fspath(root / ".git"), fingerprint(root / ".git"))])
            return None
        git_dir, common = (Path(line) for line in dirs.splitlines()[:2])
        common = common if common.is_absolute() else root / common
        watched = [git_dir / "HEAD", git_dir / "logs" / "HEAD", common / "packed-refs"]
        branch = await self._git(root, "symbolic-ref", "--short", "-q", "HEAD")
        if branch:
            watched.append(common / "refs" / "heads" / branch.strip())
        add_dependencies([(os.fspath(p), fingerprint(p)) for p in watched])
        log, count, authors = await asyncio.gather(
            self._git(root, "log", f"-n{RECENT_COMMITS}", f"--format=%h{_FIELD}%aI{_FIELD}%an{_FIELD}%s", "--"),
            self._git(root, "rev-list", "--count", "HEAD", "--"),
            self._git(root, "shortlog", "-s", "-n", "-e", "HEAD", "--"),
        )
        return GitFacts(
            branch=branch.strip() if branch else await self._detached(root),
            commits=int(count) if count and count.strip().isdigit() else None,
            contributors=len(authors.splitlines()) if authors is not None else None,
            recent=[_commit(line) for line in (log or "").splitlines() if line.count(_FIELD) == 3],
        )

    async def _detached(self, root: Path) -> str | None:
        sha = await self._git(root, "rev-parse", "--short", "HEAD")
        return f"(detached at {sha.strip()})" if sha else None


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """Kill the process and its children (which would otherwise keep its pipes, and our wait, open)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()


def _commit(line: str) -> Commit:
    sha, date, author, subject = line.split(_FIELD)
    return Commit(sha=sha, date=date, author=author, subject=subject[:200])
