"""The matcher's per-character loops: the token string, token offsets and the first pass.

* :func:`hay` — the token string of normalised text: its ``[a-z0-9]`` runs
  joined by single spaces, with a space at both ends (the Aho-Corasick
  automaton's input; the spaces are the word boundaries). :func:`token_starts`
  — where each token starts, in the hay or the normalised text (int32 bytes).
* :class:`TokenIndex` — the first pass over an article's tokens, one lookup
  per token in a table of the words seen so far. For fuzzy entities: the
  tokens that may be misspellings of a one-word alias, and the grams around
  a token that may be a misspelling of a word of a longer alias and that line
  up with it. For exact keys: the *windows* of the text where a key can
  start, cut out and joined, so the Aho-Corasick automaton reads only those
  (with the bundled watchlists, 14 % of the sample pages' text).
  :class:`PyTokenIndex` says exactly what is reported. What it finds for a
  word is remembered, so a word is examined once (until ``limit`` words are
  remembered; then it starts afresh). The matcher gives the few tokens and
  grams it reports the full check with rapidfuzz. One scan at a time: the
  compiled one refuses a second caller (the matcher holds a lock).

All exist twice: compiled in ``bot/engine/_wordscan.c`` (built by ``pip install``;
a per-word lookup and a two-instruction letter-set test, so a news article's
words cost microseconds, not milliseconds) and here in Python, the
reference, used when the extension could not be built (no C compiler).
``tests/test_wordscan.py`` checks that the two agree. :data:`NATIVE` says
which one is in use.
"""

from __future__ import annotations

import threading
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import compress, count
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import Indel

from bot.engine.text import TOKEN_RE, flatten

AliasSpec = tuple[str, int, int]  # (normalised text, words, ratio cutoff)
Target = tuple[int, int, int]  # (alias id, place of the word in the alias or -1, budget)
WordSpec = tuple[str, int, list[Target]]  # (alias word, length window, its targets)
Singles = list[tuple[int, str]]  # (token index, token)
Grams = list[tuple[int, str, int]]  # (start token, gram, alias id)
# singles, grams, and the windows: the reduced text, the windows' starts in it and
# (offset in the hay - offset in the reduced text) for each, as native int64 (array "q")
Scan = tuple[Singles, Grams, str | None, bytes | None, bytes | None]
DEFAULT_LIMIT = 100_000
MAX_WINDOW = 255  # tokens; a longer exact key turns windows off


class TokenIndexLike(Protocol):
    def scan(self, hay: str, /) -> Scan: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


def py_hay(normalised: str) -> str:
    """The token string of normalised text (pure Python)."""
    return " " + " ".join(flatten(normalised).split()) + " "


def py_token_starts(normalised: str) -> bytes:
    """Offset of every token of normalised text, as native int32 (pure Python)."""
    return array("i", (m.start() for m in TOKEN_RE.finditer(normalised))).tobytes()


def gram_slack(n: int) -> int:
    """How much longer or shorter than a fuzzy alias of length ``n`` a gram may be (the C side has
    the same rule)."""
    return max(1, n // 5)


class PyTokenIndex:
    """The reference :class:`TokenIndex`.

    **Fuzzy.** A token is compared (rapidfuzz) with the alias words of its
    first letter whose length window holds its length; it is *near* a target
    (alias, place, budget) of such a word when their Indel distance is within
    the budget. ``scan`` reports the tokens near a one-word alias (place -1),
    and for a token near the word at ``place`` of a longer alias the gram of
    the alias's size that puts the token at that place, if it starts with the
    alias's first letter, its length is within :func:`gram_slack` of the alias's
    and ``100 * distance <= (100 - cutoff) * (len(gram) + len(alias))`` (the
    rapidfuzz ratio cutoff, in integers).

    **Windows.** ``starters`` are the first words of the exact keys with the
    most tokens of a key each starts, ``prefixes`` the prefixes of one-token
    wildcard keys. A token that is a starter, or begins with a prefix, opens a
    window over as many tokens; overlapping and touching windows merge. The
    reduced text is each window as it is in the hay (from the space before its
    first token to the space after its last) followed by ``|``, which is in
    no key: every key occurrence lies inside a window, so the automaton finds
    the same keys in the reduced text, at ``offset + delta`` of their window.
    When the windows are most of the hay (over 80 %), or none were asked for
    (no starters and no prefixes), ``None``: use the hay.
    """

    def __init__(
        self,
        aliases: Sequence[AliasSpec],
        words: Sequence[WordSpec],
        starters: Sequence[tuple[str, int]] | None = None,
        prefixes: Sequence[str] | None = None,
        limit: int = DEFAULT_LIMIT,
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
            if not 0 < len(word) <= 10_000 or not word.isascii() or not 0 <= reach <= 10_000:
                raise ValueError("a word needs 1-10000 ASCII characters, reach 0-10000")
            if not targets:
                raise ValueError("a word needs a target")
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
        self._starters: dict[str, int] = {}
        for word, tokens in starters or ():
            if not word or not word.isascii() or tokens < 1:
                raise ValueError("a starter needs a word and tokens >= 1")
            self._starters[word] = max(self._starters.get(word, 0), tokens)
        self._prefixes = set(prefixes or ())
        if not all(p and p.isascii() for p in self._prefixes):
            raise ValueError("a prefix needs ASCII text")
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._windows = (starters is not None or prefixes is not None) and all(
            t <= MAX_WINDOW for t in self._starters.values()
        )
        self._limit = limit
        self._memo: dict[str, tuple[bool, list[Target], int]] = {}
        self._lock = threading.Lock()  # the compiled one runs under the GIL in one go

    def scan(self, hay: str) -> Scan:
        if not hay.isascii():
            raise ValueError("scan: text must be ASCII (normalised text)")
        toks = hay.split()
        with self._lock:
            if len(self._memo) >= self._limit:
                self._memo = {}
            memo = self._memo
            for word in set(toks).difference(memo):
                # a word with no alias word of its first letter and length is near nothing:
                # only remembered for its windows
                fuzzy = (word[0], len(word)) in self._buckets
                if fuzzy or self._windows:
                    single, anchors = self._examine(word) if fuzzy else (False, [])
                    memo[word] = (single, anchors, self._starter_tokens(word))
        singles: Singles = []
        grams: Grams = []
        near = [bool(m and (m[0] or m[1])) for m in map(memo.get, toks)]
        for i in compress(count(), near):
            single, anchors, _ = memo[toks[i]]
            if single:
                singles.append((i, toks[i]))
            for ident, place, _ in anchors:
                gram = self._gram(toks, i - place, ident)
                if gram is not None:
                    grams.append((i - place, gram, ident))
        if not self._windows:
            return singles, grams, None, None, None
        return (singles, grams, *self._windows_of(hay, toks, memo))

    def _starter_tokens(self, word: str) -> int:
        tokens = self._starters.get(word, 0)
        if not tokens:
            for length in self._prefix_lengths:
                if length > len(word):
                    break
                if word[:length] in self._prefixes:
                    tokens = 1
                    break
        return min(tokens, MAX_WINDOW)

    def _windows_of(
        self, hay: str, toks: list[str], memo: dict[str, tuple[bool, list[Target], int]]
    ) -> tuple[str | None, bytes | None, bytes | None]:
        parts: list[str] = []
        starts: list[int] = []
        deltas: list[int] = []
        length = 0
        is_open, win_end, seg_start, last_end = False, 0, 0, 0

        def close() -> None:
            nonlocal length, is_open
            seg = hay[seg_start : min(last_end + 1, len(hay))]
            starts.append(length)
            deltas.append(seg_start - length)
            parts.append(seg + "|")
            length += len(seg) + 1
            is_open = False

        offset = 0
        for i, tok in enumerate(toks):
            start = hay.index(tok, offset)
            offset = end = start + len(tok)
            tokens = memo[tok][2]
            if tokens and is_open and i <= win_end:
                win_end = max(win_end, i + tokens)
            elif tokens:
                if is_open:
                    close()
                is_open, seg_start, win_end = True, max(start - 1, 0), i + tokens
            elif is_open and i >= win_end:
                close()
            if is_open and i < win_end:
                last_end = end
        if is_open:
            close()
        if length * 5 > len(hay) * 4:
            return None, None, None
        return "".join(parts), array("q", starts).tobytes(), array("q", deltas).tobytes()

    def _examine(self, word: str) -> tuple[bool, list[Target]]:
        texts, items, highest = self._buckets[(word[0], len(word))]
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
        if abs(len(gram) - len(text)) > gram_slack(len(text)):
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
    from bot.engine._wordscan import TokenIndex as _NativeTokenIndex
    from bot.engine._wordscan import hay as _native_hay
    from bot.engine._wordscan import token_starts as _native_token_starts
except ImportError:  # not built: no C compiler where it was installed
    NATIVE = False
    hay: Callable[[str], str] = py_hay
    token_starts: Callable[[str], bytes] = py_token_starts
    TokenIndex: Callable[..., TokenIndexLike] = PyTokenIndex
else:
    NATIVE = True
    hay = _native_hay
    token_starts = _native_token_starts
    TokenIndex = _NativeTokenIndex
