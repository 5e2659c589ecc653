"""SourceSkill: which skills, across the three libraries, fit a task description, and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from domain.errors import InvalidInputError
from domain.skills.model import SkillHit, SkillMatch, SkillQuery, SkillSourcing, check_text
from domain.skills.ports import SkillLibrary

MAX_NEED = 2000
MAX_TERMS = 24

# Words that say nothing about the task; searching them would rank skills by filler.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "need",
        "needs",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "use",
        "using",
        "very",
        "want",
        "wants",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)

# FTS column → the word the caller knows it by.
FIELD_NAMES = {"title": "name", "heading": "description", "tags": "tags", "body": "content"}


# A word: letters and digits of any script ("réessayer" stays one word), then maybe + or # (c++, c#).
_KEYWORD = re.compile(r"[^\W_](?:[^\W_]|[+#])*")


def keywords(need: str) -> list[str]:
    """The distinct meaningful words of a task description, in order."""
    words = _KEYWORD.findall(need.lower())
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and len(w) > 1))[:MAX_TERMS]


def explain(hit: SkillHit, terms: list[str]) -> str:
    """`name: x; tags: y (2/3 terms) · project, overrides user` - short enough to read at a glance."""
    parts = [f"{FIELD_NAMES.get(field, field)}: {', '.join(found)}" for field, found in hit.matched.items()]
    hit_terms = {t for found in hit.matched.values() for t in found}
    covered = sum(1 for t in terms if any(h.startswith(t[:4]) for h in hit_terms))
    reason = "; ".join(parts) or "related words"
    where = hit.scope + (f", overrides {' and '.join(hit.shadows)}" if hit.shadows else "")
    return f"{reason} ({covered}/{len(terms)} terms) · {where}"


class SourceSkill:
    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(self, need: str, *, limit: int = 5) -> SkillSourcing:
        text = check_text(need, "need", MAX_NEED)
        terms = keywords(text)
        if not terms:
            raise InvalidInputError("need has no searchable words; describe the task, e.g. 'retry flaky HTTP calls'")
        query = SkillQuery(text=" OR ".join(terms), limit=limit, explain=True)
        hits = await self._library.search(query, now=self._clock())
        matches = [
            SkillMatch(name=h.name, scope=h.scope, description=h.description, score=h.score, why=explain(h, terms))
            for h in hits
        ]
        hint = None if matches else "no skill fits; once the task is solved, record how with cde_saveSkill"
        return SkillSourcing(matches=matches, hint=hint)
