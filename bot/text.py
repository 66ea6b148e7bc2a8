"""The one normaliser: text and watchlist patterns both go through here.

Normalising is NFKC, casefold, transliteration of every script to Latin
(anyascii), diacritics folded, lower case. The result is pure ASCII, so the
same alias written in Cyrillic, Latin with diacritics or plain Latin meets
in one form (``Лукашенко`` → ``lukashenko``). Offsets of the normalised text
map back to the original, so evidence is shown exactly as it was written.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii

TOKEN_RE = re.compile(r"[a-z0-9]+")
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]")


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    return anyascii(folded).lower()


@dataclass(frozen=True)
class NormText:
    """A normalised string with a map back to the original.

    ``index_map[i]`` is the index in ``original`` of the character that
    produced normalised character ``i``; ``None`` means the identity (the
    original was ASCII, the common case, and lower-casing kept every offset).
    """

    original: str
    text: str
    index_map: array | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) span to the original text."""
        if self.index_map is None:
            return start, end
        if end <= start:
            pos = self.index_map[start] if start < len(self.index_map) else len(self.original)
            return pos, pos
        return self.index_map[start], self.index_map[end - 1] + 1


def normalise(text: str) -> NormText:
    """Normalise ``text`` for matching, keeping a map back to the original."""
    if text.isascii():
        return NormText(text, text.lower())
    pieces: list[str] = []
    index_map = array("l")
    for run in _ASCII_RUNS.finditer(text):
        chunk = run.group()
        start = run.start()
        if chunk.isascii():
            pieces.append(chunk.lower())
            index_map.extend(range(start, start + len(chunk)))
        else:
            folded = _fold_char(chunk)
            pieces.append(folded)
            index_map.extend([start] * len(folded))
    return NormText(text, "".join(pieces), index_map)


def normalise_str(text: str) -> str:
    """Only the normalised string (for patterns, names and lookups)."""
    return normalise(text).text


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text``: the unit every pattern is made of."""
    return TOKEN_RE.findall(normalise_str(text))


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    start: int  # offsets into the original text
    end: int


def tokenise(norm: NormText) -> list[Token]:
    """Tokens of a normalised text with offsets into the original."""
    out = []
    for m in TOKEN_RE.finditer(norm.text):
        start, end = norm.original_span(m.start(), m.end())
        out.append(Token(m.group(), start, end))
    return out


# --- sentences -------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "maj",
        "capt",
        "cpt",
        "sgt",
        "adm",
        "cmdr",
        "gov",
        "sen",
        "rep",
        "st",
        "jr",
        "sr",
        "no",
        "nos",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "approx",
        "dept",
        "est",
        "fig",
    ]
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-ZА-ЯЁІЇЄҐ0-9])|\n\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (original offsets), stripped of outer space.

    A sentence ends at ``. ! ? …`` (with closing quotes) before a capital or a
    digit, or at a line break; common abbreviations and initials
    (``Gen.``, ``U.S.``, ``J.``) do not end one.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if not m.group().startswith("\n") and _ends_with_abbreviation(text, m.start()):
            continue
        _append_span(spans, text, start, m.end())
        start = m.end()
    _append_span(spans, text, start, len(text))
    return spans


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot].lower().rstrip(".")
    if not word:
        return False
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _append_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    lead = len(chunk) - len(chunk.lstrip())
    spans.append((start + lead, start + lead + len(stripped)))


def sentence_for(spans: list[tuple[int, int]], offset: int) -> tuple[int, int] | None:
    """The sentence span that contains ``offset``, if any."""
    starts = [s for s, _ in spans]
    i = bisect_right(starts, offset) - 1
    if i >= 0 and spans[i][0] <= offset < max(spans[i][1], spans[i][0] + 1):
        return spans[i]
    return None
