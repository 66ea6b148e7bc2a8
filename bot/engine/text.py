"""The one normaliser: text and watchlist patterns both go through here.

Normalising is NFKC, casefold, transliteration of every script to Latin
(anyascii), diacritics folded, lower case. The result is pure ASCII, so the
same alias written in Cyrillic, Latin with diacritics or plain Latin meets
in one form (``Лукашенко`` → ``lukashenko``). Offsets of the normalised text
map back to the original, so evidence is shown exactly as it was written.
"""

from __future__ import annotations

import codecs
import operator
import re
import unicodedata
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache

from anyascii import anyascii

TOKEN_RE = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).casefold()
    return anyascii(folded).lower()


@dataclass(frozen=True)
class NormText:
    """A normalised string with a map back to the original.

    ``index_map[i]`` is the index in ``original`` of the character that
    produced normalised character ``i``; ``None`` means the identity: the
    original was ASCII (the common case, lower-casing keeps every offset), or
    each of its non-ASCII characters became one character (“quotes”, ’, —,
    é, ü). Otherwise the map is made the first time an offset is asked for.
    """

    original: str
    text: str
    identity: bool = True

    @cached_property
    def index_map(self) -> array | None:
        return None if self.identity else _index_map(self.original)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) span to the original text."""
        index_map = self.index_map
        if index_map is None:
            return start, end
        if end <= start:
            pos = index_map[start] if start < len(index_map) else len(self.original)
            return pos, pos
        return index_map[start], index_map[end - 1] + 1


_NON_ASCII_SPLIT = re.compile(r"([^\x00-\x7f]+)")  # ASCII, run, ASCII, run, ..., ASCII
_FOLDED = operator.itemgetter(0)
_ONE_TO_ONE = operator.itemgetter(1)
# every ASCII character that is not part of a token becomes a space (see split_tokens)
_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isdigit() or "a" <= chr(c) <= "z")}
)


@lru_cache(maxsize=65536)
def _fold_run(run: str) -> tuple[str, bool]:
    """A run of non-ASCII characters folded one by one; True if each became one character."""
    folded = [_fold_char(char) for char in run]
    return "".join(folded), all(len(f) == 1 for f in folded)


def _fold_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a run of non-ASCII characters, folded (see :func:`normalise`)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    folded, one_to_one = _fold_run(exc.object[exc.start : exc.end])
    return (folded if one_to_one else folded + _MARK), exc.end


_MARK = "\x00"  # follows a run whose folding changed its length
_FOLD = "alertbot.fold"
codecs.register_error(_FOLD, _fold_errors)


_PROBE = 256  # characters looked at to choose how to fold (see normalise)


def normalise(text: str) -> NormText:
    """Normalise ``text`` for matching, keeping a map back to the original.

    Two ways to the same result: the ASCII codec with an error handler that
    folds each run of other characters (fastest when they are a few quotes,
    dashes and accents), or splitting the text into runs and folding them all
    in one ``map`` (fastest for Cyrillic and other scripts, where every word
    is a run). The first characters decide.
    """
    if text.isascii():
        return NormText(text, text.lower())
    probe = text[:_PROBE]
    mostly_other = 4 * (len(probe) - len(probe.encode("ascii", "ignore"))) > len(probe)
    if not mostly_other and _MARK not in text:
        # The ASCII encoder copies the ASCII text in C and calls _fold_errors once per
        # run of other characters (news has a few dozen: quotes, dashes, accents).
        folded = text.encode("ascii", _FOLD).decode("ascii")
        if _MARK not in folded:
            return NormText(text, folded.lower())
        return NormText(text, folded.replace(_MARK, "").lower(), identity=False)
    parts = _NON_ASCII_SPLIT.split(text)
    runs = list(map(_fold_run, parts[1::2]))
    parts[1::2] = map(_FOLDED, runs)
    # the folded runs are lower-case ASCII already: lower() only changes the ASCII text
    return NormText(text, "".join(parts).lower(), all(map(_ONE_TO_ONE, runs)))


_IDENTITY = array("l", range(1 << 16))  # _IDENTITY[i] == i: ASCII stretches are slices of it


def _identity(n: int) -> array:
    """An identity array of at least ``n`` items (grown, and kept, for longer texts)."""
    global _IDENTITY
    identity = _IDENTITY
    if len(identity) < n:
        identity = _IDENTITY = array("l", range(max(n, 2 * len(identity))))
    return identity


def _index_map(text: str) -> array:
    """For each character of ``normalise(text).text``, the index in ``text`` it comes from."""
    identity = _identity(len(text))
    index_map = array("l")
    pos = 0
    for i, part in enumerate(_NON_ASCII_SPLIT.split(text)):
        if i % 2 == 0:  # ASCII: one character each, copied from the identity
            index_map.extend(identity[pos : pos + len(part)])
        else:
            index_map.extend(map(pos.__add__, _run_sources(part)))
        pos += len(part)
    return index_map


@lru_cache(maxsize=65536)
def _run_sources(run: str) -> tuple[int, ...]:
    """For each character a run of non-ASCII characters folds to, the index in the run it
    comes from (the same words come back: cached, like :func:`_fold_run`)."""
    return tuple(k for k, char in enumerate(run) for _ in _fold_char(char))


def flatten(normalised: str) -> str:
    """Normalised text with a space for every character that is not part of a token."""
    return normalised.translate(_SEPARATORS)


def split_tokens(normalised: str) -> list[str]:
    """``TOKEN_RE.findall(normalised)`` for normalised (ASCII, lower-case) text, in C."""
    return flatten(normalised).split()


def normalise_str(text: str) -> str:
    """Only the normalised string (for patterns, names and lookups)."""
    return normalise(text).text


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text``: the unit every pattern is made of."""
    return split_tokens(normalise_str(text))


def search_words(text: str) -> str:
    """``text`` as the search index holds it: its normalised tokens, one space apart.

    The full-text indexes read this, not the text as written, so a search
    folds scripts and diacritics exactly as the matcher does (``Лукашенко``
    and ``Lukashenko`` are one word, ``Cichanoŭskaja`` is ``cichanouskaja``).
    """
    return " ".join(tokens(text))


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
# A sentence ends at a run of ``. ! ? …`` (with closing quotes) before white space and a
# capital or a digit, or at a line break. Written to start with one character class, which
# lets the regex engine skip to the candidates instead of trying every position.
_SENTENCE_END = re.compile(
    r"[.!?…\n](?:(?<=\n)\s*|(?<!\n)[.!?…]*[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-ZА-ЯЁІЇЄҐ0-9]))"
)


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


_CLAUSE_STOP = r";|(?<!\d):|:(?!\d)|(?<=\s)[-–—](?=\s)"  # ends a clause: see split_clauses
_QUESTION_END = re.compile(r"\?[\"'”’)\]]*$")
_QUESTION_STOP = re.compile(_CLAUSE_STOP)
_WH_OPENING = re.compile(
    r"[\"'“‘(\[]*(?!what\s+if\b)(?:what|why|how|who|whom|whose|which|when|where)\b", re.IGNORECASE
)


def is_yes_no_question(sentence: str) -> bool:
    """Whether ``sentence`` asks a yes/no question ("Will Russia send troops?",
    "Troops to stay in Iraq?"): it ends in ``?`` and its last clause (after a
    ``;``, ``:`` or spaced dash, so "Ukraine war: will…?" counts) does not open
    with a question word. A question word presupposes the event ("Why is the US
    deploying warships?" says it is deploying them); a yes/no question only asks
    whether it happens, like a hedge. "What if…?" is a yes/no question.
    """
    text = sentence.rstrip()
    if not _QUESTION_END.search(text):
        return False
    last = _QUESTION_STOP.split(text)[-1].lstrip()
    return not _WH_OPENING.match(last)


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


_SAFE = re.compile(r"[^\W_]")  # a letter or digit: never part of a sentence end


def sentence_span(text: str, offset: int) -> tuple[int, int] | None:
    """``sentence_for(split_sentences(text), offset)``, reading only the text around ``offset``.

    Sentence ends are found from a letter or digit before ``offset`` (a
    sentence end never contains one, so the regex finds there what it finds
    reading the whole text), a little further back each time until one is
    before ``offset``; then up to the first one after it.
    """
    lo, step = offset, 256
    while True:
        lo = max(0, lo - step)
        step *= 2
        scan_from = 0
        if lo > 0:
            safe = _SAFE.search(text, lo, max(lo, offset))
            if safe is None:
                continue
            scan_from = safe.start()
        start = 0 if scan_from == 0 else -1
        end = len(text)
        for m in _SENTENCE_END.finditer(text, scan_from):
            if not m.group().startswith("\n") and _ends_with_abbreviation(text, m.start()):
                continue
            if m.end() > offset:
                end = m.end()
                break
            start = m.end()
        if start >= 0:
            break
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return None
    first = start + len(chunk) - len(chunk.lstrip())
    last = first + len(stripped)
    return (first, last) if first <= offset < max(last, first + 1) else None


def sentence_for(spans: list[tuple[int, int]], offset: int) -> tuple[int, int] | None:
    """The sentence span that contains ``offset``, if any."""
    starts = [s for s, _ in spans]
    i = bisect_right(starts, offset) - 1
    if i >= 0 and spans[i][0] <= offset < max(spans[i][1], spans[i][0] + 1):
        return spans[i]
    return None


LEAD_CHARS = 300  # the lead: whole sentences up to about this many characters ...
LEAD_MAX = 2 * LEAD_CHARS  # ... and never more than this, even when the first sentence is longer


def lead_end(text: str, limit: int = LEAD_CHARS) -> int:
    """End (an offset into ``text``) of the lead: the first sentences, up to ``limit``
    characters but whole, and at least one.

    A first sentence longer than ``2 * limit`` (or a text without sentence ends)
    is cut at the last space before that: the lead stays short whatever the text.
    Reads only the first ``2 * limit`` characters.
    """
    window = text[: 2 * limit]
    spans = split_sentences(window)
    if not spans:
        return 0
    cut = len(window) < len(text)  # the window's last sentence may go on beyond it
    end = 0
    for _first, last in spans:
        if last > limit or (cut and last >= len(window)):
            break
        end = last
    if end:
        return end
    first, last = spans[0]
    if not cut or last < len(window):
        return last
    space = window.rfind(" ", first)
    return space if space > first else len(window)


# --- clauses ---------------------------------------------------------------

# A clause ends at ";", at ":" (not one between digits: 10:30, 3:1) and at a dash with white
# space around it; the other alternative is a word (letters and digits, as the matcher's tokens).
_CLAUSE_PART = re.compile(rf"(?P<stop>{_CLAUSE_STOP})|[^\W_]+")
_CONJUNCTIONS = frozenset(["as", "while", "whereas", "but", "although", "though"])
# "as" is a preposition or part of a comparison after these words ...
_AS_NOT_AFTER = frozenset(
    [
        "such",
        "well",
        "so",
        "same",
        "seen",
        "known",
        "regarded",
        "described",
        "served",
        "acts",
        "acting",
        "just",
    ]
)
# ... and before these ("as a", "as soon as", "as part of", "as if", "as usual")
_AS_NOT_BEFORE = frozenset(
    [
        "a",
        "an",
        "well",
        "soon",
        "long",
        "far",
        "many",
        "much",
        "few",
        "early",
        "late",
        "part",
        "of",
        "to",
        "for",
        "if",
        "though",
        "usual",
    ]
)
_BUT_NOT_AFTER = frozenset(["all", "nothing", "anything"])  # "all but", "nothing but"


def _starts_clause(word: str, before: str, before2: str, after: str, not_only: bool) -> bool:
    """Whether the conjunction ``word`` (lower case) starts a clause, given the words
    before it (``before2 before word after``, "" where there is none) and whether a
    "not only" waits for its "but" in this sentence."""
    if word == "as":
        return not (
            before in _AS_NOT_AFTER
            or after in _AS_NOT_BEFORE
            or before2 == "as"  # the second "as" of "as many as", "as soon as", "as far as"
        )
    if word == "but":
        return not (not_only or before in _BUT_NOT_AFTER)
    if word == "though":
        return before != "as"  # "as though": one conjunction, and "as" does not split there
    return True


def split_clauses(text: str) -> list[tuple[int, int]]:
    """Clause spans of ``text`` (original offsets), stripped of outer space.

    Each sentence of :func:`split_sentences` is cut further at ``;``, at ``:``
    (not between two digits) and at a dash with white space on both sides
    (`` - ``, `` – ``, `` — ``), and before the conjunctions ``as``, ``while``,
    ``whereas``, ``but``, ``although`` and ``though`` (any case), which start
    the new clause: "troops appear in the city | as the mayor rejects it". Not
    where the word is not a conjunction:

    - ``as`` after ``such``, ``well`` (``as well as``), ``so``, ``same``,
      ``seen``, ``known``, ``regarded``, ``described``, ``served``, ``acts``,
      ``acting`` or ``just``; before ``a``, ``an``, ``well``, ``soon``,
      ``long``, ``far``, ``many``, ``much``, ``few``, ``early``, ``late``,
      ``part``, ``of``, ``to``, ``for``, ``if``, ``though`` or ``usual``; and
      the second ``as`` of ``as many as`` (two words after an ``as``);
    - ``but`` after ``all``, ``nothing`` or ``anything``, and the first
      ``but`` after a ``not only`` in the same sentence;
    - ``though`` after ``as`` (``as though`` does not split at all).

    The words before and after are the neighbouring words of the same clause
    (a ``;`` or dash between them starts afresh). One pass over the text.
    """
    spans: list[tuple[int, int]] = []
    for first, last in split_sentences(text):
        start = first
        before2 = before = ""
        not_only = False
        parts = list(_CLAUSE_PART.finditer(text, first, last))
        for i, m in enumerate(parts):
            if m.lastgroup == "stop":
                _append_span(spans, text, start, m.end())
                start = m.end()
                before2 = before = ""
                continue
            word = m.group().lower()
            if word in _CONJUNCTIONS:
                nxt = parts[i + 1] if i + 1 < len(parts) else None
                after = "" if nxt is None or nxt.lastgroup == "stop" else nxt.group().lower()
                if _starts_clause(word, before, before2, after, not_only):
                    _append_span(spans, text, start, m.start())
                    start = m.start()
                if word == "but":
                    not_only = False
            elif word == "only" and before == "not":
                not_only = True
            before2, before = before, word
        _append_span(spans, text, start, last)
    return spans
