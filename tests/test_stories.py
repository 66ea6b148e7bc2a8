"""Story assignment: reprints of one wire report join, different reports do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.stories import (
    THRESHOLD,
    StoryIndex,
    shingles,
    signature,
    signature_from_bytes,
    signature_to_bytes,
    similarity,
)
from bot.models import Article

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# --- one wire report and three reprints ------------------------------------

WIRE = Article(
    title="Belarus moves armoured convoy towards Polish border, ministry says",
    text=(
        "MINSK, March 10 - Belarus has moved an armoured convoy of about 40 vehicles "
        "towards its border with Poland, the Belarusian defence ministry said on Tuesday, "
        "describing the deployment as a scheduled readiness check.\n"
        "The convoy, which included infantry fighting vehicles and fuel trucks, was seen "
        "on the M1 highway west of Baranovichi on Monday evening, according to videos "
        "posted by local residents and verified by the monitoring group Belarusian Hajun.\n"
        "The ministry said the units would remain in the Brest region until the end of "
        "the month and that the movement was not directed against any neighbouring state.\n"
        "Poland's border guard said it had reinforced patrols along the 418-kilometre "
        "frontier and was in contact with allied forces stationed in the country.\n"
        "Lithuania's defence minister said Vilnius was watching the situation closely "
        "but saw no immediate threat."
    ),
    url="https://wire.example/world/belarus-convoy-border-2026-03-10",
    source="Wire",
)

REPRINT_HEADLINE_BYLINE = Article(
    title="Armoured column heads for Polish frontier as Minsk calls it a drill",
    text=(
        "By Anna Kowalska, Eastern Europe correspondent\n"
        "MINSK, March 10 - Belarus has moved an armoured convoy of about 40 vehicles "
        "towards its border with Poland, the Belarusian defence ministry said on Tuesday, "
        "describing the deployment as a scheduled readiness check.\n"
        "The convoy, which included infantry fighting vehicles and fuel trucks, was seen "
        "on the M1 highway west of Baranovichi on Monday evening, according to videos "
        "posted by local residents and verified by the monitoring group Belarusian Hajun.\n"
        "The ministry said the units would remain in the Brest region until the end of "
        "the month and that the movement was not directed against any neighbouring state.\n"
        "Poland's border guard said it had reinforced patrols along the 418-kilometre "
        "frontier and was in contact with allied forces stationed in the country."
    ),
    url="https://dailyherald.example/news/2026/03/10/armoured-column-polish-frontier/",
    source="Daily Herald",
)

REPRINT_EDITED = Article(
    title="Belarus moves armoured convoy towards Polish border",
    text=(
        "Belarus has moved an armoured convoy of about 40 vehicles towards its border "
        "with Poland, the Belarusian defence ministry said Tuesday, describing the "
        "deployment as a scheduled readiness check.\n"
        "The convoy, which included infantry fighting vehicles and fuel trucks, was seen "
        "on the M1 highway west of Baranovichi on Monday evening, according to videos "
        "posted by residents and verified by the monitoring group Belarusian Hajun.\n"
        "The ministry said the units would stay in the Brest region until the end of "
        "the month and that the movement was not directed against any neighbouring state.\n"
        "Poland's border guard said it had reinforced patrols along the 418-km "
        "frontier and was in contact with allied forces stationed in the country.\n"
        "Lithuania's defence minister said Vilnius was watching the situation closely "
        "but saw no immediate threat.\n"
        "Reporting by the Minsk newsroom; editing by Mark Potter"
    ),
    url="https://www.regional-times.example/a/8812345?utm_source=rss&utm_medium=feed",
    source="Regional Times",
)

REPRINT_TRIMMED = Article(
    title="Minsk sends armour west: convoy spotted near Baranovichi",
    text=(
        "The convoy, which included infantry fighting vehicles and fuel trucks, was seen "
        "on the M1 highway west of Baranovichi on Monday evening, according to videos "
        "posted by local residents and verified by the monitoring group Belarusian Hajun.\n"
        "Belarus has moved an armoured convoy of about 40 vehicles towards its border "
        "with Poland, the Belarusian defence ministry said on Tuesday, describing the "
        "deployment as a scheduled readiness check.\n"
        "The ministry said the units would remain in the Brest region until the end of "
        "the month and that the movement was not directed against any neighbouring state.\n"
        "Poland's border guard said it had reinforced patrols along the 418-kilometre "
        "frontier and was in contact with allied forces stationed in the country.\n"
        "Subscribe to our morning briefing for the day's top stories."
    ),
    url="https://eastwatch.example/belarus/convoy-baranovichi",
    source="East Watch",
)

REPRINTS = [REPRINT_HEADLINE_BYLINE, REPRINT_EDITED, REPRINT_TRIMMED]

# --- different reports on the same topic, the same week ---------------------

OTHER_TROOPS = Article(
    title="Russian troops arrive in Belarus for joint exercises near Polish border",
    text=(
        "MINSK, March 12 - The first trains carrying Russian troops arrived in Belarus "
        "on Thursday ahead of joint exercises near the border with Poland, the Belarusian "
        "defence ministry said.\n"
        "The ministry did not say how many servicemen would take part, but said the "
        "drills would run for two weeks at training grounds in the Grodno and Brest regions.\n"
        "Polish officials said they were monitoring the arrivals and that the country's "
        "border guard had been placed on heightened alert.\n"
        "NATO said it had been notified of the exercises and would keep the situation "
        "under review."
    ),
    url="https://wire.example/world/russian-troops-belarus-exercises-2026-03-12",
    source="Wire",
)

OTHER_LITHUANIA = Article(
    title="Lithuania deploys extra troops to Belarus border after drone incursion",
    text=(
        "VILNIUS, March 11 - Lithuania has deployed several hundred additional troops to "
        "its border with Belarus after a drone crossed into its airspace on Tuesday night, "
        "the Lithuanian defence ministry said on Wednesday.\n"
        "The drone, which came down in a field near the village of Adutiskis, carried no "
        "explosives, officials said, and an investigation was under way.\n"
        "The ministry said the deployment was a precaution and that the country's border "
        "guard would receive additional surveillance equipment.\n"
        "Belarus did not immediately comment on the incident."
    ),
    url="https://wire.example/world/lithuania-troops-drone-2026-03-11",
    source="Wire",
)

OTHER_FOLLOW_UP = Article(
    title="Belarusian convoy reaches Brest region, satellite images show",
    text=(
        "Satellite images taken on Wednesday show dozens of armoured vehicles parked at a "
        "training ground north of Brest, a day after Belarus said it had moved a convoy "
        "towards its border with Poland for a readiness check.\n"
        "Analysts at a Warsaw think tank said the vehicles appeared to belong to a "
        "mechanised brigade normally based near Baranovichi.\n"
        "The Belarusian defence ministry declined to comment on the images, repeating "
        "that the movement was not directed against any neighbouring state."
    ),
    url="https://osint.example/brest-satellite-images",
    source="OSINT Daily",
)

OTHERS = [OTHER_TROOPS, OTHER_LITHUANIA, OTHER_FOLLOW_UP]


def _index_with(*articles: Article) -> tuple[StoryIndex, list[int]]:
    index = StoryIndex()
    ids = []
    for story_id, art in enumerate(articles, start=1):
        index.add(story_id, signature(art), NOW - timedelta(hours=1))
        ids.append(story_id)
    return index, ids


@pytest.mark.parametrize("reprint", REPRINTS, ids=["headline+byline", "edited", "trimmed"])
def test_reprint_is_similar_above_threshold(reprint: Article) -> None:
    assert similarity(signature(WIRE), signature(reprint)) >= THRESHOLD + 0.1


@pytest.mark.parametrize("other", OTHERS, ids=["russian-troops", "lithuania", "follow-up"])
def test_different_story_is_far_below_threshold(other: Article) -> None:
    assert similarity(signature(WIRE), signature(other)) < THRESHOLD - 0.2


def test_three_reprints_join_the_wire_story() -> None:
    index, (wire_id,) = _index_with(WIRE)
    for reprint in REPRINTS:
        assert index.assign(reprint, NOW) == wire_id


def test_different_reports_on_the_same_topic_do_not_join() -> None:
    index, _ = _index_with(WIRE)
    for other in OTHERS:
        assert index.assign(other, NOW) is None


def test_assign_picks_the_most_similar_story() -> None:
    index, (wire_id, troops_id, lt_id) = _index_with(WIRE, OTHER_TROOPS, OTHER_LITHUANIA)
    assert index.assign(REPRINT_EDITED, NOW) == wire_id
    assert index.assign(OTHER_TROOPS, NOW) == troops_id
    assert index.assign(OTHER_LITHUANIA, NOW) == lt_id


def test_a_story_older_than_the_window_is_not_joined() -> None:
    index = StoryIndex(window=timedelta(days=3))
    index.add(1, signature(WIRE), NOW - timedelta(days=3, minutes=1))
    assert index.assign(REPRINT_EDITED, NOW) is None
    assert len(index) == 0  # pruned


def test_a_discarded_and_re_added_story_expires_by_its_new_time() -> None:
    index = StoryIndex(window=timedelta(days=3))
    index.add(1, signature(WIRE), NOW - timedelta(days=2))
    index.discard(1)
    assert index.assign(REPRINT_EDITED, NOW) is None
    index.add(1, signature(WIRE), NOW)
    assert index.prune(NOW + timedelta(days=2)) == 0
    assert index.assign(REPRINT_EDITED, NOW + timedelta(days=2)) == 1


def test_short_articles_never_join() -> None:
    index, _ = _index_with(WIRE)
    headline_only = Article(title=WIRE.title, text="")
    lookup = index.lookup(headline_only, NOW)
    assert lookup.story_id is None and lookup.signature is None


def test_rebuild_from_stored_rows() -> None:
    rows = [
        (7, signature_to_bytes(signature(WIRE)), NOW - timedelta(days=1)),
        (8, signature_to_bytes(signature(OTHER_TROOPS)), NOW - timedelta(days=10)),
        (9, None, NOW),
        (10, b"garbage", NOW),
    ]
    index = StoryIndex()
    assert index.add_stored(rows) == 2
    assert index.max_story_id == 10
    assert index.assign(REPRINT_TRIMMED, NOW) == 7
    assert index.assign(OTHER_TROOPS, NOW) is None  # its story is too old


def test_naive_datetimes_are_utc() -> None:
    index = StoryIndex()
    index.add(1, signature(WIRE), (NOW - timedelta(hours=2)).replace(tzinfo=None))
    assert index.assign(REPRINT_EDITED, NOW) == 1


def test_signature_bytes_round_trip() -> None:
    sig = signature(WIRE)
    assert similarity(sig, signature_from_bytes(signature_to_bytes(sig))) == 1.0


def test_shingles_use_the_normaliser() -> None:
    latin = Article(title="Lukashenko", text="Troops moved to the border on Monday")
    cyrillic = Article(title="Лукашенко", text="TROOPS moved — to the border, on Monday!")
    assert shingles(latin) == shingles(cyrillic)


@settings(max_examples=30, deadline=None)
@given(drop=st.integers(min_value=0, max_value=4))
def test_dropping_any_one_paragraph_still_joins(drop: int) -> None:
    paragraphs = WIRE.text.split("\n")
    del paragraphs[drop]
    reprint = Article(title=WIRE.title, text="\n".join(paragraphs))
    index, (wire_id,) = _index_with(WIRE)
    assert index.assign(reprint, NOW) == wire_id
