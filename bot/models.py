"""The plain data that flows between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Field = Literal["title", "text"]
Zone = Literal["title", "lead", "body"]  # the headline, the first sentences of the text, the rest
TermKind = Literal["entity", "keyword", "rule"]


@dataclass(frozen=True)
class Article:
    """One piece of news as it enters the engine (already parsed and cleaned)."""

    title: str
    text: str
    url: str = ""
    source: str = ""
    published: str = ""  # ISO 8601 when known, else ""


@dataclass(frozen=True)
class Hit:
    """One occurrence of a watchlist term in an article.

    ``start``/``end`` are character offsets into the original ``field`` string
    of the article (``article.title`` or ``article.text``), so evidence can be
    highlighted exactly as it was written.
    """

    term: str
    kind: TermKind
    watchlist: str
    text: str
    start: int
    end: int
    sentence: str
    field: Field = "text"
    fuzzy_score: float | None = None
    zone: Zone = "body"


@dataclass(frozen=True)
class TermScore:
    """How one distinct term contributed to an alert's score."""

    term: str
    kind: TermKind
    occurrences: int
    in_title: bool
    weight: float
    contribution: float
    zone: Zone = "body"  # the best zone the term was found in (title, then lead, then body)


@dataclass
class Match:
    """A watchlist firing on an article: the alert before it is stored."""

    article: Article
    watchlist: str
    score: float
    hits: list[Hit]
    summary: str = ""
    score_parts: list[TermScore] = field(default_factory=list)
    rule: str = ""
    truncated: bool = False  # only the first part of the text was matched (MAX_MATCH_CHARS)


def match_record(match: Match) -> dict[str, object]:
    """The stable JSON shape of an alert (``scan --format json``; other tools read it)."""
    art = match.article
    return {
        "article": {
            "title": art.title,
            "url": art.url,
            "source": art.source,
            "published": art.published,
        },
        "watchlist": match.watchlist,
        "score": match.score,
        "hits": [
            {
                "term": h.term,
                "kind": h.kind,
                "text": h.text,
                "start": h.start,
                "end": h.end,
                "sentence": h.sentence,
                "field": h.field,
                "zone": h.zone,
                **({"fuzzy_score": h.fuzzy_score} if h.fuzzy_score is not None else {}),
            }
            for h in match.hits
        ],
        "summary": match.summary,
        "rule": match.rule,
        "score_parts": [
            {
                "term": p.term,
                "kind": p.kind,
                "occurrences": p.occurrences,
                "in_title": p.in_title,
                "zone": p.zone,
                "weight": p.weight,
                "contribution": p.contribution,
            }
            for p in match.score_parts
        ],
        **({"truncated": True} if match.truncated else {}),
    }
