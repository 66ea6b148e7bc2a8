"""The normaliser, tokeniser and sentence splitter."""

import re
import unicodedata

import pytest
from anyascii import anyascii
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.text import (
    _SENTENCE_END,
    TOKEN_RE,
    normalise,
    normalise_str,
    sentence_for,
    sentence_span,
    split_sentences,
    split_tokens,
    tokenise,
    tokens,
)


def test_cyrillic_and_latin_spellings_meet() -> None:
    assert normalise_str("Лукашенко") == "lukashenko"
    assert normalise_str("LUKASHENKO") == "lukashenko"
    assert tokens("Беларусь") == ["belarus"]
    assert tokens("Лукашэнка") == ["lukashenka"]


def test_diacritics_and_compatibility_forms_fold() -> None:
    assert normalise_str("Łukaszenka") == "lukaszenka"
    assert normalise_str("Café") == "cafe"
    assert normalise_str("e\u0301") == "e"  # combining accent
    assert normalise_str("ﬁeld") == "field"  # ligature (NFKC)
    assert normalise_str("Straße") == "strasse"


def test_offsets_map_back_to_the_original() -> None:
    text = "Минск: «Лукашенко» said"
    norm = normalise(text)
    toks = tokenise(norm)
    assert [t.text for t in toks] == ["minsk", "lukashenko", "said"]
    for tok in toks:
        assert normalise_str(text[tok.start : tok.end]) == tok.text
    assert text[toks[1].start : toks[1].end] == "Лукашенко"


def test_punctuation_and_line_breaks_separate_tokens() -> None:
    assert tokens("joint\n—force, troops' convoy") == ["joint", "force", "troops", "convoy"]


@given(st.text())
def test_normalising_is_idempotent(text: str) -> None:
    once = normalise_str(text)
    assert normalise_str(once) == once


@given(st.text())
def test_every_token_maps_to_original_text_that_normalises_to_it(text: str) -> None:
    norm = normalise(text)
    for tok in tokenise(norm):
        assert 0 <= tok.start <= tok.end <= len(text)
        assert tok.text in normalise_str(text[tok.start : tok.end])


def reference_normalise(text: str) -> tuple[str, list[int]]:
    """The definition, one character at a time: folded text and, per folded character, its source."""
    out: list[str] = []
    sources: list[int] = []
    for i, char in enumerate(text):
        if char.isascii():
            folded = char.lower()
        else:
            folded = anyascii(unicodedata.normalize("NFKC", char).casefold()).lower()
        out.append(folded)
        sources.extend([i] * len(folded))
    return "".join(out), sources


NEWSY = st.text(
    alphabet=st.sampled_from(list("aZ 9.,'\n\x00") + list("“”’—„…«»éüßİ\u0301ﬁЛукашенко")),
    max_size=40,
)


@given(st.one_of(st.text(), NEWSY))
def test_normalise_is_the_character_by_character_fold(text: str) -> None:
    norm = normalise(text)
    expected, sources = reference_normalise(text)
    assert norm.text == expected
    assert [norm.original_span(i, i + 1)[0] for i in range(len(expected))] == sources
    assert norm.original_span(len(expected), len(expected)) == (len(text), len(text))


@given(st.one_of(st.text(), NEWSY))
def test_split_tokens_is_the_token_pattern(text: str) -> None:
    normalised = normalise_str(text)
    assert split_tokens(normalised) == TOKEN_RE.findall(normalised)


def test_sentences_split_at_stops_and_line_breaks_but_not_abbreviations() -> None:
    text = 'Gen. Ivanov arrived in Minsk. "We are ready," he said! U.S. officials disagreed.\nNew line here'
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == [
        "Gen. Ivanov arrived in Minsk.",
        '"We are ready," he said!',
        "U.S. officials disagreed.",
        "New line here",
    ]


def test_sentence_for_finds_the_sentence_of_an_offset() -> None:
    text = "One two. Three four."
    spans = split_sentences(text)
    assert sentence_for(spans, text.index("four")) == (9, 20)
    assert sentence_for(spans, 0) == (0, 8)


# the sentence-end pattern as first written (one alternative per kind of end)
PLAIN_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-ZА-ЯЁІЇЄҐ0-9])|\n\s*")
SENTENCY = st.text(alphabet=st.sampled_from(list(".!?…\n \t\"'”’“‘()[]aZ9Ё,")), max_size=30)


@given(st.one_of(st.text(), SENTENCY))
def test_sentence_ends_are_those_of_the_plain_pattern(text: str) -> None:
    expected = [m.span() for m in PLAIN_SENTENCE_END.finditer(text)]
    assert [m.span() for m in _SENTENCE_END.finditer(text)] == expected


LONG_SENTENCY = st.lists(
    st.sampled_from(
        ["Gen.", "U.S.", "J.", "word", "Minsk.", "“Quote.”", "\n", "  ", "Ok!", "3.5", "…"]
    ),
    max_size=200,
).map(" ".join)


@given(st.one_of(st.text(), SENTENCY, LONG_SENTENCY))
def test_sentence_span_is_sentence_for_of_all_sentences(text: str) -> None:
    spans = split_sentences(text)
    for offset in range(-1, len(text) + 2):
        assert sentence_span(text, offset) == sentence_for(spans, offset), offset


@pytest.mark.parametrize(
    "text",
    [
        "Войска России вошли в Беларусь, — сообщил министр обороны «Шойгу». " * 20,
        "English news with “quotes” — and one word: Лукашенко. " * 20,
        "Mostly ASCII at first. " * 20 + "Затем по-русски: щука, жара, чай. " * 20,
    ],
)
def test_long_texts_in_any_script_mix_fold_character_by_character(text: str) -> None:
    norm = normalise(text)
    expected, sources = reference_normalise(text)
    assert norm.text == expected
    assert [norm.original_span(i, i + 1)[0] for i in range(len(expected))] == sources
