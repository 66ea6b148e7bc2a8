"""The Telegram face end to end: the real python-telegram-bot against a local Bot API stand-in.

Each test starts the face (getMe, setMyCommands, long polling) on the
test's event loop, queues updates on the stand-in and checks what the bot
sent back, as Telegram would have received it (HTML parsed into text and
entities by the stand-in, so a bad tag or an over-long message fails there).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram_stub import BOT_USERNAME, TOKEN, TelegramStub, parse_html

from bot.config import Settings
from bot.models import Article
from bot.runtime.delivery import AlertView, DeliveryError, alert_view
from bot.runtime.service import Service
from bot.store import Alert, session_scope
from bot.store.subscriptions import get_chat, get_subscription
from bot.store.updates import claim_update
from bot.store.watchlists import get_watchlist
from handlers import commands
from handlers.telegram import TelegramFace, TelegramNotifier

ROOT = Path(__file__).resolve().parent.parent


# PTB 22 warns inside RetryAfter itself (int → timedelta migration); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

ADMIN_ID = 4242  # listed in ADMIN_USERS
WATCHLIST_YAML = b"""name: harbour-watch
description: Ships in the harbour
keywords:
  - frigate
  - corvette*
"""


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStub]:
    async with TelegramStub() as stub:
        yield stub


def make_settings(tmp_path: Path, tg: TelegramStub, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "watchlist_dir": ROOT / "watchlists",
        "telegram_token": TOKEN,
        "telegram_api_url": tg.api_url,
        "admin_users": [f"telegram:{ADMIN_ID}", "slack:U999"],
        "allow_private_sources": True,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the bundled watchlists in it, copied for each test (faster)."""
    path = tmp_path_factory.mktemp("seeded") / "a.db"
    settings = Settings(database_url=f"sqlite:///{path}", watchlist_dir=ROOT / "watchlists")
    svc = Service(settings, worker="seed")
    svc.load_watchlists()
    svc.engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
async def service(tmp_path: Path, tg: TelegramStub, seeded_db: Path) -> AsyncIterator[Service]:
    shutil.copyfile(seeded_db, tmp_path / "a.db")
    # a trailing slash in TELEGRAM_API_URL is forgiven
    svc = Service(make_settings(tmp_path, tg, telegram_api_url=tg.api_url + "/"), worker="test")
    # the watchlists are in the database; compiling them (load_watchlists) waits for make_alert
    yield svc
    await svc.close()


@pytest.fixture
async def face(service: Service) -> AsyncIterator[TelegramFace]:
    f = TelegramFace(service, service.settings, poll_timeout=1)
    await f.start()
    yield f
    await f.stop()


def texts(tg: TelegramStub, chat_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in tg.sent(chat_id)]


async def reply_to(tg: TelegramStub, chat_id: int, count: int = 1) -> list[str]:
    """Wait for ``count`` messages from the bot in ``chat_id``; their texts."""
    await tg.wait_for("sendMessage", count, where=lambda c: c.ok and c.params["chat_id"] == chat_id)
    return texts(tg, chat_id)


def make_alert(service: Service) -> AlertView:
    """A real alert in the database (troop-movements fires on this article)."""
    if not service.matcher.watchlists:
        service.load_watchlists()
    article = Article(
        title="Russian troops arrive in Belarus for joint drills",
        text="Several thousand soldiers and a column of tanks arrived by train in Brest region.",
        url="http://wire.test/a1",
        source="wire",
    )
    result = service._ingest_one(article, None)
    assert result.alerts_created, "the bundled troop-movements watchlist should fire"
    with session_scope(service.factory) as s:
        alert = s.scalars(select(Alert).where(Alert.id == result.alerts_created[0])).one()
        return alert_view(alert)


def sample_alert(**changes: Any) -> AlertView:
    values: dict[str, Any] = {
        "id": 7,
        "watchlist": "troop-movements",
        "title": "<script>alert(1)</script> Troops & tanks move to the border",
        "url": "https://news.test/a?x=1&y=<2>",
        "source": "Wire <b>",
        "published": "2026-03-10T12:30:00+00:00",
        "score": 0.81,
        "summary": "Several thousand troops moved to the border near Brest, officials said.",
        "hits": [{"term": "troops", "text": "troops"}, {"term": "border", "text": "border"}],
    }
    values.update(changes)
    return AlertView(**values)


# --- start-up -----------------------------------------------------------------------------------


async def test_start_registers_commands_and_polls(tg: TelegramStub, face: TelegramFace) -> None:
    assert tg.calls_to("getMe") and tg.calls_to("deleteWebhook")
    assert face.app.bot.username == BOT_USERNAME
    assert tg.commands is not None
    assert [c["command"] for c in tg.commands] == [s.name for s in commands.command_specs()]
    await tg.wait_for("getUpdates")
    poll = tg.calls_to("getUpdates")[0].params
    assert poll["timeout"] == 1 and set(poll["allowed_updates"]) == {"message", "callback_query"}


async def test_missing_set_my_commands_is_not_fatal(
    tg: TelegramStub, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    tg.remove_method("setMyCommands")
    face = TelegramFace(service, service.settings, poll_timeout=1)
    await face.start()
    try:
        assert tg.calls_to("setMyCommands")[0].status == 404
        assert "setMyCommands failed" in caplog.text
        user = tg.user(10, "Ann")
        chat = tg.private_chat(user)
        tg.send_text(chat, user, "/start")
        assert "/subscribe" in (await reply_to(tg, chat["id"]))[0]
    finally:
        await face.stop()


async def test_stop_confirms_updates_and_is_idempotent(tg: TelegramStub, service: Service) -> None:
    face = TelegramFace(service, service.settings, poll_timeout=1)
    await face.start()
    user = tg.user(11, "Bo")
    chat = tg.private_chat(user)
    msg = tg.send_text(chat, user, "/help")
    await reply_to(tg, chat["id"])
    started = time.monotonic()
    await face.stop()
    await face.stop()
    assert time.monotonic() - started < 3, "stop does not wait out the long poll"
    offsets = [c.params.get("offset") for c in tg.calls_to("getUpdates")]
    assert max(o or 0 for o in offsets) > msg["message_id"] - 1  # the update was confirmed


async def test_token_never_logged(
    tg: TelegramStub, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    face = TelegramFace(service, service.settings, poll_timeout=1)
    await face.start()
    user = tg.user(12, "Cy")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/start")
    await reply_to(tg, chat["id"])
    await face.stop()
    assert "getUpdates" in caplog.text  # httpx did log the requests…
    assert TOKEN not in caplog.text  # …without the token


def test_file_url_and_admin_ids() -> None:
    from handlers.telegram import chat_id_of, file_url_for, listed_admins

    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
    assert listed_admins(["telegram:42", "43", "slack:U1", " 44 ", "x"]) == {42, 43, 44}
    assert chat_id_of("telegram:-100123") == -100123
    with pytest.raises(ValueError):
        chat_id_of("slack:C123")


# --- commands ------------------------------------------------------------------------------------


async def test_start_answers_with_help(tg: TelegramStub, face: TelegramFace) -> None:
    user = tg.user(20, "Dana", "dana")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/start")
    (answer,) = await reply_to(tg, chat["id"])
    assert "/subscribe" in answer
    call = tg.calls_to("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML"
    assert "reply_parameters" not in call.params  # no quoting in a private chat


async def test_group_admin_subscribes(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    group = tg.group(-100500, "Desk <One>")
    boss = tg.user(30, "Boss")
    tg.set_member(group, boss, "administrator")
    cmd = tg.send_text(group, boss, f"/subscribe@{BOT_USERNAME} troop-movements")
    (answer,) = await reply_to(tg, group["id"])
    assert "Subscribed" in answer and "troop-movements" in answer
    sent = tg.sent(group["id"])[0]
    assert sent["reply_to_message"]["message_id"] == cmd["message_id"]  # quoted in a group
    with session_scope(service.factory) as s:
        chat = get_chat(s, "telegram:-100500")
        assert chat is not None
        assert get_subscription(s, chat.id, "troop-movements") is not None
    # the admin check is cached: a second command asks Telegram no more
    tg.send_text(group, boss, "/subscribe troop-movements hourly")
    await reply_to(tg, group["id"], 2)
    assert len(tg.calls_to("getChatMember")) == 1
    assert tg.calls_to("getChatMember")[0].params == {"chat_id": -100500, "user_id": 30}


async def test_group_non_admin_is_refused(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    group = tg.group(-100501, "Desk")
    member = tg.user(31, "Member")
    tg.set_member(group, member, "member")
    tg.send_text(group, member, "/subscribe troop-movements")
    (answer,) = await reply_to(tg, group["id"])
    assert "Only chat admins" in answer
    with session_scope(service.factory) as s:
        chat = get_chat(s, "telegram:-100501")
        assert chat is None or get_subscription(s, chat.id, "troop-movements") is None


async def test_listed_admin_needs_no_chat_member_lookup(
    tg: TelegramStub, face: TelegramFace
) -> None:
    group = tg.group(-100502, "Desk")
    admin = tg.user(ADMIN_ID, "Root")  # a plain member here, but in ADMIN_USERS
    tg.send_text(group, admin, "/subscribe troop-movements")
    (answer,) = await reply_to(tg, group["id"])
    assert "Subscribed" in answer
    assert not tg.calls_to("getChatMember")


async def test_other_bots_commands_are_ignored(tg: TelegramStub, face: TelegramFace) -> None:
    group = tg.group(-100503, "Desk")
    user = tg.user(32, "Eve")
    tg.set_member(group, user, "creator")
    ignored = [
        tg.send_text(group, user, "/foo@otherbot"),
        tg.send_text(group, user, "/start@otherbot"),
        tg.send_text(group, user, "/foo"),  # a bare unknown command in a group: maybe another bot's
        tg.send_text(group, user, "good morning everyone"),  # not addressed to the bot
    ]
    last = tg.send_text(group, user, f"/help@{BOT_USERNAME}")
    await reply_to(tg, group["id"])
    await asyncio.sleep(0.2)  # the others were fetched in the same batch; give them a moment
    answered = [m["reply_to_message"]["message_id"] for m in tg.sent(group["id"])]
    assert answered == [last["message_id"]]
    assert all(m["message_id"] not in answered for m in ignored)


async def test_unknown_command_addressed_to_the_bot_is_answered(
    tg: TelegramStub, face: TelegramFace
) -> None:
    user = tg.user(33, "Fay")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/frobnicate now")
    (answer,) = await reply_to(tg, chat["id"])
    assert "frobnicate" in answer.lower()


async def test_mention_in_group_reaches_handle_text(
    tg: TelegramStub, face: TelegramFace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real = commands.handle_text

    async def spy(service: Any, ctx: Any, text: str, *, bot_username: str = "") -> Any:
        seen.append((text, bot_username))
        return await real(service, ctx, text, bot_username=bot_username)

    monkeypatch.setattr(commands, "handle_text", spy)
    group = tg.group(-100504, "Desk")
    user = tg.user(34, "Gil")
    tg.send_text(group, user, "what is new today?")
    tg.send_text(group, user, f"@{BOT_USERNAME} what is new today?")
    await reply_to(tg, group["id"])
    assert seen == [(f"@{BOT_USERNAME} what is new today?", BOT_USERNAME)]


async def test_slow_command_shows_typing(tg: TelegramStub, face: TelegramFace) -> None:
    user = tg.user(35, "Hal")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/test troop-movements Russian troops crossed the border")
    await reply_to(tg, chat["id"])
    actions = tg.calls_to("sendChatAction")
    assert actions and actions[0].params == {"chat_id": chat["id"], "action": "typing"}
    assert actions[0].at <= tg.calls_to("sendMessage")[0].at


async def test_error_is_logged_and_answered_briefly(
    tg: TelegramStub,
    face: TelegramFace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(commands, "handle_text", broken)
    user = tg.user(36, "Ida")
    chat = tg.private_chat(user)
    tg.send_text(chat, user, "/start")
    (answer,) = await reply_to(tg, chat["id"])
    assert answer == "Something went wrong; it has been logged."
    records = [r for r in caplog.records if r.name == "alertbot.telegram" and r.exc_info]
    assert records and "database on fire" in caplog.text and "Traceback" in caplog.text


# --- buttons and files ----------------------------------------------------------------------------


async def test_button_press_is_answered_and_replied(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    group = tg.group(-100505, "Desk")
    user = tg.user(40, "Jo")
    tg.set_member(group, user, "administrator")
    alert = make_alert(service)
    ref = await face.notifier.send_alert("telegram:-100505", alert)
    assert ref is not None
    pushed = tg.sent(group["id"])[0]
    buttons = [b["callback_data"] for row in pushed["reply_markup"]["inline_keyboard"] for b in row]
    assert f"ex:{alert.id}" in buttons
    query_id = tg.press_button(pushed, user, f"ex:{alert.id}")
    answered = await tg.wait_for("answerCallbackQuery")
    assert answered[0].params["callback_query_id"] == query_id
    # explain answers in the chat (quoting the alert), or as a toast when refused
    if not answered[0].params.get("text"):
        texts_now = await reply_to(tg, group["id"], 2)
        assert len(texts_now) == 2
        assert tg.sent(group["id"])[1]["reply_to_message"]["message_id"] == pushed["message_id"]


async def test_yaml_document_is_imported(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    admin = tg.user(ADMIN_ID, "Root")
    chat = tg.private_chat(admin)
    tg.send_document(chat, admin, WATCHLIST_YAML, "harbour.yaml")
    (answer,) = await reply_to(tg, chat["id"])
    assert "harbour-watch" in answer
    assert tg.calls_to("getFile")[0].params["file_id"].startswith("BQAC")
    with session_scope(service.factory) as s:
        assert get_watchlist(s, "harbour-watch") is not None


async def test_non_yaml_document_gets_a_hint(tg: TelegramStub, face: TelegramFace) -> None:
    user = tg.user(41, "Kim")
    chat = tg.private_chat(user)
    tg.send_document(chat, user, b"%PDF-1.4", "report.pdf", mime_type="application/pdf")
    (answer,) = await reply_to(tg, chat["id"])
    assert ".yaml" in answer
    assert not tg.calls_to("getFile")


# --- pushing alerts -------------------------------------------------------------------------------


async def test_alert_html_is_escaped_with_bold_terms(tg: TelegramStub, face: TelegramFace) -> None:
    group = tg.group(-100600, "Desk")
    ref = await face.notifier.send_alert("telegram:-100600", sample_alert())
    call = tg.calls_to("sendMessage")[-1]
    html_text = call.params["text"]
    assert "<script>" not in html_text and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "Troops &amp; tanks" in html_text
    assert "<b>troops</b>" in html_text and "<b>border</b>" in html_text
    assert 'href="https://news.test/a?x=1&amp;y=&lt;2&gt;"' in html_text
    msg = tg.sent(group["id"])[-1]
    assert ref == str(msg["message_id"])
    assert msg["text"].startswith("<script>alert(1)</script> Troops & tanks")  # as people see it
    kinds = {
        (e["type"], msg["text"][e["offset"] : e["offset"] + e["length"]]) for e in msg["entities"]
    }
    assert ("bold", "troops") in kinds and ("bold", "border") in kinds
    assert any(k == "text_link" for k, _ in kinds)


async def test_alert_uses_the_chats_timezone(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    from bot.store.subscriptions import upsert_chat

    tg.group(-100601, "Kyiv desk")
    with session_scope(service.factory) as s:
        upsert_chat(s, "telegram", "telegram:-100601", title="Kyiv desk", timezone="Europe/Kyiv")
    await face.notifier.send_alert("telegram:-100601", sample_alert())
    assert "Europe/Kyiv" in tg.sent(-100601)[-1]["text"]


async def test_flood_is_retried_by_the_rate_limiter(tg: TelegramStub, face: TelegramFace) -> None:
    tg.group(-100602, "Desk")
    tg.flood("sendMessage", retry_after=1, times=1)
    started = time.monotonic()
    ref = await face.notifier.send_alert("telegram:-100602", sample_alert())
    assert ref and time.monotonic() - started >= 1.0
    statuses = [c.status for c in tg.calls_to("sendMessage")]
    assert statuses == [429, 200]
    assert len(tg.sent(-100602)) == 1


async def test_flood_maps_to_retry_after(tg: TelegramStub) -> None:
    from telegram import Bot

    tg.group(-100603, "Desk")
    tg.flood("sendMessage", retry_after=3)
    async with Bot(TOKEN, base_url=tg.api_url) as bot:  # no rate limiter: the 429 comes through
        with pytest.raises(DeliveryError) as caught:
            await TelegramNotifier(bot).send_alert("telegram:-100603", sample_alert())
    assert caught.value.retry_after == 3 and not caught.value.permanent


async def test_blocked_and_gone_chats_are_permanent(tg: TelegramStub, face: TelegramFace) -> None:
    user = tg.user(50, "Lea")
    tg.private_chat(user)
    tg.block("sendMessage")
    with pytest.raises(DeliveryError) as blocked:
        await face.notifier.send_alert("telegram:50", sample_alert())
    assert blocked.value.permanent and "blocked" in str(blocked.value)
    with pytest.raises(DeliveryError) as gone:
        await face.notifier.send_alert(
            "telegram:-100999", sample_alert()
        )  # the stub knows no such chat
    assert gone.value.permanent and "chat not found" in str(gone.value).lower()


async def test_network_failure_is_transient(tg: TelegramStub) -> None:
    from telegram import Bot

    async with Bot(TOKEN, base_url=tg.api_url) as bot:
        await tg.stop()  # the server goes away
        with pytest.raises(DeliveryError) as caught:
            await TelegramNotifier(bot).send_alert("telegram:-100604", sample_alert())
    assert not caught.value.permanent and caught.value.retry_after is None


async def test_long_reply_is_split_into_valid_messages(
    tg: TelegramStub, face: TelegramFace
) -> None:
    from handlers.reply import Button, Reply, bold, link, text
    from handlers.telegram import send_reply

    tg.group(-100605, "Desk")
    reply = Reply()
    for i in range(60):
        reply.line(
            bold(f"Item {i} <x>:"),
            text(" Troops & armour moved near the border at dawn. " * 2),
            link(f"source {i}", f"https://news.test/{i}?a=1&b=2"),
        )
    reply.buttons = [[Button("More", "more:1")]]
    assert len(reply.plain_text) > 6000
    sent = await send_reply(face.app.bot, -100605, reply)
    assert len(sent) >= 2
    calls = tg.calls_to("sendMessage")
    assert all(c.ok for c in calls)
    for c in calls:
        assert len(c.params["text"]) <= 4096
        parse_html(c.params["text"])  # balanced, supported tags, whole entities
        assert c.params["link_preview_options"] == {"is_disabled": True}
    assert "reply_markup" in calls[-1].params and all(
        "reply_markup" not in c.params for c in calls[:-1]
    )
    # nothing lost or doubled at the cuts (Telegram shows link labels, not URLs)
    visible = "".join("\n" if p.kind == "break" else p.text for p in reply.parts)
    joined = " ".join(m["text"] for m in tg.sent(-100605))
    assert joined.split() == visible.split()


async def test_attachment_is_sent_as_document_or_photo(
    tg: TelegramStub, face: TelegramFace
) -> None:
    from handlers.reply import Attachment, Reply
    from handlers.telegram import send_reply

    tg.group(-100606, "Desk")
    export = Reply.plain("Watchlist <harbour>")
    export.attachment = Attachment("harbour.yaml", WATCHLIST_YAML, "application/x-yaml")
    await send_reply(face.app.bot, -100606, export)
    doc = tg.calls_to("sendDocument")[-1]
    assert doc.files["document"][0] == "harbour.yaml" and doc.files["document"][1] == WATCHLIST_YAML
    assert doc.params["caption"] == "Watchlist &lt;harbour&gt;"
    chart = Reply.plain("x" * 1500)  # too long for a caption: text first, then the picture
    chart.attachment = Attachment("trend.png", b"\x89PNG fake", "image/png", is_image=True)
    await send_reply(face.app.bot, -100606, chart)
    photo = tg.calls_to("sendPhoto")[-1]
    assert "caption" not in photo.params and photo.files["photo"][0] == "trend.png"
    assert tg.sent(-100606)[-2]["text"] == "x" * 1500


async def test_group_document_counts_only_when_addressed(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    group = tg.group(-100607, "Desk")
    boss = tg.user(42, "Boss")
    tg.set_member(group, boss, "creator")
    tg.send_document(group, boss, WATCHLIST_YAML, "harbour.yaml")  # just shared in the group
    tg.send_document(group, boss, WATCHLIST_YAML, "harbour.yaml", caption=f"@{BOT_USERNAME} import")
    (answer,) = await reply_to(tg, group["id"])
    assert "harbour-watch" in answer
    await asyncio.sleep(0.2)
    assert len(tg.calls_to("getFile")) == 1 and len(tg.sent(group["id"])) == 1


async def test_oversized_document_is_not_downloaded(tg: TelegramStub, face: TelegramFace) -> None:
    admin = tg.user(ADMIN_ID, "Root")
    chat = tg.private_chat(admin)
    tg.send_document(chat, admin, b"# x\n" * 300_000, "huge.yaml")
    (answer,) = await reply_to(tg, chat["id"])
    assert "too large" in answer
    assert not tg.calls_to("getFile")


async def test_chat_outside_allowed_chats_gets_a_refusal_only(
    tg: TelegramStub, tmp_path: Path
) -> None:
    svc = Service(make_settings(tmp_path, tg, allowed_chats=["telegram:-100700"]), worker="t")
    svc.load_watchlists()
    face = TelegramFace(svc, svc.settings, poll_timeout=1)
    await face.start()
    try:
        user = tg.user(60, "Max")
        chat = tg.private_chat(user)
        tg.send_text(chat, user, "/start")
        (answer,) = await reply_to(tg, chat["id"])
        assert "not allowed" in answer
    finally:
        await face.stop()
        await svc.close()


async def test_updates_fed_from_a_webhook(tg: TelegramStub, service: Service) -> None:
    face = TelegramFace(service, service.settings)
    await face.start(polling=False)
    try:
        assert not tg.calls_to("getUpdates") and not tg.calls_to("deleteWebhook")
        user = tg.user(61, "Nia")
        chat = tg.private_chat(user)
        await face.feed({"update_id": 1, "message": tg.message(chat, user, "/help")})
        (answer,) = await reply_to(tg, chat["id"])
        assert "/subscribe" in answer
    finally:
        await face.stop()


async def test_outbox_push_end_to_end(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    """Subscribed in chat → an article matches → the outbox pushes through the face's bot."""
    service.notifiers["telegram"] = face.notifier
    group = tg.group(-100800, "Desk")
    blocked_user = tg.user(70, "Ola")
    tg.private_chat(blocked_user)
    boss = tg.user(71, "Boss")
    tg.set_member(group, boss, "administrator")
    tg.send_text(group, boss, "/subscribe troop-movements")
    tg.send_text(tg.chats[70], blocked_user, "/subscribe troop-movements")
    await reply_to(tg, group["id"])
    await reply_to(tg, 70)
    tg.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=70)
    alert = make_alert(service)
    assert await service.drain_outbox() == 1
    pushed = tg.sent(group["id"])[-1]
    assert pushed["text"].startswith(alert.title)
    assert any(e["type"] == "bold" for e in pushed["entities"])
    with session_scope(service.factory) as s:
        chat = get_chat(s, "telegram:70")
        assert chat is not None
        sub = get_subscription(s, chat.id, "troop-movements")
        assert sub is not None and "blocked" in (sub.paused_reason or "")


async def test_wire_format_details(tg: TelegramStub, face: TelegramFace) -> None:
    """Strings go raw, other values JSON-encoded; unknown methods are 404s."""
    from telegram.error import EndPointNotFound

    user = tg.user(72, "Pia")
    chat = tg.private_chat(user)
    await face.app.bot.send_message(chat["id"], "42")
    call = tg.calls_to("sendMessage")[-1]
    assert call.params == {"chat_id": chat["id"], "text": "42"}
    assert tg.sent(chat["id"])[-1]["text"] == "42"
    with pytest.raises(EndPointNotFound):
        await face.app.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": chat["id"]})
    assert tg.calls_to("sendTelepathy")[0].status == 404


async def test_stub_long_poll_waits_and_conflicts(tg: TelegramStub) -> None:
    """The stand-in's getUpdates: waits for an update, and a second poller ends the first (409)."""
    from telegram import Bot
    from telegram.error import Conflict

    # two bots: one Bot polls over a single connection, so it cannot overlap itself
    async with Bot(TOKEN, base_url=tg.api_url) as bot, Bot(TOKEN, base_url=tg.api_url) as other:
        started = time.monotonic()
        assert await bot.get_updates(timeout=0.3) == ()
        assert time.monotonic() - started >= 0.3
        first = asyncio.create_task(other.get_updates(timeout=5))
        await tg.wait_for("getUpdates", 2)
        second = asyncio.create_task(bot.get_updates(timeout=5))
        with pytest.raises(Conflict):
            await first
        user = tg.user(80, "Quin")
        tg.send_text(tg.private_chat(user), user, "hello")
        (update,) = await second
        assert update.message is not None and update.message.text == "hello"


async def test_a_polled_update_another_replica_handled_is_not_answered_again(
    tg: TelegramStub, face: TelegramFace, service: Service
) -> None:
    """A replica that takes over polling is given the updates its dead predecessor handled
    but never confirmed: the claim in the database makes them answered once."""
    user = tg.user(41, "Gus")
    chat = tg.private_chat(user)
    taken = tg.next_update_id()  # the id the next update gets...
    with session_scope(service.factory) as session:  # ...already claimed by another replica
        assert claim_update(session, face.app.bot.id, taken + 1)
    tg.send_text(chat, user, "/help")  # update taken + 1: handled elsewhere
    tg.send_text(chat, user, "/watchlists")  # update taken + 2: this replica's
    (answer,) = await reply_to(tg, chat["id"])
    assert "Watchlists" in answer or "watchlist" in answer.lower()
    assert "alertbot watches news sources" not in answer
