"""How one job's process is started: the argument list and where its prompt comes from.

The prompt always lives in a file next to the job record. Templates that take it
as an argument get it inline only while it is small: past `ARGV_PROMPT_LIMIT`
bytes for all its copies together (Linux refuses any single argument over 128 KiB,
and the whole argv+env shares ~2 MiB) the `{prompt}` placeholder becomes a short
instruction pointing the agent at the prompt file instead, so a large context
never breaks the launch. The same happens when the prompt would be a whole
argument starting with `-` (a Markdown list, or `--some-flag`): the agent's
option parser would read it as options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from domain.delegation.agents import PLACEHOLDER, AgentSpec

ARGV_PROMPT_LIMIT = 32 * 1024


@dataclass(frozen=True)
class LaunchPlan:
    """What the worker pool executes: `argv` in `cwd`, stdin from `prompt_file` or /dev/null."""

    argv: tuple[str, ...]
    cwd: Path
    prompt_file: Path
    stdin_prompt: bool


def file_pointer(prompt_file: Path) -> str:
    return f"Your task is described in the file {prompt_file}. Read it completely, then carry it out."


def plan_launch(spec: AgentSpec, executable: str, prompt: str, prompt_file: Path, cwd: Path) -> LaunchPlan:
    """Fill `spec.command` in a single pass (substituted text is never scanned again)."""
    args = spec.command[1:]
    copies = sum(arg.count("{prompt}") for arg in args)
    too_big = copies * len(prompt.encode("utf-8")) > ARGV_PROMPT_LIMIT
    as_option = prompt.startswith("-") and "{prompt}" in args
    values = {"prompt": file_pointer(prompt_file) if too_big or as_option else prompt, "prompt_file": str(prompt_file)}

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    argv = (executable, *(PLACEHOLDER.sub(fill, arg) for arg in args))
    return LaunchPlan(argv=argv, cwd=cwd, prompt_file=prompt_file, stdin_prompt=spec.stdin)
