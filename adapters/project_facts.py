"""A few cheap, certain facts about a project for prompts: its manifests, guides and folders.

One listing of the project's top level (one thread hop), cached per project with
the settings TTL and the root folder's fingerprint (an added or removed entry
changes it). The full analysis is the onboarding tool's job; this only gives a
phase prompt enough to start from.
"""

from __future__ import annotations

import os
from pathlib import Path

from adapters.project_scanner import parse_manifests
from domain.onboarding.classify import lockfile_tool, manifest_kind
from domain.onboarding.detect import detect_commands
from domain.project import Project
from infrastructure import files
from infrastructure.cache import SETTINGS_TTL, cached

MANIFESTS = {
    "pyproject.toml": "Python",
    "setup.py": "Python",
    "requirements.txt": "Python",
    "package.json": "JavaScript/TypeScript",
    "tsconfig.json": "TypeScript",
    "Cargo.toml": "Rust",
    "go.mod": "Go",
    "pom.xml": "Java",
    "build.gradle": "Java/Kotlin",
    "build.gradle.kts": "Kotlin",
    "Gemfile": "Ruby",
    "composer.json": "PHP",
    "mix.exs": "Elixir",
    "pubspec.yaml": "Dart",
    "CMakeLists.txt": "C/C++",
    "Package.swift": "Swift",
}
GUIDES = ("AGENTS.md", "CLAUDE.md", "README.md", "CONTRIBUTING.md")
FOLDERS = ("src", "lib", "app", "tests", "test", "docs", "specs", ".github")  # named first, in this order
# Top-level folders that hold no code of the project's own: dependencies, builds, caches, environments.
NOT_PROJECT_CODE = frozenset(
    {
        "node_modules", "__pycache__", "venv", "env", "build", "_build", "dist", "target", "out", "obj",
        "coverage", "htmlcov", "vendor",
    }
)  # fmt: skip
MAX_FOLDERS = 12


def describe_sync(root: Path) -> str:
    try:
        with os.scandir(root) as entries:
            names = {e.name: e.is_dir(follow_symlinks=False) for e in entries}
    except OSError as exc:
        return f"(project listing failed: {files.os_error(root, exc).message})"
    manifests = [f"{name} ({lang})" for name, lang in MANIFESTS.items() if names.get(name) is False]
    manifests += [f"{name} (.NET)" for name in sorted(names) if name.endswith((".csproj", ".sln"))]
    guides = [name for name in GUIDES if names.get(name) is False]
    folders = _folders(names)
    lines = [f"Manifests: {', '.join(manifests) or 'none found at the top level'}."]
    commands = _commands(root, [name for name, is_dir in names.items() if is_dir is False])
    if commands:
        lines.append(f"Commands: {commands}.")
    if guides:
        lines.append(f"Read first: {', '.join(guides)}.")
    if folders:
        lines.append(f"Top-level folders: {', '.join(folders)}.")
    if ".git" in names:  # a folder, or a file in a worktree or submodule
        lines.append("It is a git repository.")
    return " ".join(lines)


# The commands the phase prompts ask for ("run the test suite", "the linters"); the rest are in AGENTS.md.
PROMPT_COMMANDS = ("test", "lint")


def _commands(root: Path, top_files: list[str]) -> str:
    """The project's own test and lint commands, as onboarding reads them from its top-level manifests and
    Makefile (a few small files), e.g. "test `make test`, lint `make lint`"."""
    found = [(name, kind) for name in top_files if (kind := manifest_kind(name)) is not None]
    lockfiles = [name for name in top_files if lockfile_tool(name) is not None]
    if not found:
        return ""
    detected = detect_commands(parse_manifests(os.fspath(root), found, []), lockfiles)
    return ", ".join(f"{key} `{detected[key]}`" for key in PROMPT_COMMANDS if key in detected)


def _folders(names: dict[str, bool]) -> list[str]:
    """The project's own top-level folders, well-known ones first: where its code, tests and docs live."""
    known = [name for name in FOLDERS if names.get(name)]
    others = sorted(
        name
        for name, is_dir in names.items()
        if is_dir
        and name not in FOLDERS
        and not name.startswith(".")
        and name not in NOT_PROJECT_CODE
        and not name.endswith(".egg-info")
        and name.isprintable()  # the name goes into prompts: no control characters
    )
    shown = [f"{name}/" for name in [*known, *others][:MAX_FOLDERS]]
    hidden = len(known) + len(others) - len(shown)
    return [*shown, f"and {hidden} more"] if hidden else shown


_describe = files.in_thread(describe_sync)


class ProjectFactsReader:
    """Process-wide, cached per project root."""

    @cached("workflow.project_facts", maxsize=64, ttl=SETTINGS_TTL, depends_on=lambda _self, root: [root])
    async def summary(self, root: Path) -> Project:
        return Project(root=root, name=root.name, facts=await _describe(root))


class FsProjectFacts:
    """The ProjectFacts port for one root."""

    def __init__(self, reader: ProjectFactsReader, root: Path) -> None:
        self._reader = reader
        self._root = root

    async def summary(self) -> Project:
        summary: Project = await self._reader.summary(self._root)
        return summary
