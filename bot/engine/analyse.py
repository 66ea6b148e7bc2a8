"""The pure entry point: one article in, its alerts (with summaries) out.

``scan``, ``eval``, the chat's ``test`` and the stored pipeline all call
:func:`analyse`, so an article alerts the same way whichever path it takes.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.engine.language import Language, detect_language, language_refusal
from bot.engine.matcher import Matcher
from bot.engine.summarize import PUSH_BUDGET, clean_text, summarize, summary_sentences
from bot.models import Article, Match


def clean_article(article: Article) -> Article:
    """The article without boilerplate lines and appeal blocks."""
    cleaned = clean_text(article.text)
    if cleaned == article.text:
        return article
    return replace(article, text=cleaned)


def analyse(
    article: Article, matcher: Matcher, budget: int = PUSH_BUDGET, clean: bool = True
) -> list[Match]:
    """Every alert ``article`` raises, each with its summary.

    Only the first ``matcher.max_chars`` characters are read (cleaned, matched
    and summarised); the alerts of a longer article say so, in
    ``Match.truncated`` and at the end of the summary. ``clean=False``: the
    caller has seen :func:`clean_article` leave this very article as it is, so
    cleaning it again would change nothing (a cut one is still cleaned: its
    last line may read differently).
    """
    read, truncated = matcher.bounded(article, log_cut=True)
    article = clean_article(read) if clean or truncated else read
    matches = language_filter(article, matcher.match(article), matcher)
    sentences = summary_sentences(article) if matches else []  # once for all its alerts
    for m in matches:
        m.summary = summarize(article, m.hits, budget, sentences)
        if truncated:
            m.truncated = True
            m.summary += " " + truncation_note(matcher.max_chars)
    return matches


def language_filter(article: Article, matches: list[Match], matcher: Matcher) -> list[Match]:
    """``matches`` without those of watchlists limited to languages the article is not in.

    The language is detected once, and only when a matching watchlist is limited
    (``languages:``); an unsure language keeps every match (bot.engine.language).
    """
    limited = {w.name: w.languages for w in matcher.watchlists if w.languages}
    if not any(m.watchlist in limited for m in matches):
        return matches
    language = detect_language(article)
    return [m for m in matches if not language_refusal(language, limited.get(m.watchlist, []))]


def language_note(article: Article, languages: list[str]) -> str:
    """Why a watchlist limited to ``languages`` does not match ``article`` ("" if it may)."""
    if not languages:
        return ""
    language: Language = detect_language(article)
    return language_refusal(language, languages)


def truncation_note(max_chars: int) -> str:
    """What an alert says when only the first part of its article was read."""
    return f"[read the first {max_chars:,} characters only]"


_NOTE = re.compile(r"\[read the first [\d,]+ characters only\]$")


def read_part_note(summary: str) -> str:
    """The :func:`truncation_note` at the end of a stored alert's summary, or ""."""
    found = _NOTE.search(summary)
    return found.group() if found else ""
