"""Facts about a project, as a scan finds them (no guesses): files, languages, manifests, tests, CI, git.

These models are stored in the project's state (`ProjectState.onboarding`), so
every list is bounded by the scanner: a monorepo with 3,000 `package.json`
files does not turn `.cde/state.json` into megabytes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.clock import UtcDatetime

MAX_DEPENDENCIES = 150
MAX_SCRIPTS = 40
MAX_FACT_CHARS = 200  # a name, dependency, target or tool from a manifest
MAX_SCRIPT_CHARS = 500  # a package.json script's command


def _clip(limit: int) -> AfterValidator:
    # What a manifest declares is stored in the state: a 300 KB package name, twenty times, made the
    # state too big to write, and onboarding failed blaming features. Cut, never reflowed: a script's
    # command keeps its exact spacing.
    return AfterValidator(lambda text: text if len(text) <= limit else text[: limit - 1] + "…")


Short = Annotated[str, _clip(MAX_FACT_CHARS)]
Script = Annotated[str, _clip(MAX_SCRIPT_CHARS)]


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LanguageStat(_Fact):
    name: str
    files: int
    lines: int  # of the files read as text (binary and huge files count bytes only)
    bytes: int


class Manifest(_Fact):
    """A dependency or build manifest and what it declares."""

    path: str
    kind: str  # ecosystem: python, node, rust, go, make…
    name: Short | None = None
    dependencies: list[Short] = Field(default_factory=list)
    dev_dependencies: list[Short] = Field(default_factory=list)
    scripts: dict[Short, Script] = Field(default_factory=dict)  # package.json scripts
    targets: list[Short] = Field(default_factory=list)  # Makefile / justfile targets
    entry_points: list[Short] = Field(default_factory=list)  # console scripts, binaries
    tools: list[Short] = Field(default_factory=list)  # configured tools, e.g. pyproject [tool.*]
    extras: list[Short] = Field(default_factory=list)  # optional dependency groups
    build_backend: Short | None = None
    error: Script | None = None  # why it could not be parsed


class DirStat(_Fact):
    """A top-level folder: how many files it holds and its main language."""

    path: str
    files: int
    language: str | None = None


class ScanFacts(_Fact):
    """What the filesystem says about a project."""

    files: int
    truncated: bool = False  # the walk stopped at CDE_SCAN_MAX_FILES
    ignored: int = 0  # files and folders left out by .gitignore rules
    pruned: list[str] = Field(default_factory=list)  # dependency/build/cache folders skipped (first few)
    symlinks: int = 0  # never followed
    unreadable_dirs: int = 0
    bad_names: int = 0  # files and folders left out: their names are not valid UTF-8
    languages: list[LanguageStat] = Field(default_factory=list)
    layout: list[DirStat] = Field(default_factory=list)
    top_files: list[str] = Field(default_factory=list)
    manifests: list[Manifest] = Field(default_factory=list)
    lockfiles: list[str] = Field(default_factory=list)
    test_dirs: list[str] = Field(default_factory=list)
    test_files: int = 0
    ci: list[str] = Field(default_factory=list)
    docs: int = 0
    scanned_at: UtcDatetime


class Commit(_Fact):
    sha: str
    date: str
    author: str
    subject: str


class GitFacts(_Fact):
    """Read from `git`; a field is None when git could not answer it in time."""

    branch: str | None = None
    commits: int | None = None
    contributors: int | None = None
    recent: list[Commit] = Field(default_factory=list)
