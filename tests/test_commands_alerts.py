"""Alerts in chat: the push message, its buttons, explain; watchlist files; URLs; robustness."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_commands_support import (
    ADMIN,
    MEMBER,
    PRIVATE,
    SLACK,
    assert_one_line_error,
    make_alert,
    make_service,
    say,
    service,
    shared_service,
)

from bot.models import Article
from bot.runtime.delivery import AlertView
from bot.runtime.service import Service
from bot.store import Feedback, session_scope
from handlers.commands import command_specs, handle_button, handle_file, handle_text
from handlers.commands.base import NOT_ALLOWED, OOPS
from handlers.render import alert_message
from handlers.reply import CommandContext, Reply

__all__ = ["service", "shared_service"]  # fixtures

VIEW = AlertView(
    id=7,
    watchlist="demo",
    title="Wagner convoy spotted",
    url="https://news.test/wagner-convoy",
    source="Wire",
    published="2026-03-10T12:00:00+00:00",
    score=0.72,
    summary="A convoy of Wagner mercenaries was seen on the highway.",
    hits=[
        {"term": "Wagner Group", "kind": "entity", "text": "Wagner"},
        {"term": "convoy*", "kind": "keyword", "text": "convoy"},
    ],
    outlets=["Wire", "Daily", "Gazette"],
)


# --- the push message ------------------------------------------------------


def test_alert_message_has_everything_a_reader_needs() -> None:
    reply = alert_message(VIEW, "Europe/Kyiv")
    first = reply.parts[0]
    assert (first.kind, first.text, first.url) == ("link", VIEW.title, VIEW.url)
    shown = reply.plain_text
    assert "demo · score 0.72 · alert #7" in shown
    assert "A convoy of Wagner mercenaries was seen on the highway." in shown
    assert {p.text for p in reply.parts if p.kind == "bold"} == {"convoy", "Wagner"}
    assert "Wire · 2026-03-10 14:00 Europe/Kyiv · reported by 3 outlets" in shown
    rows = [[(b.label, b.data) for b in row] for row in reply.buttons]
    assert rows == [
        [("Explain", "ex:7"), ("Mute 24 h", "mu:demo:24h"), ("Unsubscribe", "un:demo")],
        [("Relevant", "fb:7:1"), ("Not relevant", "fb:7:0")],
    ]


def test_alert_message_one_outlet_no_url_and_utc() -> None:
    view = AlertView(
        id=8, watchlist="demo", title="Untitled wire", url="", source="", published="",
        score=0.4, summary="", created_at=datetime(2026, 3, 10, 9, 5, tzinfo=UTC),
        outlets=["Wire"],
    )  # fmt: skip
    reply = alert_message(view)
    assert reply.parts[0].kind == "bold"
    assert "reported by" not in reply.plain_text
    assert "2026-03-10 09:05 UTC" in reply.plain_text


def test_alert_buttons_fit_64_bytes_for_the_longest_name() -> None:
    name = "w" * 64
    view = AlertView(id=123456, watchlist=name, title="t", url="", source="", published="",
                     score=0.5, summary="")  # fmt: skip
    buttons = [b for row in alert_message(view).buttons for b in row]
    assert all(len(b.data.encode()) <= 64 for b in buttons)
    assert {b.data for b in buttons} >= {"mx:123456", "ux:123456"}


# --- buttons ---------------------------------------------------------------


async def test_explain_button_and_command(service: Service) -> None:
    ident = make_alert(service)
    reply = await handle_button(service, MEMBER, f"ex:{ident}")
    shown = reply.plain_text
    assert f"Why alert #{ident} fired — demo" in shown
    assert "Rule: (default) any entity AND any keyword" in shown
    assert "• Wagner Group (entity, title): Wagner convoy spotted" in shown
    assert (
        "• mercenaries (keyword, lead): A convoy of Wagner mercenaries was seen on the highway."
        in shown
    )
    assert "Score (1 − Π(1 − part)):" in shown and "Wagner Group 0.5" in shown
    assert {"Wagner", "mercenaries", "convoy"} <= {p.text for p in reply.parts if p.kind == "bold"}
    typed = await say(service, MEMBER, f"/explain #{ident}")
    assert typed.plain_text == shown


async def test_feedback_buttons_are_stored(service: Service) -> None:
    ident = make_alert(service)
    reply = await handle_button(service, MEMBER, f"fb:{ident}:1")
    assert reply.plain_text == "Thanks — noted as relevant." and not reply.error
    reply = await handle_button(service, MEMBER, f"fb:{ident}:0")
    assert reply.plain_text == "Thanks — noted as not relevant."
    await handle_button(service, ADMIN, f"fb:{ident}:1")
    with session_scope(service.factory) as s:
        votes = {(f.user_id, f.relevant) for f in s.scalars(select(Feedback))}
    assert votes == {("telegram:2", False), ("telegram:1", True)}


async def test_mute_and_unsubscribe_buttons(service: Service) -> None:
    await say(service, ADMIN, "/subscribe demo")
    refused = await handle_button(service, MEMBER, "mu:demo:24h")
    assert_one_line_error(refused, "Only chat admins")
    muted = await handle_button(service, ADMIN, "mu:demo:24h")
    assert muted.plain_text.startswith("Muted demo until")
    assert "muted until" in (await say(service, ADMIN, "/watchlists")).plain_text
    gone = await handle_button(service, ADMIN, "un:demo")
    assert "Unsubscribed" in gone.plain_text
    again = await handle_button(service, ADMIN, "un:demo")
    assert_one_line_error(again, "not subscribed")
    assert "Usage" not in again.plain_text


async def test_buttons_that_name_the_alert(service: Service) -> None:
    ident = make_alert(service)
    await say(service, PRIVATE, "/subscribe demo")
    assert (await handle_button(service, PRIVATE, f"mx:{ident}")).plain_text.startswith(
        "Muted demo"
    )
    assert "Unsubscribed" in (await handle_button(service, PRIVATE, f"ux:{ident}")).plain_text


@pytest.mark.parametrize(
    "data",
    ["", "zz:1", "ex", "ex:", "ex:abc", "ex:1:2:3", "fb:1:2", "fb:1", "mu:demo:forever",
     "mu:Not A Name:24h", "un:", "ex:999999", "fb:999999:1", "mx:999999", "x" * 80],
)  # fmt: skip
async def test_bad_button_data_is_one_line(shared_service: Service, data: str) -> None:
    reply = await handle_button(shared_service, ADMIN, data)
    assert_one_line_error(reply)
    assert reply.plain_text != OOPS


async def test_buttons_in_a_chat_outside_allowed_chats(tmp_path: Path) -> None:
    svc = make_service(tmp_path, allowed_chats=["slack:C1"])
    try:
        reply = await handle_button(svc, ADMIN, "ex:1")
        assert reply.plain_text == NOT_ALLOWED
        reply = await handle_file(svc, ADMIN, "demo.yaml", b"name: demo\nkeywords: [x]\n")
        assert reply.plain_text == NOT_ALLOWED
    finally:
        await svc.close()


# --- watchlist files -------------------------------------------------------


async def test_export_then_import_round_trip(service: Service) -> None:
    exported = await say(service, ADMIN, "/export demo")
    assert exported.attachment is not None
    content = exported.attachment.content.decode("utf-8")
    edited = content.replace("min_score: 0.3", "min_score: 0.45").replace(
        "  - convoy*", "  - convoy*\n  - column of trucks   # added offline"
    )
    reply = await handle_file(service, ADMIN, "demo.yaml", edited.encode("utf-8"))
    assert reply.plain_text.startswith("Replaced watchlist demo from demo.yaml (8 terms).")
    assert "from now on changes to that file are ignored" in reply.plain_text  # it was the file's
    shown = (await say(service, ADMIN, "/show demo")).plain_text
    assert "Min score: 0.45" in shown and "column of trucks" in shown
    again = await say(service, ADMIN, "/export demo")
    assert again.attachment is not None
    assert again.attachment.content.decode("utf-8") == edited  # the file as sent, comments too
    created = await handle_file(
        service, SLACK, "new.yml", content.replace("name: demo", "name: demo-copy").encode()
    )
    assert created.plain_text.startswith("Created watchlist demo-copy")
    assert "demo-copy" in {w.name for w in service.matcher.watchlists}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"name: demo\nentities:\n  - name: X\n    fuzzy: high\n", "entities[0].fuzzy"),
        (b"name: demo\nkeywrds: [x]\n", "did you mean 'keywords'"),
        (b"name: Demo List\nkeywords: [x]\n", "name"),
        (b"name: demo\nkeywords: [x]\nrule: (x AND\n", "rule: rule error at position"),
        (b"name: demo\nkeywords: [x\n", "not valid YAML: line"),
        (b"name: demo\n", "needs entities, keywords or a rule"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"- just\n- a list\n", "expected a mapping"),
    ],
)
async def test_import_of_a_bad_file_names_the_field(
    shared_service: Service, content: bytes, says: str
) -> None:
    reply = await handle_file(shared_service, ADMIN, "demo.yaml", content)
    assert_one_line_error(reply, "demo.yaml", says)
    assert "demo — Wagner" in (await say(shared_service, ADMIN, "/watchlists")).plain_text


async def test_import_permissions_and_other_files(shared_service: Service) -> None:
    good = b"name: demo\nkeywords: [x]\n"
    assert_one_line_error(
        await handle_file(shared_service, MEMBER, "demo.yaml", good), "Only chat admins"
    )
    assert (await handle_file(shared_service, MEMBER, "photo.jpg", b"\xff\xd8")).silent
    assert_one_line_error(await handle_file(shared_service, PRIVATE, "notes.txt", b"hi"), ".yaml")
    big = b"name: demo\nkeywords: [x]\n" + b"# padding\n" * 60_000
    assert_one_line_error(await handle_file(shared_service, ADMIN, "big.yaml", big), "too large")


# --- test with a URL -------------------------------------------------------

PAGE = b"""<html><head><title>Wagner convoy spotted near Rostov</title></head><body><article>
<h1>Wagner convoy spotted near Rostov</h1>
<p>A long convoy of Wagner mercenaries was filmed on the M4 highway on Saturday morning,
residents said, as the column headed north towards the city.</p>
<p>Officials did not comment on the movement of the fighters or their destination.</p>
</article></body></html>"""


class Page(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/story"
    server.shutdown()


async def test_test_fetches_a_url_when_private_sources_are_allowed(
    tmp_path: Path, page_url: str
) -> None:
    svc = make_service(tmp_path, allow_private_sources=True)
    try:
        reply = await say(svc, MEMBER, f"/test demo {page_url}")
        assert "Wagner convoy spotted near Rostov" in reply.plain_text
        assert "demo would alert" in reply.plain_text, reply.plain_text
    finally:
        await svc.close()


async def test_test_refuses_a_private_url(shared_service: Service, page_url: str) -> None:
    reply = await say(shared_service, MEMBER, f"/test demo {page_url}")
    assert_one_line_error(reply, "loopback address", "Usage:")


# --- never an exception ----------------------------------------------------


async def test_button_and_file_errors_are_logged_and_answered(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("handlers.commands.chat.give_verdict", broken)
    monkeypatch.setattr("handlers.commands.watchlists.save_watchlist", broken)
    ident = make_alert(service)
    assert (await handle_button(service, ADMIN, f"fb:{ident}:1")).plain_text == OOPS
    reply = await handle_file(service, ADMIN, "demo.yaml", b"name: demo\nkeywords: [x]\n")
    assert reply.plain_text == OOPS and reply.error
    assert caplog.text.count("disk full") >= 2


COMMAND_NAMES = [s.name for s in command_specs()]
FAST_COMMANDS = [n for n in COMMAND_NAMES if n not in ("addsource", "test")]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda p, n, a: f"{p}{n} {a}",
            st.sampled_from(["", "/", "<@U1> "]),
            st.sampled_from(FAST_COMMANDS),
            st.text(max_size=60),
        ),
    ),
    st.sampled_from([ADMIN, MEMBER, PRIVATE, SLACK]),
)
async def test_handle_text_never_raises(service: Service, text: str, ctx: CommandContext) -> None:
    reply = await handle_text(service, ctx, text, bot_username="alertbot")
    assert isinstance(reply, Reply)
    assert reply.plain_text != OOPS, text


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=70))
async def test_handle_button_never_raises(service: Service, data: str) -> None:
    reply = await handle_button(service, ADMIN, data)
    assert isinstance(reply, Reply) and reply.plain_text != OOPS, data


async def test_article_helper_fires_on_the_demo(service: Service) -> None:
    """The fixture article is what the button tests rely on."""
    fired = service.matcher.match(Article(title="Wagner", text="mercenaries"))
    assert [m.watchlist for m in fired] == ["demo"]


async def test_superscript_digits_are_not_an_alert_id(service: Service) -> None:
    """'²'.isdigit() is True but int('²') fails: ids must be ASCII digits."""
    for command in ("explain ²", "removesource ²"):
        reply = await handle_text(service, ADMIN, command)
        assert reply.error and "went wrong" not in reply.plain_text, command


async def test_a_watchlist_with_parts_is_imported_shown_and_ruled_from_chat(
    service: Service,
) -> None:
    content = (
        "name: parted\n"
        "groups:\n  moves: [arriv*, deploy*]\n"
        "parts:\n  force: troops OR convoy*   # a force word\n"
        "rule: $force NEAR/4 @moves\n"
    )
    created = await handle_file(service, ADMIN, "parted.yaml", content.encode("utf-8"))
    assert created.plain_text.startswith("Created watchlist parted")
    shown = (await say(service, ADMIN, "/show parted")).plain_text
    assert "Part $force: troops OR convoy*" in shown and "Rule: $force NEAR/4 @moves" in shown
    good = await say(service, ADMIN, "/rule parted $force NEAR/2 tanks")
    assert not good.error and "Rule of parted set" in good.plain_text
    bad = await say(service, ADMIN, "/rule parted $forse NEAR/2 tanks")
    assert bad.error
    assert "$forse is not a part of this watchlist" in bad.plain_text
    assert "\n" not in bad.plain_text.split("Usage")[0].strip()
    exported = await say(service, ADMIN, "/export parted")
    assert exported.attachment is not None
    text = exported.attachment.content.decode("utf-8")
    assert "# a force word" in text and "rule: $force NEAR/2 tanks" in text
