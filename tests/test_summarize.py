"""Summaries and boilerplate removal."""

from pathlib import Path

from bot.engine.summarize import RepeatedLines, clean_text, is_boilerplate_line, summarize
from bot.models import Article, Hit

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _seed() -> Article:
    title, _, text = (SAMPLES / "seed-article.txt").read_text(encoding="utf-8").partition("\n")
    return Article(title=title, text=text)


def test_seed_article_appeal_is_removed() -> None:
    cleaned = clean_text(_seed().text)
    assert "Dear readers" not in cleaned
    assert "Remind me later" not in cleaned
    assert "A Message from The Moscow Times" not in cleaned
    assert "support us monthly" not in cleaned
    # the reporting itself stays, up to its last sentence
    assert cleaned.startswith("The first Russian soldiers")
    assert cleaned.endswith("Belarus relies financially and politically on its key ally Russia.")


def test_cookie_and_newsletter_lines_are_boilerplate() -> None:
    assert is_boilerplate_line("We use cookies to improve your experience.")
    assert is_boilerplate_line("Sign up for our daily newsletter")
    assert is_boilerplate_line("Remind me later.")
    assert not is_boilerplate_line("Troops arrived at the border on Saturday.")
    assert not is_boilerplate_line("The army said it would support the border guards.")


def test_appeal_opener_early_in_text_is_kept() -> None:
    text = "Dear readers, the minister wrote in an open letter.\n" + "Troops moved north.\n" * 5
    assert clean_text(text).startswith("Dear readers")


def test_summary_is_lead_plus_hit_sentences_within_budget() -> None:
    art = Article(
        title="Title",
        text=(
            "Lead sentence about the day. Filler one here. Filler two here. "
            "Troops crossed the river at dawn. Filler three."
        ),
    )
    start = art.text.index("Troops")
    hit = Hit("troops", "keyword", "wl", "Troops", start, start + 6, "", "text")
    summary = summarize(art, [hit], budget=300)
    assert summary == "Lead sentence about the day. Troops crossed the river at dawn."


def test_summary_never_exceeds_budget_and_cuts_at_a_word() -> None:
    art = Article(title="T", text="word " * 200)
    summary = summarize(art, [], budget=50)
    assert len(summary) <= 50
    assert summary.endswith("…")
    assert "wor…" not in summary


def test_seed_summary_tells_the_arrival_without_the_appeal() -> None:
    art = _seed()
    cleaned = Article(art.title, clean_text(art.text))
    start = cleaned.text.index("convoys")
    hit = Hit("convoy*", "keyword", "wl", "convoys", start, start + 7, "", "text")
    summary = summarize(cleaned, [hit])
    assert summary.startswith("The first Russian soldiers")
    assert "arrived in Belarus" in summary
    assert "Moscow Times" not in summary and "readers" not in summary
    assert len(summary) <= 300


def test_repeated_lines_across_a_source_are_dropped() -> None:
    rl = RepeatedLines(min_articles=3)
    footer = "Follow our live coverage of the war in Ukraine here"
    for i in range(3):
        rl.observe("src", f"Story {i} text about events number {i}.\n{footer}")
    cleaned = rl.clean("src", f"A new story about troops on the move.\n{footer}")
    assert footer not in cleaned
    assert "troops on the move" in cleaned
    assert rl.clean("other-source", footer) == footer


def test_boilerplate_prefilter_agrees_with_the_whole_pattern() -> None:
    """The words that gate each notice pattern never hide a notice the patterns find."""
    from bot.engine import summarize as s

    lines = [
        "Remind me later", "DEAR READERS,", "Please support our journalism today", "Tweet",
        "Support independent journalism", "make a one-off contribution", "Become a member",
        "Sign up to our free daily newsletter", "Subscribe now!", "We use cookies",
        "By continuing to browse you agree", "Advertisement", "Share this article on X:",
        "Follow us on Mastodon", "Read more: the war", "Related »", "© 2024 Reuters",
        "Copyright 2020", "Skip to main content", "This article is available to subscribers",
        "Please turn off your ad blocker", "If you value our work, please support us",
        "ſign up", "SUBSCRİBE", "Share on Twitter", "Troops arrived in Belarus on Monday.",
        "ıf you can, support us", "İf you value us, support us", "Kelvin: \u212aeep reading. Share", "email", "PRINT",
        "Dear friends", "the story is only available for members", "disable adblock now",
    ]
    for line in lines:
        assert s.is_boilerplate_line(line) == bool(s._LINE_RE.search(line.strip())), line


def test_boilerplate_fold_covers_every_letter_ignorecase_equates_with_ascii() -> None:
    import re
    import sys

    from bot.engine import summarize as s

    letter = re.compile("[a-z]", re.IGNORECASE)
    for cp in range(0x80, sys.maxunicode + 1):
        char = chr(cp)
        if letter.match(char):
            assert s._folded(char + "x")[0].isascii(), hex(cp)
            assert re.match(s._folded(char + "x")[0], char, re.IGNORECASE), hex(cp)
