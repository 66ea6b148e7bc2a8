"""Article → clean → match → summarise. (Stories, storage and the outbox build on this.)"""

from __future__ import annotations

from dataclasses import replace

from bot.matcher import Matcher
from bot.models import Article, Match
from bot.summarize import PUSH_BUDGET, clean_text, summarize


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
