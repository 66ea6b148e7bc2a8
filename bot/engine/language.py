"""Which language an article is in, for watchlists limited to some (``languages:``).

A German story whose "war" means "was" must not fire a watchlist whose
keyword is the English ``war``: a watchlist may say ``languages: [en, ru,
uk]`` and then an article detected as another language does not match it.

The detector is ``langdetect`` (Google's language-detection profiles, 55
languages, pure Python), made deterministic by its seed. Reading its 55 JSON
profiles costs ~0.3 s, most of each ``alertbot scan``, so the first load writes
what it built to :func:`bot.bundled.cache_dir` (``data/cache`` in a clone) and later
processes read that instead (~0.03 s; see :func:`_factory`). It reads the title
and the first ``SAMPLE_CHARS`` characters of the text. Short texts are where
detectors guess ("Lukashenko" alone is "Finnish"), so a guess counts only
when the sample has ``MIN_LETTERS`` letters and the top language is at least
``MIN_PROBABILITY`` likely; otherwise the language is *unsure* and the
article is **not** dropped: an unsure language never keeps a watchlist from
matching (a missed alert costs more than a false one the rule already
filters).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import struct
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import Any

from bot.bundled import cache_dir, write_cache_file
from bot.models import Article

__all__ = ["Language", "detect_language", "known_languages", "language_refusal"]

SAMPLE_CHARS = 2_000
MIN_LETTERS = 40
MIN_PROBABILITY = 0.90
_LETTER = re.compile(r"[^\W\d_]")
_LOCK = Lock()  # langdetect's factory is module state: loaded and seeded once
CACHE_FORMAT = 1  # of the cached profiles (a change of layout gets a new file name)
CACHE_PREFIX = "langdetect-"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Language:
    """A detected language (``code``, e.g. ``de``) or ``None``: unsure (too short, mixed)."""

    code: str | None
    probability: float = 0.0

    def describe(self) -> str:
        return self.code if self.code else "unsure"


@lru_cache(maxsize=1)
def _factory() -> object:
    """langdetect's detector factory, its profiles loaded once, seeded for determinism.

    Its state is the list of languages (in the order langdetect read its profile
    files) and, for each of the 87,598 n-grams, one probability per language. The
    first load builds it with langdetect's own code and caches it (see
    :func:`_write_cache`); later loads read the cache, keyed by the profile files'
    names (in that order), sizes and times and the langdetect package's own path, so
    a new langdetect or other profiles build a new one. The detections are
    langdetect's own (tests/test_languages.py compares them with an uncached factory).
    """
    from langdetect import DetectorFactory, detector_factory

    with _LOCK:
        DetectorFactory.seed = 0  # the same text, the same answer
        if detector_factory._factory is None:
            directory = detector_factory.PROFILES_DIRECTORY
            path = cache_dir() / f"{CACHE_PREFIX}{_profiles_key(directory)}.marshal"
            factory = _read_cache(path)
            if factory is None:
                detector_factory.init_factory()
                _write_cache(path, detector_factory._factory)
            else:
                detector_factory._factory = factory
        return detector_factory._factory


def _profiles_key(directory: str) -> str:
    """Names the cache after what langdetect would read (and this file's layout)."""
    parts = [f"{CACHE_FORMAT} {sys.byteorder} {directory}"]
    for name in os.listdir(directory):  # langdetect's order is the listing's
        try:
            stat = os.stat(os.path.join(directory, name))
        except OSError:
            stat = None
        parts.append(f"{name} {stat.st_size} {stat.st_mtime_ns}" if stat else name)
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:20]


class _Probabilities:
    """langdetect's ``word_lang_prob_map`` (n-gram -> one probability per language),
    read from the cache: the rows are unpacked when the detector first asks for them.

    A row is packed as the indexes of its non-zero languages (one byte each), then
    their probabilities (doubles): the very floats langdetect computed.
    """

    __slots__ = ("_packed", "_size", "_rows")

    def __init__(self, packed: dict[str, bytes], size: int) -> None:
        self._packed = packed
        self._size = size
        self._rows: dict[str, list[float]] = {}

    def __contains__(self, word: object) -> bool:
        return word in self._packed

    def __len__(self) -> int:
        return len(self._packed)

    def __getitem__(self, word: str) -> list[float]:
        row = self._rows.get(word)
        if row is None:
            packed = self._packed[word]
            count = len(packed) // 9
            row = [0.0] * self._size
            probs = struct.unpack_from(f"={count}d", packed, count)
            for index, prob in zip(packed[:count], probs, strict=True):
                row[index] = prob
            self._rows[word] = row
        return row


def _pack(row: list[float]) -> bytes:
    indexes = [i for i, prob in enumerate(row) if prob != 0.0]
    return bytes(indexes) + struct.pack(f"={len(indexes)}d", *(row[i] for i in indexes))


def _read_cache(path: Path) -> Any:
    """The factory the cache at ``path`` holds, or None (none yet, unreadable, another layout)."""
    from langdetect import DetectorFactory

    try:
        data = marshal.loads(path.read_bytes())
        fmt, size, langlist, packed = data
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if fmt != CACHE_FORMAT or not isinstance(packed, dict) or not isinstance(langlist, list):
        return None
    factory = DetectorFactory()
    factory.langlist = langlist
    factory.word_lang_prob_map = _Probabilities(packed, size)
    return factory


def _write_cache(path: Path, factory: Any) -> None:
    """Cache ``factory``'s state at ``path`` (atomically: a file appears whole or not at
    all), removing older caches; a folder that cannot be written only costs the speed."""
    table = factory.word_lang_prob_map
    size = len(next(iter(table.values()))) if table else len(factory.langlist)
    if any(len(row) != size for row in table.values()) or size > 256:
        return  # not the layout this cache packs
    data = marshal.dumps(
        (CACHE_FORMAT, size, list(factory.langlist), {w: _pack(r) for w, r in table.items()})
    )
    err = write_cache_file(path, data)
    if err is None:
        try:
            for old in path.parent.glob(f"{CACHE_PREFIX}*.marshal"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as pruning:
            err = pruning
    if err is not None:
        log.debug("language profiles not cached in %s: %s", path.parent, err)


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
