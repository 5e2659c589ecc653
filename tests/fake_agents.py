"""Fake agent CLIs for the delegation tests: small scripts on a temp PATH, declared in `.cde/agents.yml`.

They stand in for `claude`, `codex`... (programs outside this project); the
worker pool that runs them is always the real one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from adapters.process_group import live_members
from infrastructure.settings import Settings

PY = sys.executable

SCRIPTS: dict[str, str] = {
    # Echoes its arguments and its stdin (the prompt), then succeeds.
    "fake-ok": '#!/bin/sh\necho "args: $*"\necho "stdin:"\ncat\necho "done $CDE_TASK_ID"\n',
    "fake-fail": '#!/bin/sh\necho "about to fail"\necho "boom" >&2\nexit 3\n',
    "fake-hang": "#!/bin/sh\necho started\nexec sleep 1000\n",
    # Ignores SIGTERM: only SIGKILL stops it.
    "fake-stubborn": (
        f"#!{PY}\nimport signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', flush=True)\ntime.sleep(1000)\n"
    ),
    # Leaves a grandchild running in its process group.
    "fake-spawner": "#!/bin/sh\nsleep 1000 &\necho spawned\nwait\n",
    # Prints numbered lines: fake-chatty LINES.
    "fake-chatty": '#!/bin/sh\nexec seq 1 "$1"\n',
    # Leaves a process in another session holding its output pipe open (out of the job's reach).
    "fake-escaper": '#!/bin/sh\n[ "$1" = --version ] && exit 0\nsetsid sleep 30 &\necho "escaped $!"\n',
    # Starts a child in a process group of its own (same session), prints its pid; exits if $1 is "exit".
    "fake-regrouper": (
        f"#!{PY}\nimport os, sys, time\npid = os.fork()\nif pid == 0:\n    os.setpgid(0, 0)\n"
        "    time.sleep(1000)\n    os._exit(0)\nos.setpgid(pid, pid)  # both sides: no race with the child\n"
        "print('child', pid, 'ready', flush=True)\n"
        "if sys.argv[1] != 'exit':\n    time.sleep(1000)\n"
    ),
    # Records when it runs into $1, to check the concurrency limit; ends once the file $1.go exists.
    "fake-slot": (
        '#!/bin/sh\necho "start $CDE_TASK_ID" >> "$1"\n'
        'while [ ! -e "$1.go" ]; do sleep 0.02; done\necho "end $CDE_TASK_ID" >> "$1"\n'
    ),
    "fake-args": '#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n',
    "fake-nap": '#!/bin/sh\nsleep "$1"\necho rested\n',
    # A CLI answering --version the way real ones do.
    "codex": '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "codex-cli 0.42.1"; exit 0; fi\necho "codex ran"; cat\n',
}

AGENTS = {
    "ok": {"command": ["fake-ok", "--flag"], "stdin": True, "strengths": ["tests"]},
    "fail": {"command": ["fake-fail", "{prompt}"]},
    "hang": {"command": ["fake-hang", "{prompt}"]},
    "stubborn": {"command": ["fake-stubborn", "{prompt_file}"]},
    "spawner": {"command": ["fake-spawner", "{prompt}"]},
    "chatty": {"command": ["fake-chatty", "{prompt}"]},
    "args": {"command": ["fake-args", "--message={prompt}", "{prompt_file}"]},
    "escaper": {"command": ["fake-escaper", "{prompt}"]},
    "regrouper": {"command": ["fake-regrouper", "{prompt}"]},
    "nap": {"command": ["fake-nap", "{prompt}"]},
}


def install(bin_dir: Path, project: Path, *, extra_agents: dict[str, object] | None = None) -> Path:
    """Write the scripts into `bin_dir` and the agents into `<project>/.cde/agents.yml`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    agents = {**AGENTS, **(extra_agents or {})}
    (project / ".cde").mkdir(exist_ok=True)
    (project / ".cde" / "agents.yml").write_text(yaml.safe_dump({"agents": agents}))
    return bin_dir


def delegation_settings(tmp_path: Path, project: Path, **overrides: Any) -> Settings:
    """Test settings with a short SIGTERM grace, so stopping a stubborn fake agent is quick."""
    values: dict[str, Any] = {
        "home": tmp_path / "cde-home",
        "allowed_roots": (tmp_path,),
        "project_root": project,
        "job_kill_grace": 0.3,
        "agent_probe_timeout": 1.0,  # the hanging fakes also hang on --version
    }
    return Settings(**(values | overrides))


def path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 15.0) -> None:
    """Poll `check` until it is true; a deadline only so a broken build fails instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def gone(pgid: int) -> bool:
    """No live (non-zombie) process is left in the group."""
    return live_members(pgid) == []
