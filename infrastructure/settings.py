"""Settings read once from `CDE_*` environment variables.

Every value is validated at start so a typo fails loudly with one line naming the
variable, instead of surfacing later as a strange tool error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.skills.limits import MAX_TTL_HOURS

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
ToolProfile = Literal["all", "core"]


MAX_KEEP_DAYS = 36_500.0  # a century: "keep by count only", and date arithmetic never overflows


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


class Settings(BaseModel):
    """The server's configuration; see the README's Configuration table for each variable."""

    model_config = ConfigDict(frozen=True)

    log_level: LogLevel = "INFO"
    home: Path
    # None means "no restriction" (CDE_ALLOWED_ROOTS=*).
    allowed_roots: tuple[Path, ...] | None
    project_root: Path
    cache_maxsize: int | None = None
    cache_ttl: float = 30.0
    lock_timeout: float = 10.0
    tools: ToolProfile = "all"
    skill_ttl_hours: float = 24.0
    skill_sweep_interval: float = 600.0
    # Delegation: worker pool size, queue bound, SIGTERM→SIGKILL grace, agent --version probe timeout.
    max_jobs: int = 2
    job_queue: int = 32
    job_kill_grace: float = 5.0
    agent_probe_timeout: float = 8.0  # gemini --version takes ~2.5 s on an idle 2-core machine
    # Finished tasks kept per project: the newest `job_keep`, none finished over `job_keep_days` ago.
    job_keep: int = Field(default=100, ge=1)
    job_keep_days: float = Field(default=30.0, gt=0, le=MAX_KEEP_DAYS)
    # Onboarding and documentation (issue 4).
    scan_max_files: int = 200_000
    docs_max_bytes: int = 2 * 1024 * 1024
    git_timeout: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
        env = os.environ if environ is None else environ
        here = (cwd or Path.cwd()).resolve()
        home = _path(env, "CDE_HOME", Path.home() / ".cde", base=here)
        if os.path.lexists(home) and not os.path.isdir(home):  # os.path: an unsearchable parent is not an error
            raise SettingsError(f"CDE_HOME {home} is a file, not a directory; point it at a directory (made if absent)")
        project_root = _path(env, "CDE_PROJECT_ROOT", here, base=here)
        if env.get("CDE_PROJECT_ROOT", "").strip() and not os.path.isdir(project_root):
            raise SettingsError(f"CDE_PROJECT_ROOT {project_root} is not a directory; set it to your project's folder")
        roots_raw = env.get("CDE_ALLOWED_ROOTS", "").strip()
        allowed: tuple[Path, ...] | None
        if roots_raw == "*":
            allowed = None
        elif roots_raw:
            listed = [p for p in roots_raw.split(os.pathsep) if p.strip()]
            if "*" in (p.strip() for p in listed):
                raise SettingsError("CDE_ALLOWED_ROOTS is '*' (any directory) or a list of directories, not both")
            if not listed:
                raise SettingsError(f"CDE_ALLOWED_ROOTS lists no directory; separate paths with {os.pathsep!r}, or '*'")
            allowed = tuple(_absolute("CDE_ALLOWED_ROOTS", p.strip(), here) for p in listed)
        else:
            # An assistant that starts the server in / (Claude Desktop does) must not open the whole disk:
            # a filesystem root is allowed only when asked for (CDE_ALLOWED_ROOTS=* or a list naming it).
            defaults = (Path.home().resolve(), here, project_root)
            allowed = tuple(dict.fromkeys(p for p in defaults if p != Path(p.anchor)))
        return cls(
            log_level=_choice(env, "CDE_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),  # type: ignore[arg-type]
            home=home,
            allowed_roots=allowed,
            project_root=project_root,
            cache_maxsize=_int(env, "CDE_CACHE_MAXSIZE", None, minimum=1),
            cache_ttl=_float(env, "CDE_CACHE_TTL", 30.0),
            lock_timeout=_float(env, "CDE_LOCK_TIMEOUT", 10.0, maximum=3600),
            tools=_choice(env, "CDE_TOOLS", ("all", "core"), "all"),  # type: ignore[arg-type]
            skill_ttl_hours=_float(env, "CDE_SKILL_TTL_HOURS", 24.0, unit="hours", maximum=MAX_TTL_HOURS),
            skill_sweep_interval=_float(env, "CDE_SKILL_SWEEP_INTERVAL", 600.0, minimum=1),
            max_jobs=_count(env, "CDE_MAX_JOBS", 2, minimum=1, maximum=64),
            job_queue=_count(env, "CDE_JOB_QUEUE", 32, minimum=0, maximum=10_000),
            job_kill_grace=_float(env, "CDE_JOB_KILL_GRACE", 5.0, maximum=600),
            agent_probe_timeout=_float(env, "CDE_AGENT_PROBE_TIMEOUT", 8.0, maximum=600),
            job_keep=_count(env, "CDE_JOB_KEEP", 100, minimum=1, maximum=100_000),
            job_keep_days=_float(env, "CDE_JOB_KEEP_DAYS", 30.0, unit="days", maximum=MAX_KEEP_DAYS),
            scan_max_files=_int(env, "CDE_SCAN_MAX_FILES", None, minimum=100) or 200_000,
            docs_max_bytes=_int(env, "CDE_DOCS_MAX_BYTES", None, minimum=1024) or 2 * 1024 * 1024,
            git_timeout=_float(env, "CDE_GIT_TIMEOUT", 5.0),
        )


def _choice(env: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = raw.upper() if options[0].isupper() else raw.lower()
    if value not in options:
        raise SettingsError(f"{name} must be one of {', '.join(options)}; got {raw!r}")
    return value


def _int(
    env: Mapping[str, str], name: str, default: int | None, *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer {bounds}; got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(f"{name} must be an integer {bounds}; got {raw!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    value = _int(env, name, default, minimum=minimum, maximum=maximum)
    return default if value is None else value


def _float(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    unit: str = "seconds",
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    bounds = f">= {minimum:g}" if minimum is not None else "> 0"
    bounds += f" and <= {maximum:g}" if maximum is not None else ""
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of {unit} {bounds}; got {raw!r}") from None
    too_small = value < minimum if minimum is not None else not value > 0
    if too_small or value != value or value == float("inf") or (maximum is not None and value > maximum):
        raise SettingsError(f"{name} must be a number of {unit} {bounds}; got {raw!r}")
    return value


def _path(env: Mapping[str, str], name: str, default: Path, *, base: Path | None = None) -> Path:
    raw = env.get(name, "").strip()
    if not raw:
        return default.expanduser().resolve()
    return _absolute(name, raw, base or Path.cwd())


# Linux's limits (NAME_MAX, PATH_MAX): a longer path is accepted here but fails on every use.
_MAX_NAME_BYTES = 255
_MAX_PATH_BYTES = 4095


def _absolute(name: str, raw: str, base: Path) -> Path:
    if "\x00" in raw:
        raise SettingsError(f"{name} contains a NUL byte")
    if "${" in raw:  # e.g. "${workspaceFolder}" from a client that does not expand it
        raise SettingsError(f"{name} is {raw!r}: a variable your assistant did not expand; write the path itself")
    path = Path(raw).expanduser()
    resolved = (path if path.is_absolute() else base / path).resolve()
    text = os.fsencode(resolved)
    if len(text) > _MAX_PATH_BYTES or any(len(part) > _MAX_NAME_BYTES for part in text.split(b"/")):
        raise SettingsError(
            f"{name} is too long a path (over {_MAX_PATH_BYTES} bytes, or a name in it over {_MAX_NAME_BYTES})"
        )
    return resolved
