"""The learned stage in the running bot: off without feedback, holds back what the desk rejects."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from test_relevance import FALSE_FRIENDS, RELEVANT, WL

from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.stories import StoryRules
from bot.models import Article
from bot.runtime.learning import Relevance, retrain
from bot.runtime.pipeline import ingest
from bot.store import Alert, Delivery, session_scope, subscribe, upsert_chat
from bot.store import feedback as fb
from bot.store.db import SessionFactory

FILLER = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
          "juliet", "kilo", "lima", "mike", "november"]


def _article(title: str, n: int) -> Article:
    text = f"Report number {n}. " + " ".join(FILLER[(n + i) % len(FILLER)] for i in range(12))
    return Article(title, text, f"https://news.example/{n}", "wire")


def _ingest(db: SessionFactory, relevance: Relevance | None, titles: list[str], start: int) -> list[int]:
    matcher = Matcher([WL])
    ids = []
    stories = StoryRules()
    for n, title in enumerate(titles, start):
        with session_scope(db) as s:
            done = ingest(s, _article(title, n), matcher, stories, relevance=relevance)
            ids += done.alerts_created
    return ids


def _chat(db: SessionFactory) -> int:
    with session_scope(db) as s:
        chat = upsert_chat(s, "console", "console:learn")
        subscribe(s, chat.id, WL.name)
        return chat.id


def _deliveries(db: SessionFactory, alert_id: int) -> int:
    with session_scope(db) as s:
        return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.alert_id == alert_id)) or 0


def test_cold_start_is_todays_behaviour(db: SessionFactory) -> None:
    _chat(db)
    relevance = Relevance()
    ids = _ingest(db, relevance, FALSE_FRIENDS[:2], 0)
    assert len(ids) == 2
    with session_scope(db) as s:
        for alert in s.scalars(select(Alert)):
            assert (alert.relevance, alert.model_version, alert.held_back) == (None, None, False)
    assert all(_deliveries(db, i) == 1 for i in ids)
    assert relevance.models == {}


def test_feedback_holds_back_a_false_friend_and_pushes_a_true_alert(db: SessionFactory) -> None:
    chat = _chat(db)
    relevance = Relevance()
    good = _ingest(db, relevance, RELEVANT, 0)
    bad = _ingest(db, relevance, FALSE_FRIENDS, 100)
    with session_scope(db) as s:
        for ident in good:
            fb.give_verdict(s, ident, chat, "u1", True)
        for ident in bad:
            fb.give_verdict(s, ident, chat, "u1", False)
    assert retrain(db, Matcher([WL])) == [WL.name]
    assert retrain(db, Matcher([WL])) == []  # nothing new: no retraining
    with session_scope(db) as s:
        relevance.refresh(s)
    [friend] = _ingest(db, relevance, ["Scout troops deployed at the cookie fair"], 200)
    [real] = _ingest(db, relevance, ["Troops deployed to the border after the clashes"], 300)
    with session_scope(db) as s:
        held, pushed = s.get(Alert, friend), s.get(Alert, real)
        assert held is not None and pushed is not None
        assert held.held_back and held.model_version == 1 and held.relevance is not None
        assert held.relevance < 0.5
        assert not pushed.held_back and pushed.relevance is not None and pushed.relevance >= 0.5
    assert _deliveries(db, friend) == 0
    assert _deliveries(db, real) == 1


def test_feedback_from_two_replicas_is_counted_once(db: SessionFactory) -> None:
    chat = _chat(db)
    [ident] = _ingest(db, None, RELEVANT[:1], 0)
    # the same click handled by two replicas (two sessions), and a repeated click
    with session_scope(db) as a, session_scope(db) as b:
        first = fb.give_verdict(a, ident, chat, "u1", True)
    with session_scope(db) as b:
        second = fb.give_verdict(b, ident, chat, "u1", True)
    assert (first, second) == ("new", "same")
    story = Article("Troops missed", "Troops were moved to the border, unreported.", "", "wire")
    with session_scope(db) as a:
        assert fb.record_missed(a, WL.name, story, chat, "u1")
    with session_scope(db) as b:
        assert not fb.record_missed(b, WL.name, story, chat, "u2")
    with session_scope(db) as s:
        counts = fb.feedback_counts(s, WL.name)
    assert (counts.relevant, counts.not_relevant, counts.missed) == (1, 0, 1)


def test_the_watchlists_threshold_decides_what_is_held_back(db: SessionFactory) -> None:
    chat = _chat(db)
    good = _ingest(db, None, RELEVANT, 0)
    bad = _ingest(db, None, FALSE_FRIENDS, 100)
    with session_scope(db) as s:
        for ident in good + bad:
            fb.give_verdict(s, ident, chat, "u1", ident in good)
    assert retrain(db, Matcher([WL])) == [WL.name]
    strict = dataclasses.replace(WL, relevance_threshold=0.999)
    relevance = Relevance()
    with session_scope(db) as s:
        relevance.refresh(s)
    title = "Troops deployed to the border after the clashes"
    [match] = analyse(_article(title, 300), Matcher([strict]))
    scored = relevance.score(match, Matcher([strict]))
    assert scored is not None and scored.threshold == 0.999 and scored.held_back
    [match] = analyse(_article(title, 300), Matcher([WL]))
    scored = relevance.score(match, Matcher([WL]))
    assert scored is not None and scored.threshold == 0.5 and not scored.held_back
