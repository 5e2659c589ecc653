"""A few cheap, certain facts about a project for prompts: its manifests, guides and folders.

One listing of the project's top level (one thread hop), cached per project with
the settings TTL and the root folder's fingerprint (an added or removed entry
changes it). The full analysis is the onboarding tool's job; this only gives a
phase prompt enough to start from.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    if guides:
        lines.append(f"Read first: {', '.join(guides)}.")
    if folders:
        lines.append(f"Top-level folders: {', '.join(folders)}.")
    if ".git" in names:  # a folder, or a file in a worktree or submodule
        lines.append("It is a git repository.")
    return " ".join(lines)


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
