"""Watchlist YAML: validation messages and round-trip saving."""

from pathlib import Path

import pytest

from bot.engine.watchlist import Keyword, WatchlistError, dump, load_dir, load_file, load_text, save

BUNDLED = Path(__file__).resolve().parent.parent / "watchlists"

GOOD = """\
# Watch troops near borders
name: demo
description: Demo list
entities:
  - name: Alexander Lukashenko   # the president
    aliases: [Lukashenko, Лукашенко]
    fuzzy: 90
keywords:
  - troops      # plain word
  - convoy*
groups:
  place: [border, frontier]
rule: (troops OR convoy*) NEAR/12 @place
min_score: 0.4
"""


def test_bundled_watchlists_all_load() -> None:
    loaded, errors = load_dir(BUNDLED)
    assert errors == []
    names = {wl.name for wl in loaded}
    assert {"troop-movements", "border-deployments", "russia-belarus-ukraine"} <= names


def test_good_watchlist_fields() -> None:
    wl = load_text(GOOD, "demo.yaml")
    assert wl.entities[0].aliases == ["Lukashenko", "Лукашенко"]
    assert wl.entities[0].fuzzy == 90
    assert [k.term for k in wl.keywords] == ["troops", "convoy*"]
    assert [k.term for k in wl.groups["place"]] == ["border", "frontier"]
    assert wl.min_score == 0.4
    assert wl.rule_ast is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nkeywrods: [a]\n", "x.yaml: unknown field 'keywrods' (did you mean 'keywords'?)"),
        ("keywords: [a]\n", "x.yaml: name: missing"),
        ("name: Bad Name\nkeywords: [a]\n", "x.yaml: name: 'Bad Name' is not a valid name"),
        ("name: x\nkeywords: troops\n", "x.yaml: keywords: expected a list"),
        ("name: x\nkeywords: [a]\nmin_score: 2\n", "x.yaml: min_score: 2 is out of range"),
        ("name: x\nentities: [{aliases: [a]}]\n", "x.yaml: entities[0]: an entity needs a 'name'"),
        ("name: x\nkeywords: ['de*ploy']\n", "x.yaml: keywords[0]: 'de*ploy': * may only end"),
        ("name: x\nkeywords: [a]\nrule: a AND (b\n", "x.yaml: rule: rule error at position"),
        ("name: x\nkeywords: [a]\nrule: a AND @nobody\n", "x.yaml: rule: @nobody is not an entity"),
        ("name: x\nkeywords: [a]\nrule: NOT a\n", "x.yaml: rule: the rule has no term outside NOT"),
        ("name: x\n  bad: [\n", "x.yaml: not valid YAML: line"),
        ("name: x\n", "x.yaml: a watchlist needs entities, keywords or a rule"),
    ],
)
def test_errors_name_file_and_field(text: str, expected: str) -> None:
    with pytest.raises(WatchlistError) as info:
        load_text(text, "x.yaml")
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_load_dir_reports_bad_files_and_keeps_good_ones(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("name: bad\nrule: (a\n", encoding="utf-8")
    (tmp_path / "dup.yaml").write_text(GOOD, encoding="utf-8")
    loaded, errors = load_dir(tmp_path)
    assert [wl.name for wl in loaded] == ["demo"]
    messages = sorted(str(e) for e in errors)
    assert any("bad.yaml: rule:" in m for m in messages)
    assert any("name: 'demo' is already used" in m for m in messages)


def test_save_keeps_comments_and_adds_terms(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(GOOD, encoding="utf-8")
    wl = load_file(path)
    wl.keywords.append(Keyword("servicemen"))
    wl.keywords = [k for k in wl.keywords if k.term != "convoy*"]
    save(wl, path)
    text = path.read_text(encoding="utf-8")
    assert "# Watch troops near borders" in text
    assert "# the president" in text
    assert "# plain word" in text
    assert "servicemen" in text and "  - convoy*" not in text
    again = load_file(path)
    assert [k.term for k in again.keywords] == ["troops", "servicemen"]
    assert again.rule == wl.rule


def test_dump_without_original_is_loadable() -> None:
    wl = load_text(GOOD, "demo.yaml")
    again = load_text(dump(wl), "again.yaml")
    assert again.entities == wl.entities
    assert again.keywords == wl.keywords
    assert again.groups == wl.groups


def test_emptying_a_commented_list_still_saves_valid_yaml() -> None:
    from bot.engine.watchlist import Entity

    text = "name: demo\nkeywords:\n  # the main words\n  - troops\nrule: troops\n"
    wl = load_text(text, "demo.yaml")
    wl.keywords, wl.rule, wl.entities = [], None, [Entity("Belarus")]
    again = load_text(dump(wl, text), "again.yaml")
    assert again.keywords == [] and [e.name for e in again.entities] == ["Belarus"]
