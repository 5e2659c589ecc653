"""Manifest parsing, path classification, framework and command detection."""

from __future__ import annotations

import json

from adapters.manifest_parsers import parse_manifest
from domain.onboarding.analysis import describe_git
from domain.onboarding.classify import enclosing_test_dir, is_ci_config, is_test_name, language_of, manifest_kind
from domain.onboarding.detect import detect_commands, detect_frameworks
from domain.onboarding.facts import Commit, GitFacts, Manifest

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo"
dependencies = ["FastAPI>=0.110", "pydantic[email]>=2", "mcp ; python_version>='3.11'"]
[project.optional-dependencies]
dev = ["pytest>=8", "ruff", "mypy"]
[project.scripts]
demo = "demo.cli:main"
[tool.pytest.ini_options]
addopts = "-q"
[tool.ruff]
line-length = 100
"""


def test_pyproject_declares_dependencies_tools_extras_and_entry_points() -> None:
    manifest = parse_manifest("pyproject.toml", "python", PYPROJECT)
    assert manifest.error is None
    assert manifest.name == "demo"
    assert manifest.dependencies == ["FastAPI", "pydantic", "mcp"]
    assert manifest.dev_dependencies == ["pytest", "ruff", "mypy"]
    assert manifest.extras == ["dev"]
    assert manifest.entry_points == ["demo"]
    assert manifest.tools == ["pytest", "ruff"]
    assert manifest.build_backend == "hatchling.build"


def test_package_json_go_mod_cargo_requirements_makefile() -> None:
    package = parse_manifest(
        "web/package.json",
        "node",
        json.dumps(
            {
                "name": "web",
                "scripts": {"dev": "vite", "test": "vitest run", "lint": "eslint ."},
                "dependencies": {"react": "^18", "next": "14"},
                "devDependencies": {"vitest": "^1", "typescript": "^5"},
            }
        ),
    )
    assert package.dependencies == ["react", "next"] and package.scripts["test"] == "vitest run"
    go = parse_manifest(
        "go.mod",
        "go",
        "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.1\n"
        "\tgolang.org/x/text v0.14.0 // indirect\n)\nrequire github.com/spf13/cobra v1.8.0\n",
    )
    assert go.name == "example.com/app"
    assert go.dependencies == ["github.com/gin-gonic/gin", "github.com/spf13/cobra"]
    cargo_toml = '[package]\nname="x"\n[dependencies]\ntokio={version="1"}\nserde="1"\n'
    cargo = parse_manifest("Cargo.toml", "rust", cargo_toml)
    assert cargo.dependencies == ["tokio", "serde"]
    requirements_txt = "# tools\n-r base.txt\nDjango==5.0  # web\n\npytest\n"
    requirements = parse_manifest("requirements-dev.txt", "python", requirements_txt)
    assert requirements.dependencies == ["Django", "pytest"]
    makefile = ".PHONY: test\nVAR := 1\ninstall:\n\tpip i\ntest lint: install\n\tx\n%.o: %.c\n"
    make = parse_manifest("Makefile", "make", makefile)
    assert make.targets == ["install", "test", "lint"]


def test_broken_manifest_reports_the_position_instead_of_raising() -> None:
    bad_json = parse_manifest("package.json", "node", '{"name": ')
    assert bad_json.error is not None and bad_json.error.startswith("invalid JSON at line 1")
    bad_toml = parse_manifest("pyproject.toml", "python", "[project\nname=1")
    assert bad_toml.error is not None and "invalid TOML" in bad_toml.error
    assert parse_manifest("pom.xml", "java", "<project/>") == Manifest(path="pom.xml", kind="java")


def test_hostile_manifests_are_reported_not_raised() -> None:
    """Deep nesting overflows the recursive parsers; JSON escapes can make strings no store accepts."""
    deep_json = parse_manifest("package.json", "node", "[" * 100_000)
    deep_toml = parse_manifest("pyproject.toml", "python", "x = " + "[" * 100_000)
    surrogate = parse_manifest("package.json", "node", '{"name": "\\ud800", "dependencies": {"a": "1"}}')
    paired = parse_manifest("package.json", "node", '{"name": "emoji-\\ud83d\\ude00"}')
    assert deep_json.error == deep_toml.error == "nested too deeply to parse"
    assert surrogate.error is not None and "surrogate" in surrogate.error and not surrogate.dependencies
    assert paired.error is None and paired.name == "emoji-\U0001f600"


def test_path_classification() -> None:
    assert language_of("src/app.py") == "Python"
    assert language_of("web/App.TSX") == "TypeScript"
    assert language_of("Makefile") == "Makefile"
    assert language_of("README.md") is None and language_of(".env") is None
    assert is_test_name("test_x.py") and is_test_name("a.spec.ts") and is_test_name("x_test.go")
    assert is_test_name("FooTest.java") and not is_test_name("contest.py") and not is_test_name("test_data.json")
    assert enclosing_test_dir("pkg/tests/unit/x.py") == "pkg/tests"
    assert is_ci_config(".github/workflows/ci.yml") and is_ci_config(".gitlab-ci.yml")
    assert not is_ci_config(".github/dependabot.yml")
    assert is_ci_config(".ci/run") and not is_ci_config(".ci/lib/helpers.sh")  # this repository's own CI script
    assert manifest_kind("requirements-dev.txt") == "python" and manifest_kind("sub/go.mod") == "go"


def test_frameworks_come_from_declared_dependencies_only() -> None:
    manifests = [
        parse_manifest("pyproject.toml", "python", PYPROJECT),
        Manifest(path="web/package.json", kind="node", dependencies=["react", "left-pad"], dev_dependencies=["jest"]),
    ]
    assert detect_frameworks(manifests) == ["FastAPI", "Jest", "MCP Python SDK", "Pydantic", "pytest", "React"]


def test_commands_prefer_task_runner_targets_then_ecosystem_tools() -> None:
    python = parse_manifest("pyproject.toml", "python", PYPROJECT)
    make = Manifest(path="Makefile", kind="make", targets=["install", "test"])
    commands = detect_commands([python, make], ["uv.lock"])
    assert commands == {
        "install": "make install",
        "build": "uv build",
        "test": "make test",
        "lint": "uv run ruff check .",
        "format": "uv run ruff format .",
        "typecheck": "uv run mypy",
        "run": "uv run demo",
    }
    node = Manifest(path="package.json", kind="node", scripts={"test": "jest", "dev": "vite", "build": "vite build"})
    assert detect_commands([node], ["pnpm-lock.yaml"]) == {
        "install": "pnpm install",
        "build": "pnpm run build",
        "test": "pnpm test",
        "run": "pnpm run dev",
    }
    # Sub-package manifests do not speak for the project when the root has its own.
    nested = Manifest(path="tools/go.mod", kind="go")
    assert detect_commands([node, nested], [])["test"] == "npm test"
    assert detect_commands([], []) == {}


def test_common_layouts_get_commands_that_work() -> None:
    """npm's placeholder test script, Django's requirements/ folder, and Poetry without a lock file."""
    placeholder = Manifest(
        path="package.json", kind="node", scripts={"test": 'echo "Error: no test specified" && exit 1'}
    )
    assert "test" not in detect_commands([placeholder], [])
    assert manifest_kind("requirements/base.txt") == "python" and manifest_kind("requirements/local.txt") == "python"
    assert manifest_kind("docs/notes.txt") is None
    base = parse_manifest("requirements/base.txt", "python", "Django==5.0\ncelery\n")
    local = parse_manifest("requirements/local.txt", "python", "-r base.txt\npytest\n")
    pyproject = parse_manifest("pyproject.toml", "python", "[tool.ruff]\nline-length = 100\n")
    assert base.dependencies == ["Django", "celery"] and "pytest" in local.dependencies
    assert detect_commands([pyproject, base, local], [])["test"] == "pytest"
    assert "Django" in detect_frameworks([pyproject, base, local])
    poetry = parse_manifest(
        "pyproject.toml",
        "python",
        '[tool.poetry]\nname = "app"\n[tool.poetry.dependencies]\npython = "^3.11"\nrequests = "*"\n'
        '[tool.poetry.group.dev.dependencies]\npytest = "*"\n',
    )
    assert poetry.dependencies == ["requests"]
    assert detect_commands([poetry], []) == {"install": "poetry install", "test": "poetry run pytest"}


def test_the_git_line_clips_a_long_last_subject_at_a_word_with_an_ellipsis() -> None:
    def line(subject: str) -> str:
        last = Commit(sha="0736cde", date="2026-11-26T05:30:00+00:00", author="a", subject=subject)
        text = describe_git(GitFacts(branch="main", commits=3, contributors=1, recent=[last]))
        assert text is not None
        return text

    assert line("Fix the crash") == 'branch main, 3 commits, 1 contributor; last 0736cde "Fix the crash" (2026-11-26)'
    long = "Bench: one helper interleaves the in-process and the stdio comparisons (they had twin loops)"
    clipped = line(long).split('"')[1]
    assert clipped == "Bench: one helper interleaves the in-process and the stdio comparisons (they…"
    assert len(clipped) <= 80
    unbroken = "x" * 120  # no space to cut at: cut inside the word
    assert line(unbroken).split('"')[1] == "x" * 79 + "…"
