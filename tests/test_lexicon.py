"""Shared lexicons: a watchlist says ``use: [name]`` and its rule takes ``@group`` from them.

The fixtures (``tests/fixtures/lexicon/``) hold one watchlist twice: using the
lexicon (``shared/``) and with its groups copied in (``copied/``). They must
alert alike, the shared groups must never be written into the watchlist's
YAML, and the lexicon must live in the database beside the watchlists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from test_commands_support import ADMIN, make_alert, make_service, say
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.watchlist import (
    Keyword,
    WatchlistError,
    dump,
    load_dir,
    load_folder,
    load_lexicon_text,
    load_text,
)
from bot.models import Article, match_record
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.watchlists import get_lexicon, get_watchlist, list_lexicons, save_lexicon
from handlers.commands import handle_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lexicon"
SHARED, COPIED = FIXTURES / "shared", FIXTURES / "copied"
LEXICON = (SHARED / "lexicon.yaml").read_text(encoding="utf-8")
MOVES = (SHARED / "moves.yaml").read_text(encoding="utf-8")

ARTICLES = [
    Article(
        title="Marines deployed to the frontier",
        text="Two battalions of marines were deployed to the frontier on Monday. "
        "Residents watched the armoured column arrive.",
    ),
    Article(title="Army could deploy troops", text="The minister said troops may deploy soon."),
    Article(title="Soldiers reach the boundary line", text="Soldiers stood at the boundary line."),
    Article(title="A brigade redeployed", text="The brigade was redeployed north, officials said."),
    Article(title="Rain on the border", text="Farmers say the rain came late this year."),
    Article(title="", text="The troops could be moved to the border, an official said."),
]


def _records(directory: Path) -> list[list[dict[str, object]]]:
    watchlists, errors = load_dir(directory)
    assert not errors
    matcher = Matcher(watchlists)
    return [[match_record(m) for m in analyse(a, matcher)] for a in ARTICLES]


# --- loading and resolving ---------------------------------------------------


def test_a_folder_holds_the_lexicon_apart_from_its_watchlists() -> None:
    folder = load_folder(SHARED)
    assert not folder.errors
    assert list(folder.lexicons) == ["military"]
    assert [wl.name for wl in folder.watchlists] == ["moves"]  # the lexicon is no watchlist
    wl = folder.watchlists[0]
    assert wl.use == ["military"] and list(wl.groups) == ["place"]
    assert [(g.name, g.lexicon) for g in wl.shared_groups()] == [
        ("forces", "military"),
        ("movement", "military"),
        ("hedge", "military"),
    ]
    assert wl.rule_groups() == [
        ("forces", "military"),
        ("movement", "military"),
        ("hedge", "military"),
        ("place", "own"),
    ]
    assert [k.term for k in wl.group("place") or []][-1] == "boundary line"  # its own wins
    assert Keyword("marines", 2.0) in (wl.group("forces") or [])


def test_a_watchlist_using_the_lexicon_alerts_as_the_copied_one() -> None:
    shared, copied = _records(SHARED), _records(COPIED)
    assert shared == copied
    fired = [bool(found) for found in shared]
    assert fired == [True, False, True, True, False, True]  # the last: forces SENT place


def test_its_own_group_wins_over_the_lexicons() -> None:
    lexicons = load_folder(SHARED).lexicons
    without_own = MOVES.split("groups:")[0] + "rule: '@forces SENT @place'\n"
    wl = load_text(without_own, "t.yaml", lexicons)
    assert wl.rule_groups() == [("forces", "military"), ("place", "military")]
    boundary = ARTICLES[2]
    assert not Matcher([wl]).match(boundary)  # the lexicon's @place has no "boundary line"
    assert Matcher(load_dir(SHARED)[0]).match(boundary)


@pytest.mark.parametrize(
    ("yaml", "says"),
    [
        (
            "name: x\nuse: [militray]\nrule: '@forces'\n",
            "x.yaml: use[0]: no lexicon named 'militray' (known: military)",
        ),
        (
            "name: x\nuse: [military]\nrule: '@forces AND @ghost'\n",
            "x.yaml: rule: @ghost is not an entity or group of this watchlist or the lexicons "
            "it uses (known: forces, movement, hedge, place)",
        ),
        (
            "name: x\nrule: '@forces'\n",
            "x.yaml: rule: @forces is not an entity or group of this watchlist (known: none)",
        ),
        ("name: x\nuse: [military, military]\nrule: '@forces'\n", "x.yaml: use[1]: lexicon 'military' is named twice"),
        ("name: x\nuse: {a: 1}\nrule: '@forces'\n", "x.yaml: use: expected a list, got a mapping"),
    ],
)
def test_unknown_names_are_refused_in_one_line(yaml: str, says: str) -> None:
    with pytest.raises(WatchlistError) as caught:
        load_text(yaml, "x.yaml", load_folder(SHARED).lexicons)
    assert str(caught.value).startswith(says), str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("yaml", "says"),
    [
        ("lexicon: military\ngroups:\n  forces: [troops, '*']\n", "groups.forces[1]"),
        ("lexicon: Military Words\ngroups: {forces: [troops]}\n", "lexicon: 'Military Words'"),
        ("lexicon: military\n", "groups: a lexicon needs at least one group"),
        ("lexicon: military\nrule: troops\ngroups: {f: [x]}\n", "unknown field 'rule'"),
        ("lexicon: military\ngroups: {forces: [troops]\n", "not valid YAML"),
    ],
)
def test_a_lexicon_file_with_errors_is_one_line_naming_it(
    tmp_path: Path, yaml: str, says: str
) -> None:
    (tmp_path / "lexicon.yaml").write_text(yaml, encoding="utf-8")
    (tmp_path / "moves.yaml").write_text(MOVES, encoding="utf-8")
    folder = load_folder(tmp_path)
    first = str(folder.errors[0])
    assert first.startswith(f"{tmp_path / 'lexicon.yaml'}: ") and says in first, first
    assert "\n" not in first
    # the watchlist that needs it is refused too, naming what it misses
    assert not folder.watchlists
    assert "use[0]: no lexicon named 'military'" in str(folder.errors[1])


def test_two_lexicons_of_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LEXICON, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(LEXICON, encoding="utf-8")
    folder = load_folder(tmp_path)
    assert list(folder.lexicons) == ["military"]
    assert str(folder.errors[0]) == (
        f"{tmp_path / 'b.yaml'}: lexicon: 'military' is already used by {tmp_path / 'a.yaml'}"
    )


# --- saving never copies the shared groups ------------------------------------


def test_dump_keeps_use_and_never_writes_the_shared_groups() -> None:
    wl = load_text(MOVES, "moves.yaml", load_folder(SHARED).lexicons)
    wl.keywords.append(Keyword("convoy*"))
    out = dump(wl, MOVES)
    assert "use: [military]" in out
    assert "# its own @place wins over the lexicon's" in out  # comments kept
    assert "battalion" not in out and "forces:" not in out and "hedge:" not in out
    again = load_text(out, "moves.yaml", load_folder(SHARED).lexicons)
    assert again.use == ["military"] and list(again.groups) == ["place"]
    fresh = dump(load_text(MOVES, "m.yaml", load_folder(SHARED).lexicons))
    assert "use: [military]" in fresh and "battalion" not in fresh


# --- the service and the chat --------------------------------------------------


@pytest.fixture
async def lexicon_service(tmp_path: Path) -> Service:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "lexicon.yaml").write_text(LEXICON, encoding="utf-8")
    (lists / "moves.yaml").write_text(MOVES, encoding="utf-8")
    return make_service(tmp_path, lists)


async def test_chat_edit_and_save_do_not_copy_the_shared_groups(
    lexicon_service: Service,
) -> None:
    svc = lexicon_service
    try:
        reply = await say(svc, ADMIN, "/add moves keyword convoy*")
        assert not reply.error, reply.plain_text
        reply = await say(svc, ADMIN, "/rule moves (@forces NEAR/8 @movement) OR convoy*")
        assert not reply.error, reply.plain_text
        with session_scope(svc.factory) as session:
            row = get_watchlist(session, "moves")
            assert row is not None
            stored = row.yaml
        assert "use: [military]" in stored and "convoy*" in stored
        assert "battalion" not in stored and "hedge" not in stored
        assert "# its own @place wins" in stored
        exported = await say(svc, ADMIN, "/export moves")
        assert exported.attachment is not None
        assert exported.attachment.content.decode() == stored  # export keeps use:
        refused = await say(svc, ADMIN, "/remove moves troops")
        assert refused.error and "\n" not in refused.plain_text
        assert "in @forces of lexicon military" in refused.plain_text
    finally:
        await svc.close()


async def test_show_lists_the_shared_groups_with_counts(lexicon_service: Service) -> None:
    svc = lexicon_service
    try:
        shown = (await say(svc, ADMIN, "/show moves")).plain_text
        assert "Group @place (3): border, frontier, boundary line" in shown
        assert "Uses lexicons: military" in shown
        assert (
            "Shared groups (3): @forces (military, 6 terms), @movement (military, 5 terms), "
            "@hedge (military, 6 terms)"
        ) in shown
        listed = (await say(svc, ADMIN, "/watchlists")).plain_text
        assert "moves" in listed and "military" not in listed  # a lexicon is not listed
        assert "20 terms" in listed  # 3 own + 17 shared
        refused = await say(svc, ADMIN, "/subscribe military")
        assert refused.error  # nor can it be subscribed to
    finally:
        await svc.close()


async def test_test_and_explain_say_where_each_group_comes_from(
    lexicon_service: Service,
) -> None:
    svc = lexicon_service
    try:
        tried = await say(svc, ADMIN, "/test moves Marines deployed to the frontier")
        assert "moves would alert" in tried.plain_text
        groups = "Groups: @forces (military), @movement (military), @hedge (military), @place (own)"
        assert groups in tried.plain_text
        ident = make_alert(svc, ARTICLES[0])
        explained = (await say(svc, ADMIN, f"/explain {ident}")).plain_text
        assert groups in explained
    finally:
        await svc.close()


async def test_import_naming_a_missing_lexicon_is_refused_in_one_line(
    lexicon_service: Service,
) -> None:
    svc = lexicon_service
    try:
        bad = MOVES.replace("use: [military]", "use: [navy]").replace("name: moves", "name: ships")
        reply = await handle_file(svc, ADMIN, "ships.yaml", bad.encode())
        assert reply.error and "\n" not in reply.plain_text
        assert reply.plain_text.startswith(
            "ships.yaml not imported: use[0]: no lexicon named 'navy' (known: military)"
        )
        good = MOVES.replace("name: moves", "name: ships")
        reply = await handle_file(svc, ADMIN, "ships.yaml", good.encode())
        assert reply.plain_text == "Created watchlist ships from ships.yaml (20 terms)."
        assert "ships" in {wl.name for wl in svc.matcher.watchlists}
        lexicon = await handle_file(svc, ADMIN, "lexicon.yaml", LEXICON.encode())
        assert lexicon.error and "this is a lexicon, not a watchlist" in lexicon.plain_text
    finally:
        await svc.close()


async def test_a_changed_lexicon_file_recompiles_the_watchlists_using_it(
    lexicon_service: Service,
) -> None:
    svc = lexicon_service
    try:
        lists = svc.settings.watchlist_dir
        sailors = Article(title="Sailors deployed to the frontier", text="")
        assert not svc.matcher.match(sailors)
        assert not await svc.reload_watchlists()
        changed = LEXICON.replace("forces: [troops,", "forces: [sailors, troops,")
        (lists / "lexicon.yaml").write_text(changed, encoding="utf-8")
        assert await svc.reload_watchlists()
        assert [m.watchlist for m in svc.matcher.match(sailors)] == ["moves"]
        with session_scope(svc.factory) as session:
            row = get_lexicon(session, "military")
            assert row is not None and row.yaml == changed and row.updated_by == "file"
        (lists / "lexicon.yaml").write_text("lexicon: military\ngroups: [x]\n", encoding="utf-8")
        await svc.reload_watchlists()  # a broken file: logged, the stored lexicon stays
        assert [m.watchlist for m in svc.matcher.match(sailors)] == ["moves"]
    finally:
        await svc.close()


# --- the database ---------------------------------------------------------------


def test_a_lexicon_round_trips_through_the_database(engine: Engine, tmp_path: Path) -> None:
    from bot.store.db import make_session_factory

    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        save_lexicon(session, "military", LEXICON, updated_by="file")
        save_lexicon(session, "military", LEXICON + "# edited\n", updated_by="file")
        save_lexicon(session, "navy", "lexicon: navy\ngroups: {ships: [frigate]}\n")
    with session_scope(factory) as session:
        rows = list_lexicons(session)
        assert [r.name for r in rows] == ["military", "navy"]
        assert rows[0].yaml.endswith("# edited\n")
        lexicon = load_lexicon_text(rows[0].yaml, "lexicon military")
        assert lexicon.groups["forces"][-1] == Keyword("marines", 2.0)


def test_the_service_seeds_and_compiles_lexicons_on_both_backends(
    engine: Engine, tmp_path: Path
) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "lexicon.yaml").write_text(LEXICON, encoding="utf-8")
    (lists / "moves.yaml").write_text(MOVES, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, watchlist_dir=lists, sources=tmp_path / "none.yaml")
    service = Service(settings, worker="test")
    try:
        assert [wl.name for wl in service.load_watchlists()] == ["moves"]
        assert list(service.lexicons) == ["military"]
        with session_scope(service.factory) as session:
            row = get_lexicon(session, "military")
            assert row is not None and row.yaml == LEXICON
            assert get_watchlist(session, "military") is None
        assert service.matcher.match(ARTICLES[0])
    finally:
        service.engine.dispose()


# --- scan and eval ----------------------------------------------------------------


def test_scan_and_eval_pick_up_the_folders_lexicon(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Marines deployed to the frontier\n\nThey arrived at dawn.\n", "utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["scan", str(article), "-w", str(SHARED), "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["watchlist"] == "moves"
    labelled = tmp_path / "l.jsonl"
    rows = [
        {"id": "a", "title": ARTICLES[0].title, "text": ARTICLES[0].text, "label": "moves"},
        {"id": "b", "title": ARTICLES[1].title, "text": ARTICLES[1].text, "label": "none"},
    ]
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(app, ["eval", str(labelled), "-w", str(SHARED), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"moves"' in result.stdout


def test_scan_with_a_broken_lexicon_exits_2_naming_it(tmp_path: Path) -> None:
    (tmp_path / "lexicon.yaml").write_text("lexicon: military\ngroupz: {}\n", encoding="utf-8")
    (tmp_path / "moves.yaml").write_text(MOVES, encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text("Marines deployed to the frontier\n", "utf-8")
    result = CliRunner().invoke(app, ["scan", str(article), "-w", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == (
        f"alertbot: {tmp_path / 'lexicon.yaml'}: unknown field 'groupz' (did you mean 'groups'?)"
    )
    assert "Traceback" not in result.output


def test_the_term_limit_counts_lexicons_and_the_shared_groups_a_rule_uses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lexicons = load_folder(SHARED).lexicons  # 19 terms
    monkeypatch.setattr("bot.engine.watchlist.MAX_WATCHLIST_TERMS", 18)
    with pytest.raises(WatchlistError) as caught:
        load_lexicon_text(LEXICON, "lexicon.yaml")
    assert str(caught.value) == (
        "lexicon.yaml: 19 terms: a lexicon has at most 18 (split it into several)"
    )
    with pytest.raises(WatchlistError) as caught:
        load_text(MOVES, "moves.yaml", lexicons)  # 3 of its own, 17 from the lexicon
    assert str(caught.value) == (
        "moves.yaml: 20 terms: a watchlist, with the shared groups it uses, has at most 18"
        " (split it into several)"
    )
    monkeypatch.setattr("bot.engine.watchlist.MAX_WATCHLIST_TERMS", 20)
    assert load_text(MOVES, "moves.yaml", lexicons).term_count == 20
    more = MOVES.replace("rule: ((@forces", "rule: (@place AND @forces AND troops) OR ((@forces")
    assert load_text(more, "moves.yaml", lexicons).term_count == 20  # the same groups


# --- shared parts: $name from a lexicon ------------------------------------------

PARTS_LEXICON = LEXICON + (
    "parts:\n"
    "  hedged: '@hedge'\n"
    "  told: '@movement NEAR/3 NOT $hedged'\n"
)


def _parts_folder(tmp_path: Path, lexicon: str, watchlist: str) -> Path:
    (tmp_path / "lexicon.yaml").write_text(lexicon, encoding="utf-8")
    (tmp_path / "moves.yaml").write_text(watchlist, encoding="utf-8")
    return tmp_path


def test_a_lexicon_part_is_said_by_the_watchlist_as_its_own(tmp_path: Path) -> None:
    moves = "name: moves\nuse: [military]\nrule: '@forces NEAR/6 $told'\n"
    folder = load_folder(_parts_folder(tmp_path, PARTS_LEXICON, moves))
    assert not folder.errors, folder.errors
    wl = folder.watchlists[0]
    assert [(n, lex) for n, lex, _ in wl.shared_parts()] == [("told", "military"), ("hedged", "military")]
    matcher = Matcher(folder.watchlists)
    assert matcher.match(Article(title="Soldiers deployed north", text=""))
    assert not matcher.match(Article(title="Soldiers may deploy north", text=""))  # $hedged


def test_its_own_part_wins_over_the_lexicons(tmp_path: Path) -> None:
    moves = (
        "name: moves\nuse: [military]\n"
        "parts:\n  told: '@movement'\n"  # no hedge check of its own
        "rule: '@forces NEAR/6 $told'\n"
    )
    folder = load_folder(_parts_folder(tmp_path, PARTS_LEXICON, moves))
    wl = folder.watchlists[0]
    assert wl.shared_parts() == []
    assert Matcher(folder.watchlists).match(Article(title="Soldiers may deploy north", text=""))
    assert "hedged" not in dump(wl)  # the lexicon's parts are never copied into the watchlist


@pytest.mark.parametrize(
    ("parts", "says"),
    [
        ("  told: '@movment NEAR/3 @forces'\n", "parts.told: @movment is not a group of this lexicon"),
        ("  told: '@movement NEAR/3 $hedgd'\n", "parts.told: "),
        ("  told: '@movement NEAR/3 ('\n", "parts.told: "),
        (
            "  told: '"
            + " OR ".join(
                "(" + " OR ".join(f"w{i}" for i in range(k, min(k + 50, 501))) + ")"
                for k in range(0, 501, 50)
            )
            + "'\n",
            "parts.told: 501 terms: a rule has at most 500",
        ),
    ],
)
def test_a_lexicon_part_with_a_typo_is_the_lexicons_one_line_error(
    tmp_path: Path, parts: str, says: str
) -> None:
    moves = "name: moves\nuse: [military]\nrule: '@forces'\n"
    folder = load_folder(_parts_folder(tmp_path, LEXICON + "parts:\n" + parts, moves))
    first = str(folder.errors[0])
    assert first.startswith(f"{tmp_path / 'lexicon.yaml'}: {says}"), first
    assert "\n" not in first


def test_a_part_of_no_lexicon_it_uses_is_refused_naming_those_it_has(tmp_path: Path) -> None:
    moves = "name: moves\nuse: [military]\nrule: '@forces NEAR/6 $tld'\n"
    folder = load_folder(_parts_folder(tmp_path, PARTS_LEXICON, moves))
    error = str(folder.errors[0])
    assert error.startswith(f"{tmp_path / 'moves.yaml'}: rule: ") and "$tld" in error, error
    assert "$hedged" in error and "$told" in error  # the ones it could have meant


async def test_show_lists_the_lexicon_parts_the_rule_says(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    moves = "name: moves\nuse: [military]\nrule: '@forces NEAR/6 $told'\n"
    _parts_folder(lists, PARTS_LEXICON, moves)
    svc = make_service(tmp_path, lists)
    try:
        shown = (await say(svc, ADMIN, "/show moves")).plain_text
        assert "Part $told (military): @movement NEAR/3 NOT $hedged" in shown
        assert "Part $hedged (military): @hedge" in shown
    finally:
        await svc.close()
