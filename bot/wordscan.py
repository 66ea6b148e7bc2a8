"""The matcher's two per-character loops: the token string, and the fuzzy first pass.

* :func:`hay` — the token string of normalised text: its ``[a-z0-9]`` runs
  joined by single spaces, with a space at both ends (the Aho-Corasick
  automaton's input; the spaces are the word boundaries).
* :class:`WordFilter` — which tokens may be misspellings of a fuzzy alias
  word. An entry ``(word, budget, reach)`` takes a token with the same first
  letter, a length within ``reach`` of the word's and an Indel distance
  (insertions + deletions) of at most ``budget``. What the filter found for
  a word is remembered, so a word is examined once (until ``limit`` words are
  remembered; then it starts afresh). The matcher gives the few candidates
  the full check with rapidfuzz.

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

Entry = tuple[str, int, int]  # (word, budget, reach)
DEFAULT_LIMIT = 100_000


class WordFilterLike(Protocol):
    def candidates(self, hay: str) -> list[tuple[int, str]]: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


def py_hay(normalised: str) -> str:
    """The token string of normalised text (pure Python)."""
    return " " + " ".join(flatten(normalised).split()) + " "


class PyWordFilter:
    """The reference :class:`WordFilter`: rapidfuzz over the entries of a word's bucket."""

    def __init__(self, entries: Sequence[Entry], limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        buckets: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
        for word, budget, reach in entries:
            if not word or not word.isascii() or budget < 0 or reach < 0:
                raise ValueError("an entry needs an ASCII word and budget, reach >= 0")
            for length in range(max(1, len(word) - reach), len(word) + reach + 1):
                buckets[(word[0], length)].append((word, budget))
        self._buckets = {
            key: ([w for w, _ in items], [b for _, b in items], max(b for _, b in items))
            for key, items in buckets.items()
        }
        self._limit = limit
        self._seen: set[str] = set()
        self._relevant: set[str] = set()
        self._lock = threading.Lock()  # the compiled one runs under the GIL in one go

    def candidates(self, hay: str) -> list[tuple[int, str]]:
        if not hay.isascii():
            raise ValueError("candidates: text must be ASCII (normalised text)")
        toks = hay.split()
        words = set(toks)
        with self._lock:
            if len(self._seen) >= self._limit:
                self._seen, self._relevant = set(), set()
            for word in words.difference(self._seen):
                if self._examine(word):
                    self._relevant.add(word)
                self._seen.add(word)
            found = words.intersection(self._relevant)
        if not found:
            return []
        return [(i, toks[i]) for i in compress(count(), map(found.__contains__, toks))]

    def _examine(self, word: str) -> bool:
        bucket = self._buckets.get((word[0], len(word)))
        if bucket is None:
            return False
        words, budgets, highest = bucket
        return any(
            distance <= budgets[i]
            for _, distance, i in process.extract(
                word, words, scorer=Indel.distance, score_cutoff=highest, limit=None
            )
        )

    def clear(self) -> None:
        with self._lock:
            self._seen, self._relevant = set(), set()

    def __len__(self) -> int:
        return len(self._seen)


try:
    from bot._wordscan import WordFilter as _NativeWordFilter
    from bot._wordscan import hay as _native_hay
except ImportError:  # not built: no C compiler where it was installed
    NATIVE = False
    hay: Callable[[str], str] = py_hay
    WordFilter: Callable[..., WordFilterLike] = PyWordFilter
else:
    NATIVE = True
    hay = _native_hay
    WordFilter = _NativeWordFilter
