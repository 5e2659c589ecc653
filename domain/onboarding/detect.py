"""Frameworks and commands derived from manifests: declared facts mapped through fixed tables.

A framework is reported only when a manifest declares it as a dependency; a
command only when a Makefile target, a package.json script, or an ecosystem's
standard tool (declared or configured) backs it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence

from domain.onboarding.facts import Manifest

_FRAMEWORKS: dict[str, dict[str, str]] = {
    "python": {
        "django": "Django",
        "flask": "Flask",
        "fastapi": "FastAPI",
        "starlette": "Starlette",
        "litestar": "Litestar",
        "aiohttp": "aiohttp",
        "tornado": "Tornado",
        "sanic": "Sanic",
        "pyramid": "Pyramid",
        "mcp": "MCP Python SDK",
        "fastmcp": "FastMCP",
        "pydantic": "Pydantic",
        "sqlalchemy": "SQLAlchemy",
        "celery": "Celery",
        "streamlit": "Streamlit",
        "gradio": "Gradio",
        "typer": "Typer",
        "click": "Click",
        "numpy": "NumPy",
        "pandas": "pandas",
        "torch": "PyTorch",
        "tensorflow": "TensorFlow",
        "scikit-learn": "scikit-learn",
        "transformers": "Transformers",
        "langchain": "LangChain",
        "scrapy": "Scrapy",
        "apache-airflow": "Airflow",
        "pytest": "pytest",
        "hypothesis": "Hypothesis",
    },
    "node": {
        "react": "React",
        "next": "Next.js",
        "vue": "Vue",
        "nuxt": "Nuxt",
        "svelte": "Svelte",
        "@sveltejs/kit": "SvelteKit",
        "@angular/core": "Angular",
        "@remix-run/react": "Remix",
        "astro": "Astro",
        "express": "Express",
        "fastify": "Fastify",
        "koa": "Koa",
        "hono": "Hono",
        "@nestjs/core": "NestJS",
        "electron": "Electron",
        "react-native": "React Native",
        "expo": "Expo",
        "@modelcontextprotocol/sdk": "MCP TypeScript SDK",
        "prisma": "Prisma",
        "tailwindcss": "Tailwind CSS",
        "typescript": "TypeScript",
        "vite": "Vite",
        "webpack": "webpack",
        "jest": "Jest",
        "vitest": "Vitest",
        "mocha": "Mocha",
        "@playwright/test": "Playwright",
        "cypress": "Cypress",
    },
    "rust": {
        "tokio": "Tokio",
        "actix-web": "Actix Web",
        "axum": "Axum",
        "rocket": "Rocket",
        "warp": "warp",
        "serde": "Serde",
        "clap": "clap",
        "diesel": "Diesel",
        "sqlx": "SQLx",
        "bevy": "Bevy",
        "tauri": "Tauri",
    },
    "go": {
        "github.com/gin-gonic/gin": "Gin",
        "github.com/labstack/echo": "Echo",
        "github.com/gofiber/fiber": "Fiber",
        "github.com/gorilla/mux": "Gorilla Mux",
        "github.com/spf13/cobra": "Cobra",
        "google.golang.org/grpc": "gRPC",
        "gorm.io/gorm": "GORM",
        "github.com/stretchr/testify": "Testify",
    },
    "ruby": {"rails": "Rails", "sinatra": "Sinatra", "rspec": "RSpec", "rspec-rails": "RSpec"},
    "php": {"laravel/framework": "Laravel", "symfony/framework-bundle": "Symfony", "phpunit/phpunit": "PHPUnit"},
    "dart": {"flutter": "Flutter"},
    "elixir": {"phoenix": "Phoenix"},
}
TEST_FRAMEWORKS = frozenset(
    {"pytest", "Hypothesis", "Jest", "Vitest", "Mocha", "Playwright", "Cypress", "RSpec", "PHPUnit", "Testify"}
)
Offer = Callable[[str, str], None]
COMMAND_KEYS = ("install", "build", "test", "lint", "format", "typecheck", "run")

_TARGETS = {
    "install": ("install", "setup", "bootstrap", "deps"),
    "build": ("build", "compile", "dist"),
    "test": ("test", "tests", "check"),
    "lint": ("lint", "check"),
    "format": ("format", "fmt"),
    "typecheck": ("typecheck", "types", "mypy"),
    "run": ("run", "serve", "start", "dev"),
}
_SCRIPTS = {
    "build": ("build",),
    "test": ("test",),
    "lint": ("lint",),
    "format": ("format", "fmt", "prettier"),
    "typecheck": ("typecheck", "type-check", "types", "tsc"),
    "run": ("dev", "start", "serve"),
}


def normalize_dependency(kind: str, name: str) -> str:
    if kind == "python":
        return re.sub(r"[-_.]+", "-", name).lower()
    if kind == "go":
        return re.sub(r"/v\d+$", "", name)
    return name.lower() if kind in ("rust", "ruby", "dart", "elixir") else name


def _declared(manifest: Manifest) -> Iterable[str]:
    for name in (*manifest.dependencies, *manifest.dev_dependencies):
        yield normalize_dependency(manifest.kind, name)


def detect_frameworks(manifests: Sequence[Manifest]) -> list[str]:
    """Display names of the frameworks/libraries the manifests declare, in a stable order."""
    found: dict[str, None] = {}
    for manifest in manifests:
        table = _FRAMEWORKS.get(manifest.kind, {})
        for dependency in _declared(manifest):
            framework = table.get(dependency)
            if framework is not None:
                found[framework] = None
        if manifest.kind == "python":
            for tool in manifest.tools:
                if tool == "pytest":
                    found["pytest"] = None
    return sorted(found, key=str.lower)


# What `npm init` writes as the test script: it always fails, so it is no test command.
_NPM_PLACEHOLDER = re.compile(r"no test specified")


def _root_manifests(manifests: Sequence[Manifest]) -> list[Manifest]:
    """The manifests at the shallowest level that has any (the project's own, not its sub-packages')."""
    if not manifests:
        return []
    depth = min(map(_level, manifests))
    return [m for m in manifests if _level(m) == depth]


def _level(manifest: Manifest) -> int:
    """How deep a manifest is; `requirements/*.txt` count as the folder holding `requirements/`."""
    folder = posixpath.dirname(manifest.path)
    in_requirements = posixpath.basename(folder) == "requirements" and manifest.path.endswith(".txt")
    return manifest.path.count("/") - (1 if in_requirements else 0)


def _package_manager(lockfiles: Sequence[str], base: str) -> str:
    names = {posixpath.basename(p) for p in lockfiles if posixpath.dirname(p) == base}
    for lock, manager in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun")):
        if lock in names:
            return manager
    return "npm"


# Lockfile → (command prefix, install command, build command) of the Python environment manager.
_PYTHON_MANAGERS = (
    ("uv.lock", "uv run ", "uv sync", "uv build"),
    ("poetry.lock", "poetry run ", "poetry install", "poetry build"),
    ("pdm.lock", "pdm run ", "pdm install", "pdm build"),
    ("Pipfile.lock", "pipenv run ", "pipenv install --dev", "python -m build"),
)


def _python_manager(lockfiles: Sequence[str], base: str) -> tuple[str, str | None, str]:
    names = {posixpath.basename(p) for p in lockfiles if posixpath.dirname(p) == base}
    for lock, runner, install, build in _PYTHON_MANAGERS:
        if lock in names:
            return runner, install, build
    return "", None, "python -m build"


def detect_commands(manifests: Sequence[Manifest], lockfiles: Sequence[str]) -> dict[str, str]:
    """install/build/test/lint/format/typecheck/run commands backed by the project's own manifests."""
    commands: dict[str, str] = {}

    def offer(key: str, command: str) -> None:
        commands.setdefault(key, command)

    root = _root_manifests(manifests)
    for manifest in root:  # explicit task runners first: they encode the project's own conventions
        if manifest.kind in ("make", "just") and manifest.targets:
            for key, candidates in _TARGETS.items():
                for target in candidates:
                    if target in manifest.targets:
                        offer(key, f"{manifest.kind} {target}")
                        break
    for manifest in root:
        base = posixpath.dirname(manifest.path)
        _ecosystem_commands(manifest, lockfiles, base, offer)
    return {key: commands[key] for key in COMMAND_KEYS if key in commands}


def _ecosystem_commands(manifest: Manifest, lockfiles: Sequence[str], base: str, offer: Offer) -> None:
    kind = manifest.kind
    if kind == "node":
        manager = _package_manager(lockfiles, base)
        offer("install", f"{manager} install")
        for key, names in _SCRIPTS.items():
            for script in names:
                if script in manifest.scripts and not _NPM_PLACEHOLDER.search(manifest.scripts[script]):
                    offer(key, f"{manager} test" if script == "test" else f"{manager} run {script}")
                    break
    elif kind == "python":
        _python_commands(manifest, lockfiles, base, offer)
    elif kind == "rust":
        for key, command in (
            ("build", "cargo build"),
            ("test", "cargo test"),
            ("lint", "cargo clippy"),
            ("format", "cargo fmt"),
        ):
            offer(key, command)
        if manifest.entry_points:
            offer("run", "cargo run")
    elif kind == "go":
        for key, command in (
            ("install", "go mod download"),
            ("build", "go build ./..."),
            ("test", "go test ./..."),
            ("lint", "go vet ./..."),
            ("format", "gofmt -l -w ."),
        ):
            offer(key, command)
    elif kind == "ruby":
        offer("install", "bundle install")
        deps = set(_declared(manifest))
        offer("test", "bundle exec rspec" if deps & {"rspec", "rspec-rails"} else "bundle exec rake test")
        if "rubocop" in deps:
            offer("lint", "bundle exec rubocop")
    elif kind == "php":
        offer("install", "composer install")
        if "phpunit/phpunit" in set(_declared(manifest)):
            offer("test", "vendor/bin/phpunit")
    elif kind == "java":
        gradle = manifest.path.endswith((".gradle", ".gradle.kts"))
        tool = "./gradlew" if gradle else "mvn"
        offer("build", f"{tool} build" if gradle else "mvn package")
        offer("test", f"{tool} test")
    elif kind == "dart":
        flutter = "flutter" in set(_declared(manifest))
        tool = "flutter" if flutter else "dart"
        offer("install", f"{tool} pub get")
        offer("test", f"{tool} test")
        offer("lint", f"{tool} analyze")
    elif kind == "elixir":
        offer("install", "mix deps.get")
        offer("build", "mix compile")
        offer("test", "mix test")
        offer("format", "mix format")
    elif kind == "swift":
        offer("build", "swift build")
        offer("test", "swift test")


def _python_commands(manifest: Manifest, lockfiles: Sequence[str], base: str, offer: Offer) -> None:
    runner, install, build = _python_manager(lockfiles, base)
    name = posixpath.basename(manifest.path)
    if install is None and "poetry" in manifest.tools:  # no lock file yet; pip cannot install it without [build-system]
        runner, install, build = "poetry run ", "poetry install", "poetry build"
    deps = set(_declared(manifest)) | set(manifest.tools)
    if install:
        offer("install", install)
    elif name == "pyproject.toml":
        extras = [e for e in ("dev", "test") if e in manifest.extras]
        offer("install", f"pip install -e '.[{extras[0]}]'" if extras else "pip install -e .")
    elif manifest.path.endswith(".txt"):  # a requirements file
        offer("install", f"pip install -r {manifest.path}")
    if "pytest" in deps:
        offer("test", f"{runner}pytest")
    if "ruff" in deps:
        offer("lint", f"{runner}ruff check .")
        offer("format", f"{runner}ruff format .")
    elif "flake8" in deps:
        offer("lint", f"{runner}flake8")
    if "black" in deps:
        offer("format", f"{runner}black .")
    if "mypy" in deps:
        offer("typecheck", f"{runner}mypy")
    elif "pyright" in deps:
        offer("typecheck", f"{runner}pyright")
    if manifest.build_backend:
        offer("build", build)
    if manifest.entry_points:
        offer("run", f"{runner}{manifest.entry_points[0]}")
