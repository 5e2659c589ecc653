"""The project analysis kept in the state, and the compact summary an onboarding call returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.names import clipped
from domain.onboarding.detect import TEST_FRAMEWORKS, detect_commands, detect_frameworks
from domain.onboarding.facts import GitFacts, ScanFacts

SUMMARY_LANGUAGES = 6


class ProjectAnalysis(BaseModel):
    """Everything onboarding learned about a project; stored as `ProjectState.onboarding`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    facts: ScanFacts
    git: GitFacts | None = None
    frameworks: list[str] = Field(default_factory=list)
    test_frameworks: list[str] = Field(default_factory=list)
    commands: dict[str, str] = Field(default_factory=dict)


def analyze(name: str, facts: ScanFacts, git: GitFacts | None) -> ProjectAnalysis:
    """Derive frameworks, test frameworks and commands from the scanned facts."""
    frameworks = detect_frameworks(facts.manifests)
    kinds = {m.kind for m in facts.manifests}
    languages = {stat.name for stat in facts.languages}
    testing = [f for f in frameworks if f in TEST_FRAMEWORKS]
    if "go" in kinds:
        testing.append("go test")
    if "rust" in kinds:
        testing.append("cargo test")
    if not testing and "Python" in languages and facts.test_files:
        testing.append("unittest")
    return ProjectAnalysis(
        name=name,
        facts=facts,
        git=git,
        frameworks=frameworks,
        test_frameworks=testing,
        commands=detect_commands(facts.manifests, facts.lockfiles),
    )


# What cde_onboardingProject returns (the full analysis is in .cde/state.json). No docstring or field
# descriptions: they would be sent in every tools/list; the README documents the fields.
class OnboardingSummary(BaseModel):
    project: str
    files: int
    docs: int
    languages: dict[str, int]  # lines of code per language, largest first
    frameworks: list[str]
    manifests: list[str]
    commands: dict[str, str]
    tests: str | None  # "42 files in tests/ (pytest)"
    ci: list[str]
    git: str | None
    notes: list[str]
    changed: bool  # false when the stored analysis was already up to date


def summarize(analysis: ProjectAnalysis, *, changed: bool) -> OnboardingSummary:
    facts = analysis.facts
    notes: list[str] = []
    if facts.truncated:
        notes.append(f"scan stopped at {facts.files} files (CDE_SCAN_MAX_FILES); facts cover those only")
    broken = [m.path for m in facts.manifests if m.error]
    if broken:
        notes.append(f"unparseable manifests: {', '.join(broken[:5])}")
    if facts.symlinks:
        notes.append(f"{plural(facts.symlinks, 'symlink')} not followed")
    if facts.unreadable_dirs:
        notes.append(f"{plural(facts.unreadable_dirs, 'unreadable folder')} skipped")
    if facts.bad_names:
        notes.append(f"{plural(facts.bad_names, 'file or folder name')} not valid UTF-8, left out")
    if analysis.git is None:
        notes.append("no git facts: not a git repository, or git is unavailable")
    if not analysis.commands:
        notes.append("no build/test commands found in Makefile, package.json or tool configs")
    return OnboardingSummary(
        project=analysis.name,
        files=facts.files,
        docs=facts.docs,
        languages={s.name: s.lines for s in facts.languages[:SUMMARY_LANGUAGES]},
        frameworks=analysis.frameworks,
        manifests=[m.path for m in facts.manifests][:10],
        commands=analysis.commands,
        tests=describe_tests(analysis),
        ci=facts.ci[:5],
        git=describe_git(analysis.git),
        notes=notes,
        changed=changed,
    )


def describe_tests(analysis: ProjectAnalysis) -> str | None:
    """One line: `42 test files; test folders tests/, web/__tests__/ (pytest, Jest)`. Some may be
    beside the code (`x.test.ts`, `x_test.go`), so the folders are not said to hold them all."""
    facts = analysis.facts
    if not facts.test_files:
        return None
    where = f"; test folders {', '.join(d + '/' for d in facts.test_dirs[:3])}" if facts.test_dirs else ""
    tools = f" ({', '.join(analysis.test_frameworks)})" if analysis.test_frameworks else ""
    return f"{plural(facts.test_files, 'test file')}{where}{tools}"


def describe_git(git: GitFacts | None) -> str | None:
    """One line: `branch main, 120 commits, 4 contributors; last a1b2c3d "Fix x" (2025-01-02)`."""
    if git is None:
        return None
    parts = [f"branch {git.branch or 'unknown'}"]
    if git.commits is not None:
        parts.append(plural(git.commits, "commit"))
    if git.contributors is not None:
        parts.append(plural(git.contributors, "contributor"))
    text = ", ".join(parts)
    if git.recent:
        last = git.recent[0]
        text += f'; last {last.sha} "{clipped(last.subject, 80)}" ({last.date[:10]})'
    return text


def plural(n: int, noun: str) -> str:
    """`1 file`, `2 files`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
