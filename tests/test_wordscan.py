"""The compiled first pass (bot/_wordscan.c) against its pure-Python reference."""

from __future__ import annotations

import os
import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel

from bot import wordscan
from bot.text import normalise
from bot.wordscan import PyWordFilter, py_hay

try:
    from bot import _wordscan as native
except ImportError:  # pragma: no cover - only where no C compiler was available
    native = None  # type: ignore[assignment]

needs_native = pytest.mark.skipif(native is None, reason="bot._wordscan was not built")

LETTERS = "abcdeiklnorsuz09"
WORD = st.text(LETTERS, min_size=1, max_size=14)


def test_ci_builds_the_compiled_module() -> None:
    """On CI the extension must be built, or every test below would only test the fallback."""
    if os.environ.get("CI"):
        assert native is not None and wordscan.NATIVE


def brute_candidates(entries: list[tuple[str, int, int]], hay: str) -> list[tuple[int, str]]:
    """Every token compared with every entry: the definition."""
    out = []
    for i, tok in enumerate(hay.split()):
        for word, budget, reach in entries:
            if (
                tok[0] == word[0]
                and abs(len(tok) - len(word)) <= reach
                and Indel.distance(tok, word) <= budget
            ):
                out.append((i, tok))
                break
    return out


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


ENTRY = st.tuples(WORD, st.integers(0, 3), st.integers(0, 3))


@pytest.mark.parametrize(
    "make", [PyWordFilter, pytest.param(getattr(native, "WordFilter", None), marks=needs_native)]
)
@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(ENTRY, min_size=1, max_size=12),
    texts=st.lists(st.lists(WORD, max_size=25), min_size=1, max_size=3),
)
def test_filter_finds_exactly_the_tokens_within_an_entrys_budget(
    make: type, entries: list[tuple[str, int, int]], texts: list[list[str]]
) -> None:
    f = make(entries, 5)  # a small limit: forgetting must not change any answer
    for words in texts:
        hay = " " + " ".join(words) + " "
        assert f.candidates(hay) == brute_candidates(entries, hay)
        assert f.candidates(hay) == brute_candidates(entries, hay)  # remembered, same answer


@needs_native
def test_native_and_reference_agree_on_news_sized_input() -> None:
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 12))) for _ in range(300)]
    entries = [(n, rng.randint(0, 3), rng.randint(1, 3)) for n in names]
    fast, ref = native.WordFilter(entries, 2_000), PyWordFilter(entries, 2_000)
    for _ in range(200):
        words = []
        for _ in range(rng.randint(0, 300)):
            w = (
                rng.choice(names)
                if rng.random() < 0.2
                else "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
            )
            if rng.random() < 0.5:  # one edit
                k = rng.randrange(len(w))
                w = w[:k] + rng.choice(["", rng.choice(alphabet), w[k] * 2]) + w[k + 1 :] or "a"
            words.append(w)
        hay = " " + " ".join(words) + " "
        assert fast.candidates(hay) == ref.candidates(hay)


@needs_native
def test_words_longer_than_64_characters_are_compared_too() -> None:
    long_name = "a" + "bcdefghij" * 8  # 73 letters: past the bit-parallel width
    f = native.WordFilter([(long_name, 2, 2)])
    typo = long_name[:40] + "x" + long_name[41:]
    assert f.candidates(f" {typo} {long_name}q zzz ") == [(0, typo), (1, long_name + "q")]


@needs_native
def test_filter_remembers_up_to_its_limit_then_starts_afresh() -> None:
    f = native.WordFilter([("lukashenko", 2, 2)], limit=3)
    assert f.candidates(" a b lukashenka ") == [(2, "lukashenka")]
    assert len(f) == 3
    assert f.candidates(" c d lukashenka ") == [(2, "lukashenka")]
    assert len(f) == 3  # forgot a, b and lukashenka, then learnt c, d and lukashenka again
    f.clear()
    assert len(f) == 0


@needs_native
@pytest.mark.parametrize(
    "entries, error",
    [
        ([("", 1, 1)], ValueError),
        ([("lukashenko", -1, 1)], ValueError),
        ([("лукашенко", 1, 1)], ValueError),
        ([["lukashenko", 1, 1]], TypeError),
        ([("lukashenko", "x", 1)], TypeError),
        (None, TypeError),
    ],
)
def test_bad_entries_are_refused_with_a_clear_error(entries: object, error: type) -> None:
    with pytest.raises(error):
        native.WordFilter(entries)


def test_reference_filter_is_safe_to_share_between_threads() -> None:
    entries = [("lukashenko", 2, 2), ("zelensky", 1, 1)]
    f = PyWordFilter(entries, limit=50)
    rng = random.Random(3)
    hays = [
        " "
        + " ".join(rng.choice(["lukashenka", "zelenskyy", "x", f"w{k}"]) for k in range(40))
        + " "
        for _ in range(40)
    ]
    expected = [brute_candidates(entries, h) for h in hays]
    failures: list[str] = []

    def work() -> None:
        for h, want in zip(hays, expected, strict=True):
            if f.candidates(h) != want:
                failures.append(h)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
