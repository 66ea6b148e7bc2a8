"""Telegram in webhook mode: ``setWebhook`` at start, updates POSTed to our HTTP server.

https://core.telegram.org/bots/api#setwebhook: Telegram POSTs each update as
JSON to the URL given to ``setWebhook``, with the ``secret_token`` we chose in
the ``X-Telegram-Bot-Api-Secret-Token`` header, and re-sends it until a
request answers 2xx. So:

* a request without the header is refused 401, one with a wrong one 403
  (one log line each; nothing of the body is read);
* an update is claimed in the database by ``(bot id, update_id)`` before it is
  processed (``bot.store.updates``): when two replicas receive the same update
  (a retry after a slow answer), the second answers 200 and does nothing;
* the claimed update goes to python-telegram-bot's ``Application.update_queue``
  (the same path as a polled one) and the request is answered at once, so a
  slow command never makes Telegram retry. A crash between the claim and the
  processing loses that update (at most once, like a digest).

The secret is ``TELEGRAM_WEBHOOK_SECRET``, or by default derived from the bot
token (HMAC-SHA256), so that every replica calling ``setWebhook`` sets, and
checks, the same one. Stopping a replica leaves the webhook in place (the
other replicas still serve it); polling mode removes it at start
(``deleteWebhook``, as python-telegram-bot's ``start_polling`` does).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

from aiohttp import web
from telegram import Update
from telegram.error import EndPointNotFound, InvalidToken, TelegramError

from bot.config import Settings
from bot.limits import MAX_WEBHOOK_BODY
from bot.logs import bind, register_secrets
from bot.runtime.webapp import read_body
from bot.store import session_scope
from bot.store.updates import claim_update, forget_updates
from handlers.telegram import TelegramFace

log = logging.getLogger("alertbot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # what polling asks for too
FORGET_EVERY_S = 3600.0  # old update keys are dropped at most this often per process


class WebhookError(RuntimeError):
    """``setWebhook`` failed: the one line ``alertbot run`` stops with (exit 2)."""


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the bot token (the same on every replica;
    64 hex characters, which the Bot API accepts)."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_TOKEN is not set")
    token = settings.telegram_token.get_secret_value().encode()
    return hmac.new(token, b"alertbot telegram webhook secret", hashlib.sha256).hexdigest()


class TelegramWebhook:
    """The webhook endpoint of one :class:`TelegramFace` (started with ``polling=False``)."""

    def __init__(self, face: TelegramFace, settings: Settings | None = None) -> None:
        self.face = face
        self.settings = settings or face.settings
        if not self.settings.telegram_webhook_url:
            raise ValueError("TELEGRAM_WEBHOOK_URL is not set")
        self.url = self.settings.telegram_webhook_url
        self.path = self.settings.webhook_path
        self._secret = webhook_secret(self.settings)
        register_secrets([self._secret])
        self._forgotten_at = 0.0
        self.processed = 0  # updates handed to the Application by this process
        self.repeats = 0  # updates another request (or replica) had claimed already

    def mount(self, app: web.Application) -> None:
        app.router.add_post(self.path, self.handle)

    async def register(self) -> None:
        """``setWebhook`` (once the HTTP server listens: Telegram may post at once).

        Raises :class:`WebhookError` with one line when Telegram refuses it or the
        Bot API server has no such method.
        """
        try:
            await self.face.app.bot.set_webhook(
                url=self.url,
                secret_token=self._secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,  # commands sent while the bot was down still count
            )
        except (EndPointNotFound, InvalidToken) as err:
            # a 404 (PTB: InvalidToken) after getMe worked: the method is not there
            raise WebhookError(
                f"Telegram setWebhook failed: the Bot API server at TELEGRAM_API_URL answered "
                f"{err.message!r} (no setWebhook there?); unset TELEGRAM_WEBHOOK_URL to poll"
            ) from err
        except TelegramError as err:
            raise WebhookError(f"Telegram setWebhook failed for {self.url}: {err.message}") from err
        log.info("telegram: webhook set to %s", self.url)

    def _refusal(self, request: web.Request) -> tuple[int, str] | None:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return 401, f"no {SECRET_HEADER} header"
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret.encode()):
            return 403, f"wrong {SECRET_HEADER}"
        return None

    async def handle(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal is not None:
            status, reason = refusal
            log.warning(
                "telegram webhook: request from %s refused (HTTP %d): %s",
                request.remote,
                status,
                reason,
            )
            return web.Response(status=status, text=reason)
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            return self._bad(413, f"body over {MAX_WEBHOOK_BODY:,} bytes")
        body = await read_body(request, MAX_WEBHOOK_BODY)
        if body is None:
            return self._bad(413, f"body over {MAX_WEBHOOK_BODY:,} bytes")
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._bad(400, "the body is not JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return self._bad(400, "not an update: no integer update_id")
        bind(update_id=update_id)
        try:
            update = Update.de_json(data, self.face.app.bot)
        except (TypeError, ValueError, KeyError) as err:
            return self._bad(400, f"not an update: {type(err).__name__}")
        try:
            first = await asyncio.to_thread(self._claim, update_id)
        except Exception as exc:  # the database is down: Telegram retries later
            log.error("telegram webhook: update not taken in, database error: %s", exc)
            return web.Response(status=503, text="database unavailable; retry")
        if not first:
            self.repeats += 1
            log.info("telegram webhook: update %d already taken in; not processed again", update_id)
            return web.Response(text="ok")
        self.processed += 1
        await self.face.app.update_queue.put(update)
        return web.Response(text="ok")

    def _bad(self, status: int, reason: str) -> web.Response:
        log.warning("telegram webhook: request refused (HTTP %d): %s", status, reason)
        return web.Response(status=status, text=reason)

    def _claim(self, update_id: int) -> bool:
        bot_id = self.face.app.bot.id
        with session_scope(self.face.service.factory) as session:
            first = claim_update(session, bot_id, update_id)
            now = time.monotonic()
            if first and now - self._forgotten_at >= FORGET_EVERY_S:
                self._forgotten_at = now
                forget_updates(session)
            return first
