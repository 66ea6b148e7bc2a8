"""The matcher's two per-character loops: the token string, and the fuzzy first pass.

* :func:`hay` — the token string of normalised text: its ``[a-z0-9]`` runs
  joined by single spaces, with a space at both ends (the Aho-Corasick
  automaton's input; the spaces are the word boundaries).
* :class:`FuzzyIndex` — the first pass of fuzzy entity matching: the tokens
  that may be misspellings of a one-word alias, and the grams around a token
  that may be a misspelling of a word of a longer alias and that line up
  with it (see :class:`PyFuzzyIndex` for the exact rule). What it finds for a
  word is remembered, so a word is examined once (until ``limit`` words are
  remembered; then it starts afresh). The matcher gives the few tokens and
  grams it reports the full check with rapidfuzz.

Both exist twice: compiled in ``bot/_wordscan.c`` (built by ``pip install``;
a per-word lookup and a two-instruction letter-set test, so a news article's
words cost microseconds, not milliseconds) and here in Python, the
reference, used when the extension could not be built (no C compiler).
``tests/test_wordscan.py`` checks that the two agree. :data:`NATIVE` says
which one is in use.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import compress, count
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import Indel

from bot.text import flatten

AliasSpec = tuple[str, int, int]  # (normalised text, words, ratio cutoff)
Target = tuple[int, int, int]  # (alias id, place of the word in the alias or -1, budget)
WordSpec = tuple[str, int, list[Target]]  # (alias word, length window, its targets)
Singles = list[tuple[int, str]]  # (token index, token)
Grams = list[tuple[int, str, int]]  # (start token, gram, alias id)
DEFAULT_LIMIT = 100_000


class FuzzyIndexLike(Protocol):
    def scan(self, hay: str) -> tuple[Singles, Grams]: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


def py_hay(normalised: str) -> str:
    """The token string of normalised text (pure Python)."""
    return " " + " ".join(flatten(normalised).split()) + " "


def _slack(n: int) -> int:
    """How much longer or shorter than an alias of length ``n`` a gram may be."""
    return max(1, n // 5)


class PyFuzzyIndex:
    """The reference :class:`FuzzyIndex`: rapidfuzz over the words of a token's bucket.

    A token is compared with the alias words of its first letter whose length
    window holds its length; it is *near* a target (alias, place, budget) of
    such a word when their Indel distance is within the budget. ``scan``
    reports the tokens near a one-word alias (place -1), and for a token near
    the word at ``place`` of a longer alias the gram of the alias's size that
    puts the token at that place, if it starts with the alias's first letter,
    its length is within :func:`_slack` of the alias's and
    ``100 * distance <= (100 - cutoff) * (len(gram) + len(alias))`` (the
    rapidfuzz ratio cutoff, in integers).
    """

    def __init__(
        self, aliases: Sequence[AliasSpec], words: Sequence[WordSpec], limit: int = DEFAULT_LIMIT
    ):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        for text, size, cutoff in aliases:
            if not text or not text.isascii() or size < 1 or not 0 <= cutoff <= 100:
                raise ValueError("an alias needs ASCII text, size >= 1, cutoff 0-100")
        self._aliases = list(aliases)
        self._words: list[tuple[str, list[Target], int]] = []
        buckets: dict[tuple[str, int], list[int]] = defaultdict(list)
        for word, reach, targets in words:
            if not word or not word.isascii() or reach < 0 or not targets:
                raise ValueError("a word needs ASCII text, reach >= 0 and a target")
            for ident, place, budget in targets:
                if not 0 <= ident < len(aliases) or budget < 0:
                    raise ValueError("a target needs an alias id and budget >= 0")
                if not -1 <= place < aliases[ident][1]:
                    raise ValueError("a target's place must be in its alias (or -1)")
            index = len(self._words)
            self._words.append((word, list(targets), max(t[2] for t in targets)))
            for length in range(max(1, len(word) - reach), len(word) + reach + 1):
                buckets[(word[0], length)].append(index)
        self._buckets = {
            key: ([self._words[i][0] for i in items], items, max(self._words[i][2] for i in items))
            for key, items in buckets.items()
        }
        self._limit = limit
        self._memo: dict[str, tuple[bool, list[Target]]] = {}
        self._lock = threading.Lock()  # the compiled one runs under the GIL in one go

    def scan(self, hay: str) -> tuple[Singles, Grams]:
        if not hay.isascii():
            raise ValueError("scan: text must be ASCII (normalised text)")
        toks = hay.split()
        with self._lock:
            if len(self._memo) >= self._limit:
                self._memo = {}
            memo = self._memo
            for word in set(toks).difference(memo):
                memo[word] = self._examine(word)
        singles: Singles = []
        grams: Grams = []
        near = [bool(memo[t][0] or memo[t][1]) for t in toks]
        for i in compress(count(), near):
            single, anchors = memo[toks[i]]
            if single:
                singles.append((i, toks[i]))
            for ident, place, _ in anchors:
                gram = self._gram(toks, i - place, ident)
                if gram is not None:
                    grams.append((i - place, gram, ident))
        return singles, grams

    def _examine(self, word: str) -> tuple[bool, list[Target]]:
        bucket = self._buckets.get((word[0], len(word)))
        if bucket is None:
            return False, []
        texts, items, highest = bucket
        found = process.extract(
            word, texts, scorer=Indel.distance, score_cutoff=highest, limit=None
        )
        single = False
        anchors: list[Target] = []
        for _, distance, k in sorted(found, key=lambda f: f[2]):  # in the words' order
            for target in self._words[items[k]][1]:
                if distance <= target[2]:
                    if target[1] < 0:
                        single = True
                    else:
                        anchors.append(target)
        return single, anchors

    def _gram(self, toks: list[str], start: int, ident: int) -> str | None:
        text, size, cutoff = self._aliases[ident]
        if start < 0 or start + size > len(toks) or toks[start][0] != text[0]:
            return None
        gram = " ".join(toks[start : start + size])
        if abs(len(gram) - len(text)) > _slack(len(text)):
            return None
        if 100 * Indel.distance(gram, text) > (100 - cutoff) * (len(gram) + len(text)):
            return None
        return gram

    def clear(self) -> None:
        with self._lock:
            self._memo = {}

    def __len__(self) -> int:
        return len(self._memo)


try:
    from bot._wordscan import FuzzyIndex as _NativeFuzzyIndex
    from bot._wordscan import hay as _native_hay
except ImportError:  # not built: no C compiler where it was installed
    NATIVE = False
    hay: Callable[[str], str] = py_hay
    FuzzyIndex: Callable[..., FuzzyIndexLike] = PyFuzzyIndex
else:
    NATIVE = True
    hay = _native_hay
    FuzzyIndex = _NativeFuzzyIndex
