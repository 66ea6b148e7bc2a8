"""The Slack face end to end: the real slack-bolt AsyncApp behind an aiohttp server,
signed requests in, the real slack_sdk client out to the local stand-in (slack_stub)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from slack_stub import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStub,
    block_actions_payload,
    event_body,
    forged_signature,
    interactive_body,
    mention_event,
    signed_headers,
    slash_command_body,
)

from bot.config import Settings
from bot.models import Article
from bot.runtime.service import Service
from handlers import commands
from handlers.reply import Attachment, Button, CommandContext, Reply, bold, text
from handlers.slack import SORRY, WORKING, SlackFace

ROOT = Path(__file__).resolve().parent.parent


def make_settings(tmp_path: Path, stub: SlackStub, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "watchlist_dir": ROOT / "watchlists",
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_app_token": None,
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_api_url": stub.api_url,
        "admin_users": ["slack:UADMIN", "U2"],
        "allowed_chats": [],
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Commands:
    """Stands in for handlers.commands: records the calls, answers ``reply``."""

    reply: Reply = field(default_factory=lambda: Reply.plain("done"))
    calls: list[tuple[str, CommandContext, Any]] = field(default_factory=list)
    gate: asyncio.Event | None = None
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_text(
        self, service: Any, ctx: CommandContext, text: str, *, bot_username: str = ""
    ) -> Reply:
        return await self._answer("text", ctx, text)

    async def handle_button(self, service: Any, ctx: CommandContext, data: str) -> Reply:
        return await self._answer("button", ctx, data)

    async def handle_file(
        self, service: Any, ctx: CommandContext, filename: str, content: bytes
    ) -> Reply:
        return await self._answer("file", ctx, (filename, content))

    async def _answer(self, kind: str, ctx: CommandContext, arg: Any) -> Reply:
        self.calls.append((kind, ctx, arg))
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        return self.reply


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub() as running:
        yield running


@pytest.fixture
async def service(tmp_path: Path, stub: SlackStub) -> AsyncIterator[Service]:
    svc = Service(make_settings(tmp_path, stub), worker="test")
    yield svc
    await svc.close()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Commands:
    recorder = Commands()
    monkeypatch.setattr(commands, "handle_text", recorder.handle_text)
    monkeypatch.setattr(commands, "handle_button", recorder.handle_button)
    monkeypatch.setattr(commands, "handle_file", recorder.handle_file)
    return recorder


@pytest.fixture
async def face(service: Service) -> AsyncIterator[SlackFace]:
    slack = SlackFace(service, service.settings)
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def http(face: SlackFace) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    face.mount(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def post_signed(
    http: TestClient[web.Request, web.Application],
    body: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    all_headers = signed_headers(body, content_type=content_type) | (headers or {})
    resp = await http.post("/slack/events", data=body.encode(), headers=all_headers)
    return resp.status, await resp.text()


def section_text(call_params: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in call_params.get("blocks", []) if b["type"] == "section"
    )


# --- the slash command ---------------------------------------------------------------


async def test_slash_command_acks_at_once_and_answers_at_the_response_url(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.gate = asyncio.Event()  # the command is still running when Slack gets its 200
    fake.reply = Reply([bold("Subscribed"), text(" to troop-movements <here> & now")])
    body = slash_command_body(
        "subscribe troop-movements", response_url=stub.response_url("cmd1"), user="U1"
    )
    started = time.monotonic()
    status, answer = await post_signed(http, body)
    assert status == 200 and answer == ""
    assert time.monotonic() - started < 2.5
    await asyncio.wait_for(fake.called.wait(), 5)
    assert not stub.called("response")
    fake.gate.set()
    (response,) = await stub.wait_for("response")
    assert response.params["_key"] == "cmd1"
    assert response.params["response_type"] == "in_channel"
    assert section_text(response.params) == (
        "*Subscribed* to troop-movements &lt;here&gt; &amp; now"
    )
    assert "&lt;here&gt;" in response.params["text"]
    ((kind, ctx, arg),) = fake.calls
    assert (kind, arg) == ("text", "subscribe troop-movements")
    assert ctx == CommandContext(
        platform="slack",
        chat_key="slack:C1",
        user_id="slack:U1",
        user_name="ana",
        chat_title="newsdesk",
        is_admin=False,
        is_private=False,
    )


async def test_bad_or_stale_signatures_are_refused(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    body = slash_command_body("help", response_url=stub.response_url())
    now = int(time.time())
    forged = {"x-slack-signature": forged_signature(body, now)}
    assert (await post_signed(http, body, headers=forged))[0] == 401
    stale = signed_headers(body, timestamp=now - 600)
    resp = await http.post("/slack/events", data=body.encode(), headers=stale)
    assert resp.status == 401
    tampered = signed_headers(body)
    resp = await http.post(
        "/slack/events", data=body.replace("help", "remove").encode(), headers=tampered
    )
    assert resp.status == 401
    await asyncio.sleep(0.05)
    assert fake.calls == [] and not stub.called("response")


async def test_slow_commands_say_they_are_working(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    body = slash_command_body(
        "test troop-movements <https://e.test/a?x=1&amp;y=2|e.test/a>",
        response_url=stub.response_url(),
    )
    status, answer = await post_signed(http, body)
    assert status == 200
    assert json.loads(answer) == {"text": WORKING, "response_type": "ephemeral"}
    await stub.wait_for("response")
    assert fake.calls[0][2] == "test troop-movements https://e.test/a?x=1&y=2"


async def test_errors_and_help_are_ephemeral(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.reply = Reply.plain("Only admins can do that.", error=True)
    await post_signed(http, slash_command_body("remove x y", response_url=stub.response_url()))
    (response,) = await stub.wait_for("response")
    assert response.params["response_type"] == "ephemeral"
    fake.reply = Reply.plain("Commands: …")
    await post_signed(http, slash_command_body("help", response_url=stub.response_url()))
    responses = await stub.wait_for("response", 2)
    assert responses[1].params["response_type"] == "ephemeral"


async def test_admins_from_settings_and_from_workspace_flags(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    stub.add_user("U7", is_admin=True)
    stub.add_user("U8", is_owner=False, is_admin=False)
    for n, user in enumerate(["UADMIN", "U2", "U7", "U7", "U8", "U9"]):
        body = slash_command_body("watchlists", response_url=stub.response_url(), user=user)
        await post_signed(http, body)
        await stub.wait_for("response", n + 1)
    admin = {ctx.user_id: ctx.is_admin for _, ctx, _ in fake.calls}
    assert admin == {
        "slack:UADMIN": True,
        "slack:U2": True,
        "slack:U7": True,
        "slack:U8": False,
        "slack:U9": False,  # users.info says user_not_found: not an admin
    }
    asked = [c.params["user"] for c in stub.called("users.info")]
    assert asked == ["U7", "U8", "U9"]  # ADMIN_USERS need no call; answers are cached


async def test_users_info_missing_means_not_admin(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    stub.add_user("U7", is_admin=True)
    stub.fail("users.info", "missing_scope")
    await post_signed(
        http, slash_command_body("new x", response_url=stub.response_url(), user="U7")
    )
    await stub.wait_for("response")
    assert fake.calls[0][1].is_admin is False


async def test_direct_message_channels_are_private(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    body = slash_command_body(
        "alerts", response_url=stub.response_url(), channel="D042", channel_name="directmessage"
    )
    await post_signed(http, body)
    await stub.wait_for("response")
    ctx = fake.calls[0][1]
    assert ctx.is_private and ctx.chat_key == "slack:D042"


async def test_a_failing_command_is_logged_and_answered_briefly(
    stub: SlackStub,
    monkeypatch: pytest.MonkeyPatch,
    http: TestClient[web.Request, web.Application],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Reply:
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(commands, "handle_text", broken)
    with caplog.at_level(logging.ERROR, logger="alertbot.slack"):
        status, _ = await post_signed(
            http, slash_command_body("alerts", response_url=stub.response_url())
        )
        (response,) = await stub.wait_for("response")
    assert status == 200
    assert response.params["text"] == SORRY
    assert response.params["response_type"] == "ephemeral"
    assert (
        "Traceback" not in response.body.decode() and "secret detail" not in response.body.decode()
    )
    logged = [r for r in caplog.records if r.name == "alertbot.slack" and r.exc_info]
    assert logged and "database exploded" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_a_long_reply_arrives_as_several_messages(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    reply = Reply()
    for i in range(60):
        reply.line(bold(f"#{i}"), text(" " + "Convoy seen near the border. " * 100))
    reply.buttons = [[Button("More", "al:more")]]
    fake.reply = reply
    await post_signed(http, slash_command_body("alerts", response_url=stub.response_url()))
    responses = await stub.wait_for("response", 2)
    await asyncio.sleep(0.1)
    responses = stub.called("response")
    assert len(responses) == 2
    for r in responses:
        assert len(r.params["blocks"]) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in r.params["blocks"] if "text" in b)
    assert responses[-1].params["blocks"][-1]["type"] == "actions"


async def test_an_attachment_is_uploaded_to_the_channel(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    yaml_bytes = b"name: troop-movements\nkeywords: [troops]\n"
    fake.reply = Reply(
        [text("Here it is.")],
        attachment=Attachment("troop-movements.yaml", yaml_bytes, "application/yaml"),
    )
    await post_signed(http, slash_command_body("export tm", response_url=stub.response_url()))
    (done,) = await stub.wait_for("files.completeUploadExternal")
    (asked,) = stub.called("files.getUploadURLExternal")
    assert asked.params["filename"] == "troop-movements.yaml"
    assert asked.params["length"] == str(len(yaml_bytes))
    assert done.params["channel_id"] == "C1"
    assert done.params["files"][0]["title"] == "troop-movements.yaml"
    assert stub.files[done.params["files"][0]["id"]].content == yaml_bytes
    assert stub.called("response")  # the text went to the response_url


async def test_an_upload_refused_tells_the_user(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.reply = Reply(
        [text("Chart:")], attachment=Attachment("trend.png", b"\x89PNG", is_image=True)
    )
    stub.fail("files.completeUploadExternal", "not_in_channel")
    await post_signed(http, slash_command_body("trend belarus", response_url=stub.response_url()))
    responses = await stub.wait_for("response", 2)
    assert responses[1].params["response_type"] == "ephemeral"
    assert "not_in_channel" in responses[1].params["text"]
    assert "Invite the bot" in responses[1].params["text"]


# --- mentions, DMs, buttons, files ------------------------------------------------


async def test_app_mention_is_answered_in_the_thread(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.reply = Reply.plain("2 alerts since yesterday")
    body = event_body(mention_event("<@UBOT> alerts troop-movements 24h", ts="1700000000.000100"))
    status, _ = await post_signed(http, body, content_type="application/json")
    assert status == 200
    (posted,) = await stub.wait_for("chat.postMessage")
    assert posted.token == BOT_TOKEN
    assert posted.params["channel"] == "C1"
    assert posted.params["thread_ts"] == "1700000000.000100"
    assert section_text(posted.params) == "2 alerts since yesterday"
    ((kind, ctx, arg),) = fake.calls
    assert (kind, arg) == ("text", "alerts troop-movements 24h")
    assert ctx.chat_key == "slack:C1" and ctx.user_id == "slack:U1"
    # Slack re-sending the same event after a timeout changes nothing
    retry = {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    assert (await post_signed(http, body, content_type="application/json", headers=retry))[0] == 200
    await asyncio.sleep(0.1)
    assert len(fake.calls) == 1


async def test_a_mention_error_is_ephemeral_in_the_thread(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.reply = Reply.plain("Unknown command 'frobnicate'.", error=True)
    body = event_body(mention_event("<@UBOT> frobnicate", ts="1700000000.000900"))
    await post_signed(http, body, content_type="application/json")
    (ephemeral,) = await stub.wait_for("chat.postEphemeral")
    assert ephemeral.params["user"] == "U1"
    assert ephemeral.params["thread_ts"] == "1700000000.000900"
    assert not stub.called("chat.postMessage")


async def test_the_bot_client_retries_after_a_rate_limit(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    stub.rate_limit("chat.postMessage", times=1, retry_after=0)
    await post_signed(
        http, event_body(mention_event("<@UBOT> help")), content_type="application/json"
    )
    calls = await stub.wait_for("chat.postMessage", 2)
    assert len(calls) == 2  # 429, then delivered by AsyncRateLimitErrorRetryHandler


async def test_direct_messages_take_commands_without_a_mention(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    event = {
        "type": "message",
        "channel": "D9",
        "channel_type": "im",
        "user": "U1",
        "text": "watchlists",
        "ts": "1700000000.000500",
    }
    await post_signed(http, event_body(event), content_type="application/json")
    (posted,) = await stub.wait_for("chat.postMessage")
    assert posted.params["channel"] == "D9" and "thread_ts" not in posted.params
    assert fake.calls[0][1].is_private and fake.calls[0][2] == "watchlists"
    # channel chatter is not for the bot, nor are its own messages
    chatter = dict(event, channel="C1", channel_type="channel", ts="1700000000.000600")
    own = dict(event, user="UBOT", bot_id="BSTUB", ts="1700000000.000700")
    for other in (chatter, own):
        await post_signed(http, event_body(other), content_type="application/json")
    await asyncio.sleep(0.1)
    assert len(fake.calls) == 1


async def test_buttons_reach_handle_button(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    fake.reply = Reply([bold("Why alert #12 fired")])
    payload = block_actions_payload("ex:12", response_url=stub.response_url("act"))
    status, _ = await post_signed(http, interactive_body(payload))
    assert status == 200
    (response,) = await stub.wait_for("response")
    assert response.params["_key"] == "act"
    assert response.params["replace_original"] is False
    assert section_text(response.params) == "*Why alert #12 fired*"
    ((kind, ctx, data),) = fake.calls
    assert (kind, data) == ("button", "ex:12")
    assert ctx.chat_key == "slack:C1" and ctx.user_id == "slack:U1"


async def test_a_yaml_file_in_a_dm_is_downloaded_with_the_token(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    yaml_bytes = b"name: ports\nkeywords: [harbour, port]\n"
    stored = stub.add_file("ports.yaml", yaml_bytes)
    fake.reply = Reply.plain("Watchlist ports saved.")
    message = {
        "type": "message",
        "subtype": "file_share",
        "channel": "D9",
        "channel_type": "im",
        "user": "U1",
        "text": "",
        "ts": "1700000000.000800",
        "files": [{"id": stored.id, "name": "ports.yaml"}],
    }
    shared = {
        "type": "file_shared",
        "file_id": stored.id,
        "user_id": "U1",
        "file": {"id": stored.id},
        "channel_id": "D9",
        "event_ts": "1700000000.000800",
    }
    await post_signed(http, event_body(message, event_id="Ev1"), content_type="application/json")
    await post_signed(http, event_body(shared, event_id="Ev2"), content_type="application/json")
    (posted,) = await stub.wait_for("chat.postMessage")
    assert section_text(posted.params) == "Watchlist ports saved."
    (download,) = stub.called("download")
    assert download.token == BOT_TOKEN
    ((kind, ctx, arg),) = fake.calls  # once, although Slack told us twice
    assert (kind, arg) == ("file", ("ports.yaml", yaml_bytes))
    assert ctx.is_private


async def test_other_files_and_channel_uploads_without_a_mention_are_ignored(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    image = stub.add_file("chart.png", b"\x89PNG", mimetype="image/png")
    yaml_file = stub.add_file("x.yaml", b"name: x\n")
    events = [
        {
            "type": "message",
            "subtype": "file_share",
            "channel": "D9",
            "channel_type": "im",
            "user": "U1",
            "ts": "1.1",
            "files": [{"id": image.id, "name": "chart.png"}],
        },
        {
            "type": "message",
            "subtype": "file_share",
            "channel": "C1",
            "channel_type": "channel",
            "user": "U1",
            "ts": "1.2",
            "files": [{"id": yaml_file.id, "name": "x.yaml"}],
        },
    ]
    for i, event in enumerate(events):
        await post_signed(
            http, event_body(event, event_id=f"E{i}"), content_type="application/json"
        )
    await asyncio.sleep(0.2)
    assert fake.calls == [] and not stub.called("files.info")


async def test_a_yaml_file_with_a_mention_in_a_channel_is_read(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    stored = stub.add_file("ports.yml", b"name: ports\n")
    event = mention_event("<@UBOT>", ts="1.5", files=[{"id": stored.id, "name": "ports.yml"}])
    await post_signed(http, event_body(event), content_type="application/json")
    await stub.wait_for("chat.postMessage")
    ((kind, _ctx, arg),) = fake.calls
    assert kind == "file" and arg == ("ports.yml", b"name: ports\n")


async def test_a_download_without_access_is_reported(
    stub: SlackStub,
    fake: Commands,
    http: TestClient[web.Request, web.Application],
    face: SlackFace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(face, "_token", "xoxb-lacking-files-read")
    stored = stub.add_file("ports.yaml", b"name: ports\n")
    event = {
        "type": "file_shared",
        "file_id": stored.id,
        "user_id": "U1",
        "channel_id": "D9",
        "event_ts": "1.7",
    }
    await post_signed(http, event_body(event), content_type="application/json")
    (note,) = await stub.wait_for("chat.postEphemeral")
    assert "login page" in note.params["text"] and fake.calls == []


# --- Socket Mode -----------------------------------------------------------------------


async def test_socket_mode_takes_the_slash_command(
    tmp_path: Path, stub: SlackStub, fake: Commands
) -> None:
    settings = make_settings(
        tmp_path, stub, slack_app_token=SecretStr(APP_TOKEN), slack_signing_secret=None
    )
    svc = Service(settings, worker="test")
    slack = SlackFace(svc, settings)
    try:
        await slack.start()
        opened = stub.called("apps.connections.open")
        assert opened and all(c.token == APP_TOKEN for c in opened)
        payload = {
            "command": "/alertbot",
            "text": "alerts",
            "channel_id": "C1",
            "channel_name": "newsdesk",
            "user_id": "U1",
            "user_name": "ana",
            "team_id": "T0TEST",
            "response_url": stub.response_url("sock"),
            "trigger_id": "1.2.3",
        }
        await stub.socket_send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        ack = await stub.wait_for_socket_ack("env-1")
        assert ack["envelope_id"] == "env-1"
        (response,) = await stub.wait_for("response")
        assert response.params["_key"] == "sock"
        assert fake.calls[0][2] == "alerts"
    finally:
        await slack.stop()
        await svc.close()


# --- with the real commands -------------------------------------------------------------


async def test_the_real_commands_subscribe_a_channel_and_alerts_arrive(
    stub: SlackStub,
    service: Service,
    face: SlackFace,
    http: TestClient[web.Request, web.Application],
) -> None:
    service.load_watchlists()
    service.notifiers["slack"] = face.notifier()
    await post_signed(http, slash_command_body("help", response_url=stub.response_url("h")))
    (helped,) = await stub.wait_for("response", timeout=10)
    assert helped.params["response_type"] == "ephemeral"
    assert "/alertbot subscribe" in section_text(helped.params)

    body = slash_command_body(
        "subscribe troop-movements", response_url=stub.response_url("s"), user="UADMIN"
    )
    assert (await post_signed(http, body))[0] == 200
    (done,) = await stub.wait_for("response", where=lambda c: c.params["_key"] == "s")
    assert done.params["response_type"] == "in_channel", done.params["text"]

    article = Article(
        "Russian troops arrive in Belarus for joint drills",
        "Several thousand soldiers and a column of tanks arrived by train in Brest region "
        "near the Polish border, the defence ministry in Minsk said.",
        "https://wire.test/a1",
        "wire",
    )
    assert (await service.ingest_articles([article], "wire")).alerts
    assert await service.drain_outbox() == 1
    (pushed,) = stub.called("chat.postMessage")
    assert pushed.params["channel"] == "C1"
    assert "Russian troops arrive in Belarus" in section_text(pushed.params)
    explain = next(
        e["value"]
        for b in pushed.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"].startswith("ex:")
    )

    # the alert's Explain button, pressed in Slack
    payload = block_actions_payload(explain, response_url=stub.response_url("b"))
    assert (await post_signed(http, interactive_body(payload)))[0] == 200
    (why,) = await stub.wait_for("response", where=lambda c: c.params["_key"] == "b")
    assert "troops" in section_text(why.params).lower()


async def test_tokens_slack_refuses_stop_the_start(tmp_path: Path, stub: SlackStub) -> None:
    bad_bot = make_settings(tmp_path, stub, slack_bot_token=SecretStr("xoxb-revoked"))
    svc = Service(bad_bot, worker="test")
    try:
        with pytest.raises(RuntimeError, match="SLACK_BOT_TOKEN: invalid_auth"):
            await SlackFace(svc, bad_bot).start()
        bad_app = make_settings(tmp_path, stub, slack_app_token=SecretStr("xapp-wrong"))
        slack = SlackFace(svc, bad_app)
        with pytest.raises(RuntimeError, match="SLACK_APP_TOKEN: invalid_auth"):
            await slack.start()  # instead of the SDK's endless reconnect loop
        await slack.stop()
        no_secret = make_settings(tmp_path, stub, slack_signing_secret=None)
        with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
            SlackFace(svc, no_secret)
    finally:
        await svc.close()


async def test_malformed_signature_headers_are_refused_before_anything_is_read(
    stub: SlackStub,
    fake: Commands,
    http: TestClient[web.Request, web.Application],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12, item 8: an unsigned request must not reach the error path, whose
    apology would POST to the response_url the (unverified) body names."""
    body = slash_command_body("help", response_url=stub.response_url("evil"))
    good = signed_headers(body)
    bad_headers = [
        good | {"x-slack-request-timestamp": "abc"},
        good | {"x-slack-request-timestamp": ""},
        good | {"x-slack-request-timestamp": "1" * 400},
        good | {"x-slack-signature": "v0=zz"},
        good | {"x-slack-signature": "été"},
        {k: v for k, v in good.items() if k != "x-slack-signature"},
        {k: v for k, v in good.items() if k != "x-slack-request-timestamp"},
    ]
    with caplog.at_level(logging.DEBUG):
        for headers in bad_headers:
            resp = await http.post("/slack/events", data=body.encode(), headers=headers)
            answer = await resp.text()
            assert resp.status == 401, (headers, answer)
            assert "Traceback" not in answer
    await asyncio.sleep(0.1)
    assert fake.calls == [] and not stub.called("response")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_body_that_is_not_utf8_is_a_400(
    stub: SlackStub,
    fake: Commands,
    http: TestClient[web.Request, web.Application],
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = b"text=caf\xe9&response_url=" + stub.response_url("evil").encode()
    ts = str(int(time.time()))
    base = f"v0:{ts}:".encode() + raw
    signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }
    with caplog.at_level(logging.DEBUG):
        for sig in (signature, forged_signature("x", int(ts))):
            resp = await http.post(
                "/slack/events", data=raw, headers=headers | {"x-slack-signature": sig}
            )
            assert resp.status in (400, 401)
            assert "Traceback" not in await resp.text()
        resp = await http.post("/slack/events", data=raw, headers=headers)
        assert resp.status == 400
    await asyncio.sleep(0.1)
    assert fake.calls == [] and not stub.called("response")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_correctly_signed_request_still_gets_its_answer(
    stub: SlackStub, fake: Commands, http: TestClient[web.Request, web.Application]
) -> None:
    body = slash_command_body("help", response_url=stub.response_url("ok"))
    assert (await post_signed(http, body))[0] == 200
    (response,) = await stub.wait_for("response")
    assert response.params["_key"] == "ok"
