"""JSON and JSON Lines inputs: shapes, fields, and errors that name the line or item."""

from __future__ import annotations

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


def test_bad_item_names_the_file_and_item() -> None:
    spec = str(JSON / "bad-item.json")
    with pytest.raises(IngestError) as info:
        read_input(spec)
    assert str(info.value) == (
        f'{spec}: item 2 of 2 is not an article (needs "title" and "text" or "content")'
    )


def test_bad_line_names_the_file_and_line() -> None:
    spec = str(JSON / "bad-line.jsonl")
    with pytest.raises(IngestError) as info:
        read_input(spec)
    assert str(info.value) == (
        f'{spec}: line 3 is not an article (needs "title" and "text" or "content")'
    )


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
        (
            '{"title": "t", "text": "x", "published": "soon"}',
            "the object: published date not understood: 'soon'",
        ),
        ('{"title": "", "text": ""}', "the object has an empty title and text"),
        ("42", 'is not an article or a list of articles (needs "title" and "text" or "content")'),
        ('[{"title": "t", "text": "x"}, "nope"]', "item 2 of 2 is not an article"),
        ('{"title": "a", "text": "b"}\n{"title": "c", "text": "d"', "line 2 is not valid JSON"),
    ],
)
def test_json_errors(text: str, message: str) -> None:
    with pytest.raises(IngestError) as info:
        articles_from_json(text)
    assert str(info.value).startswith(message)


def test_jsonl_is_recognised_in_a_json_file() -> None:
    text = '{"title": "a", "text": "b"}\n{"title": "c", "text": "d"}\n'
    assert [a.title for a in articles_from_json(text, url="x.json")] == ["a", "c"]
