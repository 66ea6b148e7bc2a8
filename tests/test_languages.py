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


VARIED = [
    GERMAN.title + "\n" + GERMAN.text,
    ENGLISH.title + "\n" + ENGLISH.text,
    "Российские войска прибыли в Беларусь в понедельник для совместных учений.",
    "Російські війська прибули до Білорусі в понеділок для спільних навчань.",
    "Les troupes russes sont arrivées au Bélarus lundi pour des exercices conjoints.",
    "Troops Truppen войска військ troupes: mixed words of five languages in one line",
    "Lukashenko",
    "a",
    "12345 67890",
    "日本語のテキストです。東京で会議が開かれた。",
    "Wojska rosyjskie przybyły na Białoruś w poniedziałek na wspólne ćwiczenia.",
]


def _probabilities(factory: object, text: str) -> list[tuple[str, float]] | str:
    from langdetect.lang_detect_exception import LangDetectException

    detector = factory.create()  # type: ignore[attr-defined]
    detector.append(text)
    try:
        return [(g.lang, g.prob) for g in detector.get_probabilities()]
    except LangDetectException as err:
        return f"error: {err}"


def test_the_cached_profiles_detect_exactly_what_langdetect_does(tmp_path: Path) -> None:
    """The cache is langdetect's own state: the same languages and the same floats, text
    after text (the detector's random walk is seeded, so any difference in a probability
    would show)."""
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY

    from bot.engine.language import _Probabilities, _read_cache, _write_cache

    DetectorFactory.seed = 0
    fresh = DetectorFactory()
    fresh.load_profile(PROFILES_DIRECTORY)
    path = tmp_path / "cache" / "langdetect-x.marshal"
    _write_cache(path, fresh)
    cached = _read_cache(path)
    assert isinstance(cached.word_lang_prob_map, _Probabilities)
    assert cached.get_lang_list() == fresh.get_lang_list()
    texts = VARIED + [VARIED[0][i : i + 30] for i in range(0, len(VARIED[0]), 11)]
    for text in texts:
        assert _probabilities(cached, text) == _probabilities(fresh, text), text
    assert _probabilities(cached, VARIED[2])[0][0] == "ru"  # type: ignore[index]
    assert _probabilities(cached, VARIED[3])[0][0] == "uk"  # type: ignore[index]


def test_a_broken_or_unwritable_cache_is_only_slower(tmp_path: Path) -> None:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY

    from bot.engine.language import _read_cache, _write_cache

    broken = tmp_path / "langdetect-broken.marshal"
    broken.write_bytes(b"\x00not marshal")
    assert _read_cache(broken) is None
    assert _read_cache(tmp_path / "missing.marshal") is None
    fresh = DetectorFactory()
    fresh.load_profile(PROFILES_DIRECTORY)
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be", encoding="utf-8")
    _write_cache(blocker / "cache" / "langdetect-x.marshal", fresh)  # no exception
    assert not (blocker / "cache").exists()


def test_a_new_cache_replaces_the_old_one(tmp_path: Path) -> None:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY

    from bot.engine.language import _write_cache

    fresh = DetectorFactory()
    fresh.load_profile(PROFILES_DIRECTORY)
    _write_cache(tmp_path / "langdetect-old.marshal", fresh)
    _write_cache(tmp_path / "langdetect-new.marshal", fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["langdetect-new.marshal"]
