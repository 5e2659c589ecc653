"""`agents.yml`: custom agents and overrides of the built-in ones, user-wide and per project.

Layers, later wins: the built-ins, `<CDE home>/agents.yml`, `<project>/.cde/agents.yml`.

    agents:
      mytool:                      # a new agent: command is required
        command: ["mytool", "run", "--prompt", "{prompt}"]
        strengths: [refactor, tests]
        max_complexity: high
      claude:                      # a built-in: only the fields given change
        priority: 9
      aider:
        enabled: false             # hide it

The merged list is cached and re-read when either file changes (fingerprints).
It also names the agents whose program or `version_args` the project's file sets:
listing agents (a read-only tool) never runs a program a repository declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.delegation.agents import BUILTIN_AGENTS, AgentSpec, Source, merge_agents
from domain.errors import CorruptDataError, NotFoundError
from infrastructure import files
from infrastructure.cache import cached

AGENTS_FILE = "agents.yml"
PROJECT_AGENTS_FILE = Path(".cde") / AGENTS_FILE


def config_files(home: Path, root: Path) -> list[Path]:
    return [home / AGENTS_FILE, root / PROJECT_AGENTS_FILE]


def _layer(path: Path, raw: Any) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"agents"}:
        raise CorruptDataError(path, "expected a mapping with one key, 'agents'")
    agents = raw.get("agents") or {}
    if not isinstance(agents, dict) or not all(isinstance(v, dict) for v in agents.values()):
        raise CorruptDataError(path, "'agents' must map each agent name to its fields")
    return {str(name): fields for name, fields in agents.items()}


@dataclass(frozen=True)
class AgentSpecs:
    specs: tuple[AgentSpec, ...]
    # Agents whose version probe would run what the project's agents.yml chose (program or version_args).
    project_probes: frozenset[str] = frozenset()


def _probe(spec: AgentSpec) -> tuple[str, tuple[str, ...]]:
    return spec.executable, spec.version_args


def load_specs_sync(home: Path, root: Path) -> AgentSpecs:
    specs: list[AgentSpec] = list(BUILTIN_AGENTS)
    before_project: dict[str, AgentSpec] = {}
    sources: tuple[Source, ...] = ("user", "project")
    for source, path in zip(sources, config_files(home, root), strict=True):
        if source == "project":
            before_project = {spec.name: spec for spec in specs}
        try:
            raw = files.read_yaml_sync(path, max_bytes=256 * 1024)
        except NotFoundError:
            continue
        layer = _layer(path, raw)
        try:
            specs = merge_agents(specs, [(source, layer)])
        except ValueError as exc:
            raise CorruptDataError(path, str(exc)) from None
    chosen_by_project = frozenset(
        spec.name
        for spec in specs
        if spec.name not in before_project or _probe(spec) != _probe(before_project[spec.name])
    )
    return AgentSpecs(tuple(specs), chosen_by_project)


_load_specs = files.in_thread(load_specs_sync)


@cached("delegation.agent_specs", maxsize=32, depends_on=config_files)
async def load_agent_specs(home: Path, root: Path) -> AgentSpecs:
    """Built-ins merged with the user's and the project's agents.yml (CorruptDataError names the field)."""
    return await _load_specs(home, root)
