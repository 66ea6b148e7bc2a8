"""Watchlist YAML: validation messages and round-trip saving."""

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.engine.watchlist import (
    Keyword,
    WatchlistError,
    dump,
    from_mapping,
    load_dir,
    load_file,
    load_folder,
    load_text,
    save,
)
from bot.limits import (
    MAX_RULE_CHARS,
    MAX_RULE_TERMS,
    MAX_TERM_CHARS,
    MAX_TERM_WORDS,
    MAX_WATCHLIST_TERMS,
)

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


# --- limits (issue 12, items 1 and 7) ---------------------------------------

BIG = "\ufdfa"  # NFKC makes it 17 characters, four words: 'sla llh `lyh wslm'
HAN = "中"  # transliterated to 'zhong', and a run of them is one word
_WORDS = [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "abcdefghijklmnopqrstuvwxyz"]
MANY_TERMS = " OR ".join(  # 600 terms in 15 groups: not too deep, not too long
    "(" + " OR ".join(_WORDS[g * 40 : g * 40 + 40]) + ")" for g in range(15)
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 40,000 × U+FDFA: 120 kB of file, 680,000 characters normalised (crashed the matcher)
        (f"name: x\nkeywords: ['{BIG * 40_000}']\n", "keywords[0]: "),
        # 50 characters as written, one word of 250 normalised: only the normalised form is over
        (f"name: x\nkeywords: ['{HAN * 50}']\n", f"at most {MAX_TERM_CHARS} characters"),
        (
            f"name: x\nkeywords: ['{BIG * 7}']\n",
            f"has 22 words: a term has at most {MAX_TERM_WORDS}",
        ),
        (
            f"name: x\nentities: [{{name: ok, aliases: ['{HAN * 50}']}}]\nkeywords: [a]\n",
            "entities[0].aliases[0]: ",
        ),
        (
            f"name: x\nkeywords: [a]\nrule: '\"{'troops ' * 150_000}\"'\n",
            f"rule: too long: a rule has at most {MAX_RULE_CHARS} characters",
        ),
        (
            f"name: x\nkeywords: [a]\nrule: '\"{'troops ' * 25}\"'\n",
            f"a term has at most {MAX_TERM_WORDS}",
        ),
        (f"name: x\nkeywords: [a]\nrule: {BIG * 300}\n", "rule: too long"),  # 5,100 normalised
        (
            f"name: x\nkeywords: [a]\nrule: {MANY_TERMS}\n",
            f"600 terms: a rule has at most {MAX_RULE_TERMS}",
        ),
    ],
)
def test_terms_and_rules_are_bounded_after_normalising(text: str, expected: str) -> None:
    with pytest.raises(WatchlistError) as info:
        load_text(text, "big.yaml")
    message = str(info.value)
    assert expected in message and "\n" not in message and len(message) < 300


def test_terms_at_the_limits_are_accepted() -> None:
    wl = load_text(f"name: x\nkeywords: ['{BIG * 5}', '{'w' * MAX_TERM_CHARS}']\n")
    assert len(wl.keywords) == 2


def test_a_watchlist_has_at_most_so_many_terms() -> None:
    many = "\n".join(f"  - w{i}" for i in range(MAX_WATCHLIST_TERMS + 1))
    with pytest.raises(WatchlistError, match=f"a watchlist has at most {MAX_WATCHLIST_TERMS}"):
        load_text(f"name: x\nkeywords:\n{many}\n")


LAUGHS = (  # nine levels of aliases: 9**9 values once expanded (a "billion laughs")
    "[&a [lol,lol,lol,lol,lol,lol,lol,lol,lol], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a],"
    " &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c],"
    " &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e],"
    " &g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g],"
    " &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]]"
)


@pytest.mark.parametrize("field", ["description", "rule", "name"])
def test_yaml_aliases_are_refused_in_one_line(field: str) -> None:
    """Took a minute and 2 GB before failing (``str()`` of the expanded value)."""
    fields = {"name": "bomb", "keywords": "[troops]", field: LAUGHS}
    text = "".join(f"{key}: {value}\n" for key, value in fields.items())
    with pytest.raises(WatchlistError) as info:
        load_text(text, "bomb.yaml")
    message = str(info.value)
    assert message.startswith("bomb.yaml: not valid YAML: line ")
    assert "YAML aliases (*a) are not allowed" in message and "\n" not in message


def test_a_merge_key_is_an_alias_too() -> None:
    text = "base: &base {weight: 2}\nname: x\nkeywords:\n  - {<<: *base, term: troops}\n"
    with pytest.raises(WatchlistError, match="aliases"):
        load_text(text, "merge.yaml")


READ_ONLY_CASES = [
    path.read_text(encoding="utf-8") for path in sorted(BUNDLED.glob("*.yaml"))
] + [
    "name: x\nkeywords: [1.50, 0x1f, 007, 1_000, yes, 2024-01-01]\nmin_score: 0.40\n",
    "name: x\nkeywords: [2024-01-01T10:00:00]\n",  # a timestamp: the round-trip loader's
    "name: x\nkeywords: [!!set {a}]\n",  # an explicit tag: the round-trip loader's
    "name: x\nkeywords: [\"quoted\", 'single', plain] # comment\ndescription: |\n  two\n  lines\n",
    "name: x\nentities: 1.5\n",  # a ScalarFloat in the round-trip document
    "name: x\nkeywords: [a]\nmin_score: \"0.4\"\n",
    "name: x\nkeywords: [a]\nlanguages: [EN, 'de', 1]\n",
    "name: x\nkeywords: [a]\nkeywrods: [b]\n",
    "name: x\nname: y\n",
    "name: x\nkeywords: [a\n",
    "name: x\nkeywords: &a [a]\nentities: *a\n",
    "%YAML 1.1\n---\nname: x\nkeywords: [yes, no]\n",
    "name: x\nkeywords: [a]\n---\nname: y\n",
    "lexicon: l\ngroups: {g: [a, 1.5]}\n",
    "lexicon: l\ngroups: {g: 1.5}\n",
    "- a\n",
    "",
]


@pytest.mark.parametrize("text", READ_ONLY_CASES)
def test_reading_only_gives_what_the_round_trip_document_gives(text: str) -> None:
    """scan, eval and run read watchlists with the quicker safe loader: the same
    watchlist, lexicon or error (line and column included) as from the round-trip
    document that an edit saves back over."""
    from bot.engine.watchlist import (
        is_lexicon,
        lexicon_from_mapping,
        load_lexicon_text,
        parse_yaml,
        read_yaml,
    )

    lexicons = load_folder(BUNDLED).lexicons

    def outcome(build: Callable[[], object]) -> object:
        try:
            return build()
        except WatchlistError as err:
            return str(err)

    def round_trip() -> object:
        doc = parse_yaml(text, "x.yaml")
        if is_lexicon(doc):
            return lexicon_from_mapping(doc, "x.yaml")
        return from_mapping(doc, "x.yaml", lexicons)

    def read_only() -> object:
        if is_lexicon(read_yaml(text, "x.yaml")):
            return load_lexicon_text(text, "x.yaml")
        return load_text(text, "x.yaml", lexicons)

    assert outcome(read_only) == outcome(round_trip)


def test_reading_only_uses_plain_values_and_editing_keeps_comments() -> None:
    from ruamel.yaml.comments import CommentedMap

    from bot.engine.watchlist import parse_yaml, read_yaml

    text = "name: x  # the name\nkeywords: [a]\n"
    assert type(read_yaml(text, "x.yaml")) is dict
    assert isinstance(parse_yaml(text, "x.yaml"), CommentedMap)
    tagged = read_yaml("name: x\nkeywords: [!!set {a}]\n", "x.yaml")
    assert isinstance(tagged, CommentedMap)  # left to the round-trip loader


def test_a_folder_read_again_comes_from_the_cache_and_follows_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files' documents are cached (by their text): the next load gives the same
    watchlists, an edited file is read anew, a broken cache entry is read past."""
    import bot.engine.watchlist as watchlist

    monkeypatch.setattr(watchlist, "cache_dir", lambda: tmp_path / "cache")
    folder = tmp_path / "lists"
    folder.mkdir()
    for path in BUNDLED.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_folder(folder)
    cached = sorted((tmp_path / "cache" / "yaml").iterdir())
    assert len(cached) == len(list(folder.glob("*.yaml"))) and not first.errors
    again = load_folder(folder)
    assert again.watchlists == first.watchlists and again.lexicons == first.lexicons
    for path in cached:
        path.write_bytes(b"\x00broken")
    assert load_folder(folder).watchlists == first.watchlists
    edited = folder / "troop-movements.yaml"
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("min_score: ", "min_score: 0.9 #"),
        encoding="utf-8",
    )
    (changed,) = [w for w in load_folder(folder).watchlists if w.name == "troop-movements"]
    assert changed.min_score == 0.9
