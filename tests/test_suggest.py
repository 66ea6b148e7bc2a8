"""Keyword suggestions for misses: the word the misses share, never a stop word; admins add it."""

from __future__ import annotations

from test_answers_support import press
from test_commands_support import ADMIN, MEMBER, say, service

from bot.engine.suggest import suggest
from bot.engine.watchlist import from_mapping
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.watchlists import get_watchlist

__all__ = ["service"]  # the fixture

MISSED = [
    "Tanks massing near the border, the ministry said",
    "Artillery massing in the hills as the army waits",
    "Reports of armour massing by the river",
]
REST = [
    "The weather in the capital is fine",
    "The army band played in the park",
    "Talks on the border treaty resume",
    "The market fell as the ministry said rates rise",
]


def test_the_suggestion_is_the_word_the_misses_share_not_a_stop_word() -> None:
    found = suggest(MISSED, REST)
    terms = [s.term for s in found]
    assert terms[0] == "massing"
    assert (found[0].missed, found[0].of_missed, found[0].rest) == (3, 3, 0)
    assert "the" not in terms and "by" not in terms and "near" not in terms
    assert "border" not in terms  # as common in the rest as in the misses


def test_terms_the_watchlist_has_are_not_suggested_and_one_miss_is_not_enough() -> None:
    wl = from_mapping({"name": "moves", "keywords": ["mass*"]}, "moves.yaml")
    assert "massing" not in [s.term for s in suggest(MISSED, REST, wl)]
    assert suggest(MISSED[:1], REST) == []


async def test_suggest_in_chat_gives_admins_a_button_that_adds_the_keyword(service: Service) -> None:
    for story in MISSED:
        assert (await say(service, ADMIN, f"missed demo {story}")).plain_text.startswith("Thanks")
    listed = await say(service, ADMIN, "suggest demo")
    assert "/add demo keyword massing — in 3 of 3 missed" in listed.plain_text
    [first, *_] = listed.buttons
    assert first[0].data == "sg:demo:massing"
    member = await say(service, MEMBER, "suggest demo")
    assert "/add demo keyword massing" in member.plain_text and member.buttons == []
    assert "Nothing changes until a chat admin adds one." in member.plain_text
    refused = await press(service, MEMBER, "sg:demo:massing")
    assert refused.error and "Only chat admins" in refused.plain_text
    with session_scope(service.factory) as s:
        row = get_watchlist(s, "demo")
        assert row is not None and "massing" not in row.yaml
    added = await press(service, ADMIN, "sg:demo:massing")
    assert not added.error, added.plain_text
    with session_scope(service.factory) as s:
        row = get_watchlist(s, "demo")
        assert row is not None and "massing" in row.yaml


async def test_suggest_with_too_few_misses_says_so(service: Service) -> None:
    reply = await say(service, ADMIN, "suggest demo")
    assert "0 missed stories so far; suggestions need 2" in reply.plain_text
