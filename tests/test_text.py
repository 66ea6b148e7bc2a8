"""The normaliser, tokeniser and sentence splitter."""

from hypothesis import given
from hypothesis import strategies as st

from bot.text import normalise, normalise_str, sentence_for, split_sentences, tokenise, tokens


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
