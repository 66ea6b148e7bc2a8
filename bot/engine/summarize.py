"""Extractive summaries and boilerplate removal for plain text and feeds.

HTML is cleaned at parse time by trafilatura; what reaches this module is
plain text, where publishers' appeals ("A Message from …: Dear readers, …
Remind me later."), cookie and newsletter notices still sit among the
sentences. They are removed line by line (strong markers) and as a trailing
block (an appeal's opening line, and everything after it, near the end of
the text). :class:`RepeatedLines` removes what repeats across many articles
of one source (sign-offs, bylines, "Read more" lines).

A summary is deterministic and needs no network: the lead sentence plus the
sentences that carry hits, in article order, within a character budget.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict, deque
from collections.abc import Sequence

from bot.engine.text import split_sentences
from bot.models import Article, Hit

PUSH_BUDGET = 300

_LINE_PATTERNS = [
    r"remind me later",
    r"^dear (readers?|friends|subscribers)[,!:.]?$",
    r"\b(please )?(support|donate to) (us|our (work|journalism|newsroom))\b",
    r"\bsupport (independent|quality|our) journalism\b",
    r"\b(make|making) a (one-off |monthly |small )?(contribution|donation)\b",
    r"\bbecome a (member|supporter|subscriber|patron)\b",
    r"\b(sign up|subscribe) (now |today )?(to|for) (our|the) (free )?(daily |weekly )?newsletters?\b",
    r"^(sign up|subscribe)( now| today)?[.!]?$",
    r"\bwe use cookies\b|\baccept (all )?cookies\b|\bcookie (policy|settings|preferences)\b",
    r"\bby (continuing|using this (site|website))\b.*\b(agree|consent)\b",
    r"^(advertisement|advertising|sponsored( content)?)$",
    r"^(share|share this( article| story)?|tweet|email|print)( on \w+)?:?$",
    r"^(follow us on|like us on|join us on)\b",
    r"^(read more|related|see also|more on this story|recommended)\s*[:»›>]",
    r"\ball rights reserved\b|^©|^copyright\b",
    r"^(skip to (main )?content|back to top|jump to navigation)$",
    r"\b(this|the) (article|story|content) is (only )?available (to|for) (subscribers|members)\b",
    r"\bturn off (your )?ad ?blocker\b|\bdisable (your )?ad ?block",
    r"\bif you (can|value)\b.*\b(support|contribut|donat)",
]
_LINE_RE = re.compile("|".join(f"(?:{p})" for p in _LINE_PATTERNS), re.IGNORECASE)

# Words without which a pattern of _LINE_PATTERNS (same order) cannot match: a line is
# searched only with the patterns whose words it holds. Almost no line of news holds
# any, and one alternation of 19 patterns tried at every position of every line was
# the most expensive step of reading a short item. Compared with the line as
# :func:`_folded` gives it (checked over every code point by tests/test_summarize.py).
_LINE_WORDS: list[tuple[str, ...]] = [
    ("remind me later",),
    ("dear",),
    ("support", "donate to"),
    ("support",),
    ("contribution", "donation"),
    ("become a",),
    ("newsletter",),
    ("sign up", "subscribe"),
    ("cookie",),
    ("agree", "consent"),
    ("advertis", "sponsored"),
    ("share", "tweet", "email", "print"),
    ("us on",),
    ("read more", "related", "see also", "more on this story", "recommended"),
    ("all rights reserved", "©", "copyright"),
    ("skip to", "back to top", "jump to navigation"),
    ("available",),
    ("block",),
    ("if you",),
]
_LINE_CHECKS = [
    (words, re.compile(pattern, re.IGNORECASE))
    for words, pattern in zip(_LINE_WORDS, _LINE_PATTERNS, strict=True)
]
_ALL_LINE_WORDS = tuple(sorted({word for words in _LINE_WORDS for word in words}))


def _folded(line: str) -> str:
    """``line`` in lower case, with the non-ASCII letters that ``re.IGNORECASE`` equates
    with an ASCII one (İ ı ſ K) made that letter, so a pattern's words are found in it."""
    lowered = line.lower()  # K (Kelvin) -> k; İ -> i + combining dot
    if line.isascii():
        return lowered
    return lowered.replace("i\u0307", "i").replace("\u0131", "i").replace("\u017f", "s")

_BLOCK_OPENERS = re.compile(
    r"^(a (message|note|letter) from (the )?[\w .'&-]{2,60}:?"
    r"|dear (readers?|friends|subscribers),?"
    r"|before you go\b.*"
    r"|(we|you) need your (help|support)\b.*"
    r"|support (us|our work|independent journalism)\b.*"
    r"|thank you for reading\b.*"
    r"|(sign up|subscribe) for (our|the) newsletter\b.*)$",
    re.IGNORECASE,
)
BLOCK_TAIL_SHARE = 0.5  # an appeal block must start in the last half of the text


MAX_BOILERPLATE_LINE = 2_000  # characters: a longer line is text, not a notice


def is_boilerplate_line(line: str) -> bool:
    """A publisher's notice. A line of more than ``MAX_BOILERPLATE_LINE``
    characters never is one (and is not searched: a page of one 17 MB line
    would cost seconds of regex for nothing)."""
    stripped = line.strip()
    if not 0 < len(stripped) <= MAX_BOILERPLATE_LINE:
        return False
    folded = _folded(stripped)
    for word in _ALL_LINE_WORDS:  # nearly every line holds none: one loop of `in`, no regex
        if word in folded:
            break
    else:
        return False
    return any(
        pattern.search(stripped) is not None
        for words, pattern in _LINE_CHECKS
        if any(word in folded for word in words)
    )


def clean_text(text: str) -> str:
    """``text`` without publisher appeals, cookie and newsletter notices."""
    lines = text.splitlines()
    lines = _cut_trailing_block(lines)
    kept = [line for line in lines if not is_boilerplate_line(line)]
    return "\n".join(kept).strip()


def _cut_trailing_block(lines: list[str]) -> list[str]:
    total = sum(len(line) + 1 for line in lines) or 1
    seen = 0
    for i, line in enumerate(lines):
        if seen / total >= 1 - BLOCK_TAIL_SHARE and _BLOCK_OPENERS.match(line.strip()):
            return lines[:i]
        seen += len(line) + 1
    return lines


class RepeatedLines:
    """Lines that recur across many recent articles of one source are boilerplate.

    ``observe`` each article's text as it arrives; ``clean`` drops lines seen
    in at least ``min_articles`` of the last ``window`` articles of that source.
    """

    def __init__(self, window: int = 200, min_articles: int = 3, min_len: int = 12):
        self.window = window
        self.min_articles = min_articles
        self.min_len = min_len
        self._recent: dict[str, deque[frozenset[str]]] = defaultdict(deque)
        self._counts: dict[str, Counter[str]] = defaultdict(Counter)

    @staticmethod
    def _key(line: str) -> str:
        return " ".join(line.split()).casefold()

    def observe(self, source: str, text: str) -> None:
        lines = frozenset(
            self._key(line) for line in text.splitlines() if len(line.strip()) >= self.min_len
        )
        recent = self._recent[source]
        counts = self._counts[source]
        recent.append(lines)
        counts.update(lines)
        if len(recent) > self.window:
            counts.subtract(recent.popleft())

    def is_repeated(self, source: str, line: str) -> bool:
        return self._counts[source][self._key(line)] >= self.min_articles

    def clean(self, source: str, text: str) -> str:
        return "\n".join(
            line for line in text.splitlines() if not self.is_repeated(source, line)
        ).strip()


def summary_sentences(article: Article) -> list[tuple[int, int]]:
    """The sentences a summary of ``article`` is made of (not one that repeats the title).

    The same for every alert of the article: :func:`bot.engine.analyse.analyse` finds
    them once and passes them to each :func:`summarize`.
    """
    text = article.text
    spans = split_sentences(text)
    if not spans:
        return []
    title_key = _key(article.title)
    return [s for s in spans if _key(text[s[0] : s[1]]) != title_key] or spans


def summarize(
    article: Article,
    hits: Sequence[Hit] = (),
    budget: int = PUSH_BUDGET,
    sentences: list[tuple[int, int]] | None = None,
) -> str:
    """Lead sentence plus hit-bearing sentences, in article order, within ``budget`` chars.

    ``sentences``: :func:`summary_sentences` of ``article``, when the caller has them.
    """
    text = article.text
    spans = summary_sentences(article) if sentences is None else sentences
    if not spans:
        return _shorten(article.title, budget)
    weight: Counter[int] = Counter()
    starts = [start for start, _ in spans]  # sorted and disjoint: one bisection per hit
    for hit in hits:
        if hit.field != "text":
            continue
        i = bisect_right(starts, hit.start) - 1
        if i >= 0 and hit.start < spans[i][1]:
            weight[i] += 1
    chosen = [0]
    used = len(_flat(text, spans[0]))
    ranked = sorted(weight, key=lambda i: (-weight[i], i))
    for i in ranked:
        if i in chosen:
            continue
        length = len(_flat(text, spans[i])) + 1
        if used + length <= budget:
            chosen.append(i)
            used += length
    parts = [_flat(text, spans[i]) for i in sorted(chosen)]
    return _shorten(" ".join(parts), budget)


def _flat(text: str, span: tuple[int, int]) -> str:
    return " ".join(text[span[0] : span[1]].split())


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().casefold()


def _shorten(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    cut = text[: budget - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"
