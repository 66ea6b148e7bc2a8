"""Yes/no questions (``question:``): a headline that asks whether forces move is not news
that they do, while one asking why or how they move says that they do."""

import pytest

from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.rules import Layout, Term, evaluate, nearest_miss, parse, render
from bot.engine.text import is_yes_no_question
from bot.engine.watchlist import WatchlistError, load_text
from bot.models import Article

LIST = """\
name: moves
groups:
  forces: [troops, warships]
  moves: [deploy*, send*, sent, leav*]
rule: (@forces NEAR/4 @moves) AND NOT title:question:@forces
min_score: 0.1
"""


def _alerts(title: str, text: str = "", rule_list: str = LIST) -> bool:
    matcher = Matcher([load_text(rule_list, "moves.yaml")])
    return bool(analyse(Article(title=title, text=text), matcher))


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("Will Ruritania send troops to Elbonia?", True),
        ("Is Ruritania massing troops near the border?", True),
        ("Ruritania to send more troops?", True),  # a headline's clipped question
        ("Border crisis: will Ruritania send troops?", True),  # after a label
        ("What if Ruritania sends troops?", True),
        ('Troops to stay, or go?"', True),
        ("Why is Ruritania deploying warships?", False),
        ("How many troops has Ruritania sent?", False),
        ('"Who sent the troops?"', False),
        ("Ruritania sends troops to Elbonia.", False),
        ("Ruritania sends troops", False),
    ],
)
def test_a_yes_no_question_is_told_from_a_wh_question_and_a_statement(
    sentence: str, asks: bool
) -> None:
    assert is_yes_no_question(sentence) is asks


def test_a_headline_asking_whether_troops_go_does_not_alert() -> None:
    assert not _alerts("Will Ruritania send troops to Elbonia?")
    assert not _alerts("Border crisis: is Ruritania sending warships?")


def test_a_headline_asking_why_they_go_still_alerts() -> None:
    assert _alerts("Why is Ruritania sending troops to Elbonia?")
    assert _alerts("Ruritania sends troops to Elbonia")


def test_a_question_in_the_body_does_not_touch_a_title_rule() -> None:
    assert _alerts(
        "Ruritania sends troops to Elbonia",
        "The first units left at dawn. Will they stay the winter? Nobody would say.",
    )


def test_question_alone_looks_at_every_field() -> None:
    rule_list = LIST.replace(
        "rule: (@forces NEAR/4 @moves) AND NOT title:question:@forces",
        "rule: question:(@forces NEAR/4 @moves)",
    )
    body = "Officials met on Monday. Will Ruritania send troops? The answer came on Friday."
    assert _alerts("Talks in the capital", body, rule_list)
    assert not _alerts("Talks in the capital", "Ruritania sent troops on Friday.", rule_list)


def test_the_zone_is_written_back_and_a_miss_says_why() -> None:
    node = parse("title:question:troops")
    assert render(node) == "title:question:troops"
    layout = Layout(title_end=10, question_of=lambda position: False)

    def found(term: Term) -> list[tuple[int, int]]:
        return [(2, 3)] if term.value == "troops" else []

    assert not evaluate(node, found, layout).matched
    assert nearest_miss(node, found, layout) == (
        "question: troops is not in a yes/no question"
    )
    asked = Layout(title_end=10, question_of=lambda position: position < 10)
    assert evaluate(node, found, asked).matched


def test_a_misspelt_zone_is_still_an_error() -> None:
    with pytest.raises(WatchlistError, match=r"expected a zone \(title:, lead:, top:, question:\), found .questoin:"):
        load_text(LIST.replace("title:question:", "title:questoin:"), "moves.yaml")
