"""Benchmark: the compiled matcher against two regex baselines (run by hand: ``make bench``).

Measures, for 1k, 10k and 100k watchlist terms (10 % of them fuzzy entities):

* the compiled :class:`bot.engine.matcher.Matcher` — articles/s and MB/s of
  ``matcher.match(Article(title, text))`` over a generated news corpus, its
  compile time and the memory of the compiled index;
* baseline 1, the per-term loop most bots use: one compiled ``re`` pattern per
  term (``\\bterm\\b``, ``re.IGNORECASE``), ``finditer`` over every article;
* baseline 2, one big alternation ``\\b(?:t1|t2|...)`` (``re.IGNORECASE``).

All three see the same articles and the same term strings (entity names,
aliases and keywords, ``prefix*`` as ``prefix\\w*``). The per-term loop is too
slow to run in full: it runs a random sample of the terms over the first
articles until a time budget is spent, and its rate is extrapolated linearly
in the number of terms (see ``bench/README.md``). The alternation runs all
terms over the first articles until the budget is spent.

The corpus is generated deterministically (``--seed``) from word lists taken
from the project's bundled texts (``samples/seed-article.txt``, the
``tests/fixtures/pages`` articles and ``samples/world-desk.rss``; shipped below
as constants, nothing is read at run time) mixed with generated pseudo-words
and names. MB here is 10**6 bytes of UTF-8 (title + text).

Everything runs in one thread (pure Python plus C extensions): one core. Times
are CPU seconds of this process (``time.process_time``), so other work on the
machine does not count. Progress goes to stderr; the result tables (markdown)
go to stdout.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import re
import resource
import statistics
import sys
import time
import tracemalloc
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(ROOT))

from machine import cpu_model, say  # noqa: E402

from bot.engine import wordscan  # noqa: E402
from bot.engine.matcher import Matcher  # noqa: E402
from bot.engine.watchlist import Entity, Keyword, Watchlist  # noqa: E402
from bot.models import Article  # noqa: E402

MB = 1_000_000
# CPU seconds of this (single-threaded) process: other work on the machine does not count,
# though a busy sibling hyper-thread still slows it down a little.
clock = time.process_time
MIN_ARTICLES = 5  # a baseline scans at least this many articles, whatever the budget
LONG_PASS_S = 60.0  # no further matcher pass (--repeat) after one that took this long
TERMS_PER_WATCHLIST = 100
FUZZY_SHARE = 0.10  # share of the terms that are fuzzy entities
FUZZY_CUTOFF = 90
GOAL_MBPS = 20.0  # the goal at 10k terms, one core
GOAL_SPEEDUP = 100.0  # … and this many times the per-term loop

# --- pseudo-words ------------------------------------------------------------

# fmt: off
_ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n",
           "p", "pr", "r", "s", "sh", "sl", "st", "t", "tr", "v", "w", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ou", "ia"]
_CODAS = ["", "", "", "n", "r", "s", "l", "k", "m", "nd", "st", "t", "rk", "ng"]
_NAME_ENDINGS = ["enko", "ov", "ova", "ski", "ska", "ez", "son", "sen", "ani", "elli", "ic",
                 "uk", "ian", "berg", "mann", "ero"]
# fmt: on
_FIRST_ENDINGS = ["a", "o", "an", "el", "ir", "ia", "us", "ek", "ine", ""]
_MARKED = {"a": "á", "e": "é", "o": "ö", "u": "ü", "s": "š", "c": "č", "z": "ž", "i": "í"}


def pseudo_word(rng: random.Random, syllables: int) -> str:
    """A pronounceable made-up word: consonant-vowel syllables, maybe a final consonant."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
    return word + (rng.choice(_CODAS) if rng.random() < 0.6 else "")


def unique_words(
    rng: random.Random, count: int, taken: set[str], make: Callable[[], str]
) -> list[str]:
    """``count`` new words from ``make``, none of them (case-folded) in ``taken``."""
    out: list[str] = []
    while len(out) < count:
        word = make()
        if len(word) >= 3 and word.casefold() not in taken:
            taken.add(word.casefold())
            out.append(word)
    return out


def with_diacritic(rng: random.Random, word: str) -> str:
    spots = [i for i, ch in enumerate(word) if ch in _MARKED]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[:i] + _MARKED[word[i]] + word[i + 1 :]


def misspell(rng: random.Random, word: str) -> str:
    """One edit (substitution, deletion, doubling or swap) inside ``word``."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + rng.choice("aeiouy") + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


# --- vocabulary and corpus ---------------------------------------------------


class Zipf:
    """Draw items with probability ∝ 1 / (rank + 2.7) ** 1.1 (the bundled words get ~70 %)."""

    def __init__(self, items: Sequence[str]) -> None:
        self.items = list(items)
        self.cum = list(accumulate((r + 2.7) ** -1.1 for r in range(len(self.items))))

    def draw(self, rng: random.Random) -> str:
        x = rng.random() * self.cum[-1]
        return self.items[min(bisect_left(self.cum, x), len(self.items) - 1)]


@dataclass
class Vocabulary:
    en: Zipf  # English words by rank (bundled words first, then the pseudo-word tail)
    de: Zipf  # German words by rank
    people: list[tuple[str, str]]  # (first name, surname), most mentioned first
    places: Zipf  # places and organisations
    content: list[str]  # words a watchlist might contain (no function words)
    taken: set[str]  # every case-folded word of the corpus vocabulary


def build_vocabulary(rng: random.Random, tail: int = 30_000) -> Vocabulary:
    en_real = EN_WORDS.split()
    de_real = DE_WORDS.split()
    names = [n for n in NAMES.split() if len(n) > 1]
    taken = {w.casefold() for w in en_real + de_real + names}
    en_tail = unique_words(
        rng, tail, taken, lambda: pseudo_word(rng, rng.choice((1, 2, 2, 2, 3, 3)))
    )
    de_tail = [w.capitalize() if rng.random() < 0.3 else w for w in en_tail[: tail // 3]]
    rng.shuffle(de_tail)
    firsts = unique_words(
        rng, 600, taken, lambda: (pseudo_word(rng, 2) + rng.choice(_FIRST_ENDINGS)).capitalize()
    )
    surnames = unique_words(
        rng, 12_000, taken, lambda: (pseudo_word(rng, 2) + rng.choice(_NAME_ENDINGS)).capitalize()
    )
    surnames = [with_diacritic(rng, s) if rng.random() < 0.02 else s for s in surnames]
    people = [(rng.choice(firsts), s) for s in surnames]
    places = unique_words(rng, 4000, taken, lambda: pseudo_word(rng, 3).capitalize())
    content = [w for w in en_real[60:] + de_real[40:] if len(w) >= 4] + en_tail
    return Vocabulary(
        en=Zipf(en_real + en_tail),
        de=Zipf(de_real + de_tail),
        people=people,
        places=Zipf(names + places),
        content=content,
        taken=taken,
    )


@dataclass
class Style:
    german: bool
    typographic: bool  # “curly” quotes, ’ and — (non-ASCII, as most real news is)

    @property
    def quotes(self) -> tuple[str, str]:
        if self.german:
            return ("„", "“") if self.typographic else ('"', '"')
        return ("“", "”") if self.typographic else ('"', '"')

    @property
    def apostrophe(self) -> str:
        return "’" if self.typographic else "'"

    @property
    def dash(self) -> str:
        return "—" if self.typographic else "-"


class ArticleWriter:
    """Writes one made-up but real-looking news article at a time."""

    def __init__(self, vocab: Vocabulary, rng: random.Random) -> None:
        self.vocab = vocab
        self.rng = rng
        self.people = Zipf([f"{first}\t{last}" for first, last in vocab.people])

    def article(self) -> Article:
        rng = self.rng
        style = Style(german=rng.random() < 0.2, typographic=rng.random() < 0.5)
        cast = [self.people.draw(rng).split("\t") for _ in range(rng.randint(1, 4))]
        places = [self.vocab.places.draw(rng) for _ in range(rng.randint(1, 3))]
        title_words = [self.word(style) for _ in range(rng.randint(4, 9))]
        title_words.insert(rng.randrange(len(title_words)), rng.choice(places))
        if rng.random() < 0.5:
            title_words.insert(0, cast[0][1])
        title = " ".join(w[:1].upper() + w[1:] for w in title_words)
        target = rng.randint(2000, 5000)
        lines: list[str] = []
        size = 0
        while size < target:
            para = " ".join(self.sentence(style, cast, places) for _ in range(rng.randint(1, 4)))
            lines.append(para)
            size += len(para.encode("utf-8")) + 1
        return Article(title=title, text="\n".join(lines))

    def word(self, style: Style) -> str:
        return (self.vocab.de if style.german else self.vocab.en).draw(self.rng)

    def person(self, cast: list[list[str]], style: Style) -> str:
        rng = self.rng
        first, last = rng.choice(cast) if rng.random() < 0.7 else self.people.draw(rng).split("\t")
        if rng.random() < 0.03:
            last = misspell(rng, last)  # a transliteration variant or a typo
        name = f"{first} {last}" if rng.random() < 0.4 else last
        return name + (style.apostrophe + "s" if rng.random() < 0.1 else "")

    def sentence(self, style: Style, cast: list[list[str]], places: list[str]) -> str:
        rng = self.rng
        words: list[str] = []
        for _ in range(rng.randint(6, 26)):
            x = rng.random()
            if x < 0.05:
                words.append(self.person(cast, style))
            elif x < 0.09:
                words.append(
                    rng.choice(places) if rng.random() < 0.6 else self.vocab.places.draw(rng)
                )
            elif x < 0.105:
                words.append(
                    rng.choice(("2024", "15", "10,000", "3.5", "40%", "$2", "7:20", "1.2bn"))
                )
            else:
                words.append(self.word(style))
            if rng.random() < 0.06:
                words[-1] += ","
            elif rng.random() < 0.015:
                words.append(style.dash)
        words[0] = words[0][:1].upper() + words[0][1:]
        body = " ".join(words).rstrip(",")
        if rng.random() < 0.12:
            opening, closing = style.quotes
            said = "sagte" if style.german else "said"
            return f"{opening}{body},{closing} {self.person(cast, style)} {said}."
        return body + rng.choice(".......?!")


def build_corpus(vocab: Vocabulary, rng: random.Random, megabytes: float) -> list[Article]:
    writer = ArticleWriter(vocab, rng)
    articles: list[Article] = []
    total = 0
    while total < megabytes * MB:
        art = writer.article()
        articles.append(art)
        total += article_bytes(art)
    return articles


def article_bytes(art: Article) -> int:
    return len(art.title.encode("utf-8")) + len(art.text.encode("utf-8"))


def corpus_phrases(rng: random.Random, articles: list[Article], count: int) -> list[str]:
    """Two- and three-word phrases that occur in the corpus (no function word at either end)."""
    stop = {w.casefold() for w in EN_WORDS.split()[:60] + DE_WORDS.split()[:40]}
    word_re = re.compile(r"[^\W\d_]+")
    out: list[str] = []
    for _ in range(count * 20):
        if len(out) >= count:
            break
        art = rng.choice(articles)
        toks = word_re.findall(art.text[rng.randrange(max(1, len(art.text) - 80)) :][:80])
        n = rng.choice((2, 2, 3))
        if len(toks) < n + 1:
            continue
        gram = toks[1 : n + 1]  # the first token may be cut off
        if gram[0].casefold() in stop or gram[-1].casefold() in stop:
            continue
        out.append(" ".join(w.lower() for w in gram))
    return out


# --- terms and watchlists ----------------------------------------------------


@dataclass
class TermSet:
    size: int  # terms asked for: keywords + entities
    watchlists: list[Watchlist]
    patterns: list[str]  # every distinct entity name, alias and keyword (the baselines' terms)
    entities: int = 0
    keywords: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def build_terms(size: int, vocab: Vocabulary, articles: list[Article], seed: int) -> TermSet:
    """``size`` terms in watchlists of ~100: 10 % fuzzy entities, the rest keywords.

    Keywords: ~60 % single words, ~30 % 2-3 word phrases, ~10 % ``prefix*``.
    About a third of the words and a quarter of the phrases come from the
    corpus (so they hit); the rest are new pseudo-words (so they miss, as most
    watchlist terms do on most articles). A third of the entities are people
    the corpus mentions; each entity has its surname and "F. Surname" as
    aliases and ``fuzzy: 90``.
    """
    rng = random.Random(seed * 1_000_003 + size)
    taken = set(vocab.taken)
    n_entities = round(size * FUZZY_SHARE)
    n_keywords = size - n_entities
    seen: set[str] = set()
    keywords: list[str] = []
    kinds = {"word": 0, "phrase": 0, "prefix": 0, "entity": n_entities}

    def add(term: str, kind: str) -> None:
        if term.casefold() not in seen:
            seen.add(term.casefold())
            keywords.append(term)
            kinds[kind] += 1

    new_word = lambda: pseudo_word(rng, rng.choice((2, 2, 3, 3)))  # noqa: E731
    phrases = corpus_phrases(rng, articles, n_keywords // 10)
    while len(keywords) < n_keywords:
        x = rng.random()
        if x < 0.6:  # a single word
            if rng.random() < 0.35:
                add(rng.choice(vocab.content).lower(), "word")
            else:
                add(unique_words(rng, 1, taken, new_word)[0], "word")
        elif x < 0.9:  # a phrase
            if phrases and rng.random() < 0.25:
                add(phrases.pop(), "phrase")
            else:
                n = rng.choice((2, 2, 3))
                add(" ".join(rng.choice(vocab.content).lower() for _ in range(n)), "phrase")
        else:  # a prefix wildcard
            base = rng.choice(vocab.content) if rng.random() < 0.5 else new_word()
            if len(base) >= 6:
                add(base[: rng.randint(4, min(6, len(base) - 1))].lower() + "*", "prefix")

    mentioned = vocab.people[: max(1, len(vocab.people) // 4)]
    entities: list[Entity] = []
    while len(entities) < n_entities:
        if rng.random() < 0.33:
            first, last = rng.choice(mentioned)
        else:
            first = unique_words(rng, 1, taken, lambda: pseudo_word(rng, 2).capitalize())[0]
            last = unique_words(
                rng,
                1,
                taken,
                lambda: (pseudo_word(rng, 2) + rng.choice(_NAME_ENDINGS)).capitalize(),
            )[0]
        name = f"{first} {last}"
        if name.casefold() in seen:
            continue
        seen.add(name.casefold())
        entities.append(Entity(name, [last, f"{first[0]}. {last}"], fuzzy=FUZZY_CUTOFF))

    rng.shuffle(keywords)
    count = max(1, math.ceil(size / TERMS_PER_WATCHLIST))
    watchlists = []
    for i in range(count):
        kws = keywords[i * n_keywords // count : (i + 1) * n_keywords // count]
        ents = entities[i * n_entities // count : (i + 1) * n_entities // count]
        watchlists.append(
            Watchlist(
                name=f"bench-{i:05d}",
                entities=ents,
                keywords=[Keyword(k) for k in kws],
            )
        )
    patterns: dict[str, None] = {}
    for wl in watchlists:
        for ent in wl.entities:
            for alias in ent.all_names:
                patterns.setdefault(alias.casefold(), None)
        for kw in wl.keywords:
            patterns.setdefault(kw.term.casefold(), None)
    return TermSet(
        size=size,
        watchlists=watchlists,
        patterns=list(patterns),
        entities=n_entities,
        keywords=n_keywords,
        kinds=kinds,
    )


# --- baselines ---------------------------------------------------------------


def term_regex(term: str) -> str:
    """``term`` as a regex body: words separated by any whitespace, ``x*`` → ``x\\w*``."""
    prefix = term.endswith("*")
    body = r"\s+".join(re.escape(w) for w in term.rstrip("*").split())
    return body + (r"\w*" if prefix else r"\b")


def compile_loop(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    return [re.compile(r"\b" + term_regex(t), re.IGNORECASE) for t in patterns]


def compile_alternation(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(term_regex(t) for t in patterns) + ")", re.IGNORECASE)


def loop_scan(regexes: list[re.Pattern[str]], art: Article) -> int:
    hits = 0
    for rx in regexes:
        for _ in rx.finditer(art.title):
            hits += 1
        for _ in rx.finditer(art.text):
            hits += 1
    return hits


def alternation_scan(rx: re.Pattern[str], art: Article) -> int:
    return sum(1 for _ in rx.finditer(art.title)) + sum(1 for _ in rx.finditer(art.text))


@dataclass
class Rate:
    articles: int
    nbytes: int
    seconds: float
    hits: int

    @property
    def mbps(self) -> float:
        return self.nbytes / MB / self.seconds if self.seconds else math.inf

    @property
    def aps(self) -> float:
        return self.articles / self.seconds if self.seconds else math.inf


def run_for(
    scan: Callable[[Article], int], articles: list[Article], sizes: list[int], budget: float
) -> Rate:
    """Scan articles in order until all are done or ``budget`` seconds are spent."""
    gc.collect()
    hits = 0
    done = 0
    nbytes = 0
    start = clock()
    elapsed = 0.0
    for art, size in zip(articles, sizes, strict=True):
        hits += scan(art)
        done += 1
        nbytes += size
        elapsed = clock() - start
        if elapsed >= budget and done >= MIN_ARTICLES:
            break
    return Rate(done, nbytes, elapsed, hits)


# --- the matcher -------------------------------------------------------------


def rss_bytes() -> int:
    """Current resident set size (Linux), else the peak from getrusage."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


@dataclass
class MatcherResult:
    compile_s: float
    traced_mb: float  # tracemalloc: bytes still allocated after the build
    traced_peak_mb: float  # tracemalloc: peak during the build
    rss_mb: float  # RSS growth over the (untraced) build
    automaton_mb: float | None  # pyahocorasick's own estimate
    rate: Rate
    passes: int
    median_mbps: float  # of the passes: how much the machine moved the figure
    alerts: int
    occurrences_per_article: float | None


def measure_memory(watchlists: list[Watchlist]) -> tuple[float, float]:
    """MB still allocated after building a Matcher (its index), and the peak during the build."""
    gc.collect()
    tracemalloc.start()
    matcher = Matcher(watchlists)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del matcher
    gc.collect()
    return current / MB, peak / MB


def measure_matcher(
    terms: TermSet, articles: list[Article], sizes: list[int], repeat: int
) -> MatcherResult:
    gc.collect()
    rss_before = rss_bytes()
    start = clock()
    matcher = Matcher(terms.watchlists)
    compile_s = clock() - start
    rss_mb = (rss_bytes() - rss_before) / MB
    traced, traced_peak = measure_memory(terms.watchlists)  # a second build, traced
    automaton = getattr(matcher, "_automaton", None)
    automaton_mb = automaton.get_stats()["total_size"] / MB if automaton is not None else None

    for art in articles[:20]:  # warm-up: the normaliser's module-level caches
        matcher.match(art)
    occurrences = None
    # internal; only to show how much work there is: term occurrences, once per watchlist
    # that has the term
    scan = getattr(matcher, "_scan", None)
    count = getattr(matcher, "_occurrence_count", None)
    if callable(scan) and callable(count):
        sample = articles[:100]
        occurrences = sum(count(scan(art)) for art in sample) / len(sample)
    del matcher

    best: Rate | None = None
    alerts = 0
    passes = 0
    all_mbps: list[float] = []
    while passes < repeat and (best is None or best.seconds < LONG_PASS_S):
        # A fresh Matcher for every pass: whatever it caches starts cold, as in a new process.
        fresh = Matcher(terms.watchlists)
        gc.collect()
        alerts = 0
        start = clock()
        for art in articles:
            alerts += len(fresh.match(art))
        elapsed = clock() - start
        passes += 1
        del fresh
        rate = Rate(len(articles), sum(sizes), elapsed, alerts)
        all_mbps.append(rate.mbps)
        if best is None or rate.seconds < best.seconds:
            best = rate
    assert best is not None
    median_mbps = statistics.median(all_mbps)
    return MatcherResult(
        compile_s,
        traced,
        traced_peak,
        rss_mb,
        automaton_mb,
        best,
        passes,
        median_mbps,
        alerts,
        occurrences,
    )


# --- one size ----------------------------------------------------------------


@dataclass
class SizeResult:
    terms: TermSet
    matcher: MatcherResult
    loop_sample: Rate
    loop_terms: int  # terms in the loop's sample
    loop_compile_s: float  # extrapolated to all patterns
    loop_mbps: float  # extrapolated to all patterns
    alt: Rate
    alt_compile_s: float

    @property
    def vs_loop(self) -> float:
        return self.matcher.rate.mbps / self.loop_mbps

    @property
    def vs_alt(self) -> float:
        return self.matcher.rate.mbps / self.alt.mbps


def bench_size(
    size: int,
    vocab: Vocabulary,
    articles: list[Article],
    sizes: list[int],
    args: argparse.Namespace,
) -> SizeResult:
    say(f"[{size} terms] building watchlists")
    terms = build_terms(size, vocab, articles, args.seed)
    say(f"[{size} terms] {len(terms.patterns)} patterns in {len(terms.watchlists)} watchlists")

    say(f"[{size} terms] matcher: compile, memory, {len(articles)} articles × {args.repeat}")
    result = measure_matcher(terms, articles, sizes, args.repeat)
    say(f"[{size} terms] matcher: {result.rate.mbps:.2f} MB/s")

    rng = random.Random(args.seed + size)
    patterns = terms.patterns
    sample = patterns if len(patterns) <= args.loop_terms else rng.sample(patterns, args.loop_terms)
    start = clock()
    regexes = compile_loop(sample)
    loop_compile = (clock() - start) * len(patterns) / len(sample)
    say(f"[{size} terms] per-term loop: {len(sample)} of {len(patterns)} patterns, {args.budget}s")
    loop = run_for(lambda a: loop_scan(regexes, a), articles, sizes, args.budget)
    loop_mbps = loop.mbps * len(sample) / len(patterns)

    say(f"[{size} terms] alternation: compiling {len(patterns)} patterns")
    start = clock()
    alternation = compile_alternation(patterns)
    alt_compile = clock() - start
    say(f"[{size} terms] alternation: compiled in {alt_compile:.1f}s, scanning {args.budget}s")
    alt = run_for(lambda a: alternation_scan(alternation, a), articles, sizes, args.budget)
    return SizeResult(terms, result, loop, len(sample), loop_compile, loop_mbps, alt, alt_compile)


# --- report ------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def machine_info() -> list[str]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    libs = ", ".join(
        f"{name} {version(name)}" for name in ("pyahocorasick", "rapidfuzz", "anyascii")
    )
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu_model()} ({os.cpu_count()} logical cores, {usable} usable; the benchmark uses one)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"- {libs}",
        "- the matcher's first pass: "
        + (
            "compiled (bot.engine._wordscan)"
            if wordscan.NATIVE
            else "pure Python (bot.engine._wordscan not built)"
        ),
    ]


def fmt(x: float, digits: int = 2) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.{digits}f}"
    return f"{x:.2g}"


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    results: list[SizeResult], articles: list[Article], sizes: list[int], args: argparse.Namespace
) -> str:
    total = sum(sizes)
    non_ascii = sum(1 for a in articles if not (a.title + a.text).isascii())
    out = [
        "## Matcher vs regex baselines",
        "",
        *machine_info(),
        f"- corpus: {len(articles)} articles, {total / MB:.2f} MB "
        f"(mean {total / len(articles) / 1000:.1f} kB; {non_ascii * 100 // len(articles)} % non-ASCII), "
        f"seed {args.seed}",
        f"- times are CPU seconds of one thread; the matcher runs over the whole corpus "
        f"(best of up to {args.repeat} passes, no new pass after one of ≥ {LONG_PASS_S:g} s); each baseline runs ≥ {args.budget:g} s (≥ {MIN_ARTICLES} articles), "
        f"the per-term loop with a sample of ≤ {args.loop_terms:,} terms",
        "",
        table(
            [
                [
                    f"{r.terms.size:,}",
                    f"{r.terms.entities:,}",
                    fmt(r.matcher.compile_s),
                    fmt(r.matcher.traced_mb),
                    fmt(r.matcher.rate.mbps),
                    fmt(r.matcher.rate.aps),
                    fmt(r.loop_mbps) + "*",
                    fmt(r.alt.mbps),
                    fmt(r.vs_loop) + "×",
                    fmt(r.vs_alt) + "×",
                ]
                for r in results
            ],
            [
                "terms",
                "fuzzy entities",
                "compile s",
                "index MB",
                "matcher MB/s",
                "matcher articles/s",
                "regex loop MB/s",
                "alternation MB/s",
                "vs loop",
                "vs alternation",
            ],
        ),
        "",
        "\\* extrapolated: the per-term loop ran a random sample of the patterns over the first "
        "articles; its MB/s × (sample size / all patterns). Details below.",
        "",
        "### Details",
        "",
        table(
            [
                [
                    f"{r.terms.size:,}",
                    f"{len(r.terms.patterns):,}",
                    "{word:,} / {phrase:,} / {prefix:,}".format(**r.terms.kinds),
                    f"{len(r.terms.watchlists):,}",
                    fmt(r.matcher.traced_peak_mb),
                    fmt(r.matcher.rss_mb),
                    fmt(r.matcher.automaton_mb) if r.matcher.automaton_mb is not None else "–",
                    fmt(r.matcher.occurrences_per_article)
                    if r.matcher.occurrences_per_article is not None
                    else "–",
                    fmt(r.matcher.alerts / len(articles)),
                    str(r.matcher.passes),
                    fmt(r.matcher.median_mbps),
                    f"{r.loop_terms:,} × {r.loop_sample.articles} art. in {r.loop_sample.seconds:.1f} s",
                    fmt(r.loop_compile_s) + "*",
                    f"{r.alt.articles} art. in {r.alt.seconds:.1f} s",
                    fmt(r.alt_compile_s),
                    fmt(r.alt.hits / r.alt.articles),
                ]
                for r in results
            ],
            [
                "terms",
                "patterns",
                "keywords: words / phrases / prefix*",
                "watchlists",
                "build peak MB",
                "RSS Δ MB",
                "automaton MB",
                "term hits/article",
                "alerts/article",
                "matcher passes",
                "median pass MB/s",
                "loop run (terms × articles)",
                "loop compile s",
                "alternation run",
                "alternation compile s",
                "alternation hits/article",
            ],
        ),
        "",
    ]
    goal = next((r for r in results if r.terms.size == 10_000), None)
    if goal is not None:
        ok = goal.matcher.rate.mbps >= GOAL_MBPS and goal.vs_loop >= GOAL_SPEEDUP
        out.append(
            f"Goal at 10k terms (≥ {GOAL_MBPS:g} MB/s and ≥ {GOAL_SPEEDUP:g}× the per-term loop): "
            f"{'met' if ok else 'NOT met'} — {goal.matcher.rate.mbps:.2f} MB/s, {goal.vs_loop:.0f}×."
        )
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", help="term counts, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--mb", type=float, help="corpus size in MB (default 5)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (1k terms, 0.3 MB)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--real", metavar="ITEMS.jsonl", type=Path,
        help="real-news mode: alertbot scan end to end over these items (bench/realnews.py)",
    )
    parser.add_argument("--limit", type=int, default=20_000, help="real-news mode: items read")
    parser.add_argument(
        "--baseline", metavar="CHECKOUT", type=Path, action="append", default=[],
        help="real-news mode: also run the scan of this checkout (e.g. a worktree of main)",
    )
    parser.add_argument(
        "--budget", type=float, help="seconds each baseline runs per size (default 5; quick 0.5)"
    )
    parser.add_argument(
        "--loop-terms",
        type=int,
        help="terms in the per-term loop's sample (default 1000; quick 200)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="matcher passes over the corpus, best counts (default 5)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [
        int(s.replace("_", ""))
        for s in (args.sizes or ("1000" if quick else "1000,10000,100000")).split(",")
    ]
    args.mb = args.mb if args.mb is not None else (0.3 if quick else 5.0)
    args.budget = args.budget if args.budget is not None else (0.5 if quick else 5.0)
    args.loop_terms = args.loop_terms if args.loop_terms is not None else (200 if quick else 1000)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.real is not None:
        from realnews import run as run_real

        sizes = args.sizes if "--sizes" in (argv or sys.argv) else [10_000]
        print("\n".join(machine_info()) + "\n")
        print(run_real(args.real, sizes, args.limit, args.seed, args.baseline))
        return
    rng = random.Random(args.seed)
    say(f"generating the corpus ({args.mb:g} MB, seed {args.seed})")
    vocab = build_vocabulary(rng)
    articles = build_corpus(vocab, rng, args.mb)
    sizes = [article_bytes(a) for a in articles]
    results = [bench_size(n, vocab, articles, sizes, args) for n in args.sizes]
    print(report(results, articles, sizes, args))


# --- word lists --------------------------------------------------------------
# Tokens of the project's bundled texts, most frequent first: samples/seed-article.txt,
# samples/world-desk.rss and the English pages in tests/fixtures/pages (EN_WORDS, lower case),
# the German page (DE_WORDS, as written) and the English capitalised proper nouns (NAMES).

EN_WORDS = """
the in and to a of for with on said that as was at his is we by from has this an have are
named not which awards been new after best but it part their up who be border colonial force
its more our three year cast city country first he history ministry now right soldiers streets
were will actors colonialism comedy crimes ensemble get her joint last leader military one
postcolonial project s some troops us what work you actress against another authorities award
being bridge called colonization defence despite did drama far film five had imperialist
independent into involved issue it's just locals look most names need night no other out
people performance protection role so south supporting take these when winner about accused
actor all ally anti anyone arrived beat became because become big bringing capital case co
column connection convoy could countries deployment disappointing do dream earlier forces
foreign frontier global group happened high honor how if imperial including join journalism
journalists kill language later leaders led life local major makes man many means meeting
migration mission morning move movie offensive office often operation or others picked picture
playing prize prizes renamed renaming reporting residents resistance seen set several show
small standing still support television than thank there through told total towards trying two
upset used war watched well went while wing women won world years your above accepted
according accurate achievement acknowledged across actions activists activity adaptation added
adding agent aging agreeing air allowed along also always am ammunition amounted anchor
announced annual app aren't argued army around art article ask asked aspects associations
attack attacks attempts author backstage base beautiful before began begin behind benevolent
better between biopic blocks bloody book both bought branches bread brought brutal building
came campaign campaigner can capping carry casts cementing century challenges change changes
charming cities claim claimed closed closely coinciding colonialist colony comic coming
commissioner committed compared complaints consequences constitute contact contenders
contingent continue contracts contribution control controversial controversy convoys costumes
creation creator criminalizing crossing cruelty damu day decided decision decisions decolonial
dedicated defending defense defensive delaying deliver delivered dependent deployed designated
desperate difference differently difficult diminish dinner direct directly director discredits
disgruntled district divided divorce divorced does doesn't domestic draw driving earning
eastern economic emerged empire empires empty end entirely events ever every excessive
exchange exclusively exhibitions expansion expected extra face facing failed fame favorite
fears feeding fellow festival fighters fighting filed filmed finance financially find finds
focus follows form former founded four freight friendly frontrunners gangster gap gates gave
genocide gets given going gone guards guy hand handed handing happen happy harassment heading
heartthrob help highway historian homegrown hosted humanity immersive impact imperialism
important include includes independence indicator infamous infantry instrumental intend
intense interest international interpreter interview invited involve issues itself kept key
kilometres know labeling land largest laughter launch launched launching lawmakers lawyer lead
leadership leading lecture left lifetime like likewise list loner lorries made mainly making
map mark marking matter me met might million minimize minimized ministers mkono momentum month
monthly movies moving multiple mutiny my name nationwide near neighboring never next nickname
nods nominated north nothing notorious novel nuanced observers off officials online open
opened opposition organise organization organizations organized origin over overlooked own
parcels past payments peers performances period perspectives pilot placed places plans please
pledge plotting points political politically politicians populist positive posthumous powers
predict pretending process progress projects properly prosecution provide purely putting
queues quick quipped quirky race radicals raised readers really rebellion recalled
reconsidered referring reframe refugees refuse regime regional regulated rehabilitated
reinforce relationship relationships relatively relativized released relevant relies remained
replace repression reputation responsibility riffing risk roles rollout royal ruthless
sabotage salt satire say season second security see sees sends service servicemen shipment
shirt shot should shoulders showed shows side significant silence silenced simply size snubbed
social software southwest specify speech spokesman square squares stability stadium staff
stands star stars starting statuette streaming street strengthen stretch stretched strive
stunt success supported swept systems taken takes tanks terrifying territory terrorist tests
th thing things third though thriller today tomorrow took top traditional training treating
tribal tribes trophy trucks true truly turn twice unbiased undesirable unhappy unjust unknown
unprecedented vehicles veiled villain violence von voting wa wake wealth weapons wearing week
weeks welcomed welcoming west what's where whole whose wife win without would you're
"""

DE_WORDS = """
die der und nach mit in Stunden vor von zu auch den für nicht Bahn dem im EU Europa ein Decker
Ich Verbindungen an bei das de eine er es europäische hat kommen mehr so um werden zwischen
Barcelona Berlin Deutschland Madrid Paris Schnellzüge Seit Sie Strecke Tag als bis durch
entfernt heute man nur sind vom über Egoismen Europäischen FDP Fahrt Fahrten Flugzeug Hannover
Hochgeschwindigkeitstrasse ICE Kilometer Köln Lindner London Nachtzüge Nationale Nichtmal
Privatisierung Programm Rechnungshof Stockholm TEN TGV Tickets Uhr Warschau Was Website Wer
Zug aber auf aus auszubauen beim belgische dafür dass deutsche diese einem fahren geworden
gibt ihr immerhin insgesamt ist kaum kein keine könnte lange muss neue noch nun oder schon sei
seine selbst sogar sondern spanische teils war will wurde würde AVE Abzweigungen Amsterdam
Angelegenheit Anschlusszug Anschlüssen Arbeit Art Artikel Aussagen B Bahngesellschaft
Bahnverkehr Bau Belgien Bemühungen Bevölkerung Bezug Bielefeld Bitte Card Central Chef
Christian Curitiba Danke Denn Dezember Distanzen Doch Dreikönigstreffen Einschnitt Einzige
Erfahrung Eröffnung Euro Europas Fehlentscheidung Flickenteppich Flüge Fortschritt Frankreich
Garantie Gefördert Geiss Geld Genf Greta Heimat Hochgeschwindigkeitsnetz
Hochgeschwindigkeitsstrecke Hochgeschwindigkeitszüge Hochgeschwindigkeitszügen
Höchstgeschwindigkeit ICEs Inklusive Interesse Italien Jahre Juni Jährige Kilometern Klima
Klimaaktivistin Klimagipfel Kommentar Kommentare Kris Land Lindners Linie Mailand Mal Manager
Maßnahmen Mehdorn Menschen Milliarden Mitgliedsstaaten Mitgliedstaaten Mitteleuropa Málaga
Nachläufer Nachtzug Neoliberalismus Netze Pausen Plan Polen Portal Preise Privat Probleme
Produkt Rabatt Reaktionen Realität Rechnungsprüfer Rechtssozialdemokrat Redaktion
Regionalzügen Reisen Reisenden Renfe Richtung Robert Rückreise Schlafwagen Schneller
Schnellstrecke Schnellstrecken Schuld Schweiz Segelbooten Seitdem Service Sondergutachten
Spanien Staat Staaten Strecken Stunde Städten TWhao Technikjournalist Tempo Thema ThomasMelber
Thunberg Ticket TotoBien Transeuropäische Trassen UN Umstiegen Union VVPP Verkäufer Vision
Weil Welt Westen Wohnort Ziele Zudem Zuge Zugreise Zugverbindung Zustand Züge Zügen
abgeschafft alle allerdings am anbieten ausgerechnet außerdem begeisterten beginnt beiden
belgischen bereist bereits berichtet beschleunigt besserStill bezahlen bislang bleiben
brauchbare buchen dabei dadurch darauf darüber dauert davon daß denken denkt deshalb deutsch
deutschen dieser dir drei durchgehende eigener einen einzelnen empfehle englisch entspannte
entstanden entstehen erkauft erkunden erlebt erreichen erst ersten erster erzählt europaweites
europäischer fehlen findet fordert französische früher führen fünf ganz ganzen gekauft gelesen
gemütlich genossen geprägte gesehen gilt glauben grenzüberschreitenden großes größten habe
hatte helfen herunterwirtschaftete holen horrende hätten häufig ihn ihrer immer internationale
jetzt kennt klein kofinanziert kombinieren kommt komplett komplizierter konkurrenzfähig kosten
kämpfen können laut längste mehrere mehrmals mehrstündigen meistens mich miserablen
miteinander müsse müsste nationalen nehmen neues nutzt ob offen ohne online plant pro reicht
reist reiste riesen rund sagt sagte schaffen schnellste schrieben schwedische schwieriger
schöne sechseinhalb sehr seinem selber sic sich sitze sollen sowie spanischen spät später
statt strich ständig teurer toll träumen umsteigen unterstützt unterwegs unwirksamer
unzuverlässiger verpasstem verschiedene verzichtet vh viele vieler wahrgenommen waren weit
weiten weiter weitgehend weiß wenn wie wieder wo wurden wäre z zahle zeigen zentrales zugab
zugleich zuletzt zum zur zurücklegen zusammenbringen zwar zwei überfüllten
"""

NAMES = """
Belarus Africa Belarusian Lukashenko Russian German Russia East Germany SAG Ukraine Moscow
African Berlin Hollywood Oscars Times Della ISD Irishman Minsk Parasite Peters Petersallee
Poland President Saturday TV Wedding Allee April British De European Feb Fleabag Friday Gilley
Guild I Initiative Joker Judy Korean Kyiv Lüderitzstrasse Maisel Maji Marriage Mrs NGOs
Nachtigalplatz Netflix Niro Once Oscar Phoenix Pitt Read Reich Reuters Russians Story Sunday
Time Tuesday Ukrainian Ukrainians Upon Waller Zelensky Zellweger Academy Additional AfD Al
Alex Alexander Allies Alternative Aniston Anna Apple Armed Armoured Arrive Arts Bell Billy
Bismarck Black Bombshell Bong Borstein Brad Britain Bruce Brussels Burundi Cameron Cameroonian
Carl Chancellor Choice Choy Company Conference Cornelius Critics Crown Crudup DW Dear December
Dern Deutschland Dinamo Donald Editing Eventually February France Fredericks Freedom G Garland
Globes Golden Gorman Grodno Heath Ho Images January Jennifer Joaquin Joe Joon Korea LOS Laura
Ledger Lithuania Little Looted M Manga Marguerita Martin Marvelous Menschen Message Moments
Monday Moore Motion Mungunda Museum NBC Namibia Namibian Nazi Netherlands Nick Otto Pacino
Pesci Phoebe Platz Polish Principles Producers Prosecutor Protesters Putin Quarter Recognizing
Remembrance Remind Renee Robert Rwanda Schutzverträge Schwarze Sciences Screen Sexual Simon
Spain Speaking Standards Steve Strasse Swahili Tahir Tanzania They Thomson Those Trucker Trump
Trust U Vladimir Volodymyr Warsaw Zieminski
"""


if __name__ == "__main__":
    main()
