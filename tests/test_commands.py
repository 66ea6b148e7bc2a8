"""Typed chat commands through ``handle_text``: what people see, for each command."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from loopback import RoutedHandler, clear_proxies, serve
from sqlalchemy import select
from test_commands_support import (
    ADMIN,
    MEMBER,
    PRIVATE,
    ROOT,
    SLACK,
    assert_one_line_error,
    assert_usage_error,
    make_service,
    say,
    service,
    shared_service,
)

from bot.models import Article
from bot.runtime.scheduler import InFlight, make_scheduler, schedule_all
from bot.runtime.service import Service
from bot.store import Subscription, record_poll_failure, session_scope
from bot.store.sources import claim_source
from bot.store.tables import Source, utcnow
from bot.store.watchlists import get_watchlist
from handlers.commands import command_specs, handle_file, handle_text
from handlers.commands.base import OOPS
from handlers.commands.dispatch import parse_command

__all__ = ["service", "shared_service"]  # fixtures


# --- help and parsing ------------------------------------------------------


async def test_help_names_every_command_with_an_example(service: Service) -> None:
    reply = await say(service, ADMIN, "/help")
    shown = reply.plain_text
    assert "alertbot watches news sources" in shown
    for spec in command_specs():
        if spec.name != "start":
            assert f"/{spec.usage}" in shown
            assert f"/{spec.example}" in (await say(service, ADMIN, f"/help {spec.name}")).plain_text
    assert "/help <command>" in shown  # where the examples are
    assert len(shown) < 3500  # one Telegram message, with room for its HTML tags
    assert (await say(service, ADMIN, "/start")).plain_text == shown
    one = (await say(service, SLACK, "help subscribe")).plain_text
    assert "/alertbot subscribe <wl> [instant|hourly|daily HH:MM]" in one
    assert "/alertbot subscribe troop-movements daily 08:00" in one


def test_command_specs_fit_telegram_and_mark_editing_commands() -> None:
    specs = command_specs()
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", n) for n in names)
    assert all(3 <= len(s.description) <= 256 for s in specs)
    admin = {s.name for s in specs if s.admin_only}
    assert {"new", "add", "remove", "rule", "addsource", "removesource", "timezone"} <= admin
    assert not admin & {"help", "watchlists", "show", "test", "sources", "export", "explain"}
    assert {"alerts", "search", "summary", "trend"} <= set(names) - admin


@pytest.mark.parametrize(
    ("text", "bot", "expected"),
    [
        ("/help", "", ("help", "")),
        ("/show@AlertBot demo", "alertbot", ("show", "demo")),
        ("/show@otherbot demo", "alertbot", None),
        ("show   demo  ", "", ("show", "demo")),
        ("<@U123> SHOW demo", "", ("show", "demo")),
        ("test demo line one\nline two", "", ("test", "demo line one\nline two")),
    ],
)
def test_parse_command(text: str, bot: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text, bot) == expected


async def test_another_bots_command_is_left_alone(service: Service) -> None:
    reply = await handle_text(service, ADMIN, "/help@otherbot", bot_username="alertbot")
    assert reply.silent
    mine = await handle_text(service, ADMIN, "/help@alertbot", bot_username="alertbot")
    assert "alertbot watches" in mine.plain_text


async def test_unknown_command_is_one_line_pointing_at_help(service: Service) -> None:
    reply = await say(service, ADMIN, "/subscibe demo")
    assert_one_line_error(reply, "subscibe", "did you mean /subscribe", "/help for the list")
    assert "alertbot watches" in (await say(service, SLACK, "   ")).plain_text
    assert "alertbot watches" in (await say(service, ADMIN, "/start ref-campaign")).plain_text


# --- watchlists, show ------------------------------------------------------


async def test_watchlists_lists_terms_and_subscription_state(service: Service) -> None:
    shown = (await say(service, ADMIN, "/watchlists")).plain_text
    assert "demo — Wagner mercenaries on the move · 7 terms · not subscribed here" in shown
    await say(service, ADMIN, "/subscribe demo hourly")
    assert "subscribed: hourly digest" in (await say(service, ADMIN, "/watchlists")).plain_text
    # another chat has its own state
    assert "not subscribed here" in (await say(service, SLACK, "watchlists")).plain_text


async def test_show_gives_entities_keywords_groups_rule_and_min_score(service: Service) -> None:
    shown = (await say(service, MEMBER, "/show demo")).plain_text
    assert "Wagner Group — aka Wagner, PMC Wagner (fuzzy 90)" in shown
    assert "Keywords (2): mercenaries, convoy*" in shown
    assert "Group @moves (2): deploy*, on the move" in shown
    assert "Rule: (default) any entity AND any keyword" in shown
    assert "Min score: 0.3" in shown
    assert (await say(service, MEMBER, "/show DEMO")).plain_text == shown


async def test_unknown_watchlist_names_close_ones(service: Service) -> None:
    reply = await say(service, MEMBER, "/show dem")
    assert_usage_error(reply, "/show <wl>")
    assert "did you mean demo" in reply.plain_text


# --- editing ---------------------------------------------------------------


async def test_new_add_then_test_fires_without_restart(service: Service) -> None:
    article = Article(title="", text="Black Sea blockade: the port of Odesa is closed.")
    assert not [m for m in service.matcher.match(article) if m.watchlist == "ports"]
    created = await say(service, ADMIN, "/new ports Port blockades and strikes")
    assert "Created watchlist ports" in created.plain_text
    assert_one_line_error(await say(service, ADMIN, "/new ports again"), "already exists")
    assert_one_line_error(await say(service, ADMIN, "/test ports Odesa"), "no terms yet")
    await say(service, ADMIN, '/add ports keyword "blockade"')
    added = await say(service, ADMIN, "/add ports entity Odesa aka Odessa, Одеса")
    assert "Added entity 'Odesa' to ports (4 terms)" in added.plain_text and not added.error
    missing = await say(service, ADMIN, "/test ports The port of Odesa is closed.")
    assert "would not alert" in missing.plain_text
    assert "needs at least one entity and one keyword" in missing.plain_text
    tested = await say(
        service, ADMIN, "/test ports Black Sea blockade: the port of Odesa is closed."
    )
    assert "ports would alert" in tested.plain_text
    assert "blockade (keyword, lead)" in tested.plain_text
    bolded = {p.text for p in tested.parts if p.kind == "bold"}
    assert {"blockade", "Odesa"} <= bolded
    fired = [m for m in service.matcher.match(article) if m.watchlist == "ports"]
    assert fired and {h.term for h in fired[0].hits} == {"Odesa", "blockade"}
    with session_scope(service.factory) as s:
        row = get_watchlist(s, "ports")
        assert row is not None and row.updated_by == "telegram:1"


async def test_add_to_existing_entity_adds_aliases(service: Service) -> None:
    reply = await say(service, ADMIN, "/add demo entity wagner group aka Vagner, Wagner")
    assert "Added 'Vagner' to entity 'Wagner Group'" in reply.plain_text
    again = await say(service, ADMIN, "/add demo entity Wagner Group aka Vagner")
    assert_usage_error(again, "/add <wl>")
    assert_usage_error(await say(service, ADMIN, "/add demo keyword Mercenaries"), "/add <wl>")


async def test_add_warns_when_a_rule_decides(service: Service) -> None:
    await say(service, ADMIN, '/rule demo @"Wagner Group" AND mercenaries')
    reply = await say(service, ADMIN, "/add demo keyword fighters")
    assert "It has a rule" in reply.plain_text


async def test_comments_of_bundled_watchlist_survive_an_add(tmp_path: Path) -> None:
    svc = make_service(tmp_path, ROOT / "watchlists")
    try:
        original = (ROOT / "watchlists" / "troop-movements.yaml").read_text(encoding="utf-8")
        comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
        reply = await say(svc, ADMIN, "/add troop-movements keyword flotilla")
        assert "Added keyword 'flotilla'" in reply.plain_text
        exported = await say(svc, ADMIN, "/export troop-movements")
        assert exported.attachment is not None
        text = exported.attachment.content.decode("utf-8")
        assert "  - flotilla" in text
        for line in comments:
            assert line in text
        assert [
            w.name for w in svc.matcher.watchlists if "flotilla" in {k.term for k in w.keywords}
        ]
    finally:
        await svc.close()


async def test_remove_keyword_alias_and_entity(service: Service) -> None:
    reply = await say(service, ADMIN, "/remove demo PMC Wagner")
    assert "Removed alias 'PMC Wagner' of 'Wagner Group'" in reply.plain_text
    reply = await say(service, ADMIN, "/remove demo convoy*")
    assert "Removed keyword 'convoy*'" in reply.plain_text
    reply = await say(service, ADMIN, "/remove demo deploy*")
    assert "from group @moves" in reply.plain_text
    reply = await say(service, ADMIN, "/remove demo wagner group")
    assert "Removed entity 'Wagner Group' and its 1 alias" in reply.plain_text
    shown = (await say(service, ADMIN, "/show demo")).plain_text
    assert "Entities (0)" in shown and "Keywords (1): mercenaries" in shown
    wrong = await say(service, ADMIN, "/remove demo mercenary")
    assert_usage_error(wrong, "/remove <wl> <term>")
    assert "did you mean 'mercenaries'" in wrong.plain_text


async def test_remove_refuses_what_the_rule_needs(service: Service) -> None:
    await say(service, ADMIN, '/rule demo @"Wagner Group" AND mercenaries')
    reply = await say(service, ADMIN, "/remove demo Wagner Group")
    assert_usage_error(reply, "/remove")
    assert "rule" in reply.plain_text and "@Wagner Group" in reply.plain_text
    assert "Wagner Group" in (await say(service, ADMIN, "/show demo")).plain_text


async def test_rule_is_validated_with_the_position(service: Service) -> None:
    reply = await say(service, ADMIN, "/rule demo (mercenaries AND convoy*")
    assert_usage_error(reply, "/rule <wl> <expression>")
    assert "position" in reply.plain_text
    reply = await say(service, ADMIN, "/rule demo mercenaries NEAR/x convoy*")
    assert_usage_error(reply, "/rule")
    assert "position 18" in reply.plain_text
    reply = await say(service, ADMIN, "/rule demo @Nobody AND convoy*")
    assert_usage_error(reply, "/rule")
    assert "@Nobody" in reply.plain_text
    good = await say(service, ADMIN, "/rule demo “Wagner” NEAR/5 (mercenaries OR @moves)")
    assert not good.error and "Rule of demo set" in good.plain_text
    assert (
        'Rule: "Wagner" NEAR/5 (mercenaries OR @moves)'
        in (await say(service, ADMIN, "/show demo")).plain_text
    )
    reset = await say(service, ADMIN, "/rule demo default")
    assert "default rule" in reset.plain_text
    assert "Rule: (default)" in (await say(service, ADMIN, "/show demo")).plain_text


async def test_test_shows_the_nearest_miss_and_the_score(service: Service) -> None:
    await say(service, ADMIN, "/rule demo Wagner NEAR/3 mercenaries")
    miss = await say(
        service, MEMBER, "/test demo Wagner said that many months later mercenaries left"
    )
    assert "demo would not alert" in miss.plain_text
    assert "Nearest miss:" in miss.plain_text and "NEAR/3" in miss.plain_text
    hit = await say(service, MEMBER, "/test demo Wagner Group\nWagner mercenaries were seen.")
    assert re.search(r"would alert — score 0\.\d\d \(min 0\.3\)", hit.plain_text)
    assert "Wagner Group (entity, title)" in hit.plain_text


# --- bad arguments ---------------------------------------------------------

BAD_ARGUMENTS = [
    ("/show", "/show <wl>"),
    ("/show Not A Name!", "/show <wl>"),
    ("/show nosuch", "/show <wl>"),
    ("/show demo extra", "/show <wl>"),
    ("/new", "/new <wl> [description]"),
    ("/new Bad_Name!", "/new <wl>"),
    ("/new " + "x" * 70, "/new <wl>"),
    ("/add", "/add <wl> entity"),
    ("/add demo", "/add <wl> entity"),
    ("/add demo thing x", "/add <wl> entity"),
    ("/add demo keyword", "/add <wl> entity"),
    ("/add demo keyword ***", "/add <wl> entity"),
    ("/add demo entity", "/add <wl> entity"),
    ("/add demo entity Someone aka", "/add <wl> entity"),
    ("/add nosuch keyword x", "/add <wl> entity"),
    ("/remove", "/remove <wl> <term>"),
    ("/remove demo", "/remove <wl> <term>"),
    ("/remove demo nothing-like-it", "/remove <wl> <term>"),
    ("/rule", "/rule <wl> <expression>"),
    ("/rule demo", "/rule <wl> <expression>"),
    ("/rule demo NOT convoy*", "/rule <wl> <expression>"),
    ("/test", "/test <wl> <text or URL>"),
    ("/test demo", "/test <wl> <text or URL>"),
    ("/test nosuch some text", "/test <wl> <text or URL>"),
    ("/test demo file:///etc/passwd", "/test <wl> <text or URL>"),
    ("/subscribe", "/subscribe <wl> [instant|hourly|daily HH:MM]"),
    ("/subscribe nosuch", "/subscribe <wl>"),
    ("/subscribe demo weekly", "/subscribe <wl>"),
    ("/subscribe demo daily 25:00", "/subscribe <wl>"),
    ("/subscribe demo daily 7", "/subscribe <wl>"),
    ("/subscribe demo daily 07:30 extra", "/subscribe <wl>"),
    ("/subscribe demo hourly 08:00", "/subscribe <wl>"),
    ("/unsubscribe", "/unsubscribe <wl>"),
    ("/unsubscribe demo extra", "/unsubscribe <wl>"),
    ("/mute", "/mute <wl> <duration>"),
    ("/mute demo", "/mute <wl> <duration>"),
    ("/mute demo forever", "/mute <wl> <duration>"),
    ("/mute demo 0m", "/mute <wl> <duration>"),
    ("/mute demo 2x", "/mute <wl> <duration>"),
    ("/mute demo 400d", "/mute <wl> <duration>"),
    ("/timezone Mars/Olympus_Mons", "/timezone [Area/City]"),
    ("/timezone Europe/Kyiv extra", "/timezone [Area/City]"),
    ("/explain", "/explain <alert-id>"),
    ("/explain abc", "/explain <alert-id>"),
    ("/explain 999", "/explain <alert-id>"),
    ("/explain 1 2", "/explain <alert-id>"),
    ("/sources everything", "/sources"),
    ("/addsource", "/addsource <url> [name]"),
    ("/addsource not-a-url", "/addsource <url> [name]"),
    ("/addsource file:///etc/passwd", "/addsource <url> [name]"),
    ("/addsource http://127.0.0.1/feed", "/addsource <url> [name]"),
    ("/addsource http://[::1", "/addsource <url> [name]"),
    ("/removesource", "/removesource <id>"),
    ("/removesource first", "/removesource <id>"),
    ("/removesource 999", "/removesource <id>"),
    ("/removesource 1 2", "/removesource <id>"),
    ("/export", "/export <wl>"),
    ("/export nosuch", "/export <wl>"),
    ("/help nosuch", "/help"),
]


@pytest.mark.parametrize(("text", "usage"), BAD_ARGUMENTS)
async def test_bad_arguments_get_one_line_and_the_usage(
    shared_service: Service, text: str, usage: str
) -> None:
    reply = await say(shared_service, ADMIN, text)
    if text.startswith("/help"):
        assert_one_line_error(reply, "Unknown command")
        return
    assert_usage_error(reply, usage)


async def test_bad_argument_is_echoed_short(service: Service) -> None:
    reply = await say(service, ADMIN, "/show " + "Q" * 500)
    assert_usage_error(reply, "/show")
    assert len(reply.plain_text) < 200


# --- permissions -----------------------------------------------------------

EDITING = [
    "/new other",
    "/add demo keyword fighters",
    "/remove demo convoy*",
    "/rule demo mercenaries",
    "/addsource https://example.org/rss.xml",
    "/removesource 1",
    "/timezone Europe/Kyiv",
    "/subscribe demo",
    "/unsubscribe demo",
    "/mute demo 2h",
    "/import",
]


@pytest.mark.parametrize("text", EDITING)
async def test_members_of_a_group_may_not_edit(shared_service: Service, text: str) -> None:
    reply = await say(shared_service, MEMBER, text)
    assert_one_line_error(reply, "Only chat admins can")


async def test_nothing_changes_on_a_refusal(service: Service) -> None:
    before = (await say(service, ADMIN, "/show demo")).plain_text
    for text in EDITING:
        await say(service, MEMBER, text)
    assert (await say(service, ADMIN, "/show demo")).plain_text == before
    assert "#1 world-desk" in (await say(service, MEMBER, "/sources")).plain_text


@pytest.mark.parametrize(
    "text",
    ["/watchlists", "/show demo", "/test demo text", "/export demo", "/sources", "/timezone"],
)
async def test_members_may_read(shared_service: Service, text: str) -> None:
    reply = await say(shared_service, MEMBER, text)
    assert not reply.error, reply.plain_text


async def test_private_chats_manage_their_own_subscriptions(service: Service) -> None:
    assert not (await say(service, PRIVATE, "/subscribe demo")).error
    assert not (await say(service, PRIVATE, "/mute demo 1h")).error
    assert not (await say(service, PRIVATE, "/timezone Europe/Warsaw")).error
    assert not (await say(service, PRIVATE, "/unsubscribe demo")).error
    assert_one_line_error(await say(service, PRIVATE, "/new mine"), "Only chat admins")
    assert_one_line_error(await say(service, PRIVATE, "/add demo keyword x"), "Only chat admins")


@pytest.mark.parametrize("listed", ["telegram:2", "2"])
async def test_admin_users_may_edit_anywhere(tmp_path: Path, listed: str) -> None:
    svc = make_service(tmp_path, admin_users=[listed])
    try:
        reply = await say(svc, MEMBER, "/new theirs A list of their own")
        assert "Created watchlist theirs" in reply.plain_text
        assert not (await say(svc, MEMBER, "/subscribe theirs")).error
    finally:
        await svc.close()


async def test_a_chat_outside_allowed_chats_gets_only_the_refusal(tmp_path: Path) -> None:
    svc = make_service(tmp_path, allowed_chats=["slack:C1"])
    try:
        for text in ["/help", "/watchlists", "/nosuch", "", "/new x", "garbage ✓ ünïcode"]:
            reply = await say(svc, ADMIN, text)
            assert reply.plain_text == "This chat is not allowed to use this bot."
            assert reply.error and not reply.buttons and reply.attachment is None
        assert "alertbot watches" in (await say(svc, SLACK, "help")).plain_text
    finally:
        await svc.close()


# --- subscriptions ---------------------------------------------------------


async def _subscription(service: Service, chat_key: str, name: str = "demo") -> Subscription | None:
    with session_scope(service.factory) as s:
        from bot.store.subscriptions import get_chat, get_subscription

        chat = get_chat(s, chat_key)
        return get_subscription(s, chat.id, name) if chat else None


@pytest.mark.parametrize(
    ("args", "mode", "daily_at", "says"),
    [
        ("", "instant", None, "an alert as soon as an article matches"),
        ("instant", "instant", None, "an alert as soon"),
        ("hourly", "hourly", None, "an hourly digest"),
        (
            "daily",
            "daily",
            "08:00",
            "a daily digest at 08:00 (the default, in this chat's time "
            "zone UTC) from demo; for another time say /subscribe demo daily HH:MM.",
        ),
        ("daily 7:30", "daily", "07:30", "a daily digest at 07:30"),
        ("DAILY 23:59", "daily", "23:59", "at 23:59"),
    ],
)
async def test_subscribe_modes(
    service: Service, args: str, mode: str, daily_at: str | None, says: str
) -> None:
    reply = await say(service, ADMIN, f"/subscribe demo {args}")
    assert not reply.error and says in reply.plain_text
    sub = await _subscription(service, ADMIN.chat_key)
    assert sub is not None and (sub.mode, sub.daily_at) == (mode, daily_at)


async def test_subscribe_creates_the_chat_and_changes_mode(service: Service) -> None:
    first = await say(service, ADMIN, "/subscribe demo")
    assert first.plain_text.startswith("Subscribed")
    again = await say(service, ADMIN, "/subscribe demo hourly")
    assert again.plain_text.startswith("Subscription changed")
    from bot.store.subscriptions import get_chat

    with session_scope(service.factory) as s:
        chat = get_chat(s, ADMIN.chat_key)
        assert chat is not None and (chat.platform, chat.title) == ("telegram", "Desk")


async def test_unsubscribe(service: Service) -> None:
    await say(service, ADMIN, "/subscribe demo")
    assert "Unsubscribed" in (await say(service, ADMIN, "/unsubscribe demo")).plain_text
    assert await _subscription(service, ADMIN.chat_key) is None
    again = await say(service, ADMIN, "/unsubscribe demo")
    assert_one_line_error(again, "not subscribed to demo")


@pytest.mark.parametrize(
    ("duration", "span"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
async def test_mute_durations(service: Service, duration: str, span: timedelta) -> None:
    await say(service, ADMIN, "/subscribe demo")
    reply = await say(service, ADMIN, f"/mute demo {duration}")
    assert reply.plain_text.startswith("Muted demo until") and "/mute demo off" in reply.plain_text
    sub = await _subscription(service, ADMIN.chat_key)
    assert sub is not None and sub.muted_until is not None
    assert abs(sub.muted_until - (utcnow() + span)) < timedelta(seconds=30)
    assert "muted until" in (await say(service, ADMIN, "/watchlists")).plain_text
    off = await say(service, ADMIN, "/mute demo off")
    assert "no longer muted" in off.plain_text
    sub = await _subscription(service, ADMIN.chat_key)
    assert sub is not None and sub.muted_until is None


async def test_mute_needs_a_subscription(service: Service) -> None:
    assert_one_line_error(await say(service, ADMIN, "/mute demo 2h"), "not subscribed to demo")
    assert_usage_error(await say(service, ADMIN, "/mute nosuch 2h"), "/mute")


async def test_timezone_is_validated_and_used(service: Service) -> None:
    assert "time zone is UTC" in (await say(service, ADMIN, "/timezone")).plain_text
    reply = await say(service, ADMIN, "/timezone europe/kyiv")
    assert reply.plain_text.startswith("Time zone set to Europe/Kyiv")
    assert "Europe/Kyiv" in (await say(service, MEMBER, "/timezone")).plain_text
    await say(service, ADMIN, "/subscribe demo daily 07:00")
    assert "Europe/Kyiv" in (await say(service, ADMIN, "/mute demo 1h")).plain_text
    wrong = await say(service, ADMIN, "/timezone Europe/Kiyv")
    assert_usage_error(wrong, "/timezone")
    assert "did you mean" in wrong.plain_text and "Europe/Kyiv" in wrong.plain_text
    assert_usage_error(await say(service, ADMIN, "/timezone ../../etc/passwd"), "/timezone")


# --- sources ---------------------------------------------------------------


async def test_sources_show_health(service: Service) -> None:
    with session_scope(service.factory) as s:
        src = s.scalars(select(Source).where(Source.name == "seed-article")).one()
        claim_source(s, src.id, "test")
        record_poll_failure(s, src.id, "test", "HTTP 500 from the server")
    shown = (await say(service, MEMBER, "/sources")).plain_text
    assert "#1 world-desk — file, every 1m, last success never" in shown
    assert "#2 seed-article" in shown
    assert "failing: 1 in a row, last error at" in shown and "HTTP 500 from the server" in shown


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host names resolve without a network: example.org is public, intranet.test private."""
    import socket

    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        address = {"example.org": "93.184.215.14", "intranet.test": "10.1.2.3"}.get(host)
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 80))]

    monkeypatch.setattr("bot.ingest.safety.socket.getaddrinfo", fake)


class Site(RoutedHandler):
    """A feed, a web page, a JSON file; every other path answers 404. Counts requests."""

    requests: list[str] = []

    def do_GET(self) -> None:
        Site.requests.append(self.path)
        super().do_GET()

    def route_rss(self) -> None:
        body = (
            b"<rss version='2.0'><channel><title>Wire</title><item><title>Convoy</title>"
            b"<link>https://news.test/c</link><description>A convoy.</description></item>"
            b"</channel></rss>"
        )
        self._send(200, body, "application/rss+xml")

    def route_news(self) -> None:
        body = (
            b"<html><head><title>Convoy spotted</title></head><body><article><p>"
            + b"A convoy of mercenaries was seen on the highway near the border. " * 8
            + b"</p></article></body></html>"
        )
        self._send(200, body)

    def route_data(self) -> None:
        self._send(200, b'{"items": [1, 2]}', "application/json")


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    clear_proxies(monkeypatch)
    Site.requests = []
    with serve(Site) as base:
        yield base


@pytest.fixture
async def private_ok(tmp_path: Path, site: str) -> AsyncIterator[Service]:
    """A service that may add loopback sources (ALLOW_PRIVATE_SOURCES=1)."""
    svc = make_service(tmp_path, allow_private_sources=True)
    try:
        yield svc
    finally:
        await svc.close()


async def test_addsource_and_removesource(private_ok: Service, site: str) -> None:
    service = private_ok
    reply = await say(service, ADMIN, f"/addsource {site}/rss/world.xml")
    assert not reply.error, reply.plain_text
    assert "Added source #3 127.0.0.1 (feed, every 15m)" in reply.plain_text
    named = await say(service, ADMIN, f"/addsource <{site}/news|news> Example News")
    assert "Added source #4 Example News (page, every 15m)" in named.plain_text  # checked: a page
    shown = (await say(service, ADMIN, "/sources")).plain_text
    assert f"#3 127.0.0.1 ({site}/rss/world.xml) — feed, every 15m" in shown
    fetched = len(Site.requests)
    dup = await say(service, ADMIN, f"/addsource {site}/rss/world.xml")
    assert_one_line_error(dup, "already source #3")
    taken = await say(service, ADMIN, f"/addsource {site}/other Example News")
    assert_usage_error(taken, "/addsource")
    assert len(Site.requests) == fetched  # refused before fetching
    removed = await say(service, ADMIN, "/removesource #3")
    assert "Removed source #3 127.0.0.1" in removed.plain_text
    assert "127.0.0.1 (http" not in (await say(service, ADMIN, "/sources")).plain_text
    declared = await say(service, ADMIN, "/removesource 1")
    assert "declared in sources.yaml" in declared.plain_text


async def test_addsource_checks_the_url_once_and_refuses_what_would_fail(
    private_ok: Service, site: str
) -> None:
    for path, reason in [
        ("/missing.xml", "HTTP 404 Not Found"),
        ("/data", "is JSON, neither a feed nor a web page"),
    ]:
        reply = await say(private_ok, ADMIN, f"/addsource {site}{path} Bad")
        assert_one_line_error(reply, f"Not added: {site}{path}", reason)
        assert "Usage" not in reply.plain_text
    closed = await say(private_ok, ADMIN, "/addsource http://127.0.0.1:9/feed.xml")
    assert_one_line_error(closed, "Not added: http://127.0.0.1:9/feed.xml", "cannot connect")
    assert Site.requests == ["/missing.xml", "/data"]  # each checked once
    shown = (await say(private_ok, ADMIN, "/sources")).plain_text
    assert "Bad" not in shown and "127.0.0.1:9" not in shown


async def test_addsource_says_when_the_first_poll_is(private_ok: Service, site: str) -> None:
    """``alertbot chat`` polls nothing; ``alertbot run`` (its scheduler) polls within a minute."""
    quiet = await say(private_ok, ADMIN, f"/addsource {site}/rss/world.xml")
    assert quiet.plain_text.endswith(
        "it will be polled when alertbot run runs (alertbot chat polls nothing)."
    )
    scheduler = make_scheduler()
    schedule_all(scheduler, private_ok, InFlight(), digests=None)
    running = await say(private_ok, ADMIN, f"/addsource {site}/news")
    assert running.plain_text.endswith("its first poll is within a minute.")


async def test_addsource_refuses_private_urls_before_fetching_anything(
    service: Service, site: str
) -> None:
    """Without ALLOW_PRIVATE_SOURCES the loopback server is never asked."""
    private = await say(service, ADMIN, f"/addsource {site}/rss/world.xml")
    assert_usage_error(private, "/addsource")
    assert "loopback address" in private.plain_text
    assert Site.requests == []


async def test_addsource_refuses_a_private_name(service: Service, public_dns: None) -> None:
    private = await say(service, ADMIN, "/addsource http://intranet.test/feed")
    assert_usage_error(private, "/addsource")
    assert "private address" in private.plain_text


async def test_addsource_private_urls_when_allowed(private_ok: Service, site: str) -> None:
    reply = await say(private_ok, ADMIN, f"/addsource {site}/rss/world.xml local")
    assert "Added source #3 local (feed" in reply.plain_text
    refused = await say(private_ok, ADMIN, "/addsource file:///etc/passwd")
    assert_usage_error(refused, "/addsource")
    assert "only http:// and https://" in refused.plain_text


# --- export ----------------------------------------------------------------


async def test_export_is_the_stored_yaml(service: Service) -> None:
    reply = await say(service, MEMBER, "/export demo")
    assert reply.attachment is not None
    assert reply.attachment.filename == "demo.yaml"
    assert reply.attachment.mime == "application/x-yaml"
    assert "# the plural only" in reply.attachment.content.decode("utf-8")


# --- never an exception ----------------------------------------------------


async def test_an_unexpected_error_is_logged_and_answered_in_one_line(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("handlers.commands.watchlists.list_watchlists", broken)
    reply = await say(service, ADMIN, "/watchlists")
    assert reply.plain_text == OOPS and reply.error
    assert "database on fire" in caplog.text and "Traceback" in caplog.text


@pytest.mark.parametrize("command", ["/addsource", "/test demo"])
async def test_a_100k_character_url_is_refused_in_one_line(
    service: Service, public_dns: None, command: str
) -> None:
    """httpx raised InvalidURL ("URL too long"), which is no HTTPError: a traceback."""
    url = "https://example.org/" + "a" * 100_000
    reply = await say(service, ADMIN, f"{command} {url}")
    assert reply.error
    shown = reply.plain_text
    assert "URL too long: 100,020 characters (at most 2,048)" in shown
    assert len(shown) < 400 and "Traceback" not in shown


# --- issue 14: small wrong answers ----------------------------------------


async def test_new_refuses_a_name_that_is_not_valid_as_typed(service: Service) -> None:
    reply = await say(service, ADMIN, "/new Bad Name!")
    assert_usage_error(reply, "/new <wl> [description]")
    assert "'Bad' is not a watchlist name (lower-case letters" in reply.plain_text
    with session_scope(service.factory) as s:
        assert get_watchlist(s, "bad") is None
    assert "Created watchlist bad" in (await say(service, ADMIN, "/new bad Name!")).plain_text


async def test_add_refuses_an_unbalanced_quote(service: Service) -> None:
    before = (await say(service, ADMIN, "/show demo")).plain_text
    reply = await say(service, ADMIN, '/add demo keyword "unbalanced')
    assert_usage_error(reply, "/add <wl> entity")
    assert "unbalanced quote" in reply.plain_text
    entity = await say(service, ADMIN, "/add demo entity “Someone aka Other")
    assert_usage_error(entity, "/add <wl> entity")
    assert (await say(service, ADMIN, "/show demo")).plain_text == before
    fine = await say(service, ADMIN, "/add demo keyword O'Brien")
    assert 'Added keyword "O\'Brien" to demo' in fine.plain_text


@pytest.mark.parametrize(
    "phrase", ["a NEAR/3 b", "troops AND border", "NOT convoy", "a SENT b", "a CLAUSE b"]
)
async def test_add_keyword_refuses_rule_operators(service: Service, phrase: str) -> None:
    before = (await say(service, ADMIN, "/show demo")).plain_text
    reply = await say(service, ADMIN, f"/add demo keyword {phrase}")
    assert_usage_error(reply, "/add <wl> entity")
    assert "a keyword is a plain phrase; use /rule demo <expression>" in reply.plain_text
    assert (await say(service, ADMIN, "/show demo")).plain_text == before


async def test_add_keyword_takes_operator_words_in_lower_case(service: Service) -> None:
    reply = await say(service, ADMIN, "/add demo keyword research and development")
    assert "Added keyword 'research and development' to demo" in reply.plain_text


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("UTC+2", "Etc/GMT-2"),
        ("gmt-5", "Etc/GMT+5"),
        ("UTC+14", "Etc/GMT-14"),
        ("UTC−3", "Etc/GMT+3"),
    ],
)
async def test_timezone_offset_suggests_the_etc_zone_of_that_sign(
    service: Service, typed: str, zone: str
) -> None:
    reply = await say(service, ADMIN, f"/timezone {typed}")
    assert_usage_error(reply, "/timezone [Area/City]")
    assert f"write {zone} (the sign is inverted in the Etc names)" in reply.plain_text
    assert "time zone is UTC" in (await say(service, ADMIN, "/timezone")).plain_text
    assert "Time zone set to " + zone in (await say(service, ADMIN, f"/timezone {zone}")).plain_text


async def test_timezone_offset_without_an_etc_zone_asks_for_a_place(service: Service) -> None:
    reply = await say(service, ADMIN, "/timezone UTC+5:30")
    assert_usage_error(reply, "/timezone [Area/City]")
    assert "Area/City" in reply.plain_text and "Etc/GMT" not in reply.plain_text


async def test_subscribe_daily_says_the_time_it_chose_in_the_chats_zone(service: Service) -> None:
    await say(service, ADMIN, "/timezone Europe/Kyiv")
    chosen = (await say(service, ADMIN, "/subscribe demo daily")).plain_text
    assert "at 08:00 (the default, in this chat's time zone Europe/Kyiv)" in chosen
    said = (await say(service, ADMIN, "/subscribe demo daily 07:30")).plain_text
    assert "at 07:30 (Europe/Kyiv) from demo." in said and "default" not in said


@pytest.mark.parametrize(
    ("typed", "says", "usage"),
    [
        ("/watchlists all", "watchlists takes no arguments, not 'all'", "/watchlists"),
        ("/help subscribe now", "help takes one command name, not 'subscribe now'", "/help"),
        ("/import now please", "import takes no arguments, not 'now please'", "/import"),
        ("/sources x", "sources takes no arguments, not 'x'", "/sources"),
        ("/show demo extra", "show takes one watchlist name, not 'demo extra'", "/show <wl>"),
        ("/unsubscribe demo x", "takes one watchlist name, not 'demo x'", "/unsubscribe <wl>"),
        ("/export demo x", "export takes one watchlist name, not 'demo x'", "/export <wl>"),
        (
            "/explain 1 full x",
            "explain takes one alert number (and full), not '1 full x'",
            "/explain <alert-id>",
        ),
        ("/removesource 1 2", "removesource takes one source number, not '1 2'", "/removesource"),
    ],
)
async def test_extra_arguments_of_a_fixed_command_get_one_line_and_the_usage(
    shared_service: Service, typed: str, says: str, usage: str
) -> None:
    reply = await say(shared_service, ADMIN, typed)
    assert_usage_error(reply, usage)
    assert says in reply.plain_text


async def test_subscribing_to_a_watchlist_with_no_terms_says_it_cannot_alert(
    service: Service,
) -> None:
    await say(service, ADMIN, "/new ports Port strikes")
    empty = (await say(service, ADMIN, "/subscribe ports")).plain_text
    assert "Subscribed" in empty
    assert "Note: ports has no terms yet, so it cannot alert; add some with /add ports" in empty
    await say(service, ADMIN, "/add ports keyword blockade")
    assert "no terms" not in (await say(service, ADMIN, "/subscribe ports hourly")).plain_text
    assert "no terms" not in (await say(service, ADMIN, "/subscribe demo")).plain_text


async def test_a_chat_edit_that_leaves_the_file_behind_warns_once_and_import_takes_it_back(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    path = service.settings.watchlist_dir / "demo.yaml"
    caplog.set_level("WARNING", logger="alertbot")
    added = (await say(service, ADMIN, "/add demo keyword naval drills")).plain_text
    assert f"Note: demo came from {path}; from now on changes to that file are ignored" in added
    assert "to take the file's version back: send that file (demo.yaml) to this chat" in added
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "watchlist demo edited in chat" in warnings[0]
    assert f"import {path}" in warnings[0]
    again = (await say(service, ADMIN, "/add demo keyword sea drills")).plain_text
    assert "Note:" not in again  # said once: the file was left behind by the first edit
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    back = (await handle_file(service, ADMIN, "demo.yaml", path.read_bytes())).plain_text
    assert f"It follows {path} again" in back
    path.write_text(path.read_text(encoding="utf-8") + "min_score: 0.3\n", encoding="utf-8")
    service.load_watchlists()
    with session_scope(service.factory) as s:
        row = get_watchlist(s, "demo")
        assert row is not None and "min_score: 0.3" in row.yaml  # the file applies again


async def test_test_and_explain_show_the_branch_that_fired_and_the_rest_on_request(
    tmp_path: Path,
) -> None:
    service = make_service(tmp_path, ROOT / "watchlists")
    story = (
        "Russian troops arrive in Belarus\n"
        "A column of Russian troops arrived in Belarus by train on Monday for joint drills."
    )
    try:
        with session_scope(service.factory) as s:
            rule = get_watchlist(s, "troop-movements")
        assert rule is not None
        whole = next(w.rule for w in service.matcher.watchlists if w.name == "troop-movements")
        assert whole is not None and len(whole) > 500  # the bundled rule: many lines
        tested = (await say(service, MEMBER, f"/test troop-movements {story}")).plain_text
        assert "troop-movements would alert" in tested
        branch = tested.split("Branch that fired: ", 1)[1].split("\n", 1)[0]
        assert 0 < len(branch) < len(whole) / 2 and whole not in tested
        assert "The whole rule: /show troop-movements" in tested
        report = await service.ingest_articles(
            [Article(title=story.split("\n")[0], text=story.split("\n")[1])], "wire"
        )
        assert report.alerts
        ident = report.alerts[0]
        explained = (await say(service, MEMBER, f"/explain {ident}")).plain_text
        assert f"Branch that fired: {branch}" in explained and whole not in explained
        assert f"The whole rule: /explain {ident} full" in explained
        full = (await say(service, MEMBER, f"/explain {ident} full")).plain_text
        assert f"Rule: {whole}" in full and "Branch that fired" not in full
        wrong = await say(service, MEMBER, f"/explain {ident} everything")
        assert_usage_error(wrong, "/explain <alert-id> [full]")
    finally:
        await service.close()
