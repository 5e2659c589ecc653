"""The catalog of registered tools and its ranked search.

Ranking, in order: a query naming a tool exactly puts that tool first (the
name's own words are not searched); then tools matching more of the query's
other words (a word found in every tool, like "cde", selects nothing and is
ignored); then the weight of where they matched
(name 3, parameter name 1.5, description 1) with whole-word matches worth more
than prefix matches; then the name. Words are compared after light stemming
("skills" = "skill", "saved" = "save") and camelCase names are split into words
("cde_saveSkill" → cde, save, skill), and a few everyday words also find the
tools' own ("stop" → cancel, "resume" → status; see SYNONYMS), so agents can
search the way they speak.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NAME_WEIGHT = 3.0
PARAM_WEIGHT = 1.5
DESCRIPTION_WEIGHT = 1.0
PREFIX_FACTOR = 0.6

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_PARTS = re.compile(r"[A-Za-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "their",
        "this",
        "to",
        "use",
        "used",
        "using",
        "what",
        "when",
        "which",
        "with",
        "without",
        "you",
        "your",
    ]
)


# Words agents use for what the tools call otherwise: a query word also finds its equivalents' tools, at
# SYNONYM_FACTOR of the weight - a synonym in a name (0.9) counts less than the word itself in a
# description (1.0) - so among tools matching as many of the query's words, one using the agent's own
# word ranks first. One way: "stop" finds cancel tools, "cancel" does not find everything that says "stop".
SYNONYM_FACTOR = 0.3
_SYNONYM_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("stop", "kill", "abort", "terminate", "halt", "interrupt"), ("cancel",)),
    (("resume", "continue", "progress", "where"), ("status",)),
    (("remove", "erase", "drop", "forget"), ("delete",)),
    (("lookup", "look", "query", "discover", "locate"), ("find", "search")),
    (("show", "enumerate", "all"), ("list",)),
    (("job", "background", "run", "running", "agent"), ("task",)),  # an agent is running a delegated task
    (("create", "new", "begin", "kick"), ("start", "save")),
    (("finish", "complete", "done", "deliver", "hand"), ("submit",)),
    (("docs", "readme", "markdown", "wiki"), ("documentation",)),
    (("knowledge", "lesson", "learn", "note", "memory"), ("skill",)),
    (("template", "prompt"), ("recipe",)),
    (("worker", "cli", "assistant", "codex", "claude", "gemini", "aider"), ("agent",)),
    (("classify", "choose", "pick", "plan"), ("select",)),
    (("init", "initialise", "initialize", "bootstrap", "configure"), ("setup",)),
    (("edit", "change", "revise", "modify"), ("update",)),
)


def split_words(text: str) -> list[str]:
    """Lowercase words of `text`, splitting camelCase and snake_case: "cde_saveSkill" → cde, save, skill."""
    return [w.lower() for part in _PARTS.findall(text) for w in _CAMEL.findall(part)]


def stem(word: str) -> str:
    """A light, symmetric suffix stripper: good enough to equate plurals and tenses of tool vocabulary."""
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Distinct stemmed search terms of `text`, stopwords dropped, in order."""
    return list(dict.fromkeys(stem(w) for w in split_words(text) if w not in STOPWORDS))


@dataclass(frozen=True, eq=False)
class ToolSpec:
    """A registered tool as a client sees it in `tools/list`.

    Compared and hashed by identity: a catalog keeps its specs for as long as the
    registry is unchanged, so derived work (generated code) can be keyed on them.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any] | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        properties = self.input_schema.get("properties") or {}
        return list(properties) if isinstance(properties, Mapping) else []


def _synonyms() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for words, meant in _SYNONYM_GROUPS:
        targets = [stem(w) for w in meant]
        for word in words:
            extra = table.setdefault(stem(word), [])
            extra.extend(t for t in targets if t not in extra and t != stem(word))
    return {word: tuple(targets) for word, targets in table.items()}


SYNONYMS = _synonyms()


def _weights(spec: ToolSpec) -> dict[str, float]:
    """Each stemmed word of a tool → the best weight of a field it appears in."""
    found: dict[str, float] = {}
    fields = (
        (spec.name, NAME_WEIGHT),
        (" ".join(spec.parameters), PARAM_WEIGHT),
        (spec.description, DESCRIPTION_WEIGHT),
    )
    for text, weight in fields:
        for term in terms(text):
            found[term] = max(found.get(term, 0.0), weight)
    return found


@dataclass(frozen=True)
class Ranked:
    spec: ToolSpec
    matched: int
    score: float


class ToolCatalog:
    """An immutable, pre-indexed view of the registered tools."""

    def __init__(self, specs: Sequence[ToolSpec]) -> None:
        self.specs: tuple[ToolSpec, ...] = tuple(sorted(specs, key=lambda s: s.name))
        self._by_name = {s.name.lower(): i for i, s in enumerate(self.specs)}
        vocabulary: dict[str, list[tuple[int, float]]] = {}
        for i, spec in enumerate(self.specs):
            for term, weight in _weights(spec).items():
                vocabulary.setdefault(term, []).append((i, weight))
        self._vocabulary = vocabulary
        self._sorted_words = sorted(vocabulary)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def get(self, name: str) -> ToolSpec | None:
        index = self._by_name.get(name.lower())
        return None if index is None else self.specs[index]

    def _matching_words(self, term: str) -> list[tuple[str, float]]:
        """Vocabulary words matching `term`: itself (factor 1), words it begins, words of >= 4 letters beginning it."""
        found = [(term, 1.0)] if term in self._vocabulary else []
        if len(term) >= 3:
            start = bisect.bisect_right(self._sorted_words, term)
            for word in self._sorted_words[start:]:
                if not word.startswith(term):
                    break
                found.append((word, PREFIX_FACTOR))
        found.extend((term[:k], PREFIX_FACTOR) for k in range(4, len(term)) if term[:k] in self._vocabulary)
        return found

    def _postings(self, term: str, scale: float = 1.0) -> dict[int, float]:
        """Tool index → best weight of a vocabulary word matching `term` (times `scale`)."""
        best: dict[int, float] = {}
        for word, factor in self._matching_words(term):
            for index, weight in self._vocabulary[word]:
                if weight * factor * scale > best.get(index, 0.0):
                    best[index] = weight * factor * scale
        return best

    def _with_synonyms(self, term: str, own: dict[int, float]) -> dict[int, float]:
        """`own` (the term's postings) plus, worth less than the term itself in any field (SYNONYM_FACTOR),
        the tools of the words it means."""
        best = dict(own)
        for synonym in SYNONYMS.get(term, ()):
            for index, weight in self._postings(synonym, SYNONYM_FACTOR).items():
                best[index] = max(best.get(index, 0.0), weight)
        return best

    def search(self, query: str) -> list[Ranked]:
        """Tools matching `query`, best first; every tool (by name) when the query has no terms."""
        words = re.split(r"[\s,;]+", query)
        exact = {self._by_name[w.lower()] for w in words if w.lower() in self._by_name}
        # A tool named in full is what is wanted: its name's words would only bring in its neighbours.
        wanted = terms(" ".join(w for w in words if w.lower() not in self._by_name))
        if not wanted and not exact:
            return [Ranked(s, 0, 0.0) for s in self.specs]
        matched: dict[int, int] = {}
        score: dict[int, float] = {}
        informative = 0
        for term in wanted:
            own = self._postings(term)
            if len(self.specs) > 1 and len(own) == len(self.specs):
                # In every tool (e.g. "cde" of a name typed in full): it would make the whole
                # catalog match a query naming one tool.
                continue
            postings = self._with_synonyms(term, own)
            informative += 1
            for index, weight in postings.items():
                matched[index] = matched.get(index, 0) + 1
                score[index] = score.get(index, 0.0) + weight
        if not informative and not exact:
            return [Ranked(s, 0, 0.0) for s in self.specs]  # only words every tool matches
        candidates = set(matched) | exact
        order = sorted(
            candidates,
            key=lambda i: (i not in exact, -matched.get(i, 0), -score.get(i, 0.0), self.specs[i].name),
        )
        return [Ranked(self.specs[i], matched.get(i, 0), round(score.get(i, 0.0), 3)) for i in order]
