"""CLAUSE: SENT at clause level (both sides in one clause; CLAUSE NOT: the clause's hedge)."""

import pytest

from bot.engine import matcher as matcher_module
from bot.engine.matcher import Matcher
from bot.engine.rules import (
    And,
    Clause,
    Layout,
    Not,
    RuleError,
    Sent,
    Term,
    evaluate,
    evaluate_all,
    nearest_miss,
    parse,
    render,
)
from bot.engine.watchlist import load_text
from bot.models import Article

# token positions 0-9 are sentence 0, 10-19 sentence 1, ...; each sentence is two clauses of 5
LAYOUT = Layout(
    title_end=1000, lead_end=1000, sentence_of=lambda pos: pos // 10, clause_of=lambda pos: pos // 5
)


A, B, C = Term("word", "a"), Term("word", "b"), Term("word", "c")


def _spans(found: dict[str, list[tuple[int, int]]]):  # type: ignore[no-untyped-def]
    return lambda term: found.get(term.value, [])


def test_clause_parses_renders_and_binds_like_sent() -> None:
    assert parse("troops CLAUSE border") == Clause(Term("word", "troops"), Term("word", "border"))
    assert render(parse("a CLAUSE b AND c")) == "a CLAUSE b AND c"
    assert parse("a CLAUSE b AND c") == parse("(a CLAUSE b) AND c")
    assert parse("a OR b CLAUSE c") == parse("a OR (b CLAUSE c)")
    assert parse("a CLAUSE b SENT c") == Sent(Clause(Term("word", "a"), Term("word", "b")), C)
    assert parse("a SENT b CLAUSE c") == Clause(Sent(Term("word", "a"), Term("word", "b")), C)
    assert parse("a NEAR/3 b CLAUSE NOT c").right == Not(C)
    assert render(parse("deploy* CLAUSE NOT (could OR may)")) == "deploy* CLAUSE NOT (could OR may)"
    assert render(parse("NOT could CLAUSE deploy*")) == "NOT could CLAUSE deploy*"
    assert render(Clause(Clause(A, B), C)) == "a CLAUSE b CLAUSE c"
    assert render(Clause(A, Clause(B, C))) == "a CLAUSE (b CLAUSE c)"
    assert render(Sent(A, Clause(B, C))) == "a SENT (b CLAUSE c)"


def test_clause_with_not_on_both_sides_is_refused() -> None:
    with pytest.raises(RuleError, match="on this side of CLAUSE"):
        parse("NOT a CLAUSE NOT b")


def test_lower_case_clause_gets_the_upper_case_hint() -> None:
    with pytest.raises(RuleError, match="upper case: CLAUSE"):
        parse("troops clause border")
    # where a term is expected it is the word itself
    assert parse("troops AND clause") == And(Term("word", "troops"), Term("word", "clause"))


def test_a_missing_operator_lists_clause() -> None:
    with pytest.raises(RuleError, match=r"NEAR/n, PRE/n, SENT, CLAUSE or end of rule"):
        parse("troops border")
    with pytest.raises(RuleError, match=r"a term or '\(' after CLAUSE"):
        parse("troops CLAUSE")


@pytest.mark.parametrize(
    ("troops", "border", "matched"),
    [
        ((1, 2), (3, 4), True),  # same clause
        ((3, 4), (6, 7), False),  # same sentence, neighbouring clauses
        ((4, 5), (5, 6), False),  # neighbours across a clause end
        ((2, 3), (22, 23), False),
    ],
)
def test_clause_needs_one_clause(
    troops: tuple[int, int], border: tuple[int, int], matched: bool
) -> None:
    found = _spans({"troops": [troops], "border": [border]})
    assert evaluate(parse("troops CLAUSE border"), found, LAYOUT).matched is matched
    same_sentence = troops[0] // 10 == border[0] // 10
    assert evaluate(parse("troops SENT border"), found, LAYOUT).matched is same_sentence


def test_clause_pairs_different_words_only() -> None:
    found = _spans({"border patrol": [(2, 4)], "patrol": [(3, 4)]})
    assert not evaluate(parse('"border patrol" CLAUSE patrol'), found, LAYOUT).matched


def test_clause_evidence_is_the_pairs_in_matching_clauses() -> None:
    found = _spans({"troops": [(1, 2), (7, 8), (31, 32)], "border": [(3, 4), (45, 46)]})
    result = evaluate(parse("troops CLAUSE border"), found, LAYOUT)
    assert result.spans == ((1, 2), (3, 4))  # (7, 8) is in the sentence, not the clause
    assert evaluate(parse("troops SENT border"), found, LAYOUT).spans == ((1, 2), (3, 4), (7, 8))


def test_clause_not_keeps_the_occurrences_whose_clause_has_no_exclusion() -> None:
    node = parse("deploy* CLAUSE NOT could")
    hedged = _spans({"deploy": [(3, 4)], "could": [(1, 2)]})
    other_clause = _spans({"deploy": [(3, 4)], "could": [(7, 8)]})
    assert not evaluate(node, hedged, LAYOUT).matched
    assert evaluate(node, other_clause, LAYOUT).spans == ((3, 4),)
    assert not evaluate(parse("deploy* SENT NOT could"), other_clause, LAYOUT).matched
    assert evaluate(parse("NOT could CLAUSE deploy*"), other_clause, LAYOUT).spans == ((3, 4),)
    assert nearest_miss(node, hedged, LAYOUT) == "CLAUSE: every deploy* has could in its clause"


def test_miss_says_not_in_the_same_clause() -> None:
    found = _spans({"troops": [(3, 4)], "border": [(6, 7)]})
    assert nearest_miss(parse("troops CLAUSE border"), found, LAYOUT) == (
        "CLAUSE: troops and border are not in the same clause"
    )
    one_side = _spans({"troops": [(3, 4)]})
    assert nearest_miss(parse("troops CLAUSE border"), one_side, LAYOUT) == (
        "CLAUSE: right side border found nothing"
    )
    only_not = _spans({"deploy": [(3, 4)]})
    assert nearest_miss(parse("(NOT a AND NOT b) CLAUSE deploy*"), only_not, LAYOUT) == (
        "CLAUSE: a side that matches only through NOT has no word positions"
    )


def test_without_clause_information_a_sentence_is_one_clause() -> None:
    found = _spans({"troops": [(3, 4)], "border": [(6, 7)]})
    sentences_only = Layout(title_end=1000, sentence_of=lambda pos: pos // 10)
    assert evaluate(parse("troops CLAUSE border"), found, sentences_only).matched
    # and without sentences either, as for SENT: the title is one, the rest another
    apart = _spans({"troops": [(1, 2)], "border": [(1001, 1002)]})
    assert not evaluate(parse("troops CLAUSE border"), apart, Layout(title_end=1000)).matched
    assert evaluate(parse("troops CLAUSE border"), apart).matched


def test_lazy_and_full_agree_on_clause() -> None:
    found = _spans({"a": [(1, 2), (6, 7)], "b": [(3, 4)], "c": [(8, 9)]})
    for rule in ("a CLAUSE b", "a CLAUSE NOT c", "NOT b CLAUSE a", "(a CLAUSE b) SENT c"):
        lazy, full = evaluate(parse(rule), found, LAYOUT), evaluate_all(parse(rule), found, LAYOUT)
        assert (lazy.matched, lazy.spans) == (full.matched, full.spans), rule


# --- in the matcher: the engine's own clause splitter ------------------------

HEDGED = """\
name: moves
groups:
  forces: [troops, soldiers]
  hedge: [weighs, considers, could]
rule: (@forces CLAUSE deploy*) AND (deploy* CLAUSE NOT @hedge)
min_score: 0.1
"""


def _fire(title: str, text: str, watchlist: str = HEDGED) -> list[str]:
    matcher = Matcher([load_text(watchlist, "t.yaml")])
    return [m.watchlist for m in matcher.match(Article(title=title, text=text))]


def test_a_hedge_in_another_clause_does_not_exclude() -> None:
    assert _fire("", "Troops deployed to the city as officials could not say why.") == ["moves"]
    assert _fire("", "Troops could be deployed to the city.") == []
    assert _fire("", "Troops were deployed; the minister weighs the cost.") == ["moves"]
    assert _fire("", "Troops were deployed - the minister considers more.") == ["moves"]


def test_force_and_movement_in_two_clauses_do_not_pair() -> None:
    assert _fire("", "Troops rested in the barracks while ships were deployed far away.") == []
    assert _fire("", "Troops rested: ships were deployed far away.") == []
    assert _fire("", "Troops were deployed to the coast while ships stayed home.") == ["moves"]


def test_a_preposition_as_does_not_cut_the_clause() -> None:
    assert _fire("", "Troops were deployed as part of a drill that could grow.") == []
    assert _fire("", "Soldiers such as the guards were deployed.") == ["moves"]
    assert _fire("", "As many as 5,000 troops were deployed.") == ["moves"]


def test_headline_and_body_are_different_clauses() -> None:
    assert _fire("Troops rest", "Ships were deployed far away.") == []
    assert _fire("Troops deployed", "Officials could not say why.") == ["moves"]


def test_diagnosis_of_a_cross_clause_pair() -> None:
    matcher = Matcher([load_text(HEDGED, "t.yaml")])
    text = "Troops rested in the barracks, but ships were deployed far away."
    diagnosis = matcher.diagnose(Article(title="", text=text), "moves")
    assert "not in the same clause" in diagnosis.nearest_miss


def test_clauses_map_to_tokens_in_non_ascii_text() -> None:
    # "…", "ß" and "—" change lengths when normalised: token positions must still line up
    text = "Straße… Soldiers waited — calm. Ships were deployed. Soldiers were deployed."
    assert _fire("", text) == ["moves"]
    assert _fire("", "Straße… Soldiers waited — ships were deployed.") == []


def test_the_evidence_is_the_words_of_the_matching_clause() -> None:
    text = "Troops were deployed to the north, while soldiers rested."
    evidence = {}
    for operator in ("CLAUSE", "SENT"):
        rule = f"name: moves\nrule: (troops OR soldiers) {operator} deploy*\nmin_score: 0.1\n"
        (match,) = Matcher([load_text(rule, "t.yaml")]).match(Article(title="", text=text))
        evidence[operator] = [h.text for h in match.hits]
        assert match.hits[0].sentence == text  # a hit still shows its whole sentence
    assert evidence == {
        "CLAUSE": ["Troops", "deployed"],
        "SENT": ["Troops", "deployed", "soldiers"],
    }


SENT_ONLY = HEDGED.replace("CLAUSE", "SENT")


def test_only_a_rule_with_clause_splits_clauses(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = matcher_module.split_clauses

    def counting(text: str) -> list[tuple[int, int]]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(matcher_module, "split_clauses", counting)
    text = "Troops were deployed to the coast as ships stayed home."
    assert _fire("", text, SENT_ONLY) == ["moves"]
    assert calls == []
    assert _fire("", text) == ["moves"]
    assert calls == [text]  # the body only: the headline is empty
