"""The agent selection policy: a deterministic ranking of the available agents for a task.

1. The task description is classified into task kinds by keywords (`KIND_KEYWORDS`)
   and given a complexity (low/medium/high) from its size and scope words.
2. Every available agent scores `20 * (kinds among its strengths)`, `+5` when its
   `max_complexity` covers the task's, `+priority` (0-9, from its descriptor): one matched
   strength always outweighs complexity and priority together.
3. The highest score wins; equal scores go to the alphabetically first name.
A caller's preferred agent wins outright when it is available. Same inputs, same answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.delegation.agents import COMPLEXITY_RANK, AgentInfo, Complexity

KIND_KEYWORDS: dict[str, tuple[str, ...]] = {
    "tests": ("test", "tests", "testing", "pytest", "unit test", "coverage", "e2e", "flaky"),
    "bugfix": ("bug", "fix", "error", "crash", "regression", "broken", "failing", "traceback", "exception"),
    "refactor": ("refactor", "clean up", "cleanup", "rename", "restructure", "simplify", "extract", "deduplicate"),
    "docs": ("doc", "docs", "document", "documentation", "readme", "docstring", "docstrings", "changelog", "tutorial"),
    "review": ("review", "audit", "critique", "assess"),
    "research": ("research", "investigate", "explain", "analyze", "analyse", "compare", "summarize", "explore"),
    "frontend": ("ui", "css", "html", "react", "vue", "svelte", "frontend", "component", "layout", "styling"),
    "feature": ("implement", "add", "build", "create", "feature", "support", "endpoint", "new"),
    "architecture": ("architecture", "design", "migrate", "migration", "redesign", "rewrite", "overhaul"),
}
# Words that signal a wide change; each adds one complexity point.
SCOPE_WORDS = ("entire", "whole", "across", "all files", "codebase", "every", "multiple", "system", "end-to-end")

_WORDS = re.compile(r"[a-z0-9][a-z0-9+#-]*")


@dataclass(frozen=True)
class TaskProfile:
    kinds: tuple[str, ...]
    complexity: Complexity


@dataclass(frozen=True)
class Choice:
    agent: str
    reasons: tuple[str, ...]
    profile: TaskProfile
    ranking: tuple[tuple[str, int], ...]  # every available agent with its score, best first


def _has(text: str, words: set[str], keyword: str) -> bool:
    if " " in keyword:
        return re.search(rf"\b{re.escape(keyword)}\b", text) is not None
    return keyword in words


def profile_task(description: str) -> TaskProfile:
    text = description.lower()
    words = set(_WORDS.findall(text))
    kinds = tuple(kind for kind, keys in KIND_KEYWORDS.items() if any(_has(text, words, k) for k in keys))
    points = sum(_has(text, words, w) for w in SCOPE_WORDS)
    points += int(len(words) > 120) + int(len(words) > 400) + int("architecture" in kinds) + int(len(kinds) >= 3)
    complexity: Complexity = "low" if points == 0 and len(words) < 25 else "high" if points >= 3 else "medium"
    return TaskProfile(kinds=kinds, complexity=complexity)


def score(agent: AgentInfo, task: TaskProfile) -> int:
    matched = sum(kind in agent.spec.strengths for kind in task.kinds)
    fits = COMPLEXITY_RANK[agent.spec.max_complexity] >= COMPLEXITY_RANK[task.complexity]
    return 20 * matched + (5 if fits else 0) + agent.spec.priority


def choose_agent(description: str, agents: Sequence[AgentInfo], preferred: str | None = None) -> Choice | None:
    """The best available agent for `description`, or None when no agent is available."""
    task = profile_task(description)
    available = [a for a in agents if a.available]
    if not available:
        return None
    ranked = sorted(((a, score(a, task)) for a in available), key=lambda pair: (-pair[1], pair[0].name))
    ranking = tuple((a.name, s) for a, s in ranked)
    kinds = ", ".join(task.kinds) or "general"
    reasons = [f"task kinds: {kinds}; complexity: {task.complexity}"]
    by_name = {a.name: a for a in agents}
    if preferred is not None and preferred in by_name and by_name[preferred].available:
        return Choice(preferred, (*reasons, f"{preferred} was preferred by the caller"), task, ranking)
    if preferred is not None:
        reasons.append(f"preferred agent {preferred} is not installed")
    best, _ = ranked[0]
    matched = [k for k in task.kinds if k in best.spec.strengths]
    if matched:
        reasons.append(f"{best.name} strengths match: {', '.join(matched)}")
    elif task.kinds:
        reasons.append(f"no installed agent declares these kinds; {best.name} has the highest priority")
    else:
        reasons.append(f"no task kind recognised; {best.name} has the highest priority")
    if COMPLEXITY_RANK[best.spec.max_complexity] >= COMPLEXITY_RANK[task.complexity]:
        reasons.append(f"{best.name} handles {task.complexity} complexity")
    else:
        reasons.append(f"no available agent is declared for {task.complexity} complexity")
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        reasons.append(f"tie with {ranked[1][0].name} broken by name")
    return Choice(best.name, tuple(reasons), task, ranking)
