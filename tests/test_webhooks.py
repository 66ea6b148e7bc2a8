"""Telegram webhook mode and Slack HTTP mode on the one HTTP server of ``alertbot run``.

The real python-telegram-bot calls ``setWebhook`` on the Bot API stand-in;
the test then posts what Telegram would post (the update, the secret header
it was given) to the aiohttp server that also serves ``POST /ingest``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import pg_schema
from pydantic import SecretStr
from slack_stub import BOT_TOKEN, SIGNING_SECRET, SlackStub, signed_headers, slash_command_body
from sqlalchemy import func, select
from telegram_stub import TOKEN, TelegramStub

from bot.cli import _register_webhooks, _start_faces
from bot.config import Settings
from bot.runtime.service import Service
from bot.runtime.webapp import make_web_app
from bot.store import session_scope
from bot.store.tables import TelegramUpdate
from bot.store.updates import KEEP_UPDATES, claim_update, forget_updates
from handlers.telegram import TelegramFace
from handlers.telegram_webhook import SECRET_HEADER, TelegramWebhook, WebhookError, webhook_secret

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
HOOK_PATH = "/telegram/hook"
INGEST = "ingest-token-123456"


def settings_for(database_url: str, tg: TelegramStub, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "watchlist_dir": ROOT / "watchlists",
        "telegram_token": TOKEN,
        "telegram_api_url": tg.api_url,
        "telegram_webhook_url": f"https://bot.example.org{HOOK_PATH}",
        "ingest_token": SecretStr(INGEST),
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
async def tg() -> AsyncIterator[TelegramStub]:
    async with TelegramStub() as stub:
        yield stub


class Replica:
    """One ``alertbot run`` as far as HTTP goes: service, Telegram face in webhook mode, server."""

    def __init__(self, settings: Settings, worker: str) -> None:
        self.service = Service(settings, worker=worker)
        self.face = TelegramFace(self.service, settings)
        self.webhook = TelegramWebhook(self.face)
        self.app = make_web_app(self.service)
        self.webhook.mount(self.app)
        self.client: TestClient[web.Request, web.Application] | None = None

    async def start(self) -> Replica:
        await self.face.start(polling=False)
        self.client = TestClient(TestServer(self.app, host="127.0.0.1"))
        await self.client.start_server()
        await self.webhook.register()
        return self

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        await self.face.stop()
        await self.service.close()

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        assert self.client is not None
        resp = await self.client.post(HOOK_PATH, data=body, headers=headers)
        return resp.status, await resp.text()


@pytest.fixture
async def replica(tg: TelegramStub, tmp_path: Path) -> AsyncIterator[Replica]:
    one = await Replica(settings_for(f"sqlite:///{tmp_path / 'a.db'}", tg), "r1").start()
    yield one
    await one.stop()


def help_update(tg: TelegramStub, user_id: int) -> dict[str, Any]:
    user = tg.user(user_id, "Wes")
    chat = tg.private_chat(user)
    return {"update_id": tg.next_update_id(), "message": tg.message(chat, user, "/help")}


async def test_set_webhook_follows_the_bot_api(tg: TelegramStub, replica: Replica) -> None:
    hook = tg.webhook
    assert hook is not None
    assert hook["url"] == f"https://bot.example.org{HOOK_PATH}"
    assert hook["secret_token"] == webhook_secret(replica.service.settings)
    assert TOKEN not in hook["secret_token"] and TOKEN.split(":")[1] not in hook["secret_token"]
    assert hook["allowed_updates"] == ["message", "callback_query"]
    assert hook["drop_pending_updates"] is False
    assert not tg.calls_to("getUpdates") and not tg.calls_to("deleteWebhook")


async def test_an_update_with_the_secret_is_answered(tg: TelegramStub, replica: Replica) -> None:
    update = help_update(tg, 501)
    _url, body, headers = tg.webhook_request(update)
    assert await replica.post(body, headers) == (200, "ok")
    await tg.wait_for("sendMessage", 1, where=lambda c: c.ok and c.params["chat_id"] == 501)
    assert "/subscribe" in tg.sent(501)[0]["text"]


@pytest.mark.parametrize(
    ("secret", "status"), [(None, 401), ("wrong-secret", 403), ("", 403)]
)
async def test_a_request_without_the_right_secret_is_refused_with_one_log_line(
    tg: TelegramStub,
    replica: Replica,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
    status: int,
) -> None:
    update = help_update(tg, 502)
    _url, body, headers = tg.webhook_request(update)
    headers.pop(SECRET_HEADER)
    if secret is not None:
        headers[SECRET_HEADER] = secret
    with caplog.at_level(logging.INFO, logger="alertbot"):
        got, _text = await replica.post(body, headers)
    assert got == status
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and f"HTTP {status}" in refused[0].getMessage()
    assert webhook_secret(replica.service.settings) not in caplog.text
    # nothing was taken in: the same update with the secret is still processed
    assert replica.webhook.processed == 0
    _url, body, good = tg.webhook_request(update)
    assert (await replica.post(body, good))[0] == 200
    await tg.wait_for("sendMessage", 1, where=lambda c: c.ok and c.params["chat_id"] == 502)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"update_id": "7"}', 400), (b"x" * 1_000_001, 413)],
)
async def test_a_bad_body_is_one_line_and_not_processed(
    tg: TelegramStub, replica: Replica, body: bytes, status: int
) -> None:
    _url, _body, headers = tg.webhook_request({"update_id": 1})
    got, text = await replica.post(body, headers)
    assert got == status and "\n" not in text
    assert replica.webhook.processed == 0


async def test_the_same_update_to_two_replicas_is_processed_once(tg: TelegramStub) -> None:
    """Two replicas on one PostgreSQL schema receive the same update (Telegram's retry after
    a slow answer): one processes it, the other answers 200 and does nothing."""
    with pg_schema() as engine:
        url = engine.url.render_as_string(hide_password=False)
        first = Replica(settings_for(url, tg), "replica-a")
        second = Replica(settings_for(url, tg), "replica-b")
        try:
            await first.start()
            await second.start()
            # control: an update received once, by one replica (its answer may be several
            # messages: the doubles below are counted against it)
            _url, body, headers = tg.webhook_request(help_update(tg, 600))
            assert await first.post(body, headers) == (200, "ok")
            for user_id in (601, 602, 603):
                update = help_update(tg, user_id)
                _url, body, headers = tg.webhook_request(update)
                answers = await asyncio.gather(
                    first.post(body, headers), second.post(body, headers)
                )
                assert answers == [(200, "ok"), (200, "ok")]
                # and a retry later, to the replica that processed it, changes nothing
                assert await first.post(body, headers) == (200, "ok")
            assert first.webhook.processed + second.webhook.processed == 4
            assert first.webhook.repeats + second.webhook.repeats == 6
            for user_id in (600, 601, 602, 603):
                await tg.wait_for(
                    "sendMessage", 1, where=lambda c, u=user_id: c.ok and c.params["chat_id"] == u
                )
            for replica in (first, second):  # nothing left for either to process
                assert replica.face.app.update_queue.empty()
            await asyncio.gather(first.face.stop(), second.face.stop())  # finish what is in hand
            once = len(tg.sent(600))
            assert once >= 1 and [len(tg.sent(u)) for u in (601, 602, 603)] == [once] * 3
            with session_scope(first.service.factory) as s:
                assert s.scalar(select(func.count()).select_from(TelegramUpdate)) == 4
        finally:
            await first.stop()
            await second.stop()


def test_update_keys_are_forgotten_after_telegram_stops_retrying(db: Any) -> None:
    from bot.store.tables import utcnow

    now = utcnow()
    with session_scope(db) as s:
        assert claim_update(s, 1, 10, now - KEEP_UPDATES * 2)
        assert claim_update(s, 1, 11, now)
        assert not claim_update(s, 1, 11, now)
        assert claim_update(s, 2, 11, now)  # another bot's update 11 is another update
    with session_scope(db) as s:
        assert forget_updates(s, now) == 1
        assert not claim_update(s, 1, 11, now)


async def test_set_webhook_refused_stops_the_start_with_one_line(
    tg: TelegramStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'a.db'}", tg)
    service = Service(settings, worker="t")
    face = TelegramFace(service, settings)
    face.webhook = TelegramWebhook(face)
    await face.start(polling=False)
    try:
        tg.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
        with pytest.raises(typer.Exit) as exit_info:
            await _register_webhooks([face])
        assert exit_info.value.exit_code == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert "setWebhook failed" in line and "failed to resolve host" in line.lower()
        tg.remove_method("setWebhook")  # a Bot API server without webhooks
        with pytest.raises(WebhookError, match="no setWebhook there"):
            await face.webhook.register()
    finally:
        await face.stop()
        await service.close()


def test_webhook_settings_are_checked() -> None:
    from bot.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_URL"):
        load_settings(telegram_webhook_url="ftp://x.example/hook")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_URL.*taken"):
        load_settings(telegram_webhook_url="https://x.example/ingest")
    with pytest.raises(SettingsError, match=r"TELEGRAM_WEBHOOK_SECRET=\(hidden\)"):
        load_settings(telegram_webhook_secret="has spaces")
    ok = load_settings(telegram_webhook_url="https://x.example/tg/hook", telegram_token=TOKEN)
    assert ok.webhook_path == "/tg/hook" and ok.needs_http


async def test_slack_http_telegram_webhook_and_ingest_share_one_server(
    tg: TelegramStub, tmp_path: Path, seeded: Path
) -> None:
    """What ``alertbot run`` wires: both faces on the app of POST /ingest; a signed slash
    command is answered there, a Telegram update too, and /ingest still ingests."""
    async with SlackStub() as slack:
        shutil.copyfile(seeded, tmp_path / "a.db")
        settings = settings_for(
            f"sqlite:///{tmp_path / 'a.db'}",
            tg,
            slack_bot_token=SecretStr(BOT_TOKEN),
            slack_signing_secret=SecretStr(SIGNING_SECRET),
            slack_api_url=slack.api_url,
        )
        service = Service(settings, worker="shared")
        service.load_watchlists()
        web_app = make_web_app(service)
        faces = await _start_faces(service, settings, web_app)
        try:
            async with TestClient(TestServer(web_app, host="127.0.0.1")) as http:
                await _register_webhooks(faces)
                paths = {r.resource.canonical for r in web_app.router.routes() if r.resource}
                assert {"/ingest", "/healthz", "/metrics", "/slack/events", HOOK_PATH} <= paths
                body = slash_command_body("help", response_url=slack.response_url("h1"))
                resp = await http.post(
                    "/slack/events", data=body.encode(), headers=signed_headers(body)
                )
                assert resp.status == 200
                (response,) = await slack.wait_for("response")
                assert response.params["_key"] == "h1" and "subscribe" in str(response.params)
                forged = signed_headers(body) | {"x-slack-signature": "v0=" + "0" * 64}
                resp = await http.post("/slack/events", data=body.encode(), headers=forged)
                assert resp.status == 401
                url, raw, headers = tg.webhook_request(help_update(tg, 701))
                resp = await http.post(urlsplit(url).path, data=raw, headers=headers)
                assert resp.status == 200
                await tg.wait_for("sendMessage", 1, where=lambda c: c.params["chat_id"] == 701)
                article = {"title": "Troops arrive", "text": "Soldiers arrived at the border."}
                resp = await http.post(
                    "/ingest", json=article, headers={"Authorization": f"Bearer {INGEST}"}
                )
                assert resp.status == 200 and (await resp.json())["stored"] == 1
        finally:
            for face in faces:
                await face.stop()
            await service.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "a.db"
    svc = Service(
        Settings(database_url=f"sqlite:///{path}", watchlist_dir=ROOT / "watchlists"), worker="s"
    )
    svc.load_watchlists()
    svc.engine.dispose()
    return path
