"""Keyword suggestions for misses: words and phrases common in the missed items, rare in the rest.

The missed items are what the rules should have caught (``missed`` in chat,
false negatives of a labelled file); "the rest" is what the watchlist sees
otherwise (recent articles, or the file's other items). A candidate is a
word (three letters or more, not a stop word, not a number) or a two-word
phrase of such words, counted once per item. It is offered when at least
:data:`MIN_MISSED_ITEMS` missed items have it and it is at most half as
common in the rest; candidates are ranked by how much more common they are
in the misses (share in the misses minus share in the rest). Terms the
watchlist already has are left out, and a word is dropped for a phrase that
holds it and is found in as many misses (the phrase is the safer keyword).
Linear in the text read (each item cut to :data:`~bot.limits.SUGGEST_TEXT_CHARS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.engine.text import normalise_str, split_tokens
from bot.engine.watchlist import Watchlist
from bot.limits import SUGGEST_MAX_ITEMS, SUGGEST_SHOWN, SUGGEST_TEXT_CHARS

MIN_MISSED_ITEMS = 2  # a word of one missed story is that story's, not the topic's
MAX_REST_RATIO = 0.5  # at most this share of its share in the misses, in the rest

_STOP_TEXT = """
    a about above after again against all also am an and any are around as at be because been
    before being below between both but by can could did do does doing down during each even
    ever every few for from further had has have having he her here hers herself him himself his
    how however i if in into is it its itself just last least less like made make many may me
    more most much must my myself near new next no nor not now of off often on once one only or
    other others our ours ourselves out over own per said same say says see she should since so
    some still such than that the their theirs them themselves then there these they this those
    though three through thus to today too two under until up upon us very via was we week were
    what when where whether which while who whom whose why will with within without would year
    years yesterday yet you your yours yourself mr mrs ms told according reported report reports
    news least including include includes another among already across
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True)
class Suggestion:
    term: str  # normalised words, as the matcher reads them
    missed: int  # missed items that have it
    of_missed: int
    rest: int  # items of the rest that have it
    of_rest: int


def _candidates(text: str) -> set[str]:
    words = split_tokens(normalise_str(text[:SUGGEST_TEXT_CHARS]))
    good = [len(w) >= 3 and w not in STOP_WORDS and not w.isdigit() for w in words]
    out = {w for w, ok in zip(words, good, strict=True) if ok}
    for i in range(len(words) - 1):
        if good[i] and good[i + 1]:
            out.add(f"{words[i]} {words[i + 1]}")
    return out


def known_terms(wl: Watchlist | None) -> tuple[set[str], list[str]]:
    """The watchlist's terms, normalised: exact ones, and the stems of ``word*`` prefixes."""
    exact: set[str] = set()
    prefixes: list[str] = []
    if wl is None:
        return exact, prefixes
    raw: list[str] = [k.term for k in wl.keywords]
    for ent in wl.entities:
        raw += ent.all_names
    for name in wl.groups:
        raw += [k.term for k in wl.group(name) or []]
    for lex in wl.lexicons:
        for terms in lex.groups.values():
            raw += [k.term for k in terms]
    for term in raw:
        norm = " ".join(split_tokens(normalise_str(term.rstrip("*"))))
        if not norm:
            continue
        if term.endswith("*") and " " not in norm:
            prefixes.append(norm)
        else:
            exact.add(norm)
    return exact, prefixes


def suggest(
    missed: Sequence[str],
    rest: Sequence[str],
    wl: Watchlist | None = None,
    limit: int = SUGGEST_SHOWN,
) -> list[Suggestion]:
    """The best keyword candidates for ``missed`` against ``rest`` (texts: headline + body)."""
    missed = missed[:SUGGEST_MAX_ITEMS]
    rest = rest[:SUGGEST_MAX_ITEMS]
    if len(missed) < MIN_MISSED_ITEMS:
        return []
    in_missed = _document_counts(missed)
    in_rest = _document_counts(rest)
    exact, prefixes = known_terms(wl)
    n_m, n_r = len(missed), max(len(rest), 1)
    scored: list[tuple[float, Suggestion]] = []
    for term, m in in_missed.items():
        if m < MIN_MISSED_ITEMS or term in exact:
            continue
        if " " not in term and any(term.startswith(p) for p in prefixes):
            continue
        r = in_rest.get(term, 0)
        share_m, share_r = m / n_m, r / n_r
        if share_r > share_m * MAX_REST_RATIO:
            continue
        scored.append((share_m - share_r, Suggestion(term, m, n_m, r, len(rest))))
    scored.sort(key=lambda s: (-s[0], -s[1].missed, -len(s[1].term.split()), s[1].term))
    phrases = [s for _, s in scored if " " in s.term]
    out: list[Suggestion] = []
    for _, s in scored:
        if " " not in s.term and any(
            s.term in p.term.split() and p.missed >= s.missed for p in phrases
        ):
            continue  # a phrase holding it is in as many misses
        out.append(s)
        if len(out) == limit:
            break
    return out


def _document_counts(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_candidates(text))
    return counts


def add_command(watchlist: str, s: Suggestion) -> str:
    return f"add {watchlist} keyword {s.term}"
