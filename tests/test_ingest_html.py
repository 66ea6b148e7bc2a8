"""Web pages: trafilatura main text, titles, charsets, boilerplate left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest import IngestError, article_from_html, read_input
from bot.ingest.html import clean_title, decode_html, meta_charset

PAGES = Path(__file__).parent / "fixtures" / "pages"


def _page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def test_dw_english_page() -> None:
    raw = _page("dw.com.colonial.html")
    article = article_from_html(raw)
    assert article.title == "Berlin confronts Germany's colonial past with new initiative"
    assert article.url == (
        "https://www.dw.com/en/berlin-confronts-germanys-colonial-past-with-new-initiative/a-52060881"
    )
    assert article.published == "2020-01-19"
    assert article.text.startswith("The German capital has launched a five-year project")
    assert "Otto von Bismarck hosted the infamous Berlin Conference" in article.text
    # The page carries a cookie notice and navigation; the article must not.
    assert b"We use cookies to improve our service" in raw
    assert "cookies" not in article.text.lower()
    assert "Media Center" not in article.text
    assert "Newsletter" not in article.text


def test_paragraphs_stay_on_their_own_lines() -> None:
    article = article_from_html(_page("dw.com.colonial.html"))
    lines = article.text.split("\n")
    assert len(lines) > 10
    assert all(line == line.strip() and line for line in lines)


def test_reuters_page_title_and_source() -> None:
    article = article_from_html(_page("reuters.com.parasite.html"))
    assert article.title == "'Parasite' scores historic upset at SAG awards, boosting Oscar chances"
    assert article.source == "Reuters"
    assert article.text.startswith("LOS ANGELES (Reuters) - South Korean thriller")
    assert "Directory of sites" not in article.text
    assert "Login" not in article.text


def test_german_page_drops_menu_cookie_and_comments() -> None:
    article = article_from_html(_page("zeit.de.zugverkehr.html"))
    assert article.title == "Zugverkehr: Im ICE von Frankfurt nach Barcelona"
    assert article.source == "ZEIT ONLINE"
    assert article.published == "2020-01-14"
    assert article.text.startswith("36 Stunden. So lange dauert die schnellste Zugverbindung")
    assert "Schneller sind diese Fahrten dadurch für mich nicht geworden" in article.text
    for boilerplate in ("Cookies & Tracking", "Anmelden", "Datenschutz", "Kommentare"):
        assert boilerplate not in article.text


def test_html_file_keeps_the_page_url_and_site() -> None:
    [article] = read_input(str(PAGES / "zeit.de.zugverkehr.html"))
    assert article.url.startswith("https://www.zeit.de/mobilitaet/2020-01/zugverkehr-")
    assert article.source == "ZEIT ONLINE"


def test_given_url_wins_and_title_falls_back_to_title_tag() -> None:
    html = (
        "<html><head><title>Fallback title | Example</title></head><body><article>"
        + "<p>Troops were seen moving toward the border crossing on Sunday morning.</p>" * 3
        + "</article></body></html>"
    )
    article = article_from_html(html, "https://www.example.com/a/1")
    assert article.url == "https://www.example.com/a/1"
    assert article.title == "Fallback title"
    assert article.source == "example.com"


def test_page_without_article_text_is_an_error() -> None:
    with pytest.raises(IngestError, match="^no article text found$"):
        article_from_html(b"<html><body><script>var x = 1;</script>\n </body></html>")


def test_page_without_text_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><body></body></html>")
    with pytest.raises(IngestError) as info:
        read_input(str(path))
    assert str(info.value) == f"{path}: no article text found"


@pytest.mark.parametrize(
    ("charset", "meta"),
    [("windows-1252", ""), (None, '<meta charset="windows-1252">'), (None, "")],
)
def test_latin_page_decodes_by_http_charset_meta_or_detection(
    charset: str | None, meta: str
) -> None:
    text = "Die Bürger ärgern sich über die Straßenbahn, die schon wieder ausfällt. " * 5
    body = f"<html><head>{meta}<title>Ärger</title></head><body><p>{text}</p></body></html>"
    article = article_from_html(body.encode("cp1252"), charset=charset)
    assert article.title == "Ärger"
    assert "Die Bürger ärgern sich über die Straßenbahn" in article.text


def test_meta_charset_sniffing() -> None:
    assert meta_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')
    assert meta_charset(b'<?xml version="1.0" encoding="ISO-8859-2"?><html>') == "ISO-8859-2"
    assert meta_charset(b'<meta charset="utf-16">') == "utf-8"
    assert meta_charset(b"<p>no charset</p>") is None
    assert decode_html('<meta charset="koi8-r"><p>Привет</p>'.encode("koi8-r")).endswith(
        "Привет</p>"
    )


@pytest.mark.parametrize(
    ("title", "site", "host", "expected"),
    [
        ("Berlin news | DW | 19.01.2020", "DW.COM", "dw.com", "Berlin news"),
        ("Headline - Example News", "Example News", "", "Headline"),
        ("Left | Right", "Other", "other.org", "Left | Right"),
        ("Example", "Example", "example.com", "Example"),
    ],
)
def test_clean_title(title: str, site: str, host: str, expected: str) -> None:
    assert clean_title(title, site, host) == expected


COPYRIGHT_PAGE = """<html><head><title>Troops moved towards the border | Desk</title></head><body>
<article><h1>Troops moved towards the border</h1>
<p>Several thousand soldiers and a column of tanks arrived by train in the Brest region
on Monday, officials said, as the drills began.</p>
<p>The defence ministry said the units would stay for two weeks and that more were
expected to follow later in the month.</p>
<p>Residents near the border reported long convoys on the main road through the night
and early into the morning hours.</p></article>
<footer><p>© 2022 Desk Media. All rights reserved.</p></footer></body></html>"""


def test_a_copyright_footer_is_not_the_publication_date() -> None:
    """htmldate's extensive search took "© 2022" for 2022-01-01."""
    assert article_from_html(COPYRIGHT_PAGE, "https://desk.example/a").published == ""


def test_the_date_a_page_declares_is_still_read() -> None:
    meta = '<meta property="article:published_time" content="2024-03-10T09:30:00+01:00">'
    page = COPYRIGHT_PAGE.replace("<head>", f"<head>{meta}")
    assert article_from_html(page, "https://desk.example/a").published.startswith("2024-03-10")
