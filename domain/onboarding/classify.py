"""What a path in a project is, from its name alone: language, test, manifest, CI config, lockfile.

Pure string functions, cheap enough to run on every path of a 20,000-file tree;
the scanner calls them inside its worker thread.
"""

from __future__ import annotations

import re

# Extension → language, for languages that count as the project's code.
_BY_EXTENSION = {
    ".py": "Python",
    ".pyi": "Python",
    ".ipynb": "Jupyter Notebook",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".groovy": "Groovy",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hpp": "C++",
    ".hh": "C++",
    ".cs": "C#",
    ".fs": "F#",
    ".swift": "Swift",
    ".m": "Objective-C",
    ".rb": "Ruby",
    ".php": "PHP",
    ".pl": "Perl",
    ".lua": "Lua",
    ".r": "R",
    ".dart": "Dart",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hs": "Haskell",
    ".ml": "OCaml",
    ".clj": "Clojure",
    ".zig": "Zig",
    ".nim": "Nim",
    ".jl": "Julia",
    ".sh": "Shell",
    ".bash": "Shell",
    ".zsh": "Shell",
    ".ps1": "PowerShell",
    ".sql": "SQL",
    ".html": "HTML",
    ".htm": "HTML",
    ".css": "CSS",
    ".scss": "SCSS",
    ".sass": "SCSS",
    ".less": "Less",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".astro": "Astro",
    ".tf": "HCL",
    ".proto": "Protocol Buffers",
    ".graphql": "GraphQL",
    ".sol": "Solidity",
}
_BY_NAME = {"Makefile": "Makefile", "GNUmakefile": "Makefile", "Dockerfile": "Dockerfile", "Justfile": "Just"}
# Build and packaging files counted as languages by lines, but not what the project is written in.
BUILD_LANGUAGES = frozenset(_BY_NAME.values())

DOC_EXTENSIONS = (".md", ".markdown")

# File name → ecosystem of a dependency manifest.
MANIFESTS = {
    "pyproject.toml": "python",
    "requirements.txt": "python",
    "setup.py": "python",
    "setup.cfg": "python",
    "Pipfile": "python",
    "package.json": "node",
    "Cargo.toml": "rust",
    "go.mod": "go",
    "Gemfile": "ruby",
    "composer.json": "php",
    "pom.xml": "java",
    "build.gradle": "java",
    "build.gradle.kts": "java",
    "Package.swift": "swift",
    "mix.exs": "elixir",
    "pubspec.yaml": "dart",
    "Makefile": "make",
    "justfile": "just",
    "Justfile": "just",
}
_REQUIREMENTS = re.compile(r"^requirements([-_.][\w.-]+)?\.txt$")

LOCKFILES = {
    "uv.lock": "uv",
    "poetry.lock": "poetry",
    "Pipfile.lock": "pipenv",
    "pdm.lock": "pdm",
    "package-lock.json": "npm",
    "yarn.lock": "yarn",
    "pnpm-lock.yaml": "pnpm",
    "bun.lockb": "bun",
    "bun.lock": "bun",
    "Cargo.lock": "cargo",
    "go.sum": "go",
    "Gemfile.lock": "bundler",
    "composer.lock": "composer",
}

_CI_FILES = frozenset(
    {
        ".gitlab-ci.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
        "Jenkinsfile",
        ".drone.yml",
        "appveyor.yml",
        ".circleci/config.yml",
    }
)
_CI_DIRS = (".github/workflows/", ".buildkite/", ".woodpecker/", ".forgejo/workflows/", ".gitea/workflows/")

TEST_DIR_NAMES = frozenset({"test", "tests", "__tests__", "spec", "testing", "e2e", "integration_tests"})
_TEST_FILE = re.compile(
    r"(^test_.*\.py$)|(_test\.(py|go|rb|exs|dart)$)|(_spec\.rb$)|(\.(test|spec)\.[cm]?[jt]sx?$)|(Tests?\.(java|kt|cs|swift)$)"
)


def file_name(rel: str) -> str:
    return rel.rpartition("/")[2]


def language_of(rel: str) -> str | None:
    """The programming language of a file, or None when it is not code (docs, data, binaries)."""
    name = file_name(rel)
    by_name = _BY_NAME.get(name)
    if by_name is not None:
        return by_name
    dot = name.rfind(".")
    if dot <= 0:
        return None
    return _BY_EXTENSION.get(name[dot:].lower())


def is_doc(rel: str) -> bool:
    return rel.lower().endswith(DOC_EXTENSIONS)


def manifest_kind(rel: str) -> str | None:
    """The ecosystem of a dependency/build manifest (`pyproject.toml` → python), else None."""
    name = file_name(rel)
    kind = MANIFESTS.get(name)
    if kind is None and is_requirements_file(rel):
        return "python"
    return kind


def is_requirements_file(rel: str) -> bool:
    """`requirements.txt`, `requirements-dev.txt`…, or any `.txt` in a `requirements/` folder (Django's layout)."""
    name = file_name(rel)
    if name.startswith("requirements") and _REQUIREMENTS.fullmatch(name):
        return True
    return name.endswith(".txt") and rel[: -len(name)].rstrip("/").rpartition("/")[2] == "requirements"


def lockfile_tool(rel: str) -> str | None:
    return LOCKFILES.get(file_name(rel))


def is_ci_config(rel: str) -> bool:
    if rel.startswith(".ci/") and rel.count("/") == 1:  # scripts a CI runs (`.ci/run`), by a common convention
        return True
    return rel in _CI_FILES or (rel.startswith(_CI_DIRS) and rel.endswith((".yml", ".yaml")))


def enclosing_test_dir(rel: str) -> str | None:
    """The outermost test folder containing `rel` (`pkg/tests/unit/x.py` → `pkg/tests`), else None."""
    parts = rel.split("/")
    for i in range(len(parts) - 1):
        if parts[i] in TEST_DIR_NAMES:
            return "/".join(parts[: i + 1])
    return None


def is_test_name(name: str) -> bool:
    """A file named like a test (`test_x.py`, `x_test.go`, `x.spec.ts`, `FooTest.java`)."""
    return bool(_TEST_FILE.search(name))
