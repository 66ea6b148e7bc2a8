"""The normaliser, tokeniser, sentence and clause splitters."""

import re
import time
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
    split_clauses,
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


# --- clauses -------------------------------------------------------------------


def _clauses(text: str) -> list[str]:
    return [text[s:e] for s, e in split_clauses(text)]


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        (
            "Troops appear in the city as the mayor rejects it.",
            ["Troops appear in the city", "as the mayor rejects it."],
        ),
        ("The army advances as talks stall.", ["The army advances", "as talks stall."]),
        (
            "Ships wait in port while the crews rest. The talks go on; nobody leaves.",
            ["Ships wait in port", "while the crews rest.", "The talks go on;", "nobody leaves."],
        ),
        ("Two things: calm and rain.", ["Two things:", "calm and rain."]),
        ("It rained - then it snowed.", ["It rained -", "then it snowed."]),
        ("It rained – then it snowed.", ["It rained –", "then it snowed."]),
        ("It rained — then it snowed.", ["It rained —", "then it snowed."]),
        (
            "The north is dry, whereas the south floods.",
            ["The north is dry,", "whereas the south floods."],
        ),
        (
            "The plan is bold but the money is short.",
            ["The plan is bold", "but the money is short."],
        ),
        ("The road is open, although snow falls.", ["The road is open,", "although snow falls."]),
        ("The road is open though snow falls.", ["The road is open", "though snow falls."]),
        ("BUT the road WHILE the rain", ["BUT the road", "WHILE the rain"]),  # any case
    ],
)
def test_clauses_split_at_stops_dashes_and_conjunctions(text: str, clauses: list[str]) -> None:
    assert _clauses(text) == clauses


@pytest.mark.parametrize(
    "text",
    [
        # "as" after the words that make it a preposition or a comparison
        "Allies such as France sent aid.",
        "Buses as well as trains stopped.",
        "The gate was left open so as to let the carts through.",
        "The price is the same as last year.",
        "The bridge is seen as key.",
        "The hill is known as the lookout.",
        "The mayor is regarded as fair.",
        "The storm was described as mild.",
        "The barn served as a school.",
        "The river acts as the border of the farm.",
        "The clerk is acting as mayor.",
        "The rain stopped just as planned.",
        # "as" before the words that make it one
        "He came as a guest.",
        "He came as an observer.",
        "As soon as the bell rang the doors opened.",
        "The road is safe as long as the weather holds.",
        "The path goes as far as the lake.",
        "As many as 5,000 people came.",
        "It cost as much as a car.",
        "As few as ten stayed.",
        "The ferry left as early as six.",
        "The shop stays open as late as nine.",
        "The parade took place as part of the fair.",
        "Prices are fixed as of today.",
        "Nobody asked as to the cost.",
        "As for the rest, they waited.",
        "The dog barked as if it knew.",
        "She smiled as though nothing happened.",
        "The shop opened as usual.",
        # "but" that joins no clauses
        "The plan is all but certain.",
        "The town heard nothing but bells.",
        "The trip was anything but calm.",
        "Not only the school but also the library closed.",
        # a colon between digits is a time or a ratio
        "The train left at 10:30 with a 3:1 share of seats.",
        # a dash inside a word or without spaces
        "A well-known writer wrote a two-part essay—brief and dry.",
    ],
)
def test_words_that_are_no_conjunction_here_do_not_split(text: str) -> None:
    assert _clauses(text) == [text]


def test_not_only_waits_for_its_own_but() -> None:
    text = "Not only the school but also the library closed, but the shops opened."
    assert _clauses(text) == [
        "Not only the school but also the library closed,",
        "but the shops opened.",
    ]


def test_clauses_stay_inside_the_sentences() -> None:
    text = (
        "Gen. Ivanov arrived as the rain began. The rest waited while it rained.\nNew line as well"
    )
    assert _clauses(text) == [
        "Gen. Ivanov arrived",
        "as the rain began.",
        "The rest waited",
        "while it rained.",
        "New line as well",
    ]


def test_a_lone_conjunction_or_stop_makes_no_empty_clause() -> None:
    assert _clauses("") == []
    assert _clauses(";;") == [";", ";"]
    assert _clauses("But then; while") == ["But then;", "while"]


def test_clauses_keep_original_offsets_in_any_script() -> None:
    text = "Straße… gesperrt — Лукашенко спит while «Шойгу» ждёт; tout va bien as usual."
    assert _clauses(text) == [
        "Straße… gesperrt —",
        "Лукашенко спит",
        "while «Шойгу» ждёт;",
        "tout va bien as usual.",
    ]


CLAUSY = st.lists(
    st.sampled_from(
        [
            "as",
            "As",
            "such",
            "many",
            "but",
            "not",
            "only",
            "while",
            "Ok.",
            ";",
            ":",
            " - ",
            "—",
            "10:30",
            "word",
            "\n",
            "though",
            "all",
        ]
    ),
    max_size=60,
).map(" ".join)


@given(st.one_of(st.text(), SENTENCY, CLAUSY))
def test_clauses_partition_the_sentences(text: str) -> None:
    """Each clause lies in one sentence, and the clauses of a sentence cover its words."""
    sentences = split_sentences(text)
    clauses = split_clauses(text)
    assert clauses == sorted(clauses)
    for first, last in clauses:
        assert first < last and text[first:last] == text[first:last].strip()
        assert any(s <= first and last <= e for s, e in sentences)
    covered = "".join(text[s:e] for s, e in clauses)
    whole = "".join(text[s:e] for s, e in sentences)
    assert "".join(covered.split()) == "".join(whole.split())


def test_clause_splitting_is_linear_on_hostile_input() -> None:
    """1 MB of "as as as" (every word a conjunction, each one's neighbours asked about) and
    1 MB of conjunctions and stops in one sentence: a quadratic pass would take hours."""
    for text in ("as as as " * 116_509, "but ; while - as such as " * 41_944):
        assert len(text) >= 1_000_000
        started = time.perf_counter()
        clauses = split_clauses(text)
        assert time.perf_counter() - started < 10
        assert clauses and clauses[-1][1] == len(text.rstrip())
