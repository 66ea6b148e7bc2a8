"""JSON and JSON Lines inputs: shapes, fields, and errors that name the line or item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.ingest import IngestError, read_input
from bot.ingest.jsonfile import articles_from_json

JSON = Path(__file__).parent / "fixtures" / "json"


def test_json_list_of_articles() -> None:
    spec = str(JSON / "articles.json")
    first, second = read_input(spec)
    assert first.title == "Troops deployed to the border"
    assert first.url == "https://news.example.com/troops-deployed"
    assert first.source == "Example News"
    assert first.published == "2024-04-29T07:00:00+00:00"
    assert (
        second.text == "A convoy of trucks was seen near Brest.\nLocals filmed it & posted videos."
    )
    assert second.url == f"{spec}#2"  # no url of its own: the file, and which item
    assert second.source == "json"  # the parent folder
    assert second.published == "2024-04-29T10:00:00+00:00"


def test_single_object_newsapi_style() -> None:
    spec = str(JSON / "article.json")
    [article] = read_input(spec)
    assert article.url == spec
    assert article.source == "NewsAPI Outlet"
    assert article.published == "2024-05-01"


def test_jsonl() -> None:
    spec = str(JSON / "articles.jsonl")
    first, second = read_input(spec)
    assert first.url == "https://news.example.com/1"
    assert second.title == "Second line article"
    assert second.url == f"{spec}#3"  # line 3 (line 2 is blank)
    assert second.published == "2024-05-01T10:00:00+00:00"


def test_json_feed() -> None:
    first, second = read_input(str(JSON / "jsonfeed.json"))
    assert first.source == "JSON Feed Wire"
    assert first.text == "Soldiers arrived.\nMore later."
    assert first.published == "2024-05-04T09:00:00+02:00"
    assert second.text == "Nothing happened."


def test_a_bad_item_is_one_warning_and_the_rest_are_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One bad item rejected the whole file (19,167 good items dropped for 3 empty ones)."""
    spec = str(JSON / "bad-item.json")
    [article] = read_input(spec)
    assert article.title == "Fine"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings[0] == (
        f'{spec}: item 2 of 2 is not an article (needs "title" and "text" or "content"): skipped'
    )


def test_a_bad_line_is_one_warning_and_the_rest_are_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = str(JSON / "bad-line.jsonl")
    assert [a.title for a in read_input(spec)] == ["Fine", "Also fine"]
    assert f"{spec}: line 3 is not an article" in caplog.text


def test_empty_and_broken_items_are_skipped_one_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = [json.dumps({"title": f"Report {n}", "text": "Troops moved."}) for n in range(50)]
    lines = [*good[:20], '{"title": "", "text": ""}', "{not json", "[1]", *good[20:]]
    articles = articles_from_json("\n".join(lines), url="corpus.jsonl", lines=True)
    assert len(articles) == 50
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().endswith("skipped")]
    assert skipped == [
        "corpus.jsonl: line 22 is not valid JSON: Expecting property name enclosed in double"
        " quotes (column 2): skipped",
        "corpus.jsonl: line 21 has an empty title and text: skipped",
        'corpus.jsonl: line 23 is not an article (needs "title" and "text" or "content"): skipped',
    ]


@pytest.mark.parametrize(
    ("value", "published"),
    [
        ("2022-02-07T10:00:00Z", "2022-02-07T10:00:00+00:00"),
        ("Mon, 07 Feb 2022 10:00:00 GMT", "2022-02-07T10:00:00+00:00"),
        ("2022/2/7", "2022-02-07"),
        ("7 Feb 2022", "2022-02-07"),
        ("February 7, 2022", "2022-02-07"),
        (1644228000, "2022-02-07T10:00:00+00:00"),
        ("1644228000", "2022-02-07T10:00:00+00:00"),
    ],
)
def test_dates_in_the_common_forms_are_read(value: object, published: str) -> None:
    [article] = articles_from_json(json.dumps({"title": "t", "text": "x", "published": value}))
    assert article.published == published


def test_a_date_not_understood_is_a_warning_and_no_date(caplog: pytest.LogCaptureFixture) -> None:
    text = '[{"title": "t", "text": "x", "published": "soon"}, {"title": "u", "text": "y"}]'
    first, second = articles_from_json(text)
    assert first.published == "" and second.title == "u"
    assert "item 1 of 2: date not understood, kept without a date: 'soon'" in caplog.text


def test_web_items_without_a_url_get_none_not_a_fragment() -> None:
    """``…/feed.json#2`` canonicalises to ``…/feed.json``: every such item was one article."""
    text = (
        '[{"title": "a", "text": "b"}, {"title": "c", "text": "d", "url": "https://x.example/c"}]'
    )
    first, second = articles_from_json(text, url="https://x.example/feed.json")
    assert first.url == "" and second.url == "https://x.example/c"


def test_invalid_json_names_the_file() -> None:
    spec = str(JSON / "broken.json")
    with pytest.raises(IngestError) as info:
        read_input(spec)
    message = str(info.value)
    assert message.startswith(f"{spec}: is not valid JSON: Expecting ',' delimiter")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"title": 5, "text": "x"}', 'the object: "title" should be a string, not int'),
        ('{"title": "", "text": ""}', "the object has an empty title and text"),
        ("42", 'is not an article or a list of articles (needs "title" and "text" or "content")'),
        ('["nope"]', "has no article: item 1 of 1 is not an article"),
        (
            '{"title": "", "text": ""}\n{"title": "c"',
            "has no article: 2 bad items, the first: line 2",
        ),
    ],
)
def test_json_errors(text: str, message: str) -> None:
    with pytest.raises(IngestError) as info:
        articles_from_json(text)
    assert str(info.value).startswith(message)


def test_jsonl_is_recognised_in_a_json_file() -> None:
    text = '{"title": "a", "text": "b"}\n{"title": "c", "text": "d"}\n'
    assert [a.title for a in articles_from_json(text, url="x.json")] == ["a", "c"]
