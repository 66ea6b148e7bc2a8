"""The compiled first pass (bot/engine/_wordscan.c) against its pure-Python reference."""

from __future__ import annotations

import bisect
import gc
import os
import random
import threading
from array import array

import ahocorasick
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from bot.engine import wordscan
from bot.engine.text import TOKEN_RE, normalise
from bot.engine.wordscan import PyTokenIndex, py_hay, py_token_starts

try:
    from bot.engine import _wordscan as native
except ImportError:  # pragma: no cover - only where no C compiler was available
    native = None  # type: ignore[assignment]

needs_native = pytest.mark.skipif(native is None, reason="bot.engine._wordscan was not built")

LETTERS = "abcdeiklnorsuz09"
WORD = st.text(LETTERS, min_size=1, max_size=14)


def test_ci_builds_the_compiled_module() -> None:
    """On CI the extension must be built, or every test below would only test the fallback."""
    if os.environ.get("CI"):
        assert native is not None and wordscan.NATIVE


Alias = tuple[str, int, int]
Word = tuple[str, int, list[tuple[int, int, int]]]


def brute_scan(aliases: list[Alias], words: list[Word], hay: str) -> tuple[list, list]:
    """Every token compared with every alias word, every gram built: the definition."""
    toks = hay.split()
    singles, grams = [], []
    for i, tok in enumerate(toks):
        near: list[tuple[int, int, int]] = []
        for word, reach, targets in words:
            if tok[0] != word[0] or abs(len(tok) - len(word)) > reach:
                continue
            distance = Indel.distance(tok, word)
            near.extend(t for t in targets if distance <= t[2])
        if any(place < 0 for _, place, _ in near):
            singles.append((i, tok))
        for ident, place, _ in near:
            if place < 0:
                continue
            text, size, cutoff = aliases[ident]
            start = i - place
            if start < 0 or start + size > len(toks):
                continue
            gram = " ".join(toks[start : start + size])
            if gram[0] != text[0] or abs(len(gram) - len(text)) > max(1, len(text) // 5):
                continue
            if fuzz.ratio(gram, text) >= cutoff:  # rapidfuzz's own ratio: the matcher's check
                grams.append((start, gram, ident))
    return singles, grams


@needs_native
@settings(max_examples=300)
@given(st.text(max_size=200))
def test_native_hay_equals_the_reference(text: str) -> None:
    normalised = normalise(text).text
    assert native.hay(normalised) == py_hay(normalised)


@needs_native
def test_hay_refuses_text_that_is_not_normalised() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        native.hay("Лукашенко")


@st.composite
def fuzzy_indexes(draw: st.DrawFn) -> tuple[list[Alias], list[Word]]:
    """Aliases of one to three words, and their words with targets as the matcher makes them."""
    aliases = draw(
        st.lists(
            st.tuples(st.lists(WORD, min_size=1, max_size=3), st.integers(60, 100)),
            min_size=1,
            max_size=8,
        )
    )
    specs = [(" ".join(ws), len(ws), cutoff) for ws, cutoff in aliases]
    by_word: dict[str, tuple[int, list[tuple[int, int, int]]]] = {}
    for ident, (ws, _) in enumerate(aliases):
        for place, word in enumerate(ws):
            reach = draw(st.integers(0, 3))
            budget = draw(st.integers(0, 3))
            old_reach, targets = by_word.get(word, (0, []))
            targets.append((ident, -1 if len(ws) == 1 else place, budget))
            by_word[word] = (max(old_reach, reach), targets)
    return specs, [(w, reach, targets) for w, (reach, targets) in by_word.items()]


def alias_words(index: tuple[list[Alias], list[Word]]) -> list[str]:
    return [w for w, _, _ in index[1]]


@pytest.mark.parametrize(
    "make", [PyTokenIndex, pytest.param(getattr(native, "TokenIndex", None), marks=needs_native)]
)
@settings(max_examples=200, deadline=None)
@given(index=fuzzy_indexes(), data=st.data())
def test_first_pass_reports_exactly_what_comparing_everything_finds(
    make: type, index: tuple[list[Alias], list[Word]], data: st.DataObject
) -> None:
    aliases, words = index
    f = make(aliases, words, limit=5)  # a small limit: forgetting must not change any answer
    token = st.one_of(WORD, st.sampled_from(alias_words(index)))
    for _ in range(3):
        hay = " " + " ".join(data.draw(st.lists(token, max_size=25))) + " "
        expected = brute_scan(aliases, words, hay)
        assert f.scan(hay)[:2] == expected
        assert f.scan(hay)[:2] == expected  # remembered, same answer


@needs_native
def test_native_and_reference_agree_on_news_sized_input() -> None:
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz"

    def new_word() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))

    aliases: list[Alias] = []
    by_word: dict[str, list[tuple[int, int, int]]] = {}
    for ident in range(300):
        ws = [new_word() for _ in range(rng.choice([1, 1, 2, 3]))]
        aliases.append((" ".join(ws), len(ws), rng.choice([80, 85, 90])))
        for place, w in enumerate(ws):
            target = (ident, -1 if len(ws) == 1 else place, rng.randint(0, 3))
            by_word.setdefault(w, []).append(target)
    words: list[Word] = [(w, rng.randint(1, 3), ts) for w, ts in by_word.items()]
    vocabulary = list(by_word)
    starters = [(w, rng.randint(1, 3)) for w in rng.sample(vocabulary, 100)]
    prefixes = [w[:3] for w in rng.sample(vocabulary, 30) if len(w) > 3]
    fast = native.TokenIndex(aliases, words, starters, prefixes, limit=2_000)
    ref = PyTokenIndex(aliases, words, starters, prefixes, limit=2_000)
    reported = 0
    for _ in range(200):
        toks = []
        for _ in range(rng.randint(0, 300)):
            w = rng.choice(vocabulary) if rng.random() < 0.2 else new_word()
            if rng.random() < 0.5:  # one edit
                k = rng.randrange(len(w))
                w = w[:k] + rng.choice(["", rng.choice(alphabet), w[k] * 2]) + w[k + 1 :] or "a"
            toks.append(w)
        hay = " " + " ".join(toks) + " "
        got = fast.scan(hay)
        assert got == ref.scan(hay)
        reported += len(got[0]) + len(got[1]) + (got[2] is not None)
    assert reported > 100  # the input did reach the interesting cases


@needs_native
def test_words_and_grams_longer_than_64_characters_are_compared_too() -> None:
    long_name = "a" + "bcdefghij" * 8  # 73 letters: past the bit-parallel width
    aliases = [(long_name, 1, 95), (f"{long_name} {long_name}", 2, 95)]
    words: list[Word] = [(long_name, 2, [(0, -1, 2), (1, 0, 2), (1, 1, 2)])]
    f = native.TokenIndex(aliases, words)
    typo = long_name[:40] + "x" + long_name[41:]
    hay = f" {typo} {long_name}q zzz "
    assert f.scan(hay)[:2] == brute_scan(aliases, words, hay)
    singles, grams, *_ = f.scan(hay)
    assert singles == [(0, typo), (1, long_name + "q")]
    assert grams == [(0, f"{typo} {long_name}q", 1), (0, f"{typo} {long_name}q", 1)]


@needs_native
def test_first_pass_remembers_up_to_its_limit_then_starts_afresh() -> None:
    f = native.TokenIndex([("lukashenko", 1, 90)], [("lukashenko", 2, [(0, -1, 2)])], limit=3)
    # "lukas", "a": no alias word of their first letter and length, not even remembered
    hay = " lxxxxxxxxx lukas lyyyyyyyy lukashenka a "
    assert f.scan(hay)[:2] == ([(3, "lukashenka")], [])
    assert len(f) == 3
    assert f.scan(" lzzzzzzzz lukashenka ")[:2] == ([(1, "lukashenka")], [])
    assert len(f) == 2  # forgot the three, then learnt two
    f.clear()
    assert len(f) == 0


GOOD_ALIASES = [("alexander lukashenko", 2, 90)]


@needs_native
@pytest.mark.parametrize(
    "aliases, words, error",
    [
        (GOOD_ALIASES, [("", 1, [(0, 0, 1)])], ValueError),
        (GOOD_ALIASES, [("lukashenko", -1, [(0, 1, 1)])], ValueError),
        (GOOD_ALIASES, [("лукашенко", 1, [(0, 1, 1)])], ValueError),
        (GOOD_ALIASES, [("lukashenko", 1, [])], ValueError),
        (GOOD_ALIASES, [("lukashenko", 1, [(1, 1, 1)])], ValueError),  # no alias 1
        (GOOD_ALIASES, [("lukashenko", 1, [(0, 2, 1)])], ValueError),  # no place 2
        (GOOD_ALIASES, [["lukashenko", 1, [(0, 1, 1)]]], TypeError),
        (GOOD_ALIASES, [("lukashenko", "x", [(0, 1, 1)])], TypeError),
        ([("x", 0, 90)], [], ValueError),
        ([("x", 1, 101)], [], ValueError),
        (None, [], TypeError),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(
    aliases: object, words: object, error: type
) -> None:
    with pytest.raises(error):
        native.TokenIndex(aliases, words)


@needs_native
def test_scan_refuses_text_that_is_not_normalised() -> None:
    f = native.TokenIndex(GOOD_ALIASES, [("lukashenko", 1, [(0, 1, 1)])])
    with pytest.raises(ValueError, match="ASCII"):
        f.scan(" лукашенко ")


def test_reference_is_safe_to_share_between_threads() -> None:
    aliases: list[Alias] = [("lukashenko", 1, 90), ("volodymyr zelensky", 2, 90)]
    words: list[Word] = [
        ("lukashenko", 2, [(0, -1, 2)]),
        ("volodymyr", 1, [(1, 0, 1)]),
        ("zelensky", 1, [(1, 1, 1)]),
    ]
    f = PyTokenIndex(aliases, words, limit=50)
    rng = random.Random(3)
    pool = ["lukashenka", "volodimyr", "zelensky", "zelenskyy", "x", "volodymyr"]
    hays = [
        " " + " ".join(rng.choice([*pool, f"w{k}"]) for k in range(40)) + " " for _ in range(40)
    ]
    expected = [brute_scan(aliases, words, h) for h in hays]
    failures: list[str] = []

    def work() -> None:
        for h, want in zip(hays, expected, strict=True):
            if f.scan(h)[:2] != want:
                failures.append(h)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


# --- windows for the exact keys ----------------------------------------------

KEY = st.tuples(
    st.lists(st.text("abcde", min_size=1, max_size=3), min_size=1, max_size=3), st.booleans()
)


def automaton_for(keys: list[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for i, key in enumerate(keys):
        automaton.add_word(key, i)
    automaton.make_automaton()
    return automaton


def starters_of(keys: list[str]) -> tuple[list[tuple[str, int]], list[str]]:
    """As the matcher makes them: first words with their most tokens, one-token prefixes."""
    starters: dict[str, int] = {}
    prefixes = []
    for key in keys:
        toks = key.split()
        if len(toks) == 1 and not key.endswith(" "):
            prefixes.append(toks[0])
        else:
            starters[toks[0]] = max(starters.get(toks[0], 0), len(toks))
    return list(starters.items()), prefixes


@pytest.mark.parametrize(
    "make", [PyTokenIndex, pytest.param(getattr(native, "TokenIndex", None), marks=needs_native)]
)
@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(KEY, min_size=1, max_size=10, unique_by=lambda k: (tuple(k[0]), k[1])),
    words=st.lists(st.text("abcdef", min_size=1, max_size=4), max_size=40),
)
def test_automaton_finds_the_same_keys_in_the_windows_as_in_the_whole_text(
    make: type, specs: list[tuple[list[str], bool]], words: list[str]
) -> None:
    keys = [" " + " ".join(toks) + ("" if wildcard else " ") for toks, wildcard in specs]
    automaton = automaton_for(keys)
    hay = " " + " ".join(words) + " "
    starters, prefixes = starters_of(keys)
    _, _, reduced, starts, deltas = make([], [], starters, prefixes).scan(hay)
    whole = sorted(automaton.iter(hay))
    if reduced is None:
        assert starts is None and deltas is None
        return
    assert len(reduced) * 5 <= len(hay) * 4  # windows only when they save reading
    starts_q, deltas_q = array("q", starts), array("q", deltas)
    mapped = sorted(
        (end + deltas_q[bisect.bisect_right(starts_q, end) - 1], key)
        for end, key in automaton.iter(reduced)
    )
    assert mapped == whole


@needs_native
def test_windows_cut_out_only_where_a_key_can_start() -> None:
    keys = [" troop movements ", " deploy", " border "]
    starters, prefixes = starters_of(keys)
    index = native.TokenIndex([], [], starters, prefixes)
    hay = " the troop movements near the border were part of a deployment by the army today "
    _, _, reduced, starts, deltas = index.scan(hay)
    assert reduced == " troop movements | border | deployment |"
    assert list(array("q", starts)) == [0, 18, 27]
    in_hay = [hay.index(f" {w} ") for w in ("troop", "border", "deployment")]
    assert [s + d for s, d in zip(array("q", starts), array("q", deltas), strict=True)] == in_hay
    assert index.scan(" troop movements ")[2:] == (None, None, None)  # all of it: the hay


@needs_native
def test_a_key_longer_than_the_window_limit_turns_windows_off() -> None:
    words = [f"w{i}" for i in range(300)]
    index = native.TokenIndex([], [], [(words[0], 300)], [])
    assert index.scan(" " + " ".join(["x"] * 50 + words) + " ")[2] is None
    assert PyTokenIndex([], [], [(words[0], 300)], []).scan(" x ")[2] is None


@needs_native
@settings(max_examples=300)
@given(st.text(max_size=200))
def test_native_token_starts_equal_the_reference(text: str) -> None:
    normalised = normalise(text).text
    for string in (normalised, native.hay(normalised)):
        assert native.token_starts(string) == py_token_starts(string)
        starts = array("i", native.token_starts(string))
        assert [TOKEN_RE.match(string, i).group() for i in starts] == py_hay(string).split()


@needs_native
def test_a_second_caller_during_a_scan_is_refused_not_let_in() -> None:
    """Python code the garbage collector runs in the middle of a scan (a finalizer) may let
    another thread in; the word table must not be entered twice at once."""
    index = native.TokenIndex([("lukashenko", 1, 90)], [("lukashenko", 2, [(0, -1, 2)])])
    outcomes: list[str] = []

    class Reenters:
        def __del__(self) -> None:
            try:
                index.scan(" lukashenka ")
            except RuntimeError as exc:
                outcomes.append(str(exc))
            else:
                outcomes.append("let in")

    thresholds = gc.get_threshold()
    try:
        gc.collect()
        gc.set_threshold(1)
        cycle = Reenters()
        cycle.self = cycle  # type: ignore[attr-defined]
        del cycle
        # every single found builds a tuple: a young-generation collection runs in the scan
        singles = index.scan(" " + "lukashenka " * 50)[0]
    finally:
        gc.set_threshold(*thresholds)
    assert len(singles) == 50
    assert outcomes and all("in use by another thread" in o for o in outcomes)
    assert index.scan(" lukashenka ")[0] == [(0, "lukashenka")]  # and it works afterwards


@needs_native
def test_a_token_longer_than_the_word_table_takes_is_still_looked_at() -> None:
    giant = "a" * 70_000  # over 65,535 characters: not remembered, examined each time
    keys = [" border ", f" {giant} "]
    starters, prefixes = starters_of(keys)
    fast = native.TokenIndex([], [], starters, prefixes)
    ref = PyTokenIndex([], [], starters, prefixes)
    hay = " " + " ".join(["x"] * 40 + [giant, "border"] + ["y"] * 40000) + " "
    assert fast.scan(hay) == ref.scan(hay)
    automaton = automaton_for(keys)
    _, _, reduced, starts, deltas = fast.scan(hay)
    assert reduced is not None and starts is not None and deltas is not None
    found = sorted(
        (end + array("q", deltas)[bisect.bisect_right(array("q", starts), end) - 1], key)
        for end, key in automaton.iter(reduced)
    )
    assert found == sorted(automaton.iter(hay))
    assert len(fast) == 3  # x, border, y: the giant is not remembered
