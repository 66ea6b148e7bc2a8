"""The pure entry point: one article in, its alerts (with summaries) out.

``scan``, ``eval``, the chat's ``test`` and the stored pipeline all call
:func:`analyse`, so an article alerts the same way whichever path it takes.
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine.matcher import Matcher
from bot.engine.summarize import PUSH_BUDGET, clean_text, summarize
from bot.models import Article, Match


def clean_article(article: Article) -> Article:
    """The article without boilerplate lines and appeal blocks."""
    cleaned = clean_text(article.text)
    if cleaned == article.text:
        return article
    return replace(article, text=cleaned)


def analyse(article: Article, matcher: Matcher, budget: int = PUSH_BUDGET) -> list[Match]:
    """Every alert ``article`` raises, each with its summary."""
    article = clean_article(article)
    matches = matcher.match(article)
    for m in matches:
        m.summary = summarize(article, m.hits, budget)
    return matches
