"""Compile every watchlist into one index and match articles against it.

How it works, and why it is fast:

* Each term (entity alias, keyword, rule word) is normalised by the same
  normaliser as the text and becomes a key of one Aho-Corasick automaton
  over the article's *token string*: the normalised tokens joined by single
  spaces, with a space at both ends. An exact term is the key
  ``" tok1 tok2 "``, a wildcard ``deploy*`` is ``" deploy"``: the spaces are
  the word boundaries, so ``border`` never matches ``borderline`` and a phrase
  matches across line breaks and punctuation runs. One pass over the article
  finds every term of every watchlist, so the cost grows with the article's
  length, not with the number of watchlists × terms. The automaton reads only
  the *windows* of the token string where a key can start, which the
  compiled first pass (:class:`bot.engine.wordscan.TokenIndex`) cuts out in the same
  per-token lookup it makes for fuzzy entities.
* A hit is kept as (end in the token string, key id), once, however many
  watchlists share the key. Which watchlists a key concerns, and in which
  role (entity or keyword side of the default rule, or a rule term), is a
  bitmask per key made at compile time, so the default rule of every
  watchlist is a few integer ORs and one AND per article. Token positions,
  original offsets and :class:`Hit` objects are only made for the
  watchlists that have a rule to evaluate or that fired.
* Fuzzy entities (``fuzzy: 90``) are checked with rapidfuzz's ``ratio`` (an
  edit-distance score, so a short prefix like ``Lukas`` scores low against
  ``Lukashenko``) against the aliases with the same word count and first
  letter and a similar length. Which words and grams get that check is
  decided by a compiled first pass (:class:`bot.engine.wordscan.TokenIndex`): a
  word is compared once per matcher with the words of the fuzzy aliases; a
  word near a one-word alias gets the full check, and a word near a word of
  a longer alias proposes the gram around it (:meth:`Matcher._index_probes`
  says what this finds and what not). Words already seen cost a hash lookup.
"""

from __future__ import annotations

import logging
import math
import operator
import threading
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, reduce
from itertools import chain
from typing import Literal

import ahocorasick
from rapidfuzz import fuzz, process

from bot.engine import rules
from bot.engine.text import (
    LEAD_MAX,
    NormText,
    is_yes_no_question,
    lead_end,
    normalise,
    sentence_span,
    split_clauses,
    split_sentences,
    split_tokens,
    tokens,
)
from bot.engine.watchlist import Watchlist
from bot.engine.wordscan import TokenIndex, gram_slack, hay, token_starts
from bot.limits import MAX_HITS_KEPT_PER_TERM, MAX_MATCH_CHARS, MAX_TERM_CHARS, MAX_TERM_WORDS
from bot.models import Article, Hit, Match, TermKind, TermScore, Zone

BODY_OFFSET = 1_000_000  # body token positions start here, so NEAR never spans title and body
MAX_HITS_PER_TERM = MAX_HITS_KEPT_PER_TERM  # hits kept as evidence per term (all count in score_parts)
MAX_SENTENCE_CHARS = 1_000  # a longer "sentence" is shown as the words around the hit
SENTENCE_CONTEXT = 200  # characters each side of the hit then
MIN_FUZZY_LEN = 4
FIRST_PASS_WORDS = 100_000  # words the fuzzy first pass remembers (~4 MB), then afresh
FUZZY_CACHE_WORDS = 20_000  # words it reported, remembered with their full check
FUZZY_CACHE_GRAMS = 50_000  # multi-word grams remembered with their fuzzy candidates
TITLE_BASE = 0.5
LEAD_BASE = 0.4
BODY_BASE = 0.3
LONG_BODY = 1_500  # characters: the body evidence of a longer article counts less ...
MIN_LENGTH_FACTOR = 0.3  # ... down to this share of BODY_BASE
DEEP_AFTER = 1_500  # characters: a term first found in the body after this ...
DEEP_FACTOR = 0.6  # ... counts this much less again
REPEAT_BONUS = 0.05
MAX_REPEAT_BONUS = 3

Slot = tuple[int, str]  # (watchlist index, term key inside that watchlist)
ExactHit = tuple[int, int]  # (index of the key's last character in the hay, key id)
FuzzyHit = tuple[int, "FuzzyAlias", float]  # (first token, alias, score)
_KEY_ID = operator.itemgetter(1)
_PLACE = operator.itemgetter(0, 1)  # (token start, token end) of a hit

log = logging.getLogger(__name__)


class CompileError(ValueError):
    """A watchlist the matcher cannot hold; ``str()`` is one line, ``watchlist`` its name.

    :mod:`bot.engine.watchlist` refuses such terms when a watchlist is read;
    this is the matcher's own guard (the automaton crashes the process on a
    key of a few hundred thousand characters), for a watchlist made otherwise.
    """

    def __init__(self, watchlist: str, message: str) -> None:
        self.watchlist = watchlist
        super().__init__(f"watchlist {watchlist}: {message}")


@dataclass(frozen=True)
class Pattern:
    """A normalised term: its tokens, and whether the last one is a prefix."""

    toks: tuple[str, ...]
    prefix: bool

    @property
    def key(self) -> str:
        return " " + " ".join(self.toks) + ("" if self.prefix else " ")

    @classmethod
    def from_text(cls, text: str) -> Pattern:
        raw = text.strip()
        prefix = raw.endswith("*")
        toks = tuple(tokens(raw.rstrip("*")))
        return cls(toks, prefix and bool(toks))


@dataclass
class TermInfo:
    """One term of one watchlist, as reported in hits and scores."""

    label: str
    kind: TermKind
    weight: float = 1.0
    entity: str | None = None  # the entity name when the term is an entity alias


@dataclass
class CompiledWatchlist:
    watchlist: Watchlist
    terms: dict[str, TermInfo] = field(default_factory=dict)
    keys_by_rule_term: dict[rules.Term, frozenset[str]] = field(default_factory=dict)
    # the inverse: the rule terms each key serves (a rule's spans in one pass over the hits)
    rule_terms_by_key: dict[str, tuple[rules.Term, ...]] = field(default_factory=dict)
    entity_keys: list[str] = field(default_factory=list)
    keyword_keys: list[str] = field(default_factory=list)
    evidence_keys: set[str] = field(default_factory=set)  # terms whose hits are evidence
    # evidence keys the rule uses only inside title:: their hits count in the headline only
    title_only_keys: set[str] = field(default_factory=set)
    weights: dict[tuple[str, TermKind], float] | None = None  # made by score_parts
    uses_lead: bool = False  # the rule has lead: or top: (the lead's tokens are then needed)


class Occurrence:
    """A term found in one field of the article: its token span, and (worked out
    when asked, for the few hits kept) its offsets in the original field text.

    A dense page has 10⁵ occurrences: the rules need only their token spans.
    """

    __slots__ = ("key", "ft", "tok_start", "tok_end", "fuzzy_score")

    def __init__(
        self, key: str, ft: _FieldText, tok_start: int, tok_end: int, fuzzy_score: float | None
    ) -> None:
        self.key = key
        self.ft = ft
        self.tok_start = tok_start  # position in the combined title/body token space
        self.tok_end = tok_end
        self.fuzzy_score = fuzzy_score

    @property
    def field(self) -> Literal["title", "text"]:
        return self.ft.field

    def original_span(self) -> tuple[int, int]:
        """Offsets into the original field text."""
        offset = self.ft.pos_offset
        return self.ft.original_span(self.tok_start - offset, self.tok_end - offset)


@dataclass
class _Roles:
    """Watchlists (bitmasks of their indices) that a key or fuzzy alias concerns."""

    entity: int = 0  # default rule: counts as the entity side
    keyword: int = 0  # default rule: counts as the keyword side
    rule: int = 0  # watchlists with a rule that has this term

    def add(self, other: _Roles) -> None:
        self.entity |= other.entity
        self.keyword |= other.keyword
        self.rule |= other.rule


@dataclass
class FuzzyAlias:
    text: str  # normalised alias, tokens joined by a space
    cutoff: int
    slots: list[Slot]
    size: int = 1  # words
    ident: int = 0  # index in Matcher._aliases
    roles: _Roles = field(default_factory=_Roles)

    @property
    def budget(self) -> int:
        """Most insertions + deletions a gram of a similar length can need and still score ≥ cutoff.

        ``ratio`` is ``100 * (1 - distance / (len(gram) + len(alias)))`` and a
        gram is at most ``gram_slack(alias)`` characters longer than the alias.
        """
        n = len(self.text)
        return (100 - self.cutoff) * (2 * n + gram_slack(n)) // 100


@dataclass
class FuzzyChoices:
    texts: list[str]
    lowest: int  # the lowest cutoff among the aliases
    aliases: list[FuzzyAlias]


@dataclass
class _FuzzyCache:
    """The full checks of what the first pass reported, by word and gram (grows, then afresh).

    ``single[word]``: the one-word aliases ``word`` is a fuzzy match of, with
    scores; ``grams[gram]``: the same for a multi-word gram. Only what the
    first pass (:class:`bot.engine.wordscan.TokenIndex`) reports gets here.
    """

    single: dict[str, list[tuple[FuzzyAlias, float]]] = field(default_factory=dict)
    grams: dict[str, list[tuple[FuzzyAlias, float]]] = field(default_factory=dict)


@dataclass
class _Scan:
    """Everything found in one article, before any watchlist is looked at."""

    fields: tuple[_FieldText, _FieldText]
    exact: tuple[list[ExactHit], list[ExactHit]]  # per field, in the automaton's order
    fuzzy: tuple[list[FuzzyHit], list[FuzzyHit]]  # per field, in the order they were found
    fired: int  # watchlists whose default rule holds (bitmask)
    rule: int  # watchlists with a rule and at least one of its terms found (bitmask)


class _FieldText:
    """One field of an article: normalised text, tokens and their positions.

    ``hay`` is the tokens joined by single spaces, with a space at both ends,
    for the automaton (:func:`bot.engine.wordscan.hay`). Where each token starts, in
    the hay and in the normalised text, is worked out (in C) only for a field
    where a hit becomes an occurrence.
    """

    def __init__(self, original: str, field_name: Literal["title", "text"], pos_offset: int):
        self.field = field_name
        self.norm: NormText = normalise(original)
        self.hay = hay(self.norm.text)
        self.pos_offset = pos_offset
        self._sentences: list[tuple[int, int]] = []  # shown so far, sorted, disjoint
        self._shown_starts: list[int] = []
        # where the automaton read only windows of the hay: their starts in what it read,
        # and (offset in the hay - offset in what it read) for each, as int64 bytes
        self.windows: tuple[bytes, bytes] | None = None

    @property
    def empty(self) -> bool:
        return len(self.hay) <= 2

    @cached_property
    def _window_views(self) -> tuple[memoryview, memoryview]:
        assert self.windows is not None
        starts, deltas = self.windows
        return memoryview(starts).cast("q"), memoryview(deltas).cast("q")

    @cached_property
    def _hay_starts(self) -> memoryview:
        """Offset of every token in the hay (int32), made when a hit needs one."""
        return memoryview(token_starts(self.hay)).cast("i")

    @cached_property
    def _text_starts(self) -> memoryview:
        """Offset of every token in the normalised text (int32)."""
        return memoryview(token_starts(self.norm.text)).cast("i")

    def hay_offset(self, offset: int) -> int:
        """Offset in the hay of ``offset`` in the text the automaton read."""
        if self.windows is None:
            return offset
        starts, deltas = self._window_views
        return offset + deltas[bisect_right(starts, offset) - 1]

    def token_at(self, hay_pos: int) -> int:
        """Index of the token that starts at ``hay_pos`` in the hay."""
        return bisect_left(self._hay_starts, hay_pos)

    def original_span(self, tok_start: int, tok_end: int) -> tuple[int, int]:
        """Original offsets of tokens ``tok_start``…``tok_end - 1``."""
        last = tok_end - 1
        last_start = self._hay_starts[last]
        length = self.hay.index(" ", last_start) - last_start
        starts = self._text_starts
        return self.norm.original_span(starts[tok_start], starts[last] + length)

    def norm_offset(self, offset: int) -> int:
        """Offset in the normalised text of ``offset`` in the original."""
        index_map = self.norm.index_map
        return offset if index_map is None else bisect_left(index_map, offset)

    @cached_property
    def lead_end(self) -> int:
        """Original offset where the lead (:func:`bot.engine.text.lead_end`) ends."""
        return lead_end(self.norm.original)

    def zone(self, start: int) -> Zone:
        """The zone of a hit starting at ``start`` (original offset) in this field."""
        if self.field == "title":
            return "title"
        # the lead is never longer than LEAD_MAX: only a hit before it needs the lead found
        return "lead" if start < LEAD_MAX and start < self.lead_end else "body"

    @cached_property
    def lead_tokens(self) -> int:
        """Tokens of the lead: those before :attr:`lead_end`."""
        return len(split_tokens(self.norm.text[: self.norm_offset(self.lead_end)]))

    def _first_tokens(self, spans: list[tuple[int, int]]) -> list[int]:
        """The first token of each of ``spans`` (original offsets of sentences or clauses)."""
        starts = self._text_starts
        return [bisect_left(starts, self.norm_offset(first)) for first, _ in spans]

    @cached_property
    def _sentence_spans(self) -> list[tuple[int, int]]:
        return split_sentences(self.norm.original)

    @cached_property
    def _sentence_starts(self) -> list[int]:
        """The first token of each sentence (made when a SENT needs it: reads the field)."""
        return self._first_tokens(self._sentence_spans)

    def sentence_number(self, position: int) -> int:
        """The sentence of a token position (in the combined space), numbered per field."""
        return self.pos_offset + bisect_right(self._sentence_starts, position - self.pos_offset)

    @cached_property
    def _questions(self) -> frozenset[int]:
        """Numbers (as :meth:`sentence_number` gives) of the sentences asking yes or no."""
        original = self.norm.original
        return frozenset(
            self.pos_offset + number
            for number, (first, last) in enumerate(self._sentence_spans, start=1)
            if is_yes_no_question(original[first:last])
        )

    def in_question(self, position: int) -> bool:
        """Whether the token at ``position`` is in a yes/no question (``question:``)."""
        questions = self._questions
        return bool(questions) and self.sentence_number(position) in questions

    @cached_property
    def _clause_starts(self) -> list[int]:
        """The first token of each clause (made when a CLAUSE needs it: reads the field)."""
        return self._first_tokens(split_clauses(self.norm.original))

    def clause_number(self, position: int) -> int:
        """The clause of a token position (in the combined space), numbered per field."""
        return self.pos_offset + bisect_right(self._clause_starts, position - self.pos_offset)

    def sentence(self, start: int, end: int) -> str:
        """The sentence holding the hit ``start``…``end``, on one line.

        Sentences found are remembered (sorted: one bisection per hit). A
        "sentence" longer than ``MAX_SENTENCE_CHARS`` (a page without full
        stops) is shown as the words around the hit, with "…" where it is cut.
        """
        span = self._sentence_at(start)
        if span is None:
            return ""
        first, last = span
        original = self.norm.original
        if last - first <= MAX_SENTENCE_CHARS:
            return " ".join(original[first:last].split())
        lo = max(first, start - SENTENCE_CONTEXT)
        hi = min(last, max(end, start) + SENTENCE_CONTEXT)
        if lo > first and not original[lo - 1].isspace():  # do not start inside a word
            lo = next((i + 1 for i in range(lo, start) if original[i].isspace()), start)
        if hi < last and not original[hi].isspace():  # nor end inside one
            hi = next((i for i in range(hi - 1, end - 1, -1) if original[i].isspace()), hi)
        words = " ".join(original[lo:hi].split())
        return ("… " if lo > first else "") + words + (" …" if hi < last else "")

    def _sentence_at(self, start: int) -> tuple[int, int] | None:
        i = bisect_right(self._shown_starts, start) - 1
        if i >= 0:
            first, last = self._sentences[i]
            if first <= start < max(last, first + 1):  # hits often share a sentence
                return first, last
        span = sentence_span(self.norm.original, start)
        if span is not None and span not in self._sentences[max(i, 0) : i + 2]:
            at = bisect_right(self._shown_starts, span[0])
            self._shown_starts.insert(at, span[0])
            self._sentences.insert(at, span)
        return span


class Matcher:
    """All watchlists compiled into one Aho-Corasick index."""

    def __init__(self, watchlists: Iterable[Watchlist], max_chars: int = MAX_MATCH_CHARS):
        self.max_chars = max_chars  # of an article's text (and of its title) matched
        self.compiled: list[CompiledWatchlist] = []
        self._slots_by_key: dict[str, list[Slot]] = defaultdict(list)
        self._fuzzy: dict[tuple[int, str], list[FuzzyAlias]] = defaultdict(list)
        self._fuzzy_by_text: dict[str, FuzzyAlias] = {}
        self._fuzzy_sizes: set[int] = set()
        self._patterns: dict[str, Pattern] = {}  # term text -> pattern, while compiling
        for wl in watchlists:
            self._add(wl)
        self._sides = [(set(c.entity_keys), set(c.keyword_keys)) for c in self.compiled]
        self._index_exact()
        self._aliases = [a for bucket in self._fuzzy.values() for a in bucket]
        for ident, alias in enumerate(self._aliases):
            alias.ident = ident
            for index, key in alias.slots:
                alias.roles.add(self._roles(index, key))
        del self._sides, self._fuzzy_by_text, self._patterns  # only needed while compiling
        self._fuzzy_order = sorted(self._fuzzy_sizes)
        self._fuzzy_index = self._index_fuzzy()
        self._index_probes()
        self._cache = _FuzzyCache()

    @property
    def watchlists(self) -> list[Watchlist]:
        return [c.watchlist for c in self.compiled]

    @property
    def pattern_count(self) -> int:
        return len(self._keys) + len(self._aliases)

    # --- compiling ---------------------------------------------------------

    def _add(self, wl: Watchlist) -> None:
        index = len(self.compiled)
        cwl = CompiledWatchlist(wl)
        self.compiled.append(cwl)
        # dicts, not list membership: an entity of 50,000 aliases is compiled in linear time
        entity_keys: dict[str, None] = {}
        keyword_keys: dict[str, None] = {}
        for ent in wl.entities:
            for alias in ent.all_names:
                key = self._add_term(
                    index, cwl, alias, TermInfo(ent.name, "entity", ent.weight, ent.name)
                )
                if key:
                    entity_keys.setdefault(key)
                if ent.fuzzy is not None and not alias.endswith("*"):
                    self._add_fuzzy(index, key, alias, ent.fuzzy)
        shared = [group.terms for group in wl.shared_groups()]
        grouped = [kw for terms in [*wl.groups.values(), *shared] for kw in terms]
        for kw in [*wl.keywords, *grouped]:
            key = self._add_term(index, cwl, kw.term, TermInfo(kw.term, "keyword", kw.weight))
            if key:
                keyword_keys.setdefault(key)
        cwl.entity_keys, cwl.keyword_keys = list(entity_keys), list(keyword_keys)
        if wl.rule_ast is None:
            cwl.evidence_keys = set(cwl.terms)
            return
        cwl.uses_lead = rules.uses_zone(wl.rule_ast, ("lead", "top"))
        by_key: dict[str, list[rules.Term]] = defaultdict(list)
        for term in rules.terms(wl.rule_ast):
            keys = cwl.keys_by_rule_term[term] = frozenset(self._rule_term_keys(index, cwl, term))
            for key in keys:
                by_key[key].append(term)
        cwl.rule_terms_by_key = {key: tuple(ts) for key, ts in by_key.items()}
        plain_keywords = {Pattern.from_text(kw.term).key for kw in wl.keywords}
        cwl.evidence_keys = set(cwl.entity_keys) | plain_keywords
        positives = positive_terms(wl.rule_ast)
        for term in positives:
            cwl.evidence_keys.update(cwl.keys_by_rule_term.get(term, []))
        title_only = title_only_terms(wl.rule_ast)
        # entities, the watchlist's own keywords and rule terms used outside title:
        # count wherever they are found, even when another use is in the title only
        anywhere = set(cwl.entity_keys) | plain_keywords
        for term in positives:
            if term not in title_only:
                anywhere.update(cwl.keys_by_rule_term.get(term, ()))
        cwl.title_only_keys = {
            key for term in title_only for key in cwl.keys_by_rule_term.get(term, ())
        } - anywhere

    def _add_term(self, index: int, cwl: CompiledWatchlist, text: str, info: TermInfo) -> str:
        pattern = self._pattern(text)
        if not pattern.toks:
            return ""
        key = pattern.key
        if len(pattern.toks) > MAX_TERM_WORDS or len(key) > MAX_TERM_CHARS + 2:
            shown = text if len(text) <= 30 else text[:30] + "…"
            raise CompileError(
                cwl.watchlist.name,
                f"{shown!r} is too long for the matcher (a term has at most"
                f" {MAX_TERM_CHARS} characters and {MAX_TERM_WORDS} words, normalised)",
            )
        if key not in cwl.terms:
            cwl.terms[key] = info
            self._slots_by_key[key].append((index, key))
        return key

    def _rule_term_keys(self, index: int, cwl: CompiledWatchlist, term: rules.Term) -> list[str]:
        if term.kind == "entity":
            ent = cwl.watchlist.entity(term.value)
            if ent is not None:
                return [Pattern.from_text(a).key for a in ent.all_names if tokens(a.rstrip("*"))]
            return [self._pattern(kw.term).key for kw in cwl.watchlist.group(term.value) or []]
        text = term.value + ("*" if term.kind == "prefix" else "")
        key = Pattern.from_text(text).key
        existing = cwl.terms.get(key)
        if existing is None:
            self._add_term(index, cwl, text, TermInfo(rules.render(term), "rule"))
        return [key]

    def _pattern(self, text: str) -> Pattern:
        """``text`` normalised once per matcher: a lexicon's groups are the same terms in
        every watchlist that uses them (the automaton holds each key once anyway)."""
        pattern = self._patterns.get(text)
        if pattern is None:
            pattern = self._patterns[text] = Pattern.from_text(text)
        return pattern

    def _add_fuzzy(self, index: int, key: str, alias: str, cutoff: int) -> None:
        norm = " ".join(tokens(alias))
        if len(norm) < MIN_FUZZY_LEN:
            return
        existing = self._fuzzy_by_text.get(norm)
        if existing is not None:
            existing.slots.append((index, key))
            existing.cutoff = min(existing.cutoff, cutoff)
            return
        size = len(norm.split())
        created = FuzzyAlias(norm, cutoff, [(index, key)], size)
        self._fuzzy[(size, norm[0])].append(created)
        self._fuzzy_by_text[norm] = created
        self._fuzzy_sizes.add(size)

    def _roles(self, index: int, key: str) -> _Roles:
        """What finding ``key`` means for watchlist ``index``."""
        bit = 1 << index
        if self.compiled[index].watchlist.rule_ast is not None:
            return _Roles(rule=bit)
        entity_keys, keyword_keys = self._sides[index]
        is_entity = key in entity_keys
        is_keyword = key in keyword_keys
        # ≥1 entity AND ≥1 keyword; any term of the other list when one list is empty
        if not keyword_keys:
            is_keyword = is_entity
        if not entity_keys:
            is_entity = is_keyword
        return _Roles(bit if is_entity else 0, bit if is_keyword else 0)

    def _index_exact(self) -> None:
        """The automaton (key → key id) and, per key id, its watchlists and roles."""
        self._keys: list[str] = []
        self._key_ntoks: list[int] = []
        self._key_watchlists: list[int] = []  # bitmask of the watchlists that have the key
        # per key: entity | keyword << width | rule << 2 * width (see _scan)
        self._key_roles: list[int] = []
        self._role_width = width = len(self.compiled)
        for key, slots in self._slots_by_key.items():
            self._keys.append(key)
            self._key_ntoks.append(len(key.split()))
            roles = _Roles()
            for index, _ in slots:
                roles.add(self._roles(index, key))
            self._key_watchlists.append(reduce(operator.or_, (1 << i for i, _ in slots), 0))
            self._key_roles.append(roles.entity | roles.keyword << width | roles.rule << 2 * width)
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        # A node's children are searched in the order they were added: keys added in the
        # order of English letter frequency put the common letters first (~10 % faster).
        for key_id in sorted(range(len(self._keys)), key=lambda i: _trie_order(self._keys[i])):
            self._automaton.add_word(self._keys[key_id], key_id)
        if self._keys:
            self._automaton.make_automaton()
        del self._slots_by_key  # the automaton and the lists above replace it

    def _index_fuzzy(self) -> dict[tuple[int, str, int], FuzzyChoices]:
        """Fuzzy aliases by (size, first letter, length of a gram they can match).

        A gram of length n is only compared with aliases of a similar length
        (:func:`bot.engine.wordscan.gram_slack`), so each list is what ``process.extract``
        needs for such a gram, with the lowest cutoff among them.
        """
        near: dict[tuple[int, str, int], list[FuzzyAlias]] = defaultdict(list)
        for (size, letter), bucket in self._fuzzy.items():
            for alias in bucket:
                n = len(alias.text)
                slack = gram_slack(n)
                for length in range(n - slack, n + slack + 1):
                    near[(size, letter, length)].append(alias)
        return {
            k: FuzzyChoices([a.text for a in v], min(a.cutoff for a in v), v)
            for k, v in near.items()
        }

    def _index_probes(self) -> None:
        """The first pass of fuzzy matching (:class:`bot.engine.wordscan.TokenIndex`, compiled).

        Every word of an article is compared, once per matcher, with the alias
        words of the same first letter and a similar length. A one-word alias
        is such a word with its own budget (:attr:`FuzzyAlias.budget`) and
        length window (:func:`bot.engine.wordscan.gram_slack`): a word within it gets the full check
        (:meth:`_fuzzy_candidates`), so a one-word alias is found exactly as
        by comparing every word with it. A multi-word alias contributes its
        words of two or more letters (all of them if it has none) as
        *anchors*, each with an equal share of the alias's budget: if a gram
        is within the budget of the alias and lines up with it (spaces in the
        same places), at least one of these words is within its share. The
        gram around such a word that lines up with the alias is reported if
        it can pass (same first letter, similar length, within the ratio
        cutoff) and gets the full check (:meth:`_gram_candidates`).

        That finds any number of misspelt words (``alexandr lukashenka`` for
        ``alexander lukashenko``) and a changed first letter in a later word
        (``volodymyr selenskyj`` for ``volodymyr zelensky``, found by its
        first word). Not found, though ``ratio`` alone would pass them: a
        gram whose spaces do not line up with the alias's (``alexan
        derlukashenko``), and one whose only words within their share changed
        their first letter (``a selensky`` for the alias ``A. Zelensky``).
        """
        targets: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        reaches: dict[str, int] = defaultdict(int)
        for alias in self._aliases:
            words = alias.text.split()
            if len(words) == 1:
                entries = [(-1, words[0], alias.budget, gram_slack(len(words[0])))]
            else:
                places = [k for k, w in enumerate(words) if len(w) > 1] or list(range(len(words)))
                share = alias.budget // len(places)
                entries = [(k, words[k], share, share) for k in places]
            for place, word, budget, reach in entries:
                targets[word].append((alias.ident, place, budget))
                reaches[word] = max(reaches[word], reach)
        # exact keys: the words that start one, with its most tokens, and one-token prefixes
        starters: dict[str, int] = {}
        prefixes: list[str] = []
        for key in self._keys:
            toks = key.split()
            if len(toks) == 1 and not key.endswith(" "):
                prefixes.append(toks[0])
            else:
                starters[toks[0]] = max(starters.get(toks[0], 0), len(toks))
        self._first_pass_lock = threading.Lock()
        self._first_pass = TokenIndex(
            [(a.text, a.size, a.cutoff) for a in self._aliases],
            [(w, reaches[w], ts) for w, ts in targets.items()],
            list(starters.items()),
            prefixes,
            FIRST_PASS_WORDS,
        )

    # --- matching ----------------------------------------------------------

    def match(self, article: Article) -> list[Match]:
        """Every watchlist that fires on ``article``, best score first.

        Only the first ``max_chars`` characters of the text are read (see
        :meth:`bounded`); the matches then say so (``Match.truncated``). The
        match's ``article`` is the one given: the hits' offsets hold for it.
        """
        read, truncated = self.bounded(article, log_cut=True)
        scan = self._scan(read)
        matches = []
        for index in _bits(scan.fired | scan.rule):
            occ_by_key = self._occurrences(scan, index)
            result = self._evaluate(self.compiled[index], occ_by_key, article, scan.fields)
            if result is not None:
                result.truncated = truncated
                matches.append(result)
        matches.sort(key=lambda m: (-m.score, m.watchlist))
        return matches

    def bounded(self, article: Article, log_cut: bool = False) -> tuple[Article, bool]:
        """``article`` cut to what is matched, and whether anything was cut.

        The text keeps its first ``max_chars`` characters, cut back to a space
        within the last 200 (so no word is cut in two); the title keeps as many
        (and fewer than ``BODY_OFFSET``, so its token positions stay below the
        body's). What is kept is a prefix: offsets into it hold for the whole.
        """
        title_cap = min(self.max_chars, BODY_OFFSET)
        if len(article.text) <= self.max_chars and len(article.title) <= title_cap:
            return article, False
        read = replace(
            article, title=_cut(article.title, title_cap), text=_cut(article.text, self.max_chars)
        )
        if log_cut:
            log.warning(
                "article %s: read the first %d of its %d characters (MAX_MATCH_CHARS=%d)",
                article.url or repr(article.title[:80]),
                len(read.text),
                len(article.text),
                self.max_chars,
            )
        return read, True

    def _scan(self, article: Article) -> _Scan:
        """Every term occurrence in title and body, and the watchlists they concern."""
        title = _FieldText(article.title, "title", 0)
        body = _FieldText(article.text, "text", BODY_OFFSET)
        cache = self._cache
        if len(cache.single) > FUZZY_CACHE_WORDS:
            cache = self._cache = _FuzzyCache()  # other threads keep the one they hold
        elif len(cache.grams) > FUZZY_CACHE_GRAMS:
            cache.grams = {}
        title_exact, title_fuzzy = self._scan_field(title, cache)
        body_exact, body_fuzzy = self._scan_field(body, cache)
        exact, fuzzy = (title_exact, body_exact), (title_fuzzy, body_fuzzy)
        key_ids = set(map(_KEY_ID, chain(title_exact, body_exact)))
        # the three role masks of every key packed in one int: one pass over the keys found
        packed = reduce(operator.or_, map(self._key_roles.__getitem__, key_ids), 0)
        width, mask = self._role_width, (1 << self._role_width) - 1
        entity, keyword, rule = packed & mask, packed >> width & mask, packed >> 2 * width
        for _, alias, _ in chain(title_fuzzy, body_fuzzy):
            entity |= alias.roles.entity
            keyword |= alias.roles.keyword
            rule |= alias.roles.rule
        return _Scan((title, body), exact, fuzzy, entity & keyword, rule)

    def _occurrences(self, scan: _Scan, index: int) -> dict[str, list[Occurrence]]:
        """The occurrences of watchlist ``index``'s terms, by term key, in the order found."""
        occ_by_key: dict[str, list[Occurrence]] = {}
        for ft, exact, fuzzy in zip(scan.fields, scan.exact, scan.fuzzy, strict=True):
            for end, key_id in exact:
                if self._key_watchlists[key_id] >> index & 1:
                    key = self._keys[key_id]
                    hay_pos = ft.hay_offset(end) - len(key) + 2  # after the leading space
                    tok_start = ft.token_at(hay_pos)
                    tok_end = tok_start + self._key_ntoks[key_id]
                    offset = ft.pos_offset
                    occ = Occurrence(key, ft, tok_start + offset, tok_end + offset, None)
                    occ_by_key.setdefault(key, []).append(occ)
            for tok_start, alias, score in fuzzy:
                for slot_index, key in alias.slots:
                    if slot_index == index:
                        tok_end = tok_start + alias.size
                        offset = ft.pos_offset
                        occ = Occurrence(key, ft, tok_start + offset, tok_end + offset, score)
                        occ_by_key.setdefault(key, []).append(occ)
        return occ_by_key

    def _occurrence_count(self, scan: _Scan) -> int:
        """Term occurrences counted once per watchlist that has the term (for the benchmark)."""
        exact = sum(self._key_watchlists[k].bit_count() for _, k in chain(*scan.exact))
        return exact + sum(len(alias.slots) for _, alias, _ in chain(*scan.fuzzy))

    def diagnose(self, article: Article, name: str) -> Diagnosis:
        """Evaluate one watchlist on ``article`` and say why it fired or not."""
        index = next(i for i, c in enumerate(self.compiled) if c.watchlist.name == name)
        cwl = self.compiled[index]
        wl = cwl.watchlist
        read, truncated = self.bounded(article)
        scan = self._scan(read)
        fields = scan.fields
        occ_by_key = self._occurrences(scan, index)
        terms_found = sorted({cwl.terms[k].label for k in occ_by_key})
        title, body = fields
        terms_in_top = sorted(
            {
                cwl.terms[k].label
                for k, occs in occ_by_key.items()
                if any(o.ft.zone(o.original_span()[0]) != "body" for o in occs)
            }
        )
        match = self._evaluate(cwl, occ_by_key, article, fields) if occ_by_key else None
        trace: list[rules.NodeTrace] = []
        miss = branch = ""
        if wl.rule_ast is not None:
            lookup = self._lookup(cwl, occ_by_key)
            layout = _layout(fields, cwl.uses_lead)
            trace = rules.trace(wl.rule_ast, lookup, layout)
            if not rules.evaluate(wl.rule_ast, lookup, layout).matched:
                miss = rules.nearest_miss(wl.rule_ast, lookup, layout)
            else:
                branch = rules.fired_branch(wl.rule_ast, lookup, layout)
        elif not _default_rule(cwl, occ_by_key):
            miss = "default rule: needs at least one entity and one keyword"
        if match is None and not miss:
            miss = f"score below min_score {wl.min_score:g}"
        return Diagnosis(
            watchlist=name,
            fired=match is not None,
            terms_found=terms_found,
            terms_in_top=terms_in_top,
            rule=wl.rule or default_rule_text(wl),
            trace=trace,
            nearest_miss=miss,
            score=match.score if match else 0.0,
            min_score=wl.min_score,
            truncated=truncated,
            branch=branch,
        )

    @staticmethod
    def _lookup(
        cwl: CompiledWatchlist, occ_by_key: dict[str, list[Occurrence]]
    ) -> Callable[[rules.Term], list[tuple[int, int]]]:
        """Spans of each rule term, from one pass over the keys found (made at the first
        question): linear in the hits, not terms × keys found, and a group's every word
        is never walked."""
        spans: dict[rules.Term, list[tuple[int, int]]] | None = None

        def lookup(term: rules.Term) -> list[tuple[int, int]]:
            nonlocal spans
            if spans is None:
                spans = defaultdict(list)
                serves = cwl.rule_terms_by_key
                for key, occs in occ_by_key.items():
                    for served in serves.get(key, ()):
                        spans[served].extend((o.tok_start, o.tok_end) for o in occs)
            return spans.get(term, [])

        return lookup

    def _scan_field(
        self, ft: _FieldText, cache: _FuzzyCache
    ) -> tuple[list[ExactHit], list[FuzzyHit]]:
        """Exact and fuzzy hits of one field: the first pass, then the automaton on its windows.

        The automaton reads only the windows of the text where a key can
        start (:class:`bot.engine.wordscan.TokenIndex`); its offsets are mapped back
        by :meth:`_FieldText.hay_offset` when a hit becomes an occurrence.
        """
        if ft.empty:
            return [], []
        with self._first_pass_lock:  # its word table is shared by the threads that match
            singles, gram_hits, reduced, starts, deltas = self._first_pass.scan(ft.hay)
        exact: list[ExactHit] = []
        if self._keys:
            if reduced is None:
                exact = list(self._automaton.iter(ft.hay))
            elif reduced:
                assert starts is not None and deltas is not None
                ft.windows = (starts, deltas)
                exact = list(self._automaton.iter(reduced))
        fuzzy = self._fuzzy_hits(singles, gram_hits, cache) if singles or gram_hits else []
        return exact, fuzzy

    def _fuzzy_hits(
        self,
        singles: list[tuple[int, str]],
        gram_hits: list[tuple[int, str, int]],
        cache: _FuzzyCache,
    ) -> list[FuzzyHit]:
        """Fuzzy hits of one field: by size; words and grams by first occurrence.

        The first pass (:meth:`_index_probes`) reports the few words and grams
        that may match an alias; they get the full check once (cached).
        """
        if not singles and not gram_hits:
            return []
        positions: dict[str, list[int]] = {}  # in the order of first occurrence
        for i, word in singles:
            positions.setdefault(word, []).append(i)
        proposed: dict[int, dict[int, tuple[str, list[FuzzyAlias]]]] = {}
        for start, gram, ident in gram_hits:
            alias = self._aliases[ident]
            by_start = proposed.setdefault(alias.size, {})
            entry = by_start.get(start)
            if entry is None:
                by_start[start] = (gram, [alias])
            else:
                entry[1].append(alias)
        out: list[FuzzyHit] = []
        for size in self._fuzzy_order:
            if size == 1:
                for word, at in positions.items():
                    found = cache.single.get(word)
                    if found is None:
                        found = cache.single[word] = self._fuzzy_candidates(1, word)
                    for alias, score in found:
                        out.extend((i, alias, score) for i in at)
                continue
            at_size = proposed.get(size)
            if not at_size:
                continue
            grams: dict[str, list[int]] = {}
            for start in sorted(at_size):
                grams.setdefault(at_size[start][0], []).append(start)
            for gram, starts in grams.items():
                candidates = cache.grams.get(gram)
                if candidates is None:
                    proposers = at_size[starts[0]][1]  # the same words: the same proposers
                    candidates = self._gram_candidates(gram, size, proposers)
                    cache.grams[gram] = candidates
                for alias, score in candidates:
                    out.extend((i, alias, score) for i in starts)
        return out

    def _gram_candidates(
        self, gram: str, size: int, proposers: list[FuzzyAlias]
    ) -> list[tuple[FuzzyAlias, float]]:
        """The full check of a proposed gram, if one of the aliases that proposed it passes.

        Every alias that can pass proposes the gram (see :meth:`_index_probes`),
        so when none of them does, neither does the whole bucket.
        """
        n = len(gram)
        for alias in proposers:
            if (
                abs(n - len(alias.text)) <= gram_slack(len(alias.text))
                and gram[0] == alias.text[0]
                and fuzz.ratio(gram, alias.text, score_cutoff=alias.cutoff)
            ):
                return self._fuzzy_candidates(size, gram)
        return []

    def _fuzzy_candidates(self, size: int, gram: str) -> list[tuple[FuzzyAlias, float]]:
        if len(gram) < MIN_FUZZY_LEN:
            return []
        choices = self._fuzzy_index.get((size, gram[0], len(gram)))
        if choices is None:
            return []
        out = []
        for _, score, i in process.extract(
            gram, choices.texts, scorer=fuzz.ratio, score_cutoff=choices.lowest, limit=None
        ):
            alias = choices.aliases[i]
            if score >= alias.cutoff and gram != alias.text:
                out.append((alias, round(score, 1)))
        return out

    # --- rules and scores --------------------------------------------------

    def _evaluate(
        self,
        cwl: CompiledWatchlist,
        occ_by_key: dict[str, list[Occurrence]],
        article: Article,
        fields: tuple[_FieldText, _FieldText],
    ) -> Match | None:
        wl = cwl.watchlist
        if wl.rule_ast is not None:
            lookup = self._lookup(cwl, occ_by_key)
            result = rules.evaluate(wl.rule_ast, lookup, _layout(fields, cwl.uses_lead))
            if not result.matched:
                return None
            evidence_spans = set(result.spans)
        else:
            if not _default_rule(cwl, occ_by_key):
                return None
            evidence_spans = set()
        hits, counts = self._hits(cwl, occ_by_key, evidence_spans, fields)
        if not hits:
            return None
        parts = score_parts(cwl, hits, len(article.text), counts)
        score = combine(parts)
        if score < wl.min_score:
            return None
        title, body = fields
        return Match(
            article=article,
            watchlist=wl.name,
            score=score,
            hits=[_with_sentence(h, title if h.field == "title" else body) for h in hits],
            score_parts=parts,
            rule=wl.rule or default_rule_text(wl),
        )

    def _hits(
        self,
        cwl: CompiledWatchlist,
        occ_by_key: dict[str, list[Occurrence]],
        evidence_spans: set[tuple[int, int]],
        fields: tuple[_FieldText, _FieldText],
    ) -> tuple[list[Hit], dict[tuple[str, TermKind], int]]:
        """Hits of entities and keywords, plus rule-only terms that made the rule match,
        and how many occurrences each term has.

        A term keeps its first ``MAX_HITS_PER_TERM`` hits (title first, then
        in text order): evidence needs a few, and a dense page has 10⁵. All
        are counted. Their ``sentence`` is left empty (see :meth:`_evaluate`).
        """
        # by token span: in the same order as by offsets (title first), and far cheaper
        found: dict[tuple[int, int, str], tuple[TermInfo, Occurrence]] = {}
        for key, occs in occ_by_key.items():
            if key not in cwl.evidence_keys:
                continue
            info = cwl.terms[key]
            title_only = key in cwl.title_only_keys
            for o in occs:
                if info.kind == "rule" and (o.tok_start, o.tok_end) not in evidence_spans:
                    continue
                if title_only and o.tok_start >= BODY_OFFSET:  # title tokens come first
                    continue
                found.setdefault((o.tok_start, o.tok_end, info.label), (info, o))
        counts: dict[tuple[str, TermKind], int] = defaultdict(int)
        hits: list[Hit] = []
        for place in sorted(found, key=_PLACE):  # stable: ties keep the order found
            info, o = found[place]
            term = (info.label, info.kind)
            counts[term] += 1
            if counts[term] > MAX_HITS_PER_TERM:
                continue
            start, end = o.original_span()
            ft = o.ft
            zone = ft.zone(start)
            hits.append(
                Hit(
                    term=info.label,
                    kind=info.kind,
                    watchlist=cwl.watchlist.name,
                    text=ft.norm.original[start:end],
                    start=start,
                    end=end,
                    sentence="",
                    field=o.field,
                    fuzzy_score=o.fuzzy_score,
                    zone=zone,
                )
            )
        return hits, dict(counts)


def title_only_terms(node: rules.Node) -> set[rules.Term]:
    """Evidence terms (see :func:`positive_terms`) that the rule uses only inside ``title:``.

    Such a term (``title:(@state_actor PRE/3 invades)``) tests a headline's wording, so
    it is evidence in the headline alone: neither highlighted nor scored in the body.
    ``top:`` and ``lead:`` do not narrow: they say what the story must be about, and
    the body's later mentions are its details.
    """
    inside: set[rules.Term] = set()
    outside: set[rules.Term] = set()
    seen: set[tuple[int, bool, bool]] = set()

    def walk(current: rules.Node, negated: bool, in_title: bool) -> None:
        key = (id(current), negated, in_title)
        if key in seen:  # a shared subtree in the same context: already walked
            return
        seen.add(key)
        if isinstance(current, rules.Term):
            if not negated:
                (inside if in_title else outside).add(current)
        elif isinstance(current, rules.Not):
            walk(current.child, not negated, in_title)
        elif isinstance(current, rules.InZone):
            walk(current.child, negated, in_title or current.zone == "title")
        else:
            walk(current.left, negated, in_title)
            walk(current.right, negated, in_title)

    walk(node, False, False)
    return inside - outside


def positive_terms(node: rules.Node, negated: bool = False) -> list[rules.Term]:
    """Terms that count as evidence: those not under a NOT (exclusions are not evidence)."""
    if isinstance(node, rules.Term):
        return [] if negated else [node]
    if isinstance(node, rules.Not):
        return positive_terms(node.child, not negated)
    if isinstance(node, rules.InZone):
        return positive_terms(node.child, negated)
    return positive_terms(node.left, negated) + positive_terms(node.right, negated)


def _with_sentence(hit: Hit, ft: _FieldText) -> Hit:
    """``hit`` with its sentence (found last: only hits of a match that is kept need one)."""
    return Hit(
        term=hit.term,
        kind=hit.kind,
        watchlist=hit.watchlist,
        text=hit.text,
        start=hit.start,
        end=hit.end,
        sentence=ft.sentence(hit.start, hit.end),
        field=hit.field,
        fuzzy_score=hit.fuzzy_score,
        zone=hit.zone,
    )


def _layout(fields: tuple[_FieldText, _FieldText], with_lead: bool) -> rules.Layout:
    """Zones and sentences of an article for a rule; the lead is found only ``with_lead``
    (a rule with ``lead:`` or ``top:``), the sentences only when a SENT asks, the
    clauses only when a CLAUSE does."""
    title, body = fields

    def sentence_of(position: int) -> int:
        return (title if position < BODY_OFFSET else body).sentence_number(position)

    def clause_of(position: int) -> int:
        return (title if position < BODY_OFFSET else body).clause_number(position)

    def question_of(position: int) -> bool:
        return (title if position < BODY_OFFSET else body).in_question(position)

    lead = BODY_OFFSET + body.lead_tokens if with_lead else None
    return rules.Layout(BODY_OFFSET, lead, sentence_of, clause_of, question_of)


def _cut(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, back to a space within the last 200."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    tail = max(head.rfind(c, max(0, limit - 200)) for c in " \n\t")
    return head[:tail] if tail > 0 else head


# word-initial letters by frequency in English, then letters within words, then digits
_WORD_START_RANK = {c: i for i, c in enumerate("tasowcbphfmidrlengvuykjqzx0123456789")}
_LETTER_RANK = {c: i for i, c in enumerate(" etaoinshrdlcumwfgypbvkjxqz0123456789")}


def _trie_order(key: str) -> list[int]:
    """Sort key for adding ``key`` (" tok …") to the automaton: common letters first."""
    first = _WORD_START_RANK.get(key[1], 99) if len(key) > 1 else 0
    return [first, *(_LETTER_RANK.get(c, 99) for c in key[2:])]


def _bits(mask: int) -> Iterator[int]:
    """Indices of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _default_rule(cwl: CompiledWatchlist, occ_by_key: dict[str, list[Occurrence]]) -> bool:
    """≥1 entity AND ≥1 keyword; any term when one of the two lists is empty."""
    found = occ_by_key.keys()
    has_entity = not found.isdisjoint(cwl.entity_keys)
    has_keyword = not found.isdisjoint(cwl.keyword_keys)
    if not cwl.entity_keys:
        return has_keyword
    if not cwl.keyword_keys:
        return has_entity
    return has_entity and has_keyword


def default_rule_text(wl: Watchlist) -> str:
    if wl.entities and wl.keywords:
        return "(default) any entity AND any keyword"
    return "(default) any term"


_ZONE_RANK: dict[Zone, int] = {"title": 0, "lead": 1, "body": 2}


def body_factor(body_length: int, first_start: int) -> float:
    """How much a term found only in the body counts, from 1 down.

    A body longer than ``LONG_BODY`` characters scales its evidence by
    √(LONG_BODY / length), at least ``MIN_LENGTH_FACTOR``: one mention in a
    long story about something else is weak evidence. A term first found
    after ``DEEP_AFTER`` characters counts ``DEEP_FACTOR`` of that again.
    """
    factor = 1.0
    if body_length > LONG_BODY:
        factor = max(MIN_LENGTH_FACTOR, math.sqrt(LONG_BODY / body_length))
    if first_start >= DEEP_AFTER:
        factor *= DEEP_FACTOR
    return factor


def score_parts(
    cwl: CompiledWatchlist,
    hits: list[Hit],
    body_length: int = 0,
    counts: dict[tuple[str, TermKind], int] | None = None,
) -> list[TermScore]:
    """Each distinct term's contribution (noisy-OR evidence, see :func:`combine`).

    ``counts`` are the terms' occurrences when ``hits`` keeps only the first
    ones of each (:meth:`Matcher._hits`); without it, the hits are counted.

    A term counts by the best zone it was found in: the title as
    ``TITLE_BASE`` (scaled by the watchlist's ``title_weight``), the lead as
    ``LEAD_BASE``, the rest of the body as ``BODY_BASE`` times
    :func:`body_factor` (less in a long article, less again deep in it);
    each further occurrence adds ``REPEAT_BONUS`` (at most three times,
    scaled like the base); the term's weight is an exponent: weight 2 counts
    like two independent terms.
    """
    by_term: dict[tuple[str, TermKind], list[Hit]] = defaultdict(list)
    for hit in hits:
        by_term[(hit.term, hit.kind)].append(hit)
    weights = cwl.weights
    if weights is None:
        weights = cwl.weights = {(i.label, i.kind): i.weight for i in cwl.terms.values()}
    title_base = min(0.9, BODY_BASE + (TITLE_BASE - BODY_BASE) * cwl.watchlist.title_weight)
    parts = []
    for (term, kind), term_hits in by_term.items():
        zone = min((h.zone for h in term_hits), key=_ZONE_RANK.__getitem__)
        scale = 1.0
        if zone == "body":
            scale = body_factor(body_length, min(h.start for h in term_hits))
        base = {"title": title_base, "lead": LEAD_BASE, "body": BODY_BASE * scale}[zone]
        count = counts.get((term, kind), len(term_hits)) if counts else len(term_hits)
        base += REPEAT_BONUS * min(count - 1, MAX_REPEAT_BONUS) * scale
        weight = weights.get((term, kind), 1.0)
        contribution = 1 - (1 - base) ** weight
        in_title = zone == "title"
        parts.append(
            TermScore(term, kind, count, in_title, weight, round(contribution, 3), zone)
        )
    parts.sort(key=lambda p: -p.contribution)
    return parts


def combine(parts: Sequence[TermScore]) -> float:
    """Noisy-OR: 1 − Π(1 − contribution). In [0, 1]; more distinct evidence → higher."""
    remaining = math.prod(1 - p.contribution for p in parts)
    return round(1 - remaining, 3)


@dataclass
class Diagnosis:
    """Why a watchlist did or did not fire on an article (for eval and explain)."""

    watchlist: str
    fired: bool
    terms_found: list[str]
    rule: str
    trace: list[rules.NodeTrace]
    nearest_miss: str
    score: float
    min_score: float
    terms_in_top: list[str] = field(default_factory=list)  # found in the title or the lead
    truncated: bool = False  # only the first max_chars characters were read
    branch: str = ""  # the part of the rule that matched (rules.fired_branch), if it did
