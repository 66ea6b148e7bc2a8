"""Which language an article is in, for watchlists limited to some (``languages:``).

A German story whose "war" means "was" must not fire a watchlist whose
keyword is the English ``war``: a watchlist may say ``languages: [en, ru,
uk]`` and then an article detected as another language does not match it.

The detector is ``langdetect`` (Google's language-detection profiles, 55
languages, pure Python), made deterministic by its seed. It reads the title
and the first ``SAMPLE_CHARS`` characters of the text. Short texts are where
detectors guess ("Lukashenko" alone is "Finnish"), so a guess counts only
when the sample has ``MIN_LETTERS`` letters and the top language is at least
``MIN_PROBABILITY`` likely; otherwise the language is *unsure* and the
article is **not** dropped: an unsure language never keeps a watchlist from
matching (a missed alert costs more than a false one the rule already
filters).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock

from bot.models import Article

__all__ = ["Language", "detect_language", "known_languages", "language_refusal"]

SAMPLE_CHARS = 2_000
MIN_LETTERS = 40
MIN_PROBABILITY = 0.90
_LETTER = re.compile(r"[^\W\d_]")
_LOCK = Lock()  # langdetect's factory is module state: loaded and seeded once


@dataclass(frozen=True)
class Language:
    """A detected language (``code``, e.g. ``de``) or ``None``: unsure (too short, mixed)."""

    code: str | None
    probability: float = 0.0

    def describe(self) -> str:
        return self.code if self.code else "unsure"


@lru_cache(maxsize=1)
def _factory() -> object:
    """langdetect's detector factory, its profiles loaded once, seeded for determinism."""
    from langdetect import DetectorFactory, detector_factory

    with _LOCK:
        DetectorFactory.seed = 0  # the same text, the same answer
        detector_factory.init_factory()
        return detector_factory._factory


@lru_cache(maxsize=1)
def known_languages() -> list[str]:
    """The codes the detector can name (``en``, ``de``, ``zh-cn``, …).

    The names of its profile files, which are the codes the loaded factory lists
    (tests/test_language.py checks): checking a watchlist's ``languages:`` must not
    load every profile (~0.4 s of each ``alertbot scan``); detection loads them.
    """
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return sorted(os.listdir(PROFILES_DIRECTORY))


def detect_language(article: Article) -> Language:
    """The language of ``article`` (its title and the start of its text), or unsure."""
    sample = f"{article.title}\n{article.text[:SAMPLE_CHARS]}"
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return Language(None)
    from langdetect.lang_detect_exception import LangDetectException

    factory = _factory()
    try:
        detector = factory.create()  # type: ignore[attr-defined]
        detector.append(sample)
        guesses = detector.get_probabilities()
    except LangDetectException:
        return Language(None)
    if not guesses or guesses[0].prob < MIN_PROBABILITY:
        return Language(None, guesses[0].prob if guesses else 0.0)
    return Language(str(guesses[0].lang), float(guesses[0].prob))


def language_refusal(language: Language, allowed: list[str]) -> str:
    """Why a watchlist limited to ``allowed`` does not match (""): e.g. ``language de not in
    en, ru, uk``. An unsure language is allowed."""
    if not allowed or language.code is None or language.code in allowed:
        return ""
    return f"language {language.code} not in {', '.join(allowed)}"
