"""cde_onboardingProject on fixture trees and on this repository: facts, progress, state, cache, git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp.client import Client

from adapters.git_reader import GitCli
from adapters.project_scanner import FsProjectScanner
from adapters.project_tree import FsProjectTree
from domain.onboarding.analysis import analyze, describe_tests
from infrastructure.cache import get_cache
from server.bootstrap import App
from tests.conftest import call_error, call_ok
from tests.trees import edit_in_place, make_tree

REPO = Path(__file__).resolve().parents[2]

PYPROJECT = """[project]
name = "shop"
dependencies = ["fastapi", "sqlalchemy>=2"]
[project.optional-dependencies]
test = ["pytest"]
[tool.pytest.ini_options]
testpaths = ["tests"]
"""


@pytest.fixture
def shop(project: Path) -> Path:
    return make_tree(
        project,
        {
            ".gitignore": "ignored/\n",
            "pyproject.toml": PYPROJECT,
            "Makefile": "test:\n\tpytest\nlint:\n\truff check .\n",
            "src/shop/__init__.py": "",
            "src/shop/core.py": "def total(items):\n    return sum(items)\n",
            "src/shop/legacy.py": b"# caf\xe9 in latin-1, not UTF-8\nx = 1\n",
            "tests/test_core.py": "from shop.core import total\n\n\ndef test_total():\n    assert total([1]) == 1\n",
            "web/package.json": json.dumps({"dependencies": {"react": "18"}, "devDependencies": {"vitest": "1"}}),
            "web/src/App.tsx": "export const App = () => null;\n",
            "assets/intro.ts": b"G\x00\x00\x10binary transport stream",
            ".github/workflows/ci.yml": "on: push\n",
            "README.md": "# Shop\n",
            "docs/guide.md": "# Guide\n",
            "ignored/generated.py": "x = 1\n" * 100,
        },
    )


async def test_onboarding_reports_facts_with_progress_and_stores_them(app: App, shop: Path) -> None:
    (shop / "src" / "loop").symlink_to(shop / "src")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(app.server) as client:
        result = await client.call_tool("cde_onboardingProject", {}, progress_callback=on_progress)
    assert not result.is_error
    summary = result.structured_content
    assert summary is not None
    assert summary["project"] == "project"
    assert summary["files"] == 13  # .gitignore'd files are not part of the project
    assert summary["languages"] == {"Python": 9, "Makefile": 4, "TypeScript": 1}  # intro.ts is binary
    assert summary["frameworks"] == ["FastAPI", "pytest", "React", "SQLAlchemy", "Vitest"]
    assert summary["manifests"] == ["Makefile", "pyproject.toml", "web/package.json"]
    assert summary["commands"]["test"] == "make test" and summary["commands"]["lint"] == "make lint"
    assert summary["commands"]["install"] == "pip install -e '.[test]'"
    assert summary["tests"] == "1 test file; test folders tests/ (pytest, Vitest)"
    assert summary["ci"] == [".github/workflows/ci.yml"]
    assert summary["docs"] == 2
    assert summary["git"] is None and any("git" in note for note in summary["notes"])
    assert "1 symlink not followed" in summary["notes"]
    assert summary["changed"] is True
    assert [p[0] for p in progress] == [0, 1, 2, 3, 4] and {p[1] for p in progress} == {4}
    assert progress[1][2] == "reading 13 files"
    state = json.loads((shop / ".cde" / "state.json").read_text())
    stored = state["onboarding"]
    assert stored["facts"]["manifests"][1]["dependencies"] == ["fastapi", "sqlalchemy"]
    assert stored["commands"]["test"] == "make test"


async def test_second_onboarding_of_an_unchanged_tree_is_served_from_cache(app: App, shop: Path) -> None:
    facts_cache = get_cache("scan.facts")
    tree_cache = get_cache("project.tree")
    assert facts_cache is not None and tree_cache is not None
    async with Client(app.server) as client:
        await call_ok(client, "cde_onboardingProject")
        state_file = shop / ".cde" / "state.json"
        written = state_file.stat().st_mtime_ns
        before = (facts_cache.stats(), tree_cache.stats())
        again = await call_ok(client, "cde_onboardingProject")
        after = (facts_cache.stats(), tree_cache.stats())
        assert again["changed"] is False
        assert after[0].hits == before[0].hits + 1 and after[0].misses == before[0].misses
        assert after[1].misses == before[1].misses
        assert state_file.stat().st_mtime_ns == written  # nothing to store: the state is not rewritten
        edit_in_place(shop / "src" / "shop" / "core.py", "def total(items):\n    return 0\n\n\n# more\n")
        edited = await call_ok(client, "cde_onboardingProject")
    assert edited["changed"] is True and edited["languages"]["Python"] == 12
    assert facts_cache.stats().misses == after[0].misses + 1


async def test_onboarding_called_in_process_without_a_request_reports_no_progress(app: App, shop: Path) -> None:
    """`server.call_tool` with no request (scripts, benchmarks): the scan runs; progress has no one to go to."""
    result = await app.server.call_tool("cde_onboardingProject", {})
    assert not result.is_error, result  # type: ignore[union-attr]
    assert result.structured_content["languages"]["Python"] > 0  # type: ignore[union-attr, index]


async def test_onboarding_and_docs_tools_refuse_bad_project_paths(app: App, tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    expected = {
        "missing": ("not_found:", "does not exist"),
        str(tmp_path / "file.txt"): ("invalid_input:", "not a directory"),
        "/": ("permission_denied:", "CDE_ALLOWED_ROOTS"),
        str(tmp_path / "loop"): ("invalid_input:", "symlink loop"),
    }
    tools = {
        "cde_onboardingProject": {},
        "cde_setupProject": {},
        "cde_scanDocumentation": {},
        "cde_analyzeDocumentation": {},
        "cde_searchDocumentation": {"query": "x"},
    }
    async with Client(app.server) as client:
        for tool, arguments in tools.items():
            for path, (code, words) in expected.items():
                message = await call_error(client, tool, {**arguments, "project_path": path})
                assert message.startswith(code) and words in message, (tool, path, message)
        assert (await call_ok(client, "cde_healthCheck"))["status"] == "ok"  # still serving


def _git(root: Path, *args: str, author: str = "Ada") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author.lower()}@example.com",
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
async def test_git_facts_follow_new_commits(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo", {"a.py": "x = 1\n"})
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "First commit")
    (root / "b.py").write_text("y = 2\n")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "Add b", author="Grace")
    git = GitCli(timeout=10.0)
    facts = await git.facts(root)
    assert facts is not None
    assert (facts.branch, facts.commits, facts.contributors) == ("main", 2, 2)
    assert [c.subject for c in facts.recent] == ["Add b", "First commit"] and facts.recent[0].author == "Grace"
    assert await git.facts(root) is facts  # cached
    _git(root, "commit", "-q", "--allow-empty", "-m", "Third")
    newer = await git.facts(root)
    assert newer is not None and newer.commits == 3 and newer.recent[0].subject == "Third"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
async def test_reading_git_facts_never_runs_a_program_the_repositorys_config_names(tmp_path: Path) -> None:
    """A project from a tarball whose .git/config sets log.showSignature and gpg.program: `git log` verified
    the signed commit with that program, so onboarding the project ran it."""
    root = tmp_path / "repo"
    root.mkdir()
    ran = tmp_path / "ran.txt"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\necho ran > {ran}\nexit 1\n")
    evil.chmod(0o755)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "commit", "-q", "--allow-empty", "-m", "Signed")
    commit = subprocess.run(["git", "-C", str(root), "cat-file", "commit", "HEAD"], capture_output=True, text=True)
    head, body = commit.stdout.split("\n\n", 1)
    signed = f"{head}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQ==\n -----END PGP SIGNATURE-----\n\n{body}"
    (tmp_path / "commit.txt").write_text(signed)
    made = subprocess.run(
        ["git", "-C", str(root), "hash-object", "-t", "commit", "-w", str(tmp_path / "commit.txt")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    _git(root, "update-ref", "HEAD", made.stdout.strip())
    _git(root, "config", "log.showSignature", "true")
    _git(root, "config", "gpg.program", str(evil))
    _git(root, "log", "-1")  # the trap is set: plain git runs the program
    assert ran.exists()
    ran.unlink()
    facts = await GitCli(timeout=10.0).facts(root)
    assert facts is not None and [c.subject for c in facts.recent] == ["Signed"]
    assert not ran.exists()


async def test_git_facts_are_absent_without_git_or_repository(tmp_path: Path) -> None:
    assert await GitCli(timeout=5.0, executable=str(tmp_path / "no-such-git")).facts(tmp_path) is None
    slow = tmp_path / "slow-git"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    assert await GitCli(timeout=0.2, executable=str(slow)).facts(tmp_path) is None  # killed at the timeout
    if shutil.which("git"):
        assert await GitCli(timeout=5.0).facts(tmp_path) is None  # not a repository


async def test_scan_of_this_repository(tmp_path: Path) -> None:
    """Read-only facts about the repository the tests run from (no state written into it)."""
    trees = FsProjectTree(max_files=50_000)
    facts = await FsProjectScanner(trees).facts(REPO)
    analysis = analyze(REPO.name, facts, None)
    assert facts.languages[0].name == "Python" and facts.languages[0].lines > 1000
    assert "pyproject.toml" in [m.path for m in facts.manifests]
    assert {"MCP Python SDK", "Pydantic", "pytest"} <= set(analysis.frameworks)
    assert analysis.commands["test"] == "make test" and analysis.commands["lint"] == "make lint"
    assert "tests" in facts.test_dirs
    # The test modules only: conftest.py, fakes.py, __init__.py... are not tests.
    assert facts.test_files == len([p for p in (REPO / "tests").rglob("test_*.py") if ".venv" not in p.parts])
    assert not any(f.startswith((".venv/", ".git/")) for f in (await trees.tree(REPO)).files)


async def test_test_files_are_counted_by_their_folders_convention(tmp_path: Path) -> None:
    """Every code file under a test folder counted: helpers made 75 of this repository's 64 test modules."""
    make_tree(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/conftest.py": "",
            "tests/fakes.py": "",
            "tests/test_a.py": "",
            "tests/unit/test_b.py": "",
            "crates/x/tests/api.rs": "",  # Rust: every file in tests/ is a test
            "crates/x/tests/common/mod.rs": "",
            "web/__tests__/button.js": "",  # Jest: so is every file in __tests__/
            "web/src/a.test.ts": "",  # beside the code
            "svc/main_test.go": "",
            "svc/main.go": "",
            "tests/e2e/flow.spec.ts": "",  # one named TypeScript test...
            "tests/kt/CartSpec.kt": "",  # ...does not make the Kotlin ones (another convention) uncounted
        },
    )
    facts = await FsProjectScanner(FsProjectTree(max_files=1000)).facts(tmp_path)
    assert facts.test_files == 2 + 2 + 1 + 2 + 2
    assert set(facts.test_dirs) == {"tests", "crates/x/tests", "web/__tests__"}
    summary = describe_tests(analyze(tmp_path.name, facts, None))
    assert summary is not None and summary.startswith("9 test files; test folders tests/, web/__tests__/, crates/x/")


async def test_huge_manifest_names_are_cut_not_stored_whole(app: App, project: Path) -> None:
    """Twenty package.json files with a 300 KB name and dependency key made the onboarding state 18 MB:
    refused as too big to write, with advice about features that did not exist."""
    huge = "n" * 300_000
    for i in range(20):
        make_tree(project, {f"pkg{i}/package.json": json.dumps({"name": huge, "dependencies": {huge: "1"}})})
    async with Client(app.server) as client:
        onboarded = await call_ok(client, "cde_onboardingProject", {})
    assert len(onboarded["manifests"]) == 10  # the summary lists the first ten
    assert (project / ".cde/state.json").stat().st_size < 1_000_000
