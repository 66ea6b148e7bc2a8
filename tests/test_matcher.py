"""The compiled matcher: exact, phrase, wildcard and fuzzy terms; rules; scores."""

import re
import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.matcher import Matcher
from bot.models import Article
from bot.watchlist import load_text


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
