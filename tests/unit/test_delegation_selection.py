from __future__ import annotations

from domain.delegation.agents import BUILTIN_AGENTS, AgentInfo, AgentSpec
from domain.delegation.selection import choose_agent, profile_task, score


def installed(*names: str) -> list[AgentInfo]:
    return [AgentInfo(spec=s, path=f"/bin/{s.name}" if s.name in names else None) for s in BUILTIN_AGENTS]


def test_task_kinds_and_complexity_come_from_the_description() -> None:
    assert profile_task("Fix the crash in the parser").kinds == ("bugfix",)
    assert profile_task("Fix the crash in the parser").complexity == "low"
    assert profile_task("Write unit tests and update the README").kinds == ("tests", "docs")
    big = profile_task("Migrate the entire codebase to the new architecture across all files")
    assert "architecture" in big.kinds and big.complexity == "high"
    assert profile_task("Prefix the output").kinds == ()  # "fix" inside a word is not a bugfix


def test_a_matching_strength_outweighs_priority_and_complexity() -> None:
    task = profile_task("Improve the docs of the CLI")
    agents = {a.name: a for a in installed("claude", "copilot")}
    assert score(agents["copilot"], task) > score(agents["claude"], task)


def test_selection_is_deterministic_and_explained() -> None:
    agents = installed("claude", "codex", "gemini", "aider")
    first = choose_agent("Research how the cache invalidation works and explain it", agents)
    again = choose_agent("Research how the cache invalidation works and explain it", list(reversed(agents)))
    assert first == again
    assert first is not None and first.agent == "gemini"
    assert first.reasons == (
        "task kinds: research; complexity: low",
        "gemini strengths match: research",
        "gemini handles low complexity",
    )
    assert [name for name, _ in first.ranking] == ["gemini", "claude", "codex", "aider"]


def test_high_complexity_prefers_agents_declared_for_it() -> None:
    choice = choose_agent(
        "Refactor the whole system across every module to simplify the architecture", installed("aider", "claude")
    )
    assert choice is not None and choice.agent == "claude"


def test_ties_go_to_the_first_name() -> None:
    twin = [AgentInfo(spec=AgentSpec(name=n, command=(n, "{prompt}")), path=f"/bin/{n}") for n in ("zed", "abe")]
    choice = choose_agent("do something", twin)
    assert choice is not None and choice.agent == "abe" and "tie with zed broken by name" in choice.reasons
    assert "no task kind recognised; abe has the highest priority" in choice.reasons


def test_preference_wins_when_installed_and_is_explained_when_not() -> None:
    agents = installed("claude", "aider")
    preferred = choose_agent("Fix the bug", agents, preferred="aider")
    missing = choose_agent("Fix the bug", agents, preferred="codex")
    assert preferred is not None and preferred.agent == "aider"
    assert missing is not None and missing.agent == "claude"
    assert "preferred agent codex is not installed" in missing.reasons


def test_nothing_installed_means_no_choice() -> None:
    assert choose_agent("anything", installed()) is None
