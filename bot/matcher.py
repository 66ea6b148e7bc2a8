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
  length, not with the number of watchlists × terms.
* Fuzzy entities (``fuzzy: 90``) are checked with rapidfuzz's ``ratio`` (an
  edit-distance score, so a short prefix like ``Lukas`` scores low against
  ``Lukashenko``), only against the article's distinct tokens of a similar
  length that share the alias's first letter.
* Only watchlists with at least one hit have their rule evaluated.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal

import ahocorasick
from rapidfuzz import fuzz, process

from bot import rules
from bot.models import Article, Hit, Match, TermKind, TermScore
from bot.text import TOKEN_RE, NormText, normalise, sentence_for, split_sentences, tokens
from bot.watchlist import Watchlist

BODY_OFFSET = 1_000_000  # body token positions start here, so NEAR never spans title and body
MIN_FUZZY_LEN = 4
TITLE_BASE = 0.5
BODY_BASE = 0.3
REPEAT_BONUS = 0.05
MAX_REPEAT_BONUS = 3

Slot = tuple[int, str]  # (watchlist index, term key inside that watchlist)


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
    entity_keys: list[str] = field(default_factory=list)
    keyword_keys: list[str] = field(default_factory=list)
    evidence_keys: set[str] = field(default_factory=set)  # terms whose hits are evidence


@dataclass
class Occurrence:
    """A term found in one field of the article (token span + original offsets)."""

    key: str
    field: Literal["title", "text"]
    tok_start: int  # position in the combined title/body token space
    tok_end: int
    start: int  # offsets into the original field text
    end: int
    fuzzy_score: float | None = None


@dataclass
class FuzzyAlias:
    text: str  # normalised alias, tokens joined by a space
    cutoff: int
    slots: list[Slot]


class _FieldText:
    """One field of an article: normalised text, tokens and their positions."""

    def __init__(self, original: str, field_name: Literal["title", "text"], pos_offset: int):
        self.field = field_name
        self.norm: NormText = normalise(original)
        self.toks: list[str] = TOKEN_RE.findall(self.norm.text)
        self.hay = " " + " ".join(self.toks) + " "
        self.pos_offset = pos_offset
        self._hay_starts: list[int] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._sentences: list[tuple[int, int]] | None = None

    def token_index(self, hay_pos: int) -> int:
        """Token index of the token that starts at ``hay_pos`` in the hay string."""
        if self._hay_starts is None:
            self._hay_starts = [0, *accumulate(len(t) + 1 for t in self.toks)]
            self._index_of = {s + 1: i for i, s in enumerate(self._hay_starts[:-1])}
        return self._index_of[hay_pos]

    def original_span(self, tok_start: int, tok_end: int) -> tuple[int, int]:
        if self._spans is None:
            self._spans = [m.span() for m in TOKEN_RE.finditer(self.norm.text)]
        start = self._spans[tok_start][0]
        end = self._spans[tok_end - 1][1]
        return self.norm.original_span(start, end)

    def sentence(self, start: int) -> str:
        if self._sentences is None:
            self._sentences = split_sentences(self.norm.original)
        span = sentence_for(self._sentences, start)
        if span is None:
            return ""
        return " ".join(self.norm.original[span[0] : span[1]].split())


class Matcher:
    """All watchlists compiled into one Aho-Corasick index."""

    def __init__(self, watchlists: Iterable[Watchlist]):
        self.compiled: list[CompiledWatchlist] = []
        self._slots_by_key: dict[str, list[Slot]] = defaultdict(list)
        self._fuzzy: dict[tuple[int, str], list[FuzzyAlias]] = defaultdict(list)
        self._fuzzy_sizes: set[int] = set()
        for wl in watchlists:
            self._add(wl)
        self._automaton = ahocorasick.Automaton()
        for key, slots in self._slots_by_key.items():
            self._automaton.add_word(key, (key, len(key.split()), tuple(slots)))
        if self._slots_by_key:
            self._automaton.make_automaton()

    @property
    def watchlists(self) -> list[Watchlist]:
        return [c.watchlist for c in self.compiled]

    @property
    def pattern_count(self) -> int:
        return len(self._slots_by_key) + sum(len(v) for v in self._fuzzy.values())

    # --- compiling ---------------------------------------------------------

    def _add(self, wl: Watchlist) -> None:
        index = len(self.compiled)
        cwl = CompiledWatchlist(wl)
        self.compiled.append(cwl)
        for ent in wl.entities:
            for alias in ent.all_names:
                key = self._add_term(
                    index, cwl, alias, TermInfo(ent.name, "entity", ent.weight, ent.name)
                )
                if key and key not in cwl.entity_keys:
                    cwl.entity_keys.append(key)
                if ent.fuzzy is not None and not alias.endswith("*"):
                    self._add_fuzzy(index, key, alias, ent.fuzzy)
        grouped = [kw for terms in wl.groups.values() for kw in terms]
        for kw in [*wl.keywords, *grouped]:
            key = self._add_term(index, cwl, kw.term, TermInfo(kw.term, "keyword", kw.weight))
            if key and key not in cwl.keyword_keys:
                cwl.keyword_keys.append(key)
        if wl.rule_ast is None:
            cwl.evidence_keys = set(cwl.terms)
            return
        for term in rules.terms(wl.rule_ast):
            cwl.keys_by_rule_term[term] = frozenset(self._rule_term_keys(index, cwl, term))
        plain_keywords = {Pattern.from_text(kw.term).key for kw in wl.keywords}
        cwl.evidence_keys = set(cwl.entity_keys) | plain_keywords
        for term in positive_terms(wl.rule_ast):
            cwl.evidence_keys.update(cwl.keys_by_rule_term.get(term, []))

    def _add_term(self, index: int, cwl: CompiledWatchlist, text: str, info: TermInfo) -> str:
        pattern = Pattern.from_text(text)
        if not pattern.toks:
            return ""
        key = pattern.key
        if key not in cwl.terms:
            cwl.terms[key] = info
            self._slots_by_key[key].append((index, key))
        return key

    def _rule_term_keys(self, index: int, cwl: CompiledWatchlist, term: rules.Term) -> list[str]:
        if term.kind == "entity":
            ent = cwl.watchlist.entity(term.value)
            if ent is not None:
                return [Pattern.from_text(a).key for a in ent.all_names if tokens(a.rstrip("*"))]
            group = cwl.watchlist.group(term.value) or []
            return [Pattern.from_text(kw.term).key for kw in group]
        text = term.value + ("*" if term.kind == "prefix" else "")
        key = Pattern.from_text(text).key
        existing = cwl.terms.get(key)
        if existing is None:
            self._add_term(index, cwl, text, TermInfo(rules.render(term), "rule"))
        return [key]

    def _add_fuzzy(self, index: int, key: str, alias: str, cutoff: int) -> None:
        norm = " ".join(tokens(alias))
        if len(norm) < MIN_FUZZY_LEN:
            return
        size = len(norm.split())
        bucket = self._fuzzy[(size, norm[0])]
        for existing in bucket:
            if existing.text == norm:
                existing.slots.append((index, key))
                existing.cutoff = min(existing.cutoff, cutoff)
                return
        bucket.append(FuzzyAlias(norm, cutoff, [(index, key)]))
        self._fuzzy_sizes.add(size)

    # --- matching ----------------------------------------------------------

    def match(self, article: Article) -> list[Match]:
        """Every watchlist that fires on ``article``, best score first."""
        fields, found = self._scan(article)
        matches = []
        for index, occ_by_key in found.items():
            result = self._evaluate(self.compiled[index], occ_by_key, article, fields)
            if result is not None:
                matches.append(result)
        matches.sort(key=lambda m: (-m.score, m.watchlist))
        return matches

    def _scan(
        self, article: Article
    ) -> tuple[tuple[_FieldText, _FieldText], dict[int, dict[str, list[Occurrence]]]]:
        """Every term occurrence in title and body, grouped by watchlist and term."""
        title = _FieldText(article.title, "title", 0)
        body = _FieldText(article.text, "text", BODY_OFFSET)
        found: dict[int, dict[str, list[Occurrence]]] = defaultdict(lambda: defaultdict(list))
        for ft in (title, body):
            self._exact(ft, found)
            self._fuzzy_match(ft, found)
        return (title, body), found

    def diagnose(self, article: Article, name: str) -> Diagnosis:
        """Evaluate one watchlist on ``article`` and say why it fired or not."""
        index = next(i for i, c in enumerate(self.compiled) if c.watchlist.name == name)
        cwl = self.compiled[index]
        wl = cwl.watchlist
        fields, found = self._scan(article)
        occ_by_key = found.get(index, {})
        terms_found = sorted({cwl.terms[k].label for k in occ_by_key})
        match = self._evaluate(cwl, occ_by_key, article, fields) if occ_by_key else None
        trace: list[rules.NodeTrace] = []
        miss = ""
        if wl.rule_ast is not None:
            lookup = self._lookup(cwl, occ_by_key)
            trace = rules.trace(wl.rule_ast, lookup, BODY_OFFSET)
            if not rules.evaluate(wl.rule_ast, lookup, BODY_OFFSET).matched:
                miss = rules.nearest_miss(wl.rule_ast, lookup, BODY_OFFSET)
        elif not _default_rule(cwl, occ_by_key):
            miss = "default rule: needs at least one entity and one keyword"
        if match is None and not miss:
            miss = f"score below min_score {wl.min_score:g}"
        return Diagnosis(
            watchlist=name,
            fired=match is not None,
            terms_found=terms_found,
            rule=wl.rule or default_rule_text(wl),
            trace=trace,
            nearest_miss=miss,
            score=match.score if match else 0.0,
            min_score=wl.min_score,
        )

    @staticmethod
    def _lookup(
        cwl: CompiledWatchlist, occ_by_key: dict[str, list[Occurrence]]
    ) -> Callable[[rules.Term], list[tuple[int, int]]]:
        def lookup(term: rules.Term) -> list[tuple[int, int]]:
            """Spans of ``term``: walk the few keys found, not a group's every word."""
            wanted = cwl.keys_by_rule_term.get(term, frozenset())
            return [
                (o.tok_start, o.tok_end)
                for key, occs in occ_by_key.items()
                if key in wanted
                for o in occs
            ]

        return lookup

    def _exact(self, ft: _FieldText, found: dict[int, dict[str, list[Occurrence]]]) -> None:
        if not self._slots_by_key or not ft.toks:
            return
        for end, (key, ntoks, slots) in self._automaton.iter(ft.hay):
            start_pos = end - len(key) + 2  # first character of the first token
            tok_start = ft.token_index(start_pos)
            self._record(ft, found, slots, tok_start, tok_start + ntoks, None)

    def _fuzzy_match(self, ft: _FieldText, found: dict[int, dict[str, list[Occurrence]]]) -> None:
        if not self._fuzzy or not ft.toks:
            return
        for size in self._fuzzy_sizes:
            grams: dict[str, int] = {}
            for i in range(len(ft.toks) - size + 1):
                gram = " ".join(ft.toks[i : i + size]) if size > 1 else ft.toks[i]
                if len(gram) >= MIN_FUZZY_LEN:
                    grams.setdefault(gram, i)
            for gram, first in grams.items():
                for alias, score in self._fuzzy_candidates(size, gram):
                    for i in _positions(ft.toks, gram, size, first):
                        self._record(ft, found, alias.slots, i, i + size, score)

    def _fuzzy_candidates(self, size: int, gram: str) -> list[tuple[FuzzyAlias, float]]:
        bucket = self._fuzzy.get((size, gram[0]))
        if not bucket:
            return []
        lowest = min(a.cutoff for a in bucket)
        choices = [a.text for a in bucket]
        out = []
        for _, score, i in process.extract(
            gram, choices, scorer=fuzz.ratio, score_cutoff=lowest, limit=None
        ):
            alias = bucket[i]
            if score >= alias.cutoff and gram != alias.text and _similar_length(gram, alias.text):
                out.append((alias, round(score, 1)))
        return out

    def _record(
        self,
        ft: _FieldText,
        found: dict[int, dict[str, list[Occurrence]]],
        slots: Sequence[Slot],
        tok_start: int,
        tok_end: int,
        fuzzy_score: float | None,
    ) -> None:
        """Note one occurrence for every watchlist term it belongs to."""
        start, end = ft.original_span(tok_start, tok_end)
        for index, term_key in slots:
            found[index][term_key].append(
                Occurrence(
                    term_key,
                    ft.field,
                    tok_start + ft.pos_offset,
                    tok_end + ft.pos_offset,
                    start,
                    end,
                    fuzzy_score,
                )
            )

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
            result = rules.evaluate(wl.rule_ast, self._lookup(cwl, occ_by_key), BODY_OFFSET)
            if not result.matched:
                return None
            evidence_spans = set(result.spans)
        else:
            if not _default_rule(cwl, occ_by_key):
                return None
            evidence_spans = set()
        hits = self._hits(cwl, occ_by_key, evidence_spans, fields)
        if not hits:
            return None
        parts = score_parts(cwl, hits)
        score = combine(parts)
        if score < wl.min_score:
            return None
        return Match(
            article=article,
            watchlist=wl.name,
            score=score,
            hits=hits,
            score_parts=parts,
            rule=wl.rule or default_rule_text(wl),
        )

    def _hits(
        self,
        cwl: CompiledWatchlist,
        occ_by_key: dict[str, list[Occurrence]],
        evidence_spans: set[tuple[int, int]],
        fields: tuple[_FieldText, _FieldText],
    ) -> list[Hit]:
        """Hits of entities and keywords, plus rule-only terms that made the rule match."""
        title, body = fields
        hits: list[Hit] = []
        seen: set[tuple[str, int, int, str]] = set()
        for key, occs in occ_by_key.items():
            if key not in cwl.evidence_keys:
                continue
            info = cwl.terms[key]
            for o in occs:
                if info.kind == "rule" and (o.tok_start, o.tok_end) not in evidence_spans:
                    continue
                ident = (info.label, o.start, o.end, o.field)
                if ident in seen:
                    continue
                seen.add(ident)
                ft = title if o.field == "title" else body
                hits.append(
                    Hit(
                        term=info.label,
                        kind=info.kind,
                        watchlist=cwl.watchlist.name,
                        text=ft.norm.original[o.start : o.end],
                        start=o.start,
                        end=o.end,
                        sentence=ft.sentence(o.start),
                        field=o.field,
                        fuzzy_score=o.fuzzy_score,
                    )
                )
        hits.sort(key=lambda h: (h.field != "title", h.start, h.end))
        return hits


def positive_terms(node: rules.Node, negated: bool = False) -> list[rules.Term]:
    """Terms that count as evidence: those not under a NOT (exclusions are not evidence)."""
    if isinstance(node, rules.Term):
        return [] if negated else [node]
    if isinstance(node, rules.Not):
        return positive_terms(node.child, not negated)
    if isinstance(node, rules.InTitle):
        return positive_terms(node.child, negated)
    return positive_terms(node.left, negated) + positive_terms(node.right, negated)


def _positions(toks: list[str], gram: str, size: int, first: int) -> list[int]:
    if size == 1:
        return [i for i in range(first, len(toks)) if toks[i] == gram]
    return [i for i in range(first, len(toks) - size + 1) if " ".join(toks[i : i + size]) == gram]


def _similar_length(a: str, b: str) -> bool:
    return abs(len(a) - len(b)) <= max(1, len(b) // 5)


def _default_rule(cwl: CompiledWatchlist, occ_by_key: dict[str, list[Occurrence]]) -> bool:
    """≥1 entity AND ≥1 keyword; any term when one of the two lists is empty."""
    has_entity = any(k in occ_by_key for k in cwl.entity_keys)
    has_keyword = any(k in occ_by_key for k in cwl.keyword_keys)
    if not cwl.entity_keys:
        return has_keyword
    if not cwl.keyword_keys:
        return has_entity
    return has_entity and has_keyword


def default_rule_text(wl: Watchlist) -> str:
    if wl.entities and wl.keywords:
        return "(default) any entity AND any keyword"
    return "(default) any term"


def score_parts(cwl: CompiledWatchlist, hits: list[Hit]) -> list[TermScore]:
    """Each distinct term's contribution (noisy-OR evidence, see :func:`combine`).

    A term found in the title counts as ``TITLE_BASE`` (scaled by the
    watchlist's ``title_weight``), in the body as ``BODY_BASE``; each further
    occurrence adds ``REPEAT_BONUS`` (at most three times); the term's weight
    is an exponent: weight 2 counts like two independent terms.
    """
    by_term: dict[tuple[str, TermKind], list[Hit]] = defaultdict(list)
    for hit in hits:
        by_term[(hit.term, hit.kind)].append(hit)
    weights = {(info.label, info.kind): info.weight for info in cwl.terms.values()}
    title_base = min(0.9, BODY_BASE + (TITLE_BASE - BODY_BASE) * cwl.watchlist.title_weight)
    parts = []
    for (term, kind), term_hits in by_term.items():
        in_title = any(h.field == "title" for h in term_hits)
        base = title_base if in_title else BODY_BASE
        base += REPEAT_BONUS * min(len(term_hits) - 1, MAX_REPEAT_BONUS)
        weight = weights.get((term, kind), 1.0)
        contribution = 1 - (1 - base) ** weight
        parts.append(
            TermScore(term, kind, len(term_hits), in_title, weight, round(contribution, 3))
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
