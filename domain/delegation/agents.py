"""Agent descriptors: which CLI to run, how it takes its prompt, what it is good at.

A command is an argument list template, never a shell string. Placeholders are
whole-token-or-substring `{prompt}` (the prompt text) and `{prompt_file}` (the
absolute path of a file holding it); with `stdin: true` the prompt file is also
the agent's standard input. Nothing else in a template is interpreted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain.errors import InvalidInputError
from domain.names import validate_name

Complexity = Literal["low", "medium", "high"]
COMPLEXITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
Source = Literal["builtin", "user", "project"]

PLACEHOLDER = re.compile(r"\{(prompt|prompt_file)\}")

# The task kinds the selection policy recognises; an agent's `strengths` name some of them.
TASK_KINDS = ("feature", "bugfix", "refactor", "tests", "docs", "review", "research", "frontend", "architecture")


class AgentSpec(BaseModel):
    """One agent the server knows how to run (built in or declared in agents.yml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    command: tuple[str, ...] = Field(min_length=1)
    stdin: bool = False
    version_args: tuple[str, ...] = ("--version",)
    strengths: tuple[str, ...] = ()
    max_complexity: Complexity = "medium"
    # Tie-breaker between equally suited agents: higher wins.
    priority: int = Field(default=0, ge=0, le=9)
    description: str = ""
    source: Source = "builtin"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        try:
            return validate_name(value, "agent name")
        except InvalidInputError as exc:
            raise ValueError(exc.message) from None

    @field_validator("command")
    @classmethod
    def _plain_args(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value[0].strip():
            raise ValueError("the first element must be the program to run")
        if any("\x00" in arg for arg in value):
            raise ValueError("arguments cannot contain NUL bytes")
        return value

    @field_validator("strengths")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in TASK_KINDS]
        if unknown:
            raise ValueError(f"unknown strengths {', '.join(unknown)}; use {', '.join(TASK_KINDS)}")
        return value

    @property
    def executable(self) -> str:
        return self.command[0]

    @property
    def prompt_input(self) -> Literal["stdin", "file", "argument"]:
        if self.stdin:
            return "stdin"
        if any("{prompt_file}" in arg for arg in self.command):
            return "file"
        return "argument"

    def takes_prompt(self) -> bool:
        return self.stdin or any(PLACEHOLDER.search(arg) for arg in self.command)


class AgentInfo(BaseModel):
    """An agent as detected on this machine right now."""

    model_config = ConfigDict(frozen=True)

    spec: AgentSpec
    path: str | None = None  # resolved executable; None when not installed
    version: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def available(self) -> bool:
        return self.path is not None


def _builtin(name: str, command: Iterable[str], **fields: object) -> AgentSpec:
    return AgentSpec.model_validate({"name": name, "command": tuple(command), **fields})


# Non-interactive invocations of the agent CLIs users commonly have, checked against their
# --help and runs (claude 2.1, codex 0.169, gemini 0.61, copilot 1.0, qwen 0.15, aider 0.86; opencode 1.18
# by its --help only).
# Each can be overridden field by field in agents.yml (same name), or hidden with `enabled: false`.
BUILTIN_AGENTS: tuple[AgentSpec, ...] = (
    _builtin(
        "claude",
        # acceptEdits alone asks before every shell command, which nobody answers: tests could not run.
        ["claude", "-p", "--permission-mode", "acceptEdits", "--allowed-tools=Bash"],
        stdin=True,
        strengths=("feature", "refactor", "architecture", "review", "bugfix", "tests"),
        max_complexity="high",
        priority=6,
        description="Anthropic Claude Code",
    ),
    _builtin(
        "codex",
        # --full-auto is gone from codex exec (which never asks for approval); outside a git repo it refuses
        # to start without --skip-git-repo-check.
        ["codex", "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", "-"],
        stdin=True,
        strengths=("feature", "bugfix", "tests", "refactor"),
        max_complexity="high",
        priority=5,
        description="OpenAI Codex CLI",
    ),
    _builtin(
        "gemini",
        ["gemini", "--yolo", "--skip-trust"],  # in a folder not yet trusted, --yolo is dropped and it exits
        stdin=True,
        strengths=("research", "docs", "architecture", "review"),
        max_complexity="high",
        priority=4,
        description="Google Gemini CLI (large context)",
    ),
    _builtin(
        "cursor-agent",
        ["cursor-agent", "--print", "--force", "{prompt}"],
        strengths=("feature", "frontend", "refactor"),
        max_complexity="medium",
        priority=3,
        description="Cursor agent CLI",
    ),
    _builtin(
        "copilot",
        # Without --allow-all-paths, any command naming a path outside the project is denied.
        ["copilot", "-p", "{prompt}", "--allow-all-tools", "--allow-all-paths", "--no-auto-update"],
        strengths=("bugfix", "tests", "docs"),
        max_complexity="medium",
        priority=3,
        description="GitHub Copilot CLI",
    ),
    _builtin(
        "qwen",
        ["qwen", "--yolo"],
        stdin=True,
        strengths=("feature", "bugfix", "frontend"),
        max_complexity="medium",
        priority=2,
        description="Qwen Code",
    ),
    _builtin(
        "aider",
        # --yes-always would also opt in to analytics and edit the project's .gitignore.
        [
            "aider",
            "--yes-always",
            "--no-pretty",
            "--no-check-update",
            "--no-analytics",
            "--no-gitignore",
            "--message-file",
            "{prompt_file}",
        ],
        strengths=("bugfix", "refactor", "tests"),
        max_complexity="low",
        priority=2,
        description="Aider pair programmer",
    ),
    _builtin(
        "opencode",
        ["opencode", "run", "--auto", "{prompt}"],  # without --auto, a permission nobody grants stops it
        strengths=("feature", "bugfix"),
        max_complexity="medium",
        priority=1,
        description="opencode",
    ),
)


def merge_agents(
    builtins: Iterable[AgentSpec], overrides: Iterable[tuple[Source, Mapping[str, Mapping[str, object]]]]
) -> list[AgentSpec]:
    """Apply agents.yml layers (user, then project) over the built-ins, in order.

    Each layer maps an agent name to fields; a known name is updated field by
    field, a new name must bring a full descriptor, `enabled: false` removes the
    agent. Raises ValueError naming the field (`agents.<name>.<field>: problem`).
    """
    merged: dict[str, AgentSpec] = {spec.name: spec for spec in builtins}
    for source, layer in overrides:
        for name, fields in layer.items():
            values = dict(fields)
            if values.pop("enabled", True) is False:
                merged.pop(name, None)
                continue
            base = merged[name].model_dump() if name in merged else {}
            try:
                spec = AgentSpec.model_validate({**base, **values, "name": name, "source": source})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                problem = first["msg"].removeprefix("Value error, ")
                if first["type"] in ("tuple_type", "list_type"):  # "a valid tuple" is Python talk
                    example = '[mytool, --flag, "{prompt}"]' if where == "command" else "[a, b]"
                    problem = f"must be a YAML list such as {example}"
                raise ValueError(f"agents.{name}.{where}: {problem}") from None
            if not spec.takes_prompt():
                raise ValueError(f"agents.{name}.command needs {{prompt}} or {{prompt_file}}, or set stdin: true")
            merged[name] = spec
    return list(merged.values())
