"""Choosing a workflow type and complexity for a request, deterministically.

The classifier is a transparent rule set: weighted cue words and phrases per
workflow type, plus complexity cues and the request's length. The same prompt
always gives the same answer, and the `reasoning` line names the cues that
decided it, so a surprising choice can be understood and overridden
(`cde_startFeature(workflow_type=...)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from domain.workflow_ports import ProjectConfig

Complexity = Literal["trivial", "simple", "moderate", "complex", "epic"]
COMPLEXITIES: tuple[Complexity, ...] = ("trivial", "simple", "moderate", "complex", "epic")

# Canonical types, in tie-break order (the more specific intent wins a tie).
TYPES = ("hotfix", "quick-fix", "documentation", "research", "refactor", "standard")
FALLBACK_TYPE = "standard"
HOTFIX_MIN = 2  # the least hotfix score that can make a request a hotfix

# fmt: off
_CUES: dict[str, dict[str, int]] = {
    "hotfix": {
        "hotfix": 4, "hot fix": 4, "outage": 4, "incident": 3, "emergency": 4, "sev1": 4, "p0": 4,
        "in production": 3, "on production": 3, "production is down": 4, "prod is down": 4, "is down": 3, "cve": 4,
        "security vulnerability": 4, "data loss": 3, "production": 2, "prod": 2, "urgent": 2, "urgently": 2,
        "asap": 2, "critical": 2, "immediately": 2, "right now": 2, "vulnerability": 2, "exploit": 2,
        "live site": 3, "rollback": 2, "customers": 1, "leaking": 2, "p1": 3, "sev2": 3, "data breach": 4,
        "leaked": 2, "downtime": 1, "losing money": 3, "losing revenue": 3,
    },
    "quick-fix": {
        "typo": 4, "typos": 4, "off by one": 4, "one line": 3, "fix": 2, "fixes": 2, "fixing": 2, "bug": 2,
        "bugs": 2, "crash": 2, "crashes": 2, "crashing": 2, "broken": 2, "does not work": 2, "doesn't work": 2,
        "not working": 2, "fails": 2, "failing": 2, "error": 2, "errors": 1, "exception": 2, "wrong": 2,
        "incorrect": 2, "regression": 2, "glitch": 2, "flaky": 2, "misaligned": 2, "null": 1, "undefined": 1,
        "small": 1, "minor": 1, "quick": 1, "tweak": 2, "patch": 1, "issue": 1, "bump": 2, "spelling": 3,
        "instead of": 1, "returns": 1, "stack trace": 3, "traceback": 3, "hangs": 2, "freezes": 2, "panics": 2,
        "overlaps": 2, "unexpected": 1, "throws": 1, "raises": 1, "thrown": 1, "never": 1, "no longer": 1,
        "stopped working": 3, "does nothing": 3, "nothing happens": 3, "blank": 2, "disappears": 2,
        "randomly": 2, "intermittently": 2, "can't": 1, "cannot": 1, "won't": 2, "off by": 3,
    },
    "documentation": {
        "documentation": 4, "document": 3, "documenting": 3, "docs": 4, "readme": 4, "docstring": 4,
        "docstrings": 4, "changelog": 4, "tutorial": 4, "user guide": 4, "guide": 3, "api reference": 4, "wiki": 3,
        "adr": 3, "architecture decision record": 4, "release notes": 4, "javadoc": 4, "jsdoc": 4, "comments": 2,
        "explain": 1, "write up": 2, "how to": 1, "contributing": 3, "manual": 2, "runbook": 4, "faq": 3,
    },
    "research": {
        "research": 4, "investigate": 4, "investigation": 4, "spike": 4, "feasibility": 4, "compare": 3,
        "comparison": 3, "evaluate": 3, "evaluation": 3, "pros and cons": 4, "trade offs": 3, "tradeoffs": 3,
        "which is better": 4, "should we": 3, "alternatives": 3, "survey": 3, "explore": 3, "exploration": 3,
        "understand why": 3, "find out": 3, "assess": 3, "assessment": 3, "recommend": 2, "recommendation": 2,
        "analyze": 2, "analyse": 2, "analysis": 2, "options": 2, "best way": 2, "what is the best": 3,
        "why does": 2, "why is": 2, "how does": 2, "study": 2, "look into": 3, "versus": 2, "vs": 2,
    },
    "refactor": {
        "refactor": 4, "refactoring": 4, "restructure": 4, "clean up": 3, "cleanup": 3, "tech debt": 4,
        "technical debt": 4, "modularize": 4, "decouple": 4, "extract": 2, "reorganize": 3, "reorganise": 3,
        "dead code": 4, "deduplicate": 3, "duplication": 3, "code smell": 3, "split": 2, "simplify": 3,
        "rewrite": 2, "migrate": 2, "rename": 2, "consolidate": 3, "modernize": 3, "without changing": 4,
        "readability": 3, "maintainability": 3, "move": 1, "replace": 1, "upgrade": 1,
        "deprecated": 3, "duplicated": 2, "into smaller": 3, "break up": 3, "convert": 1,
        "async await": 3, "unchanged": 3, "no functional change": 4, "same behaviour": 4, "same behavior": 4,
        "type hints": 3, "type annotations": 3, "untangle": 3, "flatten": 2,
    },
    "standard": {
        "add": 2, "implement": 2, "build": 2, "create": 2, "new": 1, "feature": 2, "support": 2, "integrate": 2,
        "integration": 2, "endpoint": 2, "page": 1, "allow users": 2, "let users": 2, "enable": 1, "introduce": 2,
        "develop": 2, "ability to": 2, "dashboard": 1, "api": 1, "screen": 1, "form": 1, "command": 1, "export": 1,
        "import": 1, "upload": 1, "notifications": 1, "endpoints": 2,
    },
}

_TRIVIAL = {
    "typo": 2, "typos": 2, "spelling": 2, "one line": 2, "wording": 2, "bump": 2, "label": 1, "rename": 1,
}
_SIMPLER = {
    "small": 1, "minor": 1, "quick": 1, "tiny": 1, "simple": 1, "single": 1,
}
_COMPLEX = {
    "architecture": 1, "distributed": 1, "scalable": 1, "real time": 1, "realtime": 1, "concurrency": 1,
    "migration": 1, "migrate": 1, "security": 1, "authentication": 1, "authorization": 1, "oauth": 1, "oauth2": 1,
    "payment": 1, "payments": 1, "billing": 1, "multi tenant": 1, "sharding": 1, "pipeline": 1, "end to end": 1,
    "across": 1, "entire": 1, "whole": 1, "encryption": 1, "offline": 1, "sync": 1, "database": 1, "permissions": 1,
}
_EPIC = {
    "platform": 2, "from scratch": 2, "entire system": 2, "whole system": 2, "whole application": 2,
    "microservices": 2, "marketplace": 2, "ecosystem": 2, "full stack": 2, "saas": 2, "rewrite": 1,
}
_BASE_LEVEL = {
    "hotfix": 1, "quick-fix": 1, "documentation": 1, "research": 2, "refactor": 2, "standard": 2,
}

_TOPICS: dict[str, str] = {
    "python": "python", "django": "django", "flask": "flask", "fastapi": "fastapi", "pytest": "testing",
    "react": "react", "vue": "vue", "angular": "angular", "svelte": "svelte", "nextjs": "nextjs",
    "typescript": "typescript", "javascript": "javascript", "node": "nodejs", "nodejs": "nodejs", "rust": "rust",
    "golang": "go", "java": "java", "kotlin": "kotlin", "swift": "swift", "ios": "ios", "android": "android",
    "docker": "docker", "kubernetes": "kubernetes", "k8s": "kubernetes", "terraform": "terraform", "aws": "aws",
    "gcp": "gcp", "azure": "azure", "postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql",
    "sqlite": "sqlite", "redis": "redis", "mongodb": "mongodb", "sql": "sql", "database": "database",
    "migration": "database-migrations", "graphql": "graphql", "rest": "api-design", "api": "api-design",
    "endpoint": "api-design", "endpoints": "api-design", "oauth": "authentication", "oauth2": "authentication",
    "jwt": "authentication", "login": "authentication", "auth": "authentication",
    "authentication": "authentication", "sso": "authentication", "security": "security",
    "vulnerability": "security", "cve": "security", "xss": "security", "test": "testing", "tests": "testing",
    "testing": "testing", "coverage": "testing", "performance": "performance", "slow": "performance",
    "latency": "performance", "memory": "performance", "cache": "caching", "caching": "caching", "ci": "ci-cd",
    "pipeline": "ci-cd", "deploy": "deployment", "deployment": "deployment", "logging": "observability",
    "monitoring": "observability", "metrics": "observability", "websocket": "realtime", "websockets": "realtime",
    "css": "css", "accessibility": "accessibility", "a11y": "accessibility", "i18n": "i18n", "translation": "i18n",
    "payment": "payments", "payments": "payments", "stripe": "payments", "billing": "payments", "email": "email",
    "cli": "cli", "mcp": "mcp", "llm": "llm", "async": "async", "asyncio": "async", "translate": "i18n",
}
_TYPE_TOPIC = {
    "hotfix": "incident-response", "quick-fix": "debugging", "documentation": "technical-writing",
    "research": "research", "refactor": "refactoring", "standard": "feature-development",
}
# fmt: on
MAX_TOPICS = 5

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A named exception in a report ("throws a KeyError", "NullPointerException") is a symptom of a bug.
_EXCEPTION_NAME = re.compile(r"^[a-z]{2,}(?:error|exception)$")
_EXCEPTION_WEIGHT = 2


@dataclass(frozen=True)
class Classification:
    workflow_type: str
    complexity: Complexity
    confidence: float
    cues: tuple[str, ...]
    skill_topics: tuple[str, ...]
    words: int

    @property
    def evidenced_topics(self) -> tuple[str, ...]:
        """The skill topics the request's words support: the workflow type's own only when cues chose the type
        (with none, `standard` and its topic are a default, not something the request said)."""
        if self.cues:
            return self.skill_topics
        return tuple(t for t in self.skill_topics if t != _TYPE_TOPIC[self.workflow_type])


def _normalise(text: str) -> tuple[list[str], str]:
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return words, f" {' '.join(words)} "


# "Don't refactor anything, just add a flag": the words an instruction's negation governs are not cues.
# Only an instruction's: "don't X", "no X", "never X", "do not X", "we shouldn't X" at the start of a clause,
# and "without X" anywhere - not what a request says something must not do ("the app should not crash",
# "the importer does not throw"), which is how bugs are reported. It governs the next few words of its
# clause; a cue that is itself a negation ("no longer", "doesn't work", "without changing") still counts.
_NEGATORS = frozenset({"don't", "dont", "no", "never", "nor", "shouldn't", "mustn't", "not"})
_NEGATING = _NEGATORS | {"without"}
_NOT_AFTER = frozenset({"do", "should", "must", "shall"})  # "not" is an instruction's after these only
# What may come before the negation in an instruction: a subject that is the people doing the work.
_LEAD_INS = frozenset({"please", "we", "you", "i", "let's", "let", "us", "so", "also", "and"}) | _NOT_AFTER
_CLAUSE_ENDS = frozenset({"but", "just", "instead", "only", "then", "and"})
_NEGATION_REACH = 3
_WORD_OR_BREAK = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[,.;:!?()\[\]\n/\u2013\u2014]| - ")


def _unnegated(text: str) -> str:
    """`text`'s words (padded, as `_normalise` gives them) with those an instruction's negation governs
    replaced by `_`."""
    kept: list[str] = []
    clause: list[str] = []  # the words of the current clause so far
    reach = 0
    for item in _WORD_OR_BREAK.findall(text.lower().replace("\u2019", "'")):
        if not item[0].isalnum() or item in _CLAUSE_ENDS:
            reach, clause = 0, []
            if item[0].isalnum():
                kept.append(item)
            continue
        if item == "without" or (
            item in _NEGATORS
            and all(word in _LEAD_INS for word in clause)
            and (item != "not" or (clause and clause[-1] in _NOT_AFTER))
        ):
            kept.append(item)
            reach = _NEGATION_REACH
        elif reach:
            kept.append("_")
            reach -= 1
        else:
            kept.append(item)
        clause.append(item)
    return f" {' '.join(kept)} "


_DENSE = "\u3040-\u30ff\u3400-\u9fff"  # kana and CJK ideographs (Korean puts spaces between words)
_DENSE_CHAR = re.compile(f"[{_DENSE}]")
_ANY_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # a word in any script written with spaces


def _word_count(text: str, words: list[str]) -> int:
    """Words for the complexity estimate: Latin words, plus about one per two characters in scripts
    written without spaces (Chinese, Japanese), so a request in those is not "0 words"."""
    if text.isascii():
        return len(words)
    dense = len(_DENSE_CHAR.findall(text))
    return len(_ANY_WORD.findall(_DENSE_CHAR.sub(" ", text.replace("\u2019", "'")))) + (dense + 1) // 2


def _index(tables: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, int, str, int, bool]]]:
    """Every cue of every table by its first word: (table, order in it, cue, weight, is a phrase)."""
    index: dict[str, list[tuple[str, int, str, int, bool]]] = {}
    for name, table in tables.items():
        for order, (cue, weight) in enumerate(table.items()):
            entry = (name, order, cue, weight, " " in cue or "'" in cue)
            index.setdefault(cue.split(" ", 1)[0], []).append(entry)
    return index


# A request is checked only against the cues its words can start, not all ~450 of them, in one pass.
_CUE_INDEX = _index({**_CUES, "trivial": _TRIVIAL, "simpler": _SIMPLER, "complex": _COMPLEX, "epic": _EPIC})


def _matches(tokens: set[str], padded: str) -> dict[str, list[tuple[str, int]]]:
    """The cues found in the request, per table, in table order (which breaks ties between cues):
    a word among its tokens, a phrase as consecutive words."""
    found: dict[str, list[tuple[int, str, int]]] = {}
    for token in tokens:
        for table, order, cue, weight, phrase in _CUE_INDEX.get(token, ()):
            if not phrase or f" {cue} " in padded:
                found.setdefault(table, []).append((order, cue, weight))
    return {table: [(cue, weight) for _, cue, weight in sorted(hits)] for table, hits in found.items()}


def classify(user_prompt: str) -> Classification:
    """Workflow type, complexity, confidence, deciding cues and skill topics for a request."""
    words, padded = _normalise(user_prompt)
    tokens = set(words)
    found = _matches(tokens, padded)
    if not tokens.isdisjoint(_NEGATING):
        kept = _unnegated(user_prompt)
        found = {
            table: [
                (cue, weight) for cue, weight in hits if f" {cue} " in kept or not _NEGATING.isdisjoint(cue.split())
            ]
            for table, hits in found.items()
        }
    count = _word_count(user_prompt, words)
    hits = {t: found.get(t, []) for t in TYPES}
    named = sorted(t for t in tokens if _EXCEPTION_NAME.fullmatch(t))
    if named:
        hits["quick-fix"].append((named[0], _EXCEPTION_WEIGHT))
    scores = {t: sum(w for _, w in hits[t]) for t in TYPES}
    if scores["hotfix"] < HOTFIX_MIN:
        scores["hotfix"] = 0  # one weak cue ("customers", "downtime") is context, not an emergency
    elif scores["hotfix"]:
        # Urgency alone is not a hotfix; urgency about something broken is.
        scores["hotfix"] += scores["quick-fix"] if scores["quick-fix"] else -2
    ranked = sorted(TYPES, key=lambda t: (-scores[t], TYPES.index(t)))
    best, runner_up = ranked[0], ranked[1]
    if scores[best] <= 0:
        best, confidence = FALLBACK_TYPE, 0.3
    else:
        margin = (scores[best] - max(scores[runner_up], 0)) / scores[best]
        confidence = round(min(0.95, 0.5 + 0.45 * margin), 2)
    return Classification(
        workflow_type=best,
        complexity=_complexity(best, count, found, padded),
        confidence=confidence,
        cues=tuple(cue for cue, _ in sorted(hits[best], key=lambda h: -h[1])[:4]),
        skill_topics=_topics(best, words),
        words=count,
    )


def _complexity(kind: str, count: int, found: dict[str, list[tuple[str, int]]], padded: str) -> Complexity:
    def score(table: str) -> int:
        return sum(w for _, w in found.get(table, ()))

    level = _BASE_LEVEL.get(kind, 2)
    level -= min(2, score("trivial"))
    level -= min(1, score("simpler"))
    level += min(2, score("complex"))
    level += min(2, score("epic"))
    level += -1 if count < 6 else 2 if count > 60 else 1 if count > 30 else 0
    if padded.count(" and ") + padded.count(" also ") >= 3:
        level += 1
    return COMPLEXITIES[max(0, min(len(COMPLEXITIES) - 1, level))]


def _topics(kind: str, words: list[str]) -> tuple[str, ...]:
    topics: list[str] = []
    for word in words:
        topic = _TOPICS.get(word)
        if topic is not None and topic not in topics:
            topics.append(topic)
    topics.append(_TYPE_TOPIC[kind])
    return tuple(topics[:MAX_TOPICS])


# What cde_selectWorkflow returns (no docstring: output schemas stay lean).
class WorkflowSelection(BaseModel):
    workflow_type: str
    complexity: Complexity
    recipe_id: str
    phases: list[str]
    skipped: list[str]
    skill_topics: list[str]
    confidence: float
    reasoning: str


class SelectWorkflow:
    """Classifies a request and resolves the result against the project's workflow."""

    def __init__(self, config: ProjectConfig) -> None:
        self._config = config

    async def __call__(self, user_prompt: str) -> WorkflowSelection:
        workflow = await self._config.workflow()
        found = classify(user_prompt)
        kind = found.workflow_type
        why = f"cues {', '.join(repr(c) for c in found.cues)}" if found.cues else "no strong cue, default"
        if kind not in workflow.types:
            why += f"; {kind} is not in workflow {workflow.name!r}, using its default {workflow.default_type}"
            kind = workflow.default_type
        phases, skipped = workflow.plan(kind)
        return WorkflowSelection(
            workflow_type=kind,
            complexity=found.complexity,
            recipe_id=workflow.types[kind].recipe,
            phases=phases,
            skipped=skipped,
            skill_topics=list(found.skill_topics),
            confidence=found.confidence,
            reasoning=f"{kind}: {why}; {found.complexity} ({found.words} words)",
        )
