"""Zones (title, lead, body): the rule forms title:/lead:/top:, each hit's zone, the score."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.engine.matcher import Matcher, body_factor
from bot.engine.rules import InZone, Layout, Term, evaluate, nearest_miss, parse, render
from bot.engine.text import lead_end
from bot.engine.watchlist import load_text
from bot.models import Article, match_record

FORCES = """\
name: forces
keywords: [troops, border]
rule: troops AND border
min_score: 0.1
"""

TOP_FORCES = """\
name: top-forces
keywords: [troops, border]
rule: top:troops AND border
min_score: 0.1
"""

FILLER = "The committee discussed the budget for the coming year at length. "


def _matcher(yaml: str) -> Matcher:
    return Matcher([load_text(yaml, "t.yaml")])


def _long_body(tail: str, paragraphs: int = 40) -> str:
    return FILLER * paragraphs + tail


# --- text: the lead ---------------------------------------------------------


def test_lead_is_whole_sentences_up_to_about_300_characters() -> None:
    text = "Troops crossed the river. " * 20
    end = lead_end(text)
    assert 250 < end <= 300
    assert text[:end].endswith("river.")


def test_lead_is_at_least_one_sentence() -> None:
    text = "word " * 90 + "end. Second sentence."
    assert lead_end(text) == text.index("end.") + 4


def test_lead_of_a_text_without_sentence_ends_stays_short() -> None:
    text = "word " * 10_000
    assert 590 <= lead_end(text) <= 600


def test_short_text_is_all_lead() -> None:
    assert lead_end("Two sentences. Both short.") == len("Two sentences. Both short.")
    assert lead_end("") == 0


# --- rules: lead: and top: ----------------------------------------------------

LAYOUT = Layout(title_end=100, lead_end=110)


def _spans(found: dict[str, list[tuple[int, int]]]):  # type: ignore[no-untyped-def]
    return lambda term: found.get(term.value, [])


@pytest.mark.parametrize("text", ["lead:troops", "top:(troops OR border)", "NOT lead:troops"])
def test_zone_prefixes_parse_and_render(text: str) -> None:
    assert render(parse(text)) == text


def test_lead_and_top_parse_to_zone_nodes() -> None:
    assert parse("lead:troops") == InZone(Term("word", "troops"), "lead")
    assert parse("top:troops") == InZone(Term("word", "troops"), "top")
    assert parse("title:troops") == InZone(Term("word", "troops"))


def test_lead_not_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="write NOT lead:x"):
        parse("lead:NOT troops")


@pytest.mark.parametrize(
    ("rule", "position", "matched"),
    [
        ("lead:troops", 5, False),  # title
        ("lead:troops", 105, True),  # lead
        ("lead:troops", 500, False),  # body
        ("top:troops", 5, True),
        ("top:troops", 105, True),
        ("top:troops", 500, False),
        ("title:troops", 105, False),
    ],
)
def test_zones_judge_only_their_spans(rule: str, position: int, matched: bool) -> None:
    found = _spans({"troops": [(position, position + 1)]})
    assert evaluate(parse(rule), found, LAYOUT).matched is matched


def test_zone_miss_says_the_term_is_only_further_down() -> None:
    found = _spans({"troops": [(500, 501)]})
    assert nearest_miss(parse("top:troops"), found, LAYOUT) == (
        "top: troops is not in the title or lead (only further down)"
    )
    assert nearest_miss(parse("top:troops"), _spans({}), LAYOUT) == "troops found nothing"


# --- the matcher: hits know their zone ---------------------------------------


def test_every_hit_records_its_zone() -> None:
    body = "Troops reached the border at dawn. " + _long_body("The border stayed quiet.")
    article = Article(title="Troops on the move", text=body)
    (match,) = _matcher(FORCES).match(article)
    zones = {(h.term, h.start, h.zone) for h in match.hits}
    assert ("troops", 0, "title") in zones
    assert ("troops", 0, "lead") in zones
    assert ("border", body.index("border"), "lead") in zones
    assert ("border", body.rindex("border"), "body") in zones
    record = match_record(match)
    assert {h["zone"] for h in record["hits"]} == {"title", "lead", "body"}  # type: ignore[index,union-attr]
    assert {p["zone"] for p in record["score_parts"]} == {"title", "lead"}  # type: ignore[index,union-attr]


def test_scan_json_shows_each_hits_zone() -> None:
    text = "Troops arrive at the border\nSoldiers were deployed to the frontier with tanks.\n"
    result = CliRunner().invoke(app, ["scan", "-", "--format", "json"], input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert records
    zones = {h["zone"] for r in records for h in r["hits"]}
    assert zones <= {"title", "lead", "body"} and "title" in zones


# --- the score: weighed by zone and length -----------------------------------


def test_a_mention_deep_in_a_long_article_scores_below_the_same_in_the_lead() -> None:
    m = _matcher(FORCES)
    in_lead = Article(title="A budget debate", text="Troops left the border. " + _long_body(""))
    deep = Article(title="A budget debate", text=_long_body("Troops left the border."))
    short = Article(title="A budget debate", text=FILLER * 8 + "Troops left the border.")
    (lead_match,) = m.match(in_lead)
    (deep_match,) = m.match(deep)
    (short_match,) = m.match(short)
    assert deep_match.score < short_match.score < lead_match.score
    assert {p.zone for p in deep_match.score_parts} == {"body"}
    assert {p.zone for p in lead_match.score_parts} == {"lead"}
    for match in (lead_match, deep_match, short_match):
        assert 0 <= match.score <= 1


def test_body_factor_falls_with_length_and_depth() -> None:
    assert body_factor(1000, 0) == 1
    assert body_factor(6000, 0) == pytest.approx(0.5)
    assert body_factor(6000, 3000) == pytest.approx(0.3)
    assert body_factor(10**7, 10**6) >= 0.3 * 0.6 - 1e-9


def test_top_rule_drops_a_long_story_about_something_else() -> None:
    m = _matcher(TOP_FORCES)
    aside = Article(title="A budget debate", text=_long_body("Troops left the border."))
    headline = Article(title="Troops leave", text=_long_body("They left the border."))
    assert m.match(aside) == []
    assert [x.watchlist for x in m.match(headline)] == ["top-forces"]
    diagnosis = m.diagnose(aside, "top-forces")
    assert "not in the title or lead" in diagnosis.nearest_miss


def test_explain_in_chat_names_the_zone(tmp_path: Path) -> None:
    from handlers.commands.chat import _hit_lines, _score_text

    hits = [{"term": "troops", "kind": "keyword", "sentence": "Troops left.", "zone": "lead"}]
    shown = "".join(part.text for part in _hit_lines(hits)[0])
    assert "troops (keyword, lead)" in shown
    part = {"term": "troops", "contribution": 0.4, "zone": "lead", "occurrences": 1}
    assert "troops 0.40 (lead)" in _score_text([part], 0.4)
