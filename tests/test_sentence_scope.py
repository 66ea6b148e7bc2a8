"""SENT: both sides in one sentence; SENT NOT: the clause-level exclusion."""

import pytest

from bot.engine.matcher import Matcher
from bot.engine.rules import Layout, RuleError, Sent, Term, evaluate, nearest_miss, parse, render
from bot.engine.watchlist import load_text
from bot.models import Article

# token positions 0-9 are sentence 0, 10-19 sentence 1, ...
LAYOUT = Layout(title_end=1000, lead_end=1000, sentence_of=lambda pos: pos // 10)


def _spans(found: dict[str, list[tuple[int, int]]]):  # type: ignore[no-untyped-def]
    return lambda term: found.get(term.value, [])


def test_sent_parses_renders_and_binds_like_near() -> None:
    assert parse("troops SENT border") == Sent(Term("word", "troops"), Term("word", "border"))
    assert render(parse("a SENT b AND c")) == "a SENT b AND c"
    assert parse("a SENT b AND c") == parse("(a SENT b) AND c")
    assert render(parse("deploy* SENT NOT (weighs OR considers)")) == (
        "deploy* SENT NOT (weighs OR considers)"
    )


def test_sent_with_not_on_both_sides_is_refused() -> None:
    with pytest.raises(RuleError, match="on this side of SENT"):
        parse("NOT a SENT NOT b")


def test_lower_case_sent_gets_the_upper_case_hint() -> None:
    with pytest.raises(RuleError, match="upper case: SENT"):
        parse("troops sent border")


@pytest.mark.parametrize(
    ("troops", "border", "matched"),
    [
        ((2, 3), (8, 9), True),  # same sentence, 6 words apart
        ((9, 10), (10, 11), False),  # neighbours across a sentence end
        ((2, 3), (22, 23), False),
    ],
)
def test_sent_needs_one_sentence(
    troops: tuple[int, int], border: tuple[int, int], matched: bool
) -> None:
    found = _spans({"troops": [troops], "border": [border]})
    assert evaluate(parse("troops SENT border"), found, LAYOUT).matched is matched


def test_sent_pairs_different_words_only() -> None:
    found = _spans({"border patrol": [(2, 4)], "patrol": [(3, 4)]})
    assert not evaluate(parse('"border patrol" SENT patrol'), found, LAYOUT).matched


def test_sent_evidence_is_the_pairs_in_matching_sentences() -> None:
    found = _spans({"troops": [(1, 2), (31, 32)], "border": [(5, 6), (45, 46)]})
    result = evaluate(parse("troops SENT border"), found, LAYOUT)
    assert result.spans == ((1, 2), (5, 6))


def test_sent_not_keeps_the_occurrences_whose_sentence_has_no_exclusion() -> None:
    node = parse("deploy* SENT NOT weighs")
    hedged = _spans({"deploy": [(3, 4)], "weighs": [(1, 2)]})
    mixed = _spans({"deploy": [(3, 4), (13, 14)], "weighs": [(1, 2)]})
    assert not evaluate(node, hedged, LAYOUT).matched
    assert evaluate(node, mixed, LAYOUT).spans == ((13, 14),)
    assert nearest_miss(node, hedged, LAYOUT) == "SENT: every deploy* has weighs in its sentence"


def test_miss_says_not_in_the_same_sentence() -> None:
    found = _spans({"troops": [(9, 10)], "border": [(10, 11)]})
    assert nearest_miss(parse("troops SENT border"), found, LAYOUT) == (
        "SENT: troops and border are not in the same sentence"
    )


def test_without_sentence_information_title_and_body_are_apart() -> None:
    found = _spans({"troops": [(1, 2)], "border": [(1001, 1002)]})
    assert not evaluate(parse("troops SENT border"), found, Layout(title_end=1000)).matched
    assert evaluate(parse("troops SENT border"), found).matched


# --- in the matcher: the engine's own sentence splitter ----------------------

HEDGED = """\
name: moves
groups:
  forces: [troops, soldiers]
  hedge: [weighs, considers, could]
rule: (@forces SENT deploy*) AND (deploy* SENT NOT @hedge)
min_score: 0.1
"""


def _fire(title: str, text: str) -> list[str]:
    matcher = Matcher([load_text(HEDGED, "t.yaml")])
    return [m.watchlist for m in matcher.match(Article(title=title, text=text))]


def test_force_and_movement_in_two_sentences_do_not_pair() -> None:
    assert _fire("", "Troops rested in the barracks. Ships were deployed far away.") == []
    assert _fire("", "Troops were deployed to the coast. Ships stayed home.") == ["moves"]


def test_a_hedged_clause_does_not_fire_but_a_plain_one_does() -> None:
    assert _fire("", "The minister weighs whether troops should be deployed.") == []
    text = "The minister weighs a new budget. Troops were deployed to the coast."
    assert _fire("", text) == ["moves"]


def test_headline_and_body_are_different_sentences() -> None:
    assert _fire("Troops rest", "Ships were deployed far away.") == []


def test_abbreviations_do_not_split_a_sentence() -> None:
    assert _fire("", "Gen. Smith said troops were deployed to the coast.") == ["moves"]


def test_diagnosis_of_a_cross_sentence_pair() -> None:
    matcher = Matcher([load_text(HEDGED, "t.yaml")])
    article = Article(title="", text="Troops rested in the barracks. Ships were deployed far away.")
    diagnosis = matcher.diagnose(article, "moves")
    assert "not in the same sentence" in diagnosis.nearest_miss


def test_sentences_map_to_tokens_in_non_ascii_text() -> None:
    # "…" and "ß" change lengths when normalised: token positions must still line up
    text = "Straße… Soldiers waited — calm. Ships were deployed. Soldiers were deployed."
    assert _fire("", text) == ["moves"]
    assert _fire("", "Straße… Soldiers waited — calm. Ships were deployed.") == []
