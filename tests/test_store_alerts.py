"""Article → story → alert → outbox, in one transaction; reprints raise no second alert."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import bot.store.alerts as alerts_mod
from bot.engine.stories import StoryRules
from bot.models import Article, Hit, Match, TermScore
from bot.store.alerts import add_story_outlet, recent_alerts, record_alert, record_feedback
from bot.store.articles import StoredArticle, store_article
from bot.store.db import SessionFactory
from bot.store.outbox import deliveries_for_alert
from bot.store.stories import (
    StoryAssignment,
    assign_story,
    story_articles,
)
from bot.store.subscriptions import get_chat, mute, pause_subscription, subscribe, upsert_chat
from bot.store.tables import (
    Alert,
    AlertOutlet,
    ArticleRow,
    Base,
    Delivery,
    Feedback,
    Story,
    StoryBand,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WL = "troop-movements"

WIRE = Article(
    title="Belarus moves armoured convoy towards Polish border, ministry says",
    text=(
        "Belarus has moved an armoured convoy of about 40 vehicles towards its border with "
        "Poland, the Belarusian defence ministry said on Tuesday, describing the deployment "
        "as a scheduled readiness check.\n"
        "The convoy, which included infantry fighting vehicles and fuel trucks, was seen on "
        "the M1 highway west of Baranovichi on Monday evening, according to videos posted "
        "by local residents.\n"
        "The ministry said the units would remain in the Brest region until the end of the "
        "month and that the movement was not directed against any neighbouring state.\n"
        "Poland's border guard said it had reinforced patrols along the frontier."
    ),
    url="https://wire.example/world/belarus-convoy",
    source="Wire",
)
REPRINT = Article(
    title="Armoured column heads for Polish frontier as Minsk calls it a drill",
    text="By Anna Kowalska, staff reporter\n" + WIRE.text.rsplit("\n", 1)[0],
    url="https://dailyherald.example/news/armoured-column/?utm_source=rss",
    source="Daily Herald",
)
OTHER = Article(
    title="Lithuania deploys extra troops to Belarus border after drone incursion",
    text=(
        "Lithuania has deployed several hundred additional troops to its border with Belarus "
        "after a drone crossed into its airspace on Tuesday night, the Lithuanian defence "
        "ministry said on Wednesday. The drone carried no explosives, officials said, and an "
        "investigation was under way."
    ),
    url="https://wire.example/world/lithuania-drone",
    source="Wire",
)


def match_for(article: Article, watchlist: str = WL, score: float = 0.8) -> Match:
    start = article.text.lower().find("border")
    hit = Hit(
        term="border",
        kind="keyword",
        watchlist=watchlist,
        text=article.text[start : start + 6],
        start=start,
        end=start + 6,
        sentence="… border …",
    )
    part = TermScore("border", "keyword", 1, False, 1.0, score)
    return Match(article, watchlist, score, [hit], "Summary.", [part], "troops NEAR/12 border")


def ingest(
    session: Session,
    index: StoryRules,
    article: Article,
    watchlists: tuple[str, ...] = (WL,),
    now: datetime = NOW,
) -> tuple[StoredArticle, StoryAssignment | None, list[tuple[Alert, bool]]]:
    """What the pipeline does with one article, in the caller's transaction."""
    stored = store_article(session, article, now=now)
    if not stored.created:
        return stored, None, []
    assignment = assign_story(session, index, stored.row, now)
    results = [
        record_alert(session, assignment.story_id, match_for(article, wl), stored.id, now)
        for wl in watchlists
    ]
    return stored, assignment, results


def count(db: SessionFactory, model: type[Base]) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def subscribe_chat(db: SessionFactory, key: str, watchlist: str = WL, mode: str = "instant") -> int:
    with db.begin() as s:
        chat = upsert_chat(s, "telegram", key)
        sub, _ = subscribe(s, chat.id, watchlist, mode, "07:30" if mode == "daily" else None)
        return sub.id


def test_alert_with_its_outbox_rows(db: SessionFactory) -> None:
    sub_id = subscribe_chat(db, "telegram:1")
    index = StoryRules()
    with db.begin() as s:
        stored, assignment, [(alert, created)] = ingest(s, index, WIRE)
        assert assignment is not None and assignment.created
        assert created
    with db() as s:
        alert = s.get_one(Alert, alert.id)
        assert alert.story_id == assignment.story_id
        assert alert.article_id == stored.id
        assert alert.hits[0]["term"] == "border" and alert.score_parts[0]["term"] == "border"
        assert alert.rule == "troops NEAR/12 border" and alert.summary == "Summary."
        assert [o.outlet for o in alert.outlets] == ["Wire"]
        [delivery] = deliveries_for_alert(s, alert.id)
        assert delivery.subscription_id == sub_id and delivery.status == "pending"
        assert delivery.attempts == 0 and delivery.next_attempt_at == NOW


def test_reprint_joins_the_story_and_adds_its_outlet_no_second_alert(db: SessionFactory) -> None:
    subscribe_chat(db, "telegram:1")
    index = StoryRules()
    with db.begin() as s:
        _, first, [(alert, created)] = ingest(s, index, WIRE)
    assert created and first is not None
    with db.begin() as s:
        stored, joined, [(again, created_again)] = ingest(
            s, index, REPRINT, now=NOW + timedelta(hours=2)
        )
    assert stored.created  # a different article (URL, headline), stored once
    assert joined is not None and not joined.created and joined.story_id == first.story_id
    assert joined.similarity >= 0.5
    assert not created_again and again.id == alert.id
    with db() as s:
        alert = s.get_one(Alert, alert.id)
        assert [(o.outlet, o.url) for o in alert.outlets] == [
            ("Wire", WIRE.url),
            ("Daily Herald", REPRINT.url),
        ]
        story = s.get_one(Story, first.story_id)
        assert story.article_count == 2 and story.updated_at == NOW + timedelta(hours=2)
        assert [a.id for a in story_articles(s, story.id)] == [alert.article_id, stored.id]
    assert count(db, Alert) == 1
    assert count(db, Delivery) == 1  # no second push


def test_a_different_story_gets_its_own_alert(db: SessionFactory) -> None:
    subscribe_chat(db, "telegram:1")
    index = StoryRules()
    with db.begin() as s:
        _, a, [(first, _)] = ingest(s, index, WIRE)
    with db.begin() as s:
        _, b, [(second, created)] = ingest(s, index, OTHER)
    assert a is not None and b is not None and b.created and b.story_id != a.story_id
    assert created and second.id != first.id
    assert count(db, Delivery) == 2


def test_the_same_article_again_is_not_stored_or_alerted(db: SessionFactory) -> None:
    subscribe_chat(db, "telegram:1")
    index = StoryRules()
    with db.begin() as s:
        ingest(s, index, WIRE)
    with db.begin() as s:
        stored, assignment, results = ingest(s, index, WIRE)
    assert not stored.created and assignment is None and results == []
    assert (count(db, ArticleRow), count(db, Alert), count(db, Delivery)) == (1, 1, 1)


def test_one_alert_per_watchlist_of_the_story(db: SessionFactory) -> None:
    subscribe_chat(db, "telegram:1", WL)
    subscribe_chat(db, "telegram:1", "belarus")
    index = StoryRules()
    with db.begin() as s:
        _, _, results = ingest(s, index, WIRE, watchlists=(WL, "belarus"))
    assert [created for _, created in results] == [True, True]
    with db.begin() as s:
        _, _, results = ingest(s, index, REPRINT, watchlists=(WL, "belarus"))
    assert [created for _, created in results] == [False, False]
    assert (count(db, Alert), count(db, Delivery), count(db, AlertOutlet)) == (2, 2, 4)


def test_outbox_rows_only_for_active_instant_subscriptions(db: SessionFactory) -> None:
    active = subscribe_chat(db, "telegram:1")
    active2 = subscribe_chat(db, "slack:C1")
    subscribe_chat(db, "telegram:2", mode="hourly")
    subscribe_chat(db, "telegram:3", mode="daily")
    subscribe_chat(db, "telegram:4", watchlist="other")
    subscribe_chat(db, "telegram:5")  # muted
    expired_mute = subscribe_chat(db, "telegram:6")
    paused = subscribe_chat(db, "telegram:7")
    subscribe_chat(db, "telegram:8")  # in a chat no longer allowed
    with db.begin() as s:
        for key, until in [
            ("telegram:5", NOW + timedelta(hours=1)),
            ("telegram:6", NOW - timedelta(minutes=1)),
        ]:
            chat = get_chat(s, key)
            assert chat is not None and mute(s, chat.id, WL, until)
        pause_subscription(s, paused, "bot blocked by the user")
        chat8 = get_chat(s, "telegram:8")
        assert chat8 is not None
        chat8.allowed = False
    with db.begin() as s:
        _, _, [(alert, _)] = ingest(s, StoryRules(), WIRE)
    with db() as s:
        subs = {d.subscription_id for d in deliveries_for_alert(s, alert.id)}
    assert subs == {active, active2, expired_mute}


def test_failure_mid_way_writes_nothing(
    db: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe_chat(db, "telegram:1")
    subscribe_chat(db, "telegram:2")
    real = alerts_mod.enqueue_deliveries

    def enqueue_then_crash(
        session: Session, alert_id: int, watchlist: str, now: datetime
    ) -> list[int]:
        created = real(session, alert_id, watchlist, now)
        assert len(created) == 2  # the rows were written in this transaction…
        raise ConnectionError("lost the database mid-way")

    monkeypatch.setattr(alerts_mod, "enqueue_deliveries", enqueue_then_crash)
    index = StoryRules()
    with pytest.raises(ConnectionError), db.begin() as s:
        ingest(s, index, WIRE)
    # …and went away with the alert, the story and the article.
    for model in (ArticleRow, Story, StoryBand, Alert, AlertOutlet, Delivery):
        assert count(db, model) == 0, model.__name__  # the story's bands too

    monkeypatch.setattr(alerts_mod, "enqueue_deliveries", real)
    with db.begin() as s:
        stored, assignment, [(_, created)] = ingest(s, index, WIRE)
    assert stored.created and assignment is not None and assignment.created and created
    assert count(db, Delivery) == 2
    assert count(db, StoryBand) > 0


def test_a_verbatim_copy_adds_its_outlet_to_the_story_alerts(db: SessionFactory) -> None:
    index = StoryRules()
    with db.begin() as s:
        stored, assignment, [(alert, _)] = ingest(s, index, WIRE)
    copy = Article(WIRE.title, WIRE.text, "https://www.copycat.example/a/1", "")
    with db.begin() as s:
        dup = store_article(s, copy)
        assert dup.duplicate_by == "content" and dup.row.story_id is not None
        assert add_story_outlet(s, dup.row.story_id, copy.source, copy.url) == 1
        assert add_story_outlet(s, dup.row.story_id, copy.source, copy.url) == 0
    with db() as s:
        outlets = [o.outlet for o in s.get_one(Alert, alert.id).outlets]
    assert outlets == ["Wire", "copycat.example"]


def test_a_restart_joins_the_stored_story_within_the_window(db: SessionFactory) -> None:
    with db.begin() as s:
        _, first, _ = ingest(s, StoryRules(), WIRE)
    assert first is not None
    with db.begin() as s:  # nothing in memory: a later process finds the stored story
        _, joined, [(_, created)] = ingest(s, StoryRules(), REPRINT, now=NOW + timedelta(hours=1))
    assert joined is not None and joined.story_id == first.story_id and not created
    late = Article(
        title="Four days on: " + WIRE.title,
        text=WIRE.text + "\nUpdated.",
        url="https://late.example/a",
    )
    with db.begin() as s:  # stories older than the window are not joined
        _, alone, _ = ingest(s, StoryRules(), late, now=NOW + timedelta(days=4))
    assert alone is not None and alone.created and alone.story_id != first.story_id


def test_concurrent_writers_record_one_alert(db: SessionFactory) -> None:
    subscribe_chat(db, "telegram:1")
    with db.begin() as s:
        stored, assignment, _ = ingest(s, StoryRules(), WIRE, watchlists=())
    assert assignment is not None
    results: dict[str, bool] = {}
    first_inserted = threading.Event()

    def writer(name: str, wait: threading.Event | None) -> None:
        with db.begin() as s:
            _, created = record_alert(s, assignment.story_id, match_for(WIRE), stored.id, NOW)
            results[name] = created
            if wait is None:
                first_inserted.set()
                threading.Event().wait(0.3)  # hold the transaction open a moment

    a = threading.Thread(target=writer, args=("a", None))
    a.start()
    assert first_inserted.wait(10)
    b = threading.Thread(target=writer, args=("b", first_inserted))
    b.start()
    a.join(10)
    b.join(10)
    assert results == {"a": True, "b": False}
    assert (count(db, Alert), count(db, Delivery)) == (1, 1)


def test_recent_alerts_and_feedback(db: SessionFactory) -> None:
    index = StoryRules()
    with db.begin() as s:
        _, _, [(first, _)] = ingest(s, index, WIRE)
    with db.begin() as s:
        _, _, [(second, _)] = ingest(
            s, index, OTHER, watchlists=("baltics",), now=NOW + timedelta(hours=1)
        )
    with db.begin() as s:
        assert [a.id for a in recent_alerts(s)] == [second.id, first.id]
        assert [a.id for a in recent_alerts(s, watchlist=WL)] == [first.id]
        assert [a.id for a in recent_alerts(s, since=NOW + timedelta(minutes=30))] == [second.id]
        chat = upsert_chat(s, "telegram", "telegram:1")
        record_feedback(s, first.id, chat.id, "42", relevant=True)
        record_feedback(s, first.id, chat.id, "42", relevant=False)
    with db() as s:
        [vote] = s.scalars(select(Feedback)).all()
        assert vote.relevant is False and vote.user_id == "42"
