"""The compiled matcher: exact, phrase, wildcard and fuzzy terms; rules; scores."""

import random
import re
import string
import threading
from collections.abc import Iterator

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.engine import matcher as matcher_module
from bot.engine import wordscan
from bot.engine.matcher import Matcher
from bot.engine.text import tokens
from bot.engine.watchlist import load_text
from bot.models import Article, Match


@pytest.fixture(scope="module", autouse=True, params=["compiled", "python"])
def first_pass(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test here runs with the compiled first pass and with its pure-Python reference."""
    if request.param == "compiled" and not wordscan.NATIVE:
        pytest.skip("bot.engine._wordscan was not built")
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "python":
            patch.setattr(matcher_module, "TokenIndex", wordscan.PyTokenIndex)
            patch.setattr(matcher_module, "hay", wordscan.py_hay)
            patch.setattr(matcher_module, "token_starts", wordscan.py_token_starts)
        yield request.param


def matcher_for(yaml: str) -> Matcher:
    return Matcher([load_text(yaml, "t.yaml")])


LUKA = """\
name: luka
entities:
  - name: Alexander Lukashenko
    aliases: [Lukashenko, Лукашенко]
    fuzzy: 90
keywords: [troops, convoy*, "joint force"]
"""


def fire(m: Matcher, title: str, text: str = "") -> list[str]:
    return [x.watchlist for x in m.match(Article(title=title, text=text))]


def test_default_rule_needs_entity_and_keyword() -> None:
    m = matcher_for(LUKA)
    assert fire(m, "Lukashenko inspects troops") == ["luka"]
    assert fire(m, "Lukashenko meets farmers") == []
    assert fire(m, "Troops rest") == []


def test_cyrillic_text_matches_latin_alias_with_offsets() -> None:
    m = matcher_for(LUKA)
    text = "Вчера Лукашенко осмотрел troops."
    (match,) = m.match(Article(title="x", text=text))
    ent = next(h for h in match.hits if h.kind == "entity")
    assert text[ent.start : ent.end] == "Лукашенко"
    assert ent.text == "Лукашенко"
    assert ent.sentence == text


def test_word_boundaries_and_wildcards() -> None:
    m = matcher_for("name: w\nkeywords: [border, deploy*]\n")
    assert fire(m, "borderline case") == []
    assert fire(m, "a border") == ["w"]
    (match,) = m.match(Article(title="Deployment began", text=""))
    assert match.hits[0].text == "Deployment"
    assert fire(m, "redeploy plans") == []


def test_phrase_matches_across_line_breaks_and_punctuation() -> None:
    m = matcher_for(LUKA)
    (match,) = m.match(Article(title="Lukashenko", text="the new joint\n— force was set up"))
    phrase = next(h for h in match.hits if h.term == "joint force")
    assert phrase.text == "joint\n— force"


def test_fuzzy_catches_variants_not_other_names() -> None:
    m = matcher_for(LUKA)
    for variant in ("Lukashenka", "Lukaschenko", "Lukashenkо"):
        assert fire(m, f"{variant} sends troops") == ["luka"], variant
    for other in ("Lukas", "Lukashevich", "Lukoil", "Luka"):
        assert fire(m, f"{other} sends troops") == [], other
    (match,) = m.match(Article(title="Lukaschenko sends troops", text=""))
    ent = next(h for h in match.hits if h.kind == "entity")
    assert ent.fuzzy_score is not None and ent.fuzzy_score >= 90


def test_rule_near_and_not() -> None:
    m = matcher_for(
        "name: r\nkeywords: [troops]\nrule: troops NEAR/4 (border OR frontier) AND NOT exercise\n"
    )
    assert fire(m, "Troops massed at the border") == ["r"]
    assert fire(m, "Troops were seen in the capital, far from the border") == []
    assert fire(m, "Troops at the border for an exercise") == []


def test_near_never_spans_title_and_body() -> None:
    m = matcher_for("name: r\nkeywords: [troops]\nrule: troops NEAR/3 border\n")
    assert fire(m, "Troops", "border") == []


def test_group_references_in_rules() -> None:
    m = matcher_for(
        "name: g\ngroups:\n  force: [troops, soldiers]\n  move: [arriv*, deploy*]\n"
        "rule: '@force NEAR/4 @move'\n"
    )
    assert fire(m, "Soldiers arrived in Minsk") == ["g"]
    assert fire(m, "Soldiers rest; in other news a plane arrived later that day somewhere") == []


def test_title_hits_score_higher_and_score_is_explained() -> None:
    m = matcher_for("name: s\nkeywords: [troops]\nmin_score: 0\n")
    (in_title,) = m.match(Article(title="Troops", text="nothing"))
    (in_body,) = m.match(Article(title="nothing", text="Troops"))
    assert in_title.score > in_body.score
    assert 0 < in_body.score < in_title.score <= 1
    part = in_title.score_parts[0]
    assert part.term == "troops" and part.in_title and part.contribution == in_title.score


def test_min_score_filters() -> None:
    m = matcher_for("name: s\nkeywords: [troops]\nmin_score: 0.9\n")
    assert fire(m, "", "Troops") == []


def test_one_index_serves_many_watchlists() -> None:
    lists = [load_text(f"name: w{i}\nkeywords: [term{i}]\n", f"{i}.yaml") for i in range(50)]
    m = Matcher(lists)
    assert fire(m, "term7 and term42") == ["w42", "w7"] or sorted(fire(m, "term7 and term42")) == [
        "w42",
        "w7",
    ]


WORD = st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=8)


@settings(max_examples=150)
@given(
    alias=st.lists(WORD, min_size=1, max_size=3).map(" ".join),
    before=st.lists(WORD, max_size=6).map(" ".join),
    after=st.lists(WORD, max_size=6).map(" ".join),
    sep=st.sampled_from([" ", "\n", ", ", " — "]),
)
def test_alias_inserted_at_word_boundary_is_found_at_its_offsets(
    alias: str, before: str, after: str, sep: str
) -> None:
    m = matcher_for(f"name: p\nkeywords: [{alias!r}]\nmin_score: 0\n")
    text = f"{before}{sep}{alias.title()}{sep}{after}"
    matches = m.match(Article(title="", text=text))
    assert matches, text
    starts = [h.start for h in matches[0].hits]
    expected = len(before) + len(sep)
    assert expected in starts
    hit = next(h for h in matches[0].hits if h.start == expected)
    assert text[hit.start : hit.end].lower() == alias


@settings(max_examples=100)
@given(word=WORD, prefix=WORD, suffix=WORD)
def test_no_match_inside_a_longer_word(word: str, prefix: str, suffix: str) -> None:
    longer = prefix + word + suffix
    assume(not re.search(rf"\b{word}\b", longer))
    m = matcher_for(f"name: p\nkeywords: ['{word}']\nmin_score: 0\n")
    assert m.match(Article(title="", text=f"x {longer} y")) == []


FULL_NAME = """\
name: full
entities:
  - name: Alexander Lukashenko
    fuzzy: 90
  - name: Volodymyr Zelensky
    fuzzy: 90
keywords: [troops]
"""


def fuzzy_hits(m: Matcher, text: str) -> list[tuple[str, float | None]]:
    (match,) = m.match(Article(title="", text=text + " troops")) or [None]
    if match is None:
        return []
    return [(h.text, h.fuzzy_score) for h in match.hits if h.kind == "entity"]


def test_two_word_fuzzy_aliases_take_misspellings_in_both_words() -> None:
    m = matcher_for(FULL_NAME)
    for variant in (
        "Alexandr Lukashenka",
        "Aleksandr Lukashenko",
        "Alexander Lukaschenko",
        "Volodymyr Selenskyj",  # a changed first letter in the second word
    ):
        ((found, score),) = fuzzy_hits(m, f"Yesterday {variant} said")
        assert found == variant and score is not None and score >= 90, variant
    for other in ("Alexander Lukas", "Alex Luka", "Vladimir Zhirinovsky"):
        assert fuzzy_hits(m, f"Yesterday {other} said") == [], other


NAMES = [
    "Lukashenko",
    "Tsikhanouskaya",
    "Putin",
    "Alexander Lukashenko",
    "Aliaksandr Lukashenka",
    "Volodymyr Zelensky",
    "Sergei Shoigu",
    "V. Putin",
    "Valerii Zaluzhnyi",
]
FILLER = [
    "the",
    "troops",
    "said",
    "on",
    "a",
    "border",
    "and",
    "his",
    "new",
    "joint",
    "force",
    "in",
    "Minsk",
    "was",
    "ready",
]


def misspell(rng: random.Random, word: str) -> str:
    """One edit inside ``word`` (the first letter kept), as in real misspellings."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word))
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + rng.choice("aeiouykh") + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + rng.choice("aeiouykh") + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :] if i > 1 else word


def brute_force_fuzzy(m: Matcher, text: str) -> list[tuple[int, str, float]]:
    """The fuzzy step as first written: every gram against every alias of its bucket."""
    toks = tokens(text)
    out = []
    for size in sorted({a.size for a in m._aliases}):
        firsts: dict[str, int] = {}
        for i in range(len(toks) - size + 1):
            gram = " ".join(toks[i : i + size])
            if len(gram) >= 4:
                firsts.setdefault(gram, i)
        for gram, first in firsts.items():
            bucket = [a for a in m._aliases if a.size == size and a.text[0] == gram[0]]
            if not bucket:
                continue
            lowest = min(a.cutoff for a in bucket)
            found = process.extract(
                gram, [a.text for a in bucket], scorer=fuzz.ratio, score_cutoff=lowest, limit=None
            )
            for _, score, j in found:
                alias = bucket[j]
                similar = abs(len(gram) - len(alias.text)) <= max(1, len(alias.text) // 5)
                if score >= alias.cutoff and gram != alias.text and similar:
                    positions = [
                        i
                        for i in range(first, len(toks) - size + 1)
                        if " ".join(toks[i : i + size]) == gram
                    ]
                    out.extend((i, alias.text, round(score, 1)) for i in positions)
    return out


@pytest.mark.parametrize("cutoff", [75, 85, 88, 90, 95])
def test_fuzzy_matching_finds_what_comparing_every_gram_finds(cutoff: int) -> None:
    entities = "".join(f"  - name: {n}\n    fuzzy: {cutoff}\n" for n in NAMES)
    m = matcher_for(f"name: f\nentities:\n{entities}keywords: [troops]\n")
    rng = random.Random(cutoff)
    for _ in range(300):
        words: list[str] = []
        for _ in range(rng.randint(5, 30)):
            if rng.random() < 0.3:
                name = rng.choice(NAMES).split()
                edits = rng.choice([0, 1, 1, 2, 3])
                for _ in range(edits):
                    k = rng.randrange(len(name))
                    name[k] = misspell(rng, name[k])
                words.extend(name)
            else:
                words.append(rng.choice(FILLER))
        text = " ".join(words)
        body_fuzzy = m._scan(Article(title="", text=text)).fuzzy[1]
        found = [(i, alias.text, score) for i, alias, score in body_fuzzy]
        assert found == brute_force_fuzzy(m, text), text


FILLER_WORDS = st.sampled_from(
    ["Straße", "ﬁeld", "Лукашенко", "café", "x", "NATO", "e\u0301te", "2024"]
)
SEPARATOR = st.sampled_from([" ", "  ", "\n", ", ", " — ", "… ", " “", "” ", " (", ") ", "’s "])


@settings(max_examples=150)
@given(
    filler=st.lists(st.one_of(WORD, FILLER_WORDS), max_size=8),
    phrase=st.lists(WORD, min_size=1, max_size=3),
    seps=st.lists(SEPARATOR, min_size=12, max_size=12),
    at=st.integers(0, 8),
)
def test_hit_offsets_point_at_the_words_whatever_comes_before(
    filler: list[str], phrase: list[str], seps: list[str], at: int
) -> None:
    m = matcher_for(f"name: p\nkeywords: [{' '.join(phrase)!r}]\nmin_score: 0\n")
    at = min(at, len(filler))
    inside = seps[-1] if seps[-1].strip(" ") == "" else " "
    written = inside.join(w.title() for w in phrase)
    words = [*filler[:at], written, *filler[at:]]
    text = "".join(w + seps[i % len(seps)] for i, w in enumerate(words))
    expected = len("".join(w + seps[i % len(seps)] for i, w in enumerate(words[:at])))
    matches = m.match(Article(title="", text=text))
    assert matches, text
    for hit in matches[0].hits:
        assert tokens(text[hit.start : hit.end]) == phrase
        assert hit.text == text[hit.start : hit.end]
    assert expected in [h.start for h in matches[0].hits]


def test_threads_sharing_a_matcher_get_what_one_thread_gets() -> None:
    """The service matches in worker threads; they share the first pass's word table."""
    entities = "".join(f"  - name: {n}\n    fuzzy: 85\n" for n in NAMES)
    yaml = f"name: f\nentities:\n{entities}keywords: [troops, border guards, deploy*]\n"
    m = matcher_for(yaml)
    rng = random.Random(5)
    articles = []
    for k in range(120):
        words = [rng.choice([*FILLER, "troops", "border", "guards", "deployed"]) for _ in range(60)]
        name = rng.choice(NAMES).split()
        name[-1] = misspell(rng, name[-1])
        words.insert(rng.randrange(len(words)), " ".join(name))
        articles.append(Article(title=f"story {k}", text=" ".join(words)))

    def record(matches: list[Match]) -> list[tuple[str, float, list[tuple[str, int, int]]]]:
        return [(x.watchlist, x.score, [(h.term, h.start, h.end) for h in x.hits]) for x in matches]

    alone = matcher_for(yaml)  # its own word table: nothing shared with the threads
    expected = [record(alone.match(a)) for a in articles]
    assert any(expected)
    results: dict[int, list[list[tuple[str, float, list[tuple[str, int, int]]]]]] = {}

    def work(worker: int) -> None:
        results[worker] = [record(m.match(a)) for a in articles]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == expected for i in range(4))
