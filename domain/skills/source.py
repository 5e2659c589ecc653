"""SourceSkill: which skills, across the three libraries, fit a task description, and why."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from domain.errors import InvalidInputError
from domain.select_workflow import classify
from domain.skills.model import SkillHit, SkillMatch, SkillQuery, SkillSourcing, check_text
from domain.skills.ports import SkillLibrary

MAX_NEED = 2000
MAX_TERMS = 24
MAX_QUERY = 500  # the most a search query may hold (the index's MAX_QUERY_CHARS)

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
    """The distinct meaningful words of a task description, in order: as many as one query holds
    (`a OR b OR …` within MAX_QUERY characters; pasted class names are long words)."""
    words = _KEYWORD.findall(need.lower())
    kept: list[str] = []
    size = 0
    for word in dict.fromkeys(w for w in words if w not in STOPWORDS and len(w) > 1):
        grown = size + len(word) + (4 if kept else 0)
        if grown <= MAX_QUERY:
            kept.append(word)
            size = grown
        if len(kept) == MAX_TERMS:
            break
    return kept


_TOKEN_CHARS = re.compile(r"[^\w]")

# How much a need's word found in each field says the skill is about it (FTS column → weight).
FIELD_WEIGHTS = {"title": 1.0, "tags": 0.9, "heading": 0.8, "body": 0.5}


def term_weights(hit: SkillHit, terms: list[str]) -> list[float]:
    """Per term, the weight of the best field it was found in (0: not found). A stemmed match counts:
    'writing' or 'writes' for 'write' (the first four letters agree)."""
    fields = [
        (FIELD_WEIGHTS.get(field, 0.5), {(len(stem), stem) for stem in (f[:k] for f in found for k in (2, 3, 4))})
        for field, found in hit.matched.items()
    ]
    weights = []
    for term in terms:
        stem = (_TOKEN_CHARS.sub("", term) or term)[:4]  # as the index reads it: `c++` and `c#` are `c` there
        weights.append(max((w for w, stems in fields if (len(stem), stem) in stems), default=0.0))
    return weights


def fit(weights: list[float]) -> float:
    """0-1: each term counts by the best field it was found in (name 1, tags .9, description .8, content .5)."""
    return round(sum(weights) / len(weights), 2) if weights else 0.0


def explain(hit: SkillHit, terms: list[str], count: int, topics: list[str] | None = None) -> str:
    """`name: x; tags: y (2/3 terms) · topic debugging · project, overrides user` - read at a glance."""
    parts = [f"{FIELD_NAMES.get(field, field)}: {', '.join(found)}" for field, found in hit.matched.items()]
    reason = "; ".join(parts) or "related words"
    where = hit.scope + (f", overrides {' and '.join(hit.shadows)}" if hit.shadows else "")
    topic = f" · topic {', '.join(topics)}" if topics else ""
    return f"{reason} ({count}/{len(terms)} terms){topic} · {where}"


# What a skill tagged with one of the need's topics adds to its score (see `SourceSkill`).
TOPIC_BONUS = 0.1


class SourceSkill:
    """The most relevant skills (BM25), ranked by how well they fit the need (`fit`), then by relevance.

    `score` is that fit, 0-1: 1.0 when every meaningful word of the need is in the
    skill's name, 0.5 when all are only in its content; the same whatever the
    library's size (raw BM25 is near 0 for words most skills share, so it said
    nothing to a caller filtering on it). A skill found that is tagged with one of
    the need's skill topics (those `cde_selectWorkflow` suggests: `debugging` for a
    bug fix, `feature-development` for a feature) gets TOPIC_BONUS per topic, so the
    skill written for that kind of work comes first among skills that fit alike.
    """

    def __init__(self, library: SkillLibrary, clock: Callable[[], datetime]) -> None:
        self._library = library
        self._clock = clock

    async def __call__(self, need: str, *, limit: int = 5) -> SkillSourcing:
        text = check_text(need, "need", MAX_NEED)
        topics = classify(text).evidenced_topics
        terms = keywords(text)
        if not terms:
            raise InvalidInputError(
                f"need has no searchable words (of 2 to {MAX_QUERY} characters); "
                "describe the task, e.g. 'retry flaky HTTP calls'"
            )
        # The BM25 best, re-ranked by fit: fetching more candidates cost ~0.2 ms each for little change
        # (searching the topics' words too cost ~0.4 ms: they only re-rank what the need's words find).
        query = SkillQuery(text=" OR ".join(terms), limit=limit, explain=True, by_field=False)
        hits = await self._library.search(query, now=self._clock())
        weights = [term_weights(h, terms) for h in hits]
        on_topic = [[t for t in topics if t in h.tags] for h in hits]
        scores = [min(1.0, round(fit(w) + TOPIC_BONUS * len(t), 2)) for w, t in zip(weights, on_topic, strict=True)]
        # Within a score, a skill whose name (or tags…) holds a word beats one that only mentions words in its
        # text ("review my pull request": reviewing-a-change before a spec guide saying "request", "review");
        # then BM25 order (the sort is stable).
        ranked = sorted(range(len(hits)), key=lambda i: (-scores[i], -max(weights[i], default=0.0)))
        matches = [
            SkillMatch(
                name=hits[i].name,
                scope=hits[i].scope,
                description=hits[i].description,
                score=scores[i],
                why=explain(hits[i], terms, sum(1 for w in weights[i] if w), on_topic[i]),
            )
            for i in ranked
        ]
        hint = None if matches else "no skill fits; once the task is solved, record how with cde_saveSkill"
        return SkillSourcing(matches=matches, hint=hint)
