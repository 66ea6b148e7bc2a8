"""read_input / iter_inputs dispatch: stdin sniffing, directories, errors naming the input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.ingest import IngestError, iter_inputs, read_input
from bot.ingest.sniff import sniff

FIXTURES = Path(__file__).parent / "fixtures"


def _stdin(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_stdin_plain_text() -> None:
    [article] = read_input("-", stdin=_stdin(b"Title line\r\nBody line one.\r\nBody line two.\r\n"))
    assert (article.title, article.text) == ("Title line", "Body line one.\nBody line two.")
    assert (article.url, article.source) == ("", "stdin")


def test_stdin_feed() -> None:
    articles = read_input("-", stdin=_stdin((FIXTURES / "atom.xml").read_bytes()))
    assert [a.title for a in articles] == ["Truppen an der Grenze verlegt", "Fähre fällt aus"]


def test_stdin_html() -> None:
    data = (FIXTURES / "pages" / "zeit.de.zugverkehr.html").read_bytes()
    [article] = read_input("-", stdin=_stdin(data))
    assert article.title == "Zugverkehr: Im ICE von Frankfurt nach Barcelona"


def test_stdin_json_and_jsonl() -> None:
    assert (
        len(read_input("-", stdin=_stdin((FIXTURES / "json" / "articles.json").read_bytes()))) == 2
    )
    assert (
        len(read_input("-", stdin=_stdin((FIXTURES / "json" / "articles.jsonl").read_bytes()))) == 2
    )


def test_stdin_errors_name_stdin() -> None:
    with pytest.raises(IngestError, match=r"^<stdin>: is empty$"):
        read_input("-", stdin=_stdin(b"  \n"))
    with pytest.raises(IngestError, match=r"^<stdin>: has no article: 2 bad items, the first: line 1 is"):
        read_input("-", stdin=_stdin(b'{"a": 1}\n{"b": 2}\n'))


@pytest.mark.parametrize(
    ("head", "ctype", "kind"),
    [
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c --><rss version="2.0">', "", "feed"),
        (b"<?xml version='1.0'?><?xml-stylesheet href='x'?><feed xmlns='x'>", "", "feed"),
        (b"<rdf:RDF xmlns:rdf='x'>", "", "feed"),
        ("<?xml version='1.0'?><rss>".encode("utf-16"), "", "feed"),
        (b"<!DOCTYPE html><html><body>", "", "html"),
        (
            b"<?xml version='1.0'?><!DOCTYPE html><html xmlns='http://www.w3.org/1999/xhtml'>",
            "",
            "html",
        ),
        (b"<div>fragment</div>", "", "html"),
        (b"<rss version='2.0'>", "text/html", "feed"),  # the bytes beat a wrong header
        (b"<?xml version='1.0'?><urlset>", "application/xml", "feed"),
        (b'  {"title": "x"}', "", "json"),
        (b"[1, 2]", "", "json"),
        (b"Plain words < and >", "", "text"),
        (b"Plain words", "text/html; charset=utf-8", "html"),
        (b"", "application/json", "json"),
    ],
)
def test_sniff(head: bytes, ctype: str, kind: str) -> None:
    assert sniff(head, ctype) == kind


def _tree(root: Path) -> Path:
    """A directory with good, bad, hidden and foreign files in nested folders."""
    (root / "b-sub" / "deeper").mkdir(parents=True)
    (root / ".hidden-dir").mkdir()
    (root / "a.txt").write_text("Alpha\nFirst file.")
    (root / "b-sub" / "feed.rss").write_bytes((FIXTURES / "rss2-content.xml").read_bytes())
    (root / "b-sub" / "deeper" / "c.md").write_text("# Gamma\nThird.")
    (root / "b-sub" / "bad.jsonl").write_text('{"name": "not an article"}\n')
    (root / "z.json").write_text('{"title": "Zulu", "text": "Last."}')
    (root / ".secret.txt").write_text("Hidden\nnot read")
    (root / ".hidden-dir" / "x.txt").write_text("Hidden\nnot read")
    (root / "image.png").write_bytes(b"\x89PNG")
    (root / "notes.docx").write_bytes(b"PK")
    return root


def test_iter_inputs_yields_each_file_of_a_directory(tmp_path: Path) -> None:
    root = str(_tree(tmp_path / "inbox"))
    results = list(iter_inputs([root]))
    names = [name for name, _ in results]
    assert names == [
        f"{root}/a.txt",
        f"{root}/b-sub/bad.jsonl",
        f"{root}/b-sub/deeper/c.md",
        f"{root}/b-sub/feed.rss",
        f"{root}/z.json",
    ]
    by_name = dict(results)
    bad = by_name[f"{root}/b-sub/bad.jsonl"]
    assert isinstance(bad, IngestError)
    assert str(bad).startswith(f"{root}/b-sub/bad.jsonl: has no article: line 1 is not an article")
    a = by_name[f"{root}/a.txt"]
    assert isinstance(a, list) and a[0].source == "inbox" and a[0].url == f"{root}/a.txt"
    c = by_name[f"{root}/b-sub/deeper/c.md"]
    assert isinstance(c, list) and c[0].title == "Gamma" and c[0].source == "deeper"
    feed = by_name[f"{root}/b-sub/feed.rss"]
    assert isinstance(feed, list) and len(feed) == 3


def test_read_input_directory_stops_at_the_bad_file(tmp_path: Path) -> None:
    root = str(_tree(tmp_path / "inbox"))
    with pytest.raises(IngestError, match=r"bad\.jsonl: has no article: line 1"):
        read_input(root)
    (tmp_path / "inbox" / "b-sub" / "bad.jsonl").unlink()
    titles = [a.title for a in read_input(root)]
    assert titles[0] == "Alpha" and titles[1] == "Gamma" and titles[-1] == "Zulu"
    assert "Hidden" not in titles
    assert len(titles) == 6


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "only.png").write_bytes(b"\x89PNG")
    with pytest.raises(IngestError, match=r": no readable files \(looked for .*\.txt"):
        read_input(str(tmp_path))
    [(name, error)] = list(iter_inputs([str(tmp_path)]))
    assert name == str(tmp_path) and isinstance(error, IngestError)


def test_iter_inputs_mixes_good_and_bad_inputs() -> None:
    specs = [str(FIXTURES / "json" / "broken.json"), "missing.txt", str(FIXTURES / "atom.xml")]
    results = list(iter_inputs(specs))
    assert [name for name, _ in results] == specs
    assert isinstance(results[0][1], IngestError)
    assert str(results[1][1]) == "missing.txt: No such file or directory"
    assert isinstance(results[2][1], list) and len(results[2][1]) == 2


def test_iter_inputs_turns_unexpected_errors_into_ingest_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("bot.ingest.inputs.article_from_text", explode)
    [(name, error)] = list(iter_inputs([str(FIXTURES / "text" / "plain.txt")]))
    assert isinstance(error, IngestError)
    assert str(error) == f"{name}: unexpected error: RuntimeError: parser bug"


def test_unknown_extension_given_explicitly_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes((FIXTURES / "rss2-content.xml").read_bytes())
    assert len(read_input(str(path))) == 3


def test_unsupported_scheme() -> None:
    with pytest.raises(IngestError, match=r"^ftp://example\.com/feed: invalid URL"):
        read_input("ftp://example.com/feed")
