"""sources.yaml: the declared sources and every way a declaration can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.sources import (
    DEFAULT_INTERVAL,
    SourceError,
    SourceSpec,
    format_interval,
    guess_url_kind,
    load_sources,
    load_sources_text,
    parse_interval,
)

SAMPLES = Path(__file__).parent.parent / "samples"


def load(text: str, base: Path | None = None) -> list[SourceSpec]:
    return load_sources_text(text, "sources.yaml", base_dir=base)


def error(text: str, base: Path | None = None) -> str:
    with pytest.raises(SourceError) as info:
        load(text, base)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_full_example(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "desk.rss").write_text("<rss/>")
    specs = load(
        """
sources:
  - name: world-desk
    url: https://example.org/world/rss.xml
    interval: 15m
    fetch_full: true
  - name: statement
    url: https://example.org/ministry/statement
    kind: page
    interval: 300
    enabled: false
  - name: unknown
    url: https://example.org/news
  - name: inbox
    path: inbox
  - name: desk
    path: ./desk.rss
    interval: 1h30m
""",
        tmp_path,
    )
    assert specs == [
        SourceSpec("world-desk", "feed", url="https://example.org/world/rss.xml", fetch_full=True),
        SourceSpec(
            "statement",
            "page",
            url="https://example.org/ministry/statement",
            interval_s=300,
            enabled=False,
        ),
        SourceSpec("unknown", "auto", url="https://example.org/news"),
        SourceSpec("inbox", "folder", path=str(tmp_path / "inbox")),
        SourceSpec("desk", "file", path=str(tmp_path / "desk.rss"), interval_s=5400),
    ]
    assert specs[0].interval_s == DEFAULT_INTERVAL
    assert specs[0].target == "https://example.org/world/rss.xml"
    assert specs[3].target == str(tmp_path / "inbox")


def test_relative_paths_resolve_against_the_yaml_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "drop").mkdir()
    (conf / "sources.yaml").write_text("sources:\n  - {name: drop, path: drop}\n")
    monkeypatch.chdir(tmp_path)  # not the YAML's folder
    [spec] = load_sources(Path("conf/sources.yaml"))
    assert spec.path == str(conf / "drop")
    assert spec.kind == "folder"


def test_missing_paths_are_guessed_by_extension(tmp_path: Path) -> None:
    specs = load(
        "sources:\n  - {name: a, path: later.json}\n  - {name: b, path: later}\n", tmp_path
    )
    assert [s.kind for s in specs] == ["file", "folder"]


def test_bundled_samples() -> None:
    specs = load_sources(SAMPLES / "sources.yaml")
    assert [(s.name, s.kind) for s in specs] == [("world-desk", "file"), ("seed-article", "file")]
    assert all(s.path and Path(s.path).is_file() for s in specs)


def test_empty_list_is_no_sources() -> None:
    assert load("sources: []\n") == []
    assert load("sources:\n") == []


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://example.org/rss.xml", "feed"),
        ("https://example.org/news/feed/", "feed"),
        ("https://example.org/feeds/world", "feed"),
        ("https://example.org/atom", "feed"),
        ("https://example.org/index.rdf", "feed"),
        ("https://example.org/?feed=rss2", "feed"),
        ("https://example.org/list?format=atom", "feed"),
        ("https://example.org/news/2024/troops.html", "auto"),
        ("https://example.org/", "auto"),
        ("https://example.org/feedback", "auto"),
    ],
)
def test_guess_url_kind(url: str, kind: str) -> None:
    assert guess_url_kind(url) == kind


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(300, 300), ("300", 300), ("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400),
     ("1d", 86400), (" 2 h ", 7200), (45.6, 46), ("1.5h", 5400)],
)  # fmt: skip
def test_parse_interval(value: object, seconds: int) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize(
    "value", ["fast", "", "15x", "m", "1h fast", True, None, [1], float("nan")]
)
def test_parse_interval_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_interval(value)


def test_format_interval() -> None:
    assert [format_interval(s) for s in (45, 900, 5400, 86400, 0)] == [
        "45s",
        "15m",
        "1h30m",
        "1d",
        "0s",
    ]


ENTRY = "  - {name: ok, url: 'https://example.org/rss'}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sources:\n"
            + "  - {name: a, url: 'https://a.example/rss'}\n"
            + "  - {name: b, url: 'https://b.example/rss'}\n"
            + "  - {name: c, url: 'https://c.example/rss', interval: fast}\n",
            "sources.yaml: sources[2].interval: 'fast' is not a duration (e.g. 300, 15m, 1h)",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', intreval: 60}\n",
            "sources.yaml: sources[0]: unknown field 'intreval' (did you mean 'interval'?)",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', colour: red}\n",
            "sources.yaml: sources[0]: unknown field 'colour' "
            "(allowed: name, url, path, kind, interval, enabled, fetch_full, stream, group, consumer)",
        ),
        (
            "source:\n" + ENTRY,
            "sources.yaml: unknown field 'source' (did you mean 'sources'?)",
        ),
        (
            ENTRY.replace("  - ", "sources:\n  - ")
            + "  - {name: OK, url: 'https://other.example/rss'}\n",
            "sources.yaml: sources[1].name: 'OK' is already used by sources[0]",
        ),
        (
            "sources:\n" + ENTRY + "  - {name: again, url: 'https://example.org/rss'}\n",
            "sources.yaml: sources[1].url: already declared by sources[0] ('ok')",
        ),
        (
            "sources:\n  - {url: 'https://a.example/rss'}\n",
            "sources.yaml: sources[0]: a source needs a 'name'",
        ),
        (
            "sources:\n  - {name: a}\n",
            "sources.yaml: sources[0]: a source needs a 'url' or a 'path'",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/', path: x}\n",
            "sources.yaml: sources[0]: give either 'url' or 'path', not both",
        ),
        (
            "sources:\n  - {name: a, url: 'ftp://a.example/feed'}\n",
            "sources.yaml: sources[0].url: 'ftp://a.example/feed' is not an http:// or https:// URL with a host",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/', kind: fed}\n",
            "sources.yaml: sources[0].kind: 'fed' is not a source kind (did you mean 'feed'?)",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/', kind: folder}\n",
            "sources.yaml: sources[0].kind: 'folder' is for a 'path'; a url is 'feed', 'page' or 'auto'",
        ),
        (
            "sources:\n  - {name: a, path: x.rss, kind: feed}\n",
            "sources.yaml: sources[0].kind: 'feed' is for a 'url'; a path is 'file' or 'folder'; "
            "a file's format comes from its extension",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', interval: 10}\n",
            "sources.yaml: sources[0].interval: 10s is below the minimum of 30s",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', interval: 10s}\n",
            "sources.yaml: sources[0].interval: 10s is below the minimum of 30s",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', interval: 30d}\n",
            "sources.yaml: sources[0].interval: 30d is above the maximum of 7d",
        ),
        (
            "sources:\n  - {name: a, url: 'https://a.example/rss', enabled: yes}\n",
            "sources.yaml: sources[0].enabled: expected true or false, got 'yes'",
        ),
        (
            "sources:\n  - {name: a, path: inbox/, kind: folder, fetch_full: true}\n",
            "sources.yaml: sources[0].fetch_full: applies to feeds only (this source is a folder)",
        ),
        (
            "sources:\n  - {name: '', url: 'https://a.example/rss'}\n",
            "sources.yaml: sources[0].name: must not be empty",
        ),
        (
            "sources:\n  - {name: [a], url: 'https://a.example/rss'}\n",
            "sources.yaml: sources[0].name: expected text, got a list",
        ),
        (
            "sources:\n  - https://a.example/rss\n",
            "sources.yaml: sources[0]: expected a mapping with 'name' and 'url' or 'path', got str",
        ),
        ("sources: https://a.example/rss\n", "sources.yaml: sources: expected a list, got str"),
        ("- {name: a, url: 'https://a.example/'}\n", "sources.yaml: expected 'sources:' with a list under it, got a bare list"),
        ("", "sources.yaml: is empty (expected a 'sources:' list)"),
        ("{}\n", "sources.yaml: expected a 'sources:' list"),
        ("sources: [\n", "sources.yaml: not valid YAML: line 2, column 1: expected the node content, but found '<stream end>'"),
    ],
)  # fmt: skip
def test_errors(text: str, message: str, tmp_path: Path) -> None:
    assert error(text, tmp_path) == message


def test_kind_must_match_what_the_path_is(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "a.txt").write_text("x")
    assert error("sources:\n  - {name: a, path: a.txt, kind: folder}\n", tmp_path) == (
        f"sources.yaml: sources[0].path: {tmp_path / 'a.txt'} is a file, not a folder"
    )
    assert error("sources:\n  - {name: a, path: dir, kind: file}\n", tmp_path) == (
        f"sources.yaml: sources[0].path: {tmp_path / 'dir'} is a folder, not a file"
    )


def test_duplicate_paths_after_resolving(tmp_path: Path) -> None:
    text = "sources:\n  - {name: a, path: inbox}\n  - {name: b, path: ./inbox/}\n"
    assert error(text, tmp_path) == (
        "sources.yaml: sources[1].path: already declared by sources[0] ('a')"
    )


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file$"):
        load_sources(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SourceError, match="cannot read"):
        load_sources(bad)
    dup = tmp_path / "dup.yaml"
    dup.write_text("sources:\n  - {name: a, name: b, url: 'https://a.example/'}\n")
    with pytest.raises(SourceError, match=f"^{dup}: not valid YAML"):
        load_sources(dup)


def test_yaml_aliases_are_refused() -> None:
    """Nine levels of aliases in a name expanded to 9**9 values (a "billion laughs")."""
    levels = ["&a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"] + [
        f"&{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)
    ]
    message = error(f"sources:\n  - name: [{', '.join(levels)}]\n    url: https://x.example/\n")
    assert "not valid YAML: line 2" in message and "YAML aliases (*a) are not allowed" in message
