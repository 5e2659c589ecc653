"""Which agent CLIs are installed: PATH lookup (cached briefly) and `--version` probes (cached per binary).

The PATH lookup is keyed by the PATH value itself, so a changed PATH is a miss at
once; otherwise a newly installed CLI shows up within CDE_CACHE_TTL. A version is
cached until the executable file changes (its fingerprint) or for an hour. Probes
run concurrently, each in its own process group, killed at the timeout. An agent
whose program or version_args the project's agents.yml sets is never probed: a
read-only listing must not run what a repository declares.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from adapters.agent_config import load_agent_specs
from adapters.process_group import helper_group, signal_job
from domain.delegation.agents import AgentInfo
from infrastructure.cache import SETTINGS_TTL, cached
from infrastructure.files import in_thread

_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.]+)*")
_MAX_VERSION_CHARS = 60


def which_all_sync(executables: Sequence[str], path_env: str, root: Path) -> tuple[str | None, ...]:
    """Absolute path of each executable: bare names on PATH, relative paths from the project root."""
    found: list[str | None] = []
    for name in executables:
        if os.sep in name or (os.altsep and os.altsep in name):
            candidate = Path(name).expanduser()
            candidate = candidate if candidate.is_absolute() else root / candidate
            ok = candidate.is_file() and os.access(candidate, os.X_OK)
            found.append(str(candidate) if ok else None)
        else:
            found.append(shutil.which(name, path=path_env))
    return tuple(found)


_which_all = in_thread(which_all_sync)


@cached("delegation.which", maxsize=64, ttl=SETTINGS_TTL)
async def which_all(executables: tuple[str, ...], path_env: str, root: Path) -> tuple[str | None, ...]:
    return await _which_all(executables, path_env, root)


def parse_version(output: str, errors: str = "") -> str | None:
    """The version a `--version` printed: the number-like token of the first line on stdout (that line as
    it is when it has none); stderr, where a CLI's runtime warns, only when stdout is empty."""
    for text in (output, errors):
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        if line:
            match = _VERSION.search(line)
            return match.group(0) if match else line[:_MAX_VERSION_CHARS]
    return None


class ProbeError(Exception):
    """Raised (so not cached) when a version probe fails: a slow or broken start is retried next time."""


async def probe_version(exe: str, args: tuple[str, ...], limit_s: float) -> str | None:
    """`exe --version` (or the agent's version_args) within `limit_s` seconds; None if it fails."""
    try:
        return await _probe_version(exe, args, limit_s)
    except ProbeError:
        return None


def _new_temps_sync() -> tuple[IO[bytes], IO[bytes]]:
    with contextlib.ExitStack() as opened:
        out = opened.enter_context(tempfile.TemporaryFile())
        err = opened.enter_context(tempfile.TemporaryFile())
        opened.pop_all()
        return out, err


def _read_heads_sync(*handles: IO[bytes]) -> list[str]:
    heads = []
    for handle in handles:
        handle.seek(0)
        heads.append(handle.read(4096).decode("utf-8", "replace"))
    return heads


_new_temps = in_thread(_new_temps_sync)
_read_heads = in_thread(_read_heads_sync)


async def _stop_leftovers(sid: int) -> None:
    """SIGKILL what a version probe left running in its session (a `sleep &`, a daemon, a child that moved
    to a group of its own): a probe answers and ends, it never leaves processes behind."""
    await asyncio.shield(asyncio.to_thread(signal_job, sid, signal.SIGKILL))


@cached("delegation.agent_version", maxsize=64, ttl=3600.0, depends_on=lambda exe, args, limit_s: [exe])
async def _probe_version(exe: str, args: tuple[str, ...], limit_s: float) -> str | None:
    # Output goes to temp files, not pipes: a CLI that leaves a daemon behind cannot keep the probe waiting for EOF.
    out, err = await _new_temps()
    with out, err:
        try:
            proc = await asyncio.create_subprocess_exec(
                exe, *args, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        except OSError as exc:
            raise ProbeError(exe) from exc
        try:
            with helper_group(proc.pid):
                code = await asyncio.wait_for(proc.wait(), limit_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            await _stop_leftovers(proc.pid)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise ProbeError(exe) from None
        await _stop_leftovers(proc.pid)
        if code != 0:
            raise ProbeError(exe)
        return parse_version(*await _read_heads(out, err))


class PathAgentDetector:
    """The AgentDetector port on the real machine."""

    def __init__(self, home: Path, *, probe_timeout: float, environ: Mapping[str, str] = os.environ) -> None:
        self._home = home
        self._probe_timeout = probe_timeout
        self._environ = environ

    async def agents(self, root: Path, *, versions: bool = False) -> list[AgentInfo]:
        loaded = await load_agent_specs(self._home, root)
        specs = loaded.specs
        paths = await which_all(tuple(s.executable for s in specs), self._environ.get("PATH", os.defpath), root)
        found: list[str | None] = [None] * len(specs)
        if versions:
            probed = [
                path is not None and spec.name not in loaded.project_probes
                for spec, path in zip(specs, paths, strict=True)
            ]
            probes = [
                probe_version(path, spec.version_args, self._probe_timeout)
                for spec, path, probe in zip(specs, paths, probed, strict=True)
                if probe and path is not None
            ]
            results = iter(await asyncio.gather(*probes))
            found = [next(results) if probe else None for probe in probed]
        return [
            AgentInfo(spec=spec, path=path, version=version)
            for spec, path, version in zip(specs, paths, found, strict=True)
        ]
