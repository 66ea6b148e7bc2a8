"""The stored pipeline: one alert per story, reprints add outlets, nothing twice."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.engine.matcher import Matcher
from bot.engine.stories import StoryRules
from bot.engine.watchlist import load_dir
from bot.models import Article
from bot.runtime.pipeline import ingest, ingest_all
from bot.store import Alert, Delivery, session_scope, subscribe, upsert_chat
from bot.store.db import SessionFactory

WATCHLISTS = Path(__file__).resolve().parent.parent / "watchlists"

WIRE = (
    "Several hundred Russian soldiers and a column of armoured vehicles arrived in the "
    "Belarusian city of Gomel on Tuesday, the Belarusian defence ministry said. The troops "
    "were moved by rail from the Western Military District and will take part in joint "
    "exercises near the southern border, the ministry said in a statement. Officials in Kyiv "
    "said they were watching the deployment closely. Satellite images published by a private "
    "company showed tents and dozens of tanks at a training ground outside the city. The "
    "exercises are due to last until the end of the month, according to the ministry."
)
REPRINT_1 = WIRE.replace("Several hundred", "Hundreds of").replace(
    "Officials in Kyiv said they were watching the deployment closely. ", ""
)
REPRINT_2 = "By our correspondent. " + WIRE.replace("on Tuesday", "on Tuesday morning")

OTHER_STORY = (
    "A convoy of Russian military trucks carrying pontoon bridges was filmed moving west "
    "through Belgorod region on Friday night, local residents said. The column included "
    "fuel tankers and several field kitchens and was heading towards the Ukrainian border. "
    "Regional officials declined to comment on the movement, which follows weeks of reports "
    "of troops massing in the area."
)


@pytest.fixture
def matcher() -> Matcher:
    watchlists, errors = load_dir(WATCHLISTS)
    assert not errors
    return Matcher(watchlists)


@pytest.fixture
def stories() -> StoryRules:
    return StoryRules()


def _alerts(db: SessionFactory, watchlist: str) -> list[Alert]:
    with session_scope(db) as s:
        alerts = list(s.scalars(select(Alert).where(Alert.watchlist == watchlist)))
        for alert in alerts:
            _ = [o.outlet for o in alert.outlets]  # load before the session closes
        return alerts


def test_one_story_from_three_outlets_is_one_alert_with_three_outlets(
    db: SessionFactory, matcher: Matcher, stories: StoryRules
) -> None:
    with session_scope(db) as s:
        chat = upsert_chat(s, "console", "console:test")
        subscribe(s, chat.id, "troop-movements")
    articles = [
        Article(
            "Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1", "Agency A"
        ),
        Article(
            "Hundreds of Russian troops arrive in Belarus",
            REPRINT_1,
            "https://b.example/x?utm_source=tw",
            "Paper B",
        ),
        Article("Russian soldiers reach Gomel", REPRINT_2, "https://c.example/news/77", "Site C"),
    ]
    results = ingest_all(db, articles, matcher, stories)
    assert [r.stored for r in results] == [True, True, True]
    assert len({r.story_id for r in results}) == 1
    assert results[0].alerts_created and not results[1].alerts_created
    (alert,) = _alerts(db, "troop-movements")
    assert sorted(o.outlet for o in alert.outlets) == ["Agency A", "Paper B", "Site C"]
    with session_scope(db) as s:
        pushes = s.scalar(select(func.count()).select_from(Delivery))
    assert pushes == 1  # one push for the story, not one per outlet


def test_two_different_stories_on_one_topic_are_two_alerts(
    db: SessionFactory, matcher: Matcher, stories: StoryRules
) -> None:
    ingest_all(
        db,
        [
            Article("Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1", "A"),
            Article(
                "Military convoy heads for the border", OTHER_STORY, "https://a.example/2", "A"
            ),
        ],
        matcher,
        stories,
    )
    assert len(_alerts(db, "troop-movements")) == 2


def test_same_article_twice_is_stored_once_and_alerts_once(
    db: SessionFactory, matcher: Matcher, stories: StoryRules
) -> None:
    art = Article(
        "Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1?utm_medium=x", "A"
    )
    again = Article(art.title, art.text, "https://A.example/1#top", "A")
    first, second = ingest_all(db, [art, again], matcher, stories)
    assert first.stored and not second.stored
    assert second.article_id == first.article_id
    assert len(_alerts(db, "troop-movements")) == 1


def test_a_failed_transaction_leaves_nothing(
    db: SessionFactory, matcher: Matcher, stories: StoryRules
) -> None:
    art = Article("Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1", "A")
    with pytest.raises(RuntimeError), session_scope(db) as s:
        ingest(s, art, matcher, stories)
        raise RuntimeError("crash after the alert was written, before commit")
    assert _alerts(db, "troop-movements") == []
    (again,) = ingest_all(db, [art], matcher, stories)
    assert again.stored and again.alerts_created  # not lost: the retry stores it


def test_an_empty_item_is_skipped_not_a_crash(
    db: SessionFactory, matcher: Matcher, stories: StoryRules
) -> None:
    (empty, full) = ingest_all(
        db,
        [Article("", "  "), Article("Russian troops arrive in Gomel for drills", WIRE, "https://a.example/1")],
        matcher,
        stories,
    )
    assert empty.article_id is None and not empty.stored
    assert full.stored
