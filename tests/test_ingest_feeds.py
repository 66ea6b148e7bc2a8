"""RSS/Atom parsing: entries, full content over teasers, HTML to text, recovery, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest import IngestError, parse_feed, read_input
from bot.ingest.htmltext import html_to_text

FIXTURES = Path(__file__).parent / "fixtures"


def _feed(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_rss2_entries_prefer_full_content() -> None:
    result = parse_feed(_feed("rss2-content.xml"), "https://news.example.org/feed.xml")
    assert result.title == "Border Watch Daily"
    assert result.problem is None
    assert len(result.articles) == 3
    first = result.articles[0]
    assert first.title == "Russian servicemen arrive in Belarus for joint force"
    assert first.url == "https://news.example.org/2024/05/servicemen-arrive"
    assert first.source == "Border Watch Daily"
    assert first.published == "2024-05-01T10:30:00+00:00"
    assert "Teaser" not in first.text  # content:encoded wins over description
    assert first.text == (
        "The first train carrying Russian servicemen arrived in Belarus on Tuesday,"
        " the defence ministry said.\n"
        "A convoy of armoured vehicles was seen near the border at Brest & Grodno.\n"
        "About 1,000 troops\n"
        "Artillery units\n"
        "Officials called it a routine deployment.\n"
        "More updates to follow."
    )


def test_rss2_summary_used_when_no_content() -> None:
    articles = parse_feed(_feed("rss2-content.xml")).articles
    assert (
        articles[1].text
        == "Exhibitors from twelve countries gathered in Minsk.\nThe fair runs until Sunday."
    )
    assert articles[2].text == "Rain & wind expected — stay indoors."
    assert articles[2].url == "https://news.example.org/2024/05/weather"  # permalink guid
    assert articles[2].published == ""


def test_atom_feed() -> None:
    result = parse_feed(_feed("atom.xml"))
    assert result.title == "Grenzticker"
    assert [a.title for a in result.articles] == [
        "Truppen an der Grenze verlegt",
        "Fähre fällt aus",
    ]
    first, second = result.articles
    assert first.url == "https://grenze.example.de/meldungen/truppen-verlegt"  # relative link
    assert first.text == (
        "Die Bundeswehr hat am Montag zusätzliche Soldaten an die Ostgrenze verlegt.\n"
        "Ein Sprecher bestätigte die Verlegung."
    )
    assert first.published == "2024-03-04T08:15:00+00:00"  # updated, in UTC
    assert second.published == "2024-03-03T18:00:00+00:00"  # published before updated
    assert second.text == "Die Fähre nach Rügen fällt heute aus."


def test_relative_links_resolve_against_the_feed_url() -> None:
    result = parse_feed(_feed("atom.xml"), "https://mirror.example.net/feeds/atom.xml")
    assert result.articles[0].url == "https://mirror.example.net/meldungen/truppen-verlegt"


def test_malformed_feed_is_partly_recovered_with_a_problem() -> None:
    result = parse_feed(_feed("malformed-feed.xml"))
    assert result.title == "Broken Wire"
    assert result.problem == "not well-formed (invalid token) at line 9, column 39"
    assert [a.title for a in result.articles] == ["Convoy spotted near the border", "Second report"]
    assert result.articles[0].text == "A convoy of trucks & tanks was spotted near the border."


def test_charset_from_response_headers() -> None:
    body = (
        "<rss version='2.0'><channel><title>Пограничник</title>"
        "<item><title>Колонна</title><description>Техника у границы</description></item>"
        "</channel></rss>"
    ).encode("cp1251")
    result = parse_feed(
        body, response_headers={"Content-Type": "application/rss+xml; charset=windows-1251"}
    )
    assert result.title == "Пограничник"
    assert result.articles[0].text == "Техника у границы"


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"just some words", b"<html><body><p>a page</p></body></html>", b"<rss><chan"],
)
def test_not_a_feed_is_an_error(body: bytes) -> None:
    with pytest.raises(IngestError):
        parse_feed(body)


def test_bad_feed_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.rss"
    path.write_bytes(b"<?xml version='1.0'?><notafeed><x/></notafeed>")
    with pytest.raises(IngestError) as info:
        read_input(str(path))
    assert str(info.value) == f"{path}: not an RSS or Atom feed"


def test_feed_file_via_read_input() -> None:
    articles = read_input(str(FIXTURES / "rss2-content.xml"))
    assert len(articles) == 3
    assert {a.source for a in articles} == {"Border Watch Daily"}


def test_string_body_is_never_treated_as_a_path_or_url(tmp_path: Path) -> None:
    """feedparser opens a *string* that looks like a path; parse_feed only takes bytes."""
    secret = tmp_path / "secret.xml"
    secret.write_bytes(_feed("atom.xml"))
    with pytest.raises(IngestError):
        parse_feed(str(secret).encode())


def test_html_to_text() -> None:
    html = (
        "<div><h2>Head</h2><p>One &amp; <b>two</b></p><p>Three<br>four</p>"
        "<script>x()</script><style>p{}</style><!-- note --><p>&#x41C;&eacute;</p></div>"
    )
    assert html_to_text(html) == "Head\nOne & two\nThree\nfour\nМé"
    assert html_to_text("plain words") == "plain words"
    assert html_to_text("") == ""


def test_recovered_feed_problem_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    spec = str(FIXTURES / "malformed-feed.xml")
    assert len(read_input(spec)) == 2
    assert f"{spec}: not well-formed (invalid token) at line 9, column 39" in caplog.text


LINKLESS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>https://desk.example/</link>
<item><title>Troops at the border</title><description>Tanks moved.</description></item>
<item><title>Convoy reaches the border</title><description>A convoy crossed.</description>
<guid isPermaLink="false">tag:desk.example,2026:42</guid></item>
<item><title>Troops deploy</title><description>Soldiers deployed.</description>
<guid>https://desk.example/n/7</guid></item>
<item><title>Ships sighted</title><description>Two ships.</description>
<guid isPermaLink="false">https://desk.example/n/8</guid></item>
</channel></rss>"""


def test_entries_without_a_link_are_not_given_the_feed_url() -> None:
    """``urljoin(feed, "")`` is the feed: every link-less entry was one URL, stored once."""
    feed = parse_feed(LINKLESS, "https://desk.example/feed.xml")
    urls = [a.url for a in feed.articles]
    assert urls == ["", "", "https://desk.example/n/7", "https://desk.example/n/8"]
