"""Watchlists limited to languages (``languages: [en, ru, uk]``, issue #14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_commands_support import MEMBER, ROOT, make_service, say

from bot.engine.analyse import analyse
from bot.engine.evaluation import LabelledItem, evaluate
from bot.engine.language import detect_language
from bot.engine.matcher import Matcher
from bot.engine.watchlist import WatchlistError, load_dir
from bot.engine.watchlist import load_text as load_watchlist
from bot.models import Article

GERMAN = Article(
    title="Putin und die Armee",
    text=(
        "Es war ein langer Tag in Moskau. Putin sprach mit Soldaten der Armee, und es war "
        "kalt. Die Truppen standen stundenlang auf dem Platz, bevor die Rede begann."
    ),
)
ENGLISH = Article(
    title="Putin visits the army",
    text="Vladimir Putin met soldiers of the Russian army near Moscow on Monday.",
)
SHORT = Article(title="Putin army war", text="")

LIMITED = """\
name: limited
keywords: [war, army]
entities:
  - name: Vladimir Putin
    aliases: [Putin]
languages: [en, ru, uk]
"""


def _bundled() -> Matcher:
    return Matcher(load_dir(ROOT / "watchlists")[0])


def test_the_detector_is_sure_of_long_texts_and_unsure_of_short_ones() -> None:
    assert detect_language(GERMAN).code == "de"
    assert detect_language(ENGLISH).code == "en"
    assert detect_language(SHORT).code is None  # a headline of three words: unsure
    assert detect_language(GERMAN) == detect_language(GERMAN)  # deterministic


def test_a_german_article_whose_war_means_was_does_not_fire_the_bundled_list() -> None:
    matcher = _bundled()
    fired = {m.watchlist for m in analyse(GERMAN, matcher)}
    assert "russia-belarus-ukraine" not in fired
    assert "russia-belarus-ukraine" in {m.watchlist for m in analyse(ENGLISH, matcher)}


def test_unsure_is_allowed_and_a_list_without_languages_takes_any() -> None:
    limited = load_watchlist(LIMITED, "limited.yaml")
    anyone = load_watchlist(LIMITED.replace("languages: [en, ru, uk]\n", ""), "any.yaml")
    assert limited.languages == ["en", "ru", "uk"] and anyone.languages == []
    assert [m.watchlist for m in analyse(SHORT, Matcher([limited]))] == ["limited"]
    assert analyse(GERMAN, Matcher([limited])) == []
    assert [m.watchlist for m in analyse(GERMAN, Matcher([anyone]))] == ["limited"]


def test_an_unknown_language_code_is_refused_in_one_line() -> None:
    with pytest.raises(WatchlistError) as err:
        load_watchlist(LIMITED.replace("[en, ru, uk]", "[en, klingon]"), "x.yaml")
    assert "languages[1]: 'klingon' is not a language code the detector knows" in str(err.value)


async def test_test_says_the_language_is_why(tmp_path: Path) -> None:
    service = make_service(tmp_path, ROOT / "watchlists")
    try:
        text = f"{GERMAN.title}\n{GERMAN.text}"
        reply = (await say(service, MEMBER, f"/test russia-belarus-ukraine {text}")).plain_text
        assert "russia-belarus-ukraine would not alert: language de not in en, ru, uk." in reply
        assert "Without that, the rule would fire." in reply
    finally:
        await service.close()


async def test_show_names_the_languages(tmp_path: Path) -> None:
    service = make_service(tmp_path, ROOT / "watchlists")
    try:
        shown = (await say(service, MEMBER, "/show russia-belarus-ukraine")).plain_text
        assert "Languages: en, ru, uk (an article detected in another language" in shown
        assert "Languages:" not in (await say(service, MEMBER, "/show troop-movements")).plain_text
    finally:
        await service.close()


def test_the_known_codes_are_those_the_loaded_detector_lists() -> None:
    """Checking ``languages:`` reads the profile names; detection loads the profiles."""
    from bot.engine.language import _factory, known_languages

    assert known_languages() == sorted(_factory().get_lang_list())  # type: ignore[attr-defined]
    assert {"en", "ru", "uk", "de"} <= set(known_languages())


def test_eval_names_the_language_as_the_reason_of_a_miss() -> None:
    matcher = Matcher([load_watchlist(LIMITED, "limited.yaml")])
    item = LabelledItem(line=1, id="de1", title=GERMAN.title, text=GERMAN.text, label="limited")
    (miss,) = evaluate([item], matcher).errors
    assert miss.kind == "FN"
    assert miss.detail == ["limited: language de not in en, ru, uk"]
