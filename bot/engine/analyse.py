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
from bot.engine.text import split_sentences
from bot.models import Article, Match

# A title longer than this with more than one sentence is a paragraph, not a headline
HEADLINE_MAX_CHARS = 150


def clean_article(article: Article) -> Article:
    """The article without boilerplate lines and appeal blocks, and with a paragraph
    that stands as its title split (see :func:`headline_of`)."""
    title, moved = headline_of(article.title)
    text = article.text if not moved else moved + ("\n\n" + article.text if article.text else "")
    cleaned = clean_text(text)
    if cleaned == article.text and title == article.title:
        return article
    return replace(article, title=title, text=cleaned)


def headline_of(title: str) -> tuple[str, str]:
    """``title`` as a headline and what is left of it for the text.

    Some feeds have no headline and put a description of several sentences where
    it should be. A rule's ``title:`` tests a headline's wording ("troops in …",
    "Russia invades …"), which means something else in the fourth sentence of a
    paragraph, so only the first sentence stays the headline and the rest becomes
    the lead of the text. A headline of one sentence, or a short one, is kept whole.
    """
    if len(title) <= HEADLINE_MAX_CHARS:
        return title, ""
    spans = split_sentences(title)
    if len(spans) < 2:
        return title, ""
    first_end = spans[0][1]
    return title[:first_end].strip(), title[spans[1][0] :].strip()


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
