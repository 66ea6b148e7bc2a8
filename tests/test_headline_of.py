"""A paragraph standing as a title: only its first sentence is the headline."""

from bot.engine.analyse import HEADLINE_MAX_CHARS, analyse, clean_article, headline_of
from bot.engine.matcher import Matcher
from bot.engine.watchlist import load_text
from bot.models import Article

PARAGRAPH = (
    "This chef cooked on television for years before he joined the army. "
    "He has since fed soldiers on the front line, and troops in the east say his borscht "
    "is the best thing about the war, which began when Russia invaded in 2022."
)


def test_a_headline_is_kept_whole() -> None:
    assert headline_of("Troops arrive in the port. Residents flee.") == (
        "Troops arrive in the port. Residents flee.",
        "",
    )
    long_one = "Troops arrive " + "and more troops arrive " * 10
    assert len(long_one) > HEADLINE_MAX_CHARS
    assert headline_of(long_one) == (long_one, "")


def test_a_paragraph_as_title_keeps_its_first_sentence_and_moves_the_rest() -> None:
    headline, rest = headline_of(PARAGRAPH)
    assert headline == "This chef cooked on television for years before he joined the army."
    assert rest.startswith("He has since fed soldiers")
    article = clean_article(Article(title=PARAGRAPH, text="More below."))
    assert article.title == headline
    assert article.text.startswith("He has since fed soldiers") and article.text.endswith(
        "More below."
    )


def test_a_headline_rule_does_not_fire_on_the_fourth_sentence_of_a_paragraph() -> None:
    wl = load_text(
        "name: demo\nrule: title:((Russia PRE/2 invaded) OR (troops PRE/1 in))\n", "demo.yaml"
    )
    matcher = Matcher([wl])
    assert not analyse(Article(title=PARAGRAPH, text=""), matcher)
    assert analyse(Article(title="Russia invaded Ukraine at dawn", text=""), matcher)
