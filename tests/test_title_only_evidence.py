"""Evidence and zones: a term a rule wants only in the headline is not evidence in the body."""

from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher, title_only_terms
from bot.engine.rules import Term, parse
from bot.engine.watchlist import load_text
from bot.models import Article

LIST = """\
name: demo
groups:
  states: [Ruritania, Elbonia]
  moves: [invades, deploy*]
  forces: [troops]
rule: title:(@states PRE/2 @moves) OR (@forces NEAR/4 @moves)
"""

ARTICLE = Article(
    title="Ruritania invades Elbonia",
    text="Ruritania said its troops deploy at dawn. Elbonia asked for talks.",
)


def _match(text: str = LIST, article: Article = ARTICLE):  # type: ignore[no-untyped-def]
    matches = analyse(article, Matcher([load_text(text, "demo.yaml")]))
    assert matches, "the rule should match"
    return matches[0]


def test_a_headline_only_term_is_evidence_in_the_headline_not_in_the_body() -> None:
    match = _match()
    states = [h for h in match.hits if h.term.lower() in ("ruritania", "elbonia")]
    assert states and all(h.zone == "title" for h in states)
    # the words used outside title: still count in the body
    assert any(h.term == "troops" and h.zone != "title" for h in match.hits)
    scored = {p.term.lower(): p.zone for p in match.score_parts}
    assert scored["ruritania"] == "title"


def test_the_same_term_used_outside_title_counts_everywhere() -> None:
    text = LIST.replace("rule: title:(@states PRE/2 @moves)", "rule: (@states PRE/2 @moves)")
    match = _match(text)
    assert any(h.term.lower() == "elbonia" and h.zone != "title" for h in match.hits)


def test_top_and_lead_do_not_narrow_the_evidence() -> None:
    text = LIST.replace("rule: title:(@states PRE/2 @moves)", "rule: top:(@states PRE/2 @moves)")
    match = _match(text)
    assert any(h.term.lower() == "elbonia" and h.zone != "title" for h in match.hits)


def test_the_terms_a_rule_uses_only_in_the_headline() -> None:
    title_only = title_only_terms(parse("title:(a OR b) OR (b NEAR/3 c) OR NOT title:d"))
    assert Term("word", "a") in title_only
    assert Term("word", "b") not in title_only  # also used outside title:
    assert Term("word", "c") not in title_only
    assert Term("word", "d") not in title_only  # under NOT: not evidence
    double = title_only_terms(parse("x AND NOT (title:y AND NOT title:z)"))
    assert Term("word", "z") in double
    assert Term("word", "y") not in double
