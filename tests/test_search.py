"""Full-text search: the query language, its safe translation, and both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, select, text, update
from test_answers_support import DESK, add_alert, ask, belarus, bold_texts, freeze, utc
from test_commands_support import assert_usage_error

from bot.answers.search import (
    QueryError,
    match_spans,
    parse_query,
    search_alerts,
)
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.db import SessionFactory
from bot.store.retention import purge_older_than
from bot.store.tables import Alert, ArticleRow, Story

__all__ = ["belarus"]  # fixture

NOW = utc(2026, 11, 1, 12)


# --- the query language ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fts5"),
    [
        ("lukashenko troops", '("lukashenko" AND "troops")'),
        ('"joint force" OR convoy*', '("joint force" OR "convoy"*)'),
        ("belarus NOT exercise", '(("belarus") NOT "exercise")'),
        ("belarus -exercise -drill*", '((("belarus") NOT "exercise") NOT "drill"*)'),
        ("(minsk OR гродно) border", '(("minsk" OR "grodno") AND "border")'),
        ("a NOT NOT b", '("a" AND "b")'),
        ("“smart quotes” and more", '("smart quotes" AND "more")'),
        ('x -"a phrase"', '(("x") NOT "a phrase")'),
        ("covid-19", '"covid 19"'),
        ("Cichanoŭskaja", '"cichanouskaja"'),
        ('say "he said ""no"""', '("say" AND "he said" AND "no")'),
    ],
)
def test_queries_become_quoted_fts5(query: str, fts5: str) -> None:
    assert parse_query(query).fts5() == fts5


def test_queries_become_bound_tsquery_calls() -> None:
    sql, params = parse_query('"joint force" OR convoy* -drill').tsquery()  # AND binds first
    assert sql == (
        "(phraseto_tsquery('simple', :q0) || (to_tsquery('simple', :q1) && "
        "(!! phraseto_tsquery('simple', :q2))))"
    )
    assert params == {"q0": "joint force", "q1": "'convoy':*", "q2": "drill"}
    hostile, params = parse_query("x'; DROP TABLE alerts; -- y*").tsquery()
    assert "DROP" not in hostile and "'" not in hostile.replace("'simple'", "")
    assert set(params.values()) >= {"x", "drop", "table", "alerts", "'y':*"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Nothing to search for"),
        ("   ", "Nothing to search for"),
        ('"unclosed phrase', "Unclosed quote"),
        ("(a OR b", "A ( without its )"),
        ("a OR b)", "A ) without its ("),
        ("()", "Empty parentheses"),
        ("a OR", "OR needs a word after it"),
        ("AND a", "AND needs a word before it"),
        ("NOT a", "not only what to leave out"),
        ("-a -b", "not only what to leave out"),
        ("a OR NOT b", "OR NOT cannot be searched"),
        ("!!! ???", "No words to search for"),
        ("x " * 200, "too long"),
        (" ".join(f"w{i}" for i in range(25)), "Too many terms"),
    ],
)
def test_malformed_queries_are_one_line(query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_match_spans_fold_case_diacritics_and_prefixes() -> None:
    query = parse_query('Лукашенко convoy* "cafe society"')
    value = "ЛУКАШЕНКО saw convoys at the Café; a convoy is no society-page news."
    words = [value[a:b] for a, b in match_spans(value, query.terms)]
    assert words == ["ЛУКАШЕНКО", "convoys", "Café", "convoy", "society"]


# --- both databases --------------------------------------------------------

PIECES = ["a", "b", '"', "(", ")", "*", "-", "AND", "OR", "NOT", "жук", "café", ":", "^", "'", "\\"]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join),
        st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    )
)
def test_any_text_is_a_one_line_error_or_a_query_the_database_reads(
    db: SessionFactory, raw: str
) -> None:
    try:
        query = parse_query(raw)
    except QueryError as err:
        assert "\n" not in str(err) and str(err)
        return
    with session_scope(db) as s:
        search_alerts(s, query, NOW)  # QueryError here would mean a bad translation


def _seed(db: SessionFactory) -> dict[str, int]:
    ids = {}
    with session_scope(db) as s:
        ids["phrase"] = add_alert(
            s,
            at=NOW - timedelta(days=1),
            title="Joint force exercise near the border",
            text="The joint force arrived on Monday. Convoys were seen near Brest.",
        )
        ids["apart"] = add_alert(
            s,
            at=NOW - timedelta(days=1),
            title="Force posture review",
            text="A joint statement said the force would stay. No convoy was seen.",
        )
        ids["cyrillic"] = add_alert(
            s,
            at=NOW - timedelta(days=2),
            title="ЛУКАШЕНКО встретился с военными",
            text="Президент Беларуси Лукашенко провёл совещание о границе.",
        )
        ids["old"] = add_alert(
            s,
            at=NOW - timedelta(days=200),
            title="Troops at the border",
            text="Troops were deployed to the border region.",
        )
        ids["new"] = add_alert(
            s,
            at=NOW - timedelta(hours=3),
            title="Troops at the border",
            text="Troops were deployed to the border region again.",
        )
        # an article that raised no alert is not a search result
        s.add(
            ArticleRow(
                content_hash="c" * 64,
                title="Troops border joint force",
                text="x",
                url="https://news.test/none",
            )
        )
    return ids  # fmt: skip


def _ids(db: SessionFactory, query: str, limit: int = 10) -> list[int]:
    with session_scope(db) as s:
        return search_alerts(s, parse_query(query), NOW, limit).alert_ids


def test_search_phrases_booleans_and_prefixes(db: SessionFactory) -> None:
    ids = _seed(db)
    assert _ids(db, '"joint force"') == [ids["phrase"]]
    assert set(_ids(db, "joint force")) == {ids["phrase"], ids["apart"]}
    assert set(_ids(db, "joint AND force NOT exercise")) == {ids["apart"]}
    assert set(_ids(db, "joint force -exercise")) == {ids["apart"]}
    assert set(_ids(db, "convoy*")) == {ids["phrase"], ids["apart"]}
    assert set(_ids(db, "brest OR posture")) == {ids["phrase"], ids["apart"]}
    assert set(_ids(db, "(brest OR posture) AND statement")) == {ids["apart"]}
    assert _ids(db, "nothing-like-this") == []


def test_search_cyrillic_in_any_case(db: SessionFactory) -> None:
    ids = _seed(db)
    assert _ids(db, "лукашенко") == [ids["cyrillic"]]
    assert _ids(db, '"Лукашенко встретился"') == [ids["cyrillic"]]
    assert _ids(db, "ГРАНИЦЕ") == [ids["cyrillic"]]
    assert _ids(db, "Беларус*") == [ids["cyrillic"]]
    assert _ids(db, "лукашенко NOT совещание") == []


def test_search_ranks_by_relevance_then_recency(db: SessionFactory) -> None:
    ids = _seed(db)
    assert _ids(db, "troops border") == [ids["new"], ids["old"]]
    with session_scope(db) as s:
        result = search_alerts(s, parse_query("border"), NOW, limit=2)
    assert result.total == 3 and len(result.alert_ids) == 2
    # same age: the phrase in the title and the text beats the words apart
    assert _ids(db, "joint force") == [ids["phrase"], ids["apart"]]
    # a strong match from 200 days ago loses to a weaker one from today
    with session_scope(db) as s:
        weak = add_alert(s, at=NOW, title="Weekly roundup", text="Some troops elsewhere.")
    assert _ids(db, "troops") == [ids["new"], weak, ids["old"]]


def test_hostile_queries_are_just_words(db: SessionFactory, engine: Engine) -> None:
    ids = _seed(db)
    for query, parses in [
        ("x'; DROP TABLE alerts; --", True),
        ("x'); DROP TABLE alerts; --", False),  # a ) without its (
        ('NEAR("joint" "force") title:force ^joint', True),
        ("force:* & !troops | '", True),
        ('"" force \\', True),
    ]:
        try:
            query_tree = parse_query(query)
        except QueryError:
            assert not parses, query
            continue
        assert parses, query
        with session_scope(db) as s:
            search_alerts(s, query_tree, NOW)  # no database error
    assert "alerts" in inspect(engine).get_table_names()
    assert _ids(db, '"joint force"') == [ids["phrase"]]


def test_the_index_follows_every_writer(db: SessionFactory) -> None:
    ids = _seed(db)
    with session_scope(db) as s:
        article_id = s.get(Alert, ids["cyrillic"]).article_id  # type: ignore[union-attr]
        row = s.get(ArticleRow, article_id)
        assert row is not None
        row.title = "Минск сегодня"  # re-folded on flush (an article is never updated by the bot)
    assert _ids(db, "встретился") == []
    assert _ids(db, "минск") == [ids["cyrillic"]]
    with session_scope(db) as s:  # retention deletes the article with raw SQL
        s.execute(update(Story).values(updated_at=NOW - timedelta(days=400)))
        s.execute(update(ArticleRow).values(fetched_at=NOW - timedelta(days=400)))
        purge_older_than(s, 90, now=NOW)
        assert s.scalars(select(Alert.id)).all() == []
    assert _ids(db, "troops OR минск OR force") == []


def test_search_index_is_made_by_the_migration(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            count = conn.execute(text("SELECT count(*) FROM articles_fts")).scalar()
        else:
            count = conn.execute(text("SELECT count(search_vector) FROM articles")).scalar()
    assert count == 0


# --- the command -----------------------------------------------------------


async def test_search_command_bolds_the_matches(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    with session_scope(belarus.factory) as s:
        first = add_alert(
            s,
            at=NOW - timedelta(hours=2),
            title="Лукашенко встретился с военными",
            text="Президент Лукашенко провёл совещание. Войска у границы.",
            summary="Президент Лукашенко провёл совещание.",
        )
        again = add_alert(
            s,
            at=NOW - timedelta(hours=2),
            title="Лукашенко встретился с военными",
            text="-",
            summary="",
            watchlist="second-list",
            story_id=s.get(Alert, first).story_id,  # type: ignore[union-attr]
        )
        add_alert(
            s,
            at=NOW - timedelta(days=1),
            title="Border news",
            text=("Filler sentence. " * 30) + "Then the convoy crossed near Brest.",
            summary="Filler sentence.",
        )
    reply = await ask(belarus, DESK, "/search лукашенко")
    shown = reply.plain_text
    assert shown.startswith("Search 'лукашенко': 2 alerts match; the best 1")
    assert f"second-list, belarus-watch · 01 Nov 10:00 · #{again}, #{first}" in shown
    assert bold_texts(reply) == ["Search ", "Лукашенко"]
    convoy = await ask(belarus, DESK, '/search convoy* "near brest"')
    assert "…" in convoy.plain_text and "Filler sentence. Filler" in convoy.plain_text
    assert bold_texts(convoy)[1:] == ["convoy", "near", "Brest"]
    assert_usage_error(await ask(belarus, DESK, '/search "unclosed'), "/search <query>")
    assert_usage_error(await ask(belarus, DESK, "/search"), "/search <query>")
    none = await ask(belarus, DESK, "/search nothing-here")
    assert none.plain_text == "No alerted article matches 'nothing-here'." and not none.error


# --- folding as the matcher folds (issue #14) --------------------------------


def test_search_folds_scripts_and_diacritics_on_both_databases(db: SessionFactory) -> None:
    with session_scope(db) as s:
        latin = add_alert(s, at=NOW, title="Lukashenko visits Brest", text="Troops watched.")
        accents = add_alert(
            s, at=NOW, title="Opposition leader speaks", text="Cichanoŭskaja spoke in Vilnius."
        )
        cyrillic = add_alert(s, at=NOW, title="Тихановская в Вильнюсе", text="Встреча.")
    assert _ids(db, "лукашенко") == [latin]  # Cyrillic query, Latin article
    assert _ids(db, "ЛУКАШ*") == [latin]
    assert _ids(db, '"лукашенко visits"') == [latin]
    assert _ids(db, "Cichanouskaja") == [accents]  # no accent typed, accent written
    assert _ids(db, "cichanoŭskaja") == [accents]
    assert _ids(db, "Tikhanovskaya") == [cyrillic]  # Latin query, Cyrillic article
    assert _ids(db, "тихановская") == [cyrillic]
    assert _ids(db, "лукашенко NOT brest") == []


def test_highlights_fold_like_the_search() -> None:
    value = "Президент Лукашенко и Cichanoŭskaja"
    spans = match_spans(value, parse_query("lukashenko OR cichanouskaja").terms)
    assert [value[a:b] for a, b in spans] == ["Лукашенко", "Cichanoŭskaja"]


def test_migration_0008_folds_the_articles_stored_before_it(empty_engine: Engine) -> None:
    from alembic import command

    from bot.store.db import alembic_config, make_session_factory

    config = alembic_config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(
            text(
                "INSERT INTO stories (id, title, created_at, updated_at, article_count) "
                "VALUES (1, '', :t, :t, 1)"
            ),
            {"t": NOW},
        )
        for i, title in enumerate(["Лукашенко в Бресте", "Cichanoŭskaja in Vilnius"], 1):
            conn.execute(
                text(
                    "INSERT INTO articles (id, content_hash, url, title, text, source_name,"
                    " fetched_at, story_id) VALUES (:i, :h, '', :title, 'x', 's', :t, 1)"
                ),
                {"i": i, "h": str(i) * 64, "title": title, "t": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO alerts (id, story_id, watchlist, article_id, score, summary,"
                    " hits, score_parts, rule, created_at)"
                    " VALUES (:i, 1, :wl, :i, 1.0, '', '[]', '[]', '', :t)"
                ),
                {"i": i, "wl": f"wl{i}", "t": NOW},
            )
        command.upgrade(config, "head")
    factory = make_session_factory(empty_engine)
    assert _ids(factory, "lukashenko") == [1]
    assert _ids(factory, "cichanouskaja") == [2]
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")  # down and up again: folded once more
        command.upgrade(config, "head")
    assert _ids(factory, "лукашенко") == [1]


async def test_search_of_a_watched_name_finds_its_every_spelling(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, NOW)
    with session_scope(belarus.factory) as s:
        cyrillic = add_alert(s, at=NOW, title="В Бресте", text="Лукашенко провёл совещание.")
        other = add_alert(s, at=NOW, title="Speech", text="Lukashenka spoke.")
        add_alert(s, at=NOW, title="Weather in Minsk", text="Rain.")
    reply = await ask(belarus, DESK, "/search Lukashenko")
    shown = reply.plain_text
    assert shown.startswith("Search 'Lukashenko': 2 alerts match")
    assert f"#{cyrillic}" in shown and f"#{other}" in shown
    assert (
        "'Lukashenko' is the watched name Alexander Lukashenko: its 3 spellings searched." in shown
    )
    assert set(bold_texts(reply)[1:]) == {"Лукашенко", "Lukashenka"}
    typed = await ask(belarus, DESK, "/search lukashenko*")  # a prefix is searched as typed
    assert "spellings" not in typed.plain_text and f"#{other}" not in typed.plain_text
