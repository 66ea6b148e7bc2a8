"""Plain-text and Markdown files: encoding detection, newlines, title/body split."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.ingest import IngestError, read_input
from bot.ingest.textfile import article_from_text, decode_bytes

FIXTURES = Path(__file__).parent / "fixtures"
TEXT = FIXTURES / "text"


def test_cp1251_without_bom_is_detected() -> None:
    [article] = read_input(str(TEXT / "cp1251-no-bom.txt"))
    assert article.title == "Российские военные прибыли в Беларусь"
    assert article.text.startswith("Первый эшелон с российскими военнослужащими")
    assert "\r" not in article.text
    assert article.text.endswith("пересекла границу в воскресенье.")


def test_latin1_without_bom_is_detected() -> None:
    [article] = read_input(str(TEXT / "latin1-no-bom.txt"))
    assert article.title == "Grüße aus Köln: Straßenbahn fährt wieder"
    assert "Fahrgäste müssen sich auf längere Wartezeiten einstellen." in article.text


def test_utf16_with_bom() -> None:
    [article] = read_input(str(TEXT / "utf16-bom.txt"))
    assert article.title == "Війська біля кордону"
    assert (
        article.text
        == "Українські прикордонники повідомили про переміщення техніки поблизу кордону."
    )


def test_text_file_url_and_source_come_from_the_path() -> None:
    spec = str(TEXT / "plain.txt")
    [article] = read_input(spec)
    assert article.url == spec
    assert article.source == "text"  # the parent folder
    assert article.title == "Joint exercise announced"
    assert article.text == (
        "The ministry announced a joint exercise near the border.\nIt will last two weeks."
    )
    assert article.published == ""


def test_markdown_front_matter_gives_title_and_date() -> None:
    [article] = read_input(str(TEXT / "article.md"))
    assert article.title == "Convoy crosses the border at dawn"
    assert article.published == "2024-05-03"
    assert article.text.startswith("# A heading that is not the title")
    assert "Officials did not comment." in article.text


def test_markdown_heading_marks_are_dropped_from_the_title() -> None:
    article = article_from_text("\n\n## Big news\nBody.", markdown=True)
    assert (article.title, article.text) == ("Big news", "Body.")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + "Zoë\r\nline".encode(), "Zoë\nline"),
        (b"old\rmac\r\nwin\nunix", "old\nmac\nwin\nunix"),
        ("Über".encode("utf-16-le"), "Über"),  # no BOM: charset-normalizer finds it
        (codecs.BOM_UTF16_BE + "Über".encode("utf-16-be"), "Über"),
        (codecs.BOM_UTF32_LE + "Über".encode("utf-32-le"), "Über"),
        ("a b".encode(), "a\nb"),
    ],
)
def test_decode_bytes(data: bytes, expected: str) -> None:
    assert decode_bytes(data) == expected


def test_declared_charset_is_used_when_utf8_does_not_fit() -> None:
    data = "Привет, мир".encode("koi8-r")
    assert decode_bytes(data, "koi8-r") == "Привет, мир"


def test_binary_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(IngestError) as info:
        read_input(str(path))
    assert str(info.value) == f"{path}: cannot tell its text encoding (binary file?)"


def test_empty_text_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n")
    with pytest.raises(IngestError, match=r"empty\.txt: is empty$"):
        read_input(str(path))


def test_missing_file_names_the_path() -> None:
    with pytest.raises(IngestError) as info:
        read_input("no/such/file.txt")
    assert str(info.value) == "no/such/file.txt: No such file or directory"
