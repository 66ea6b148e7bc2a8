"""A local stand-in for the Telegram Bot API, speaking its wire format.

The real python-telegram-bot talks to it over loopback HTTP (``base_url``),
so PTB's own request encoding, response parsing and error mapping run in the
tests. What it does, as https://core.telegram.org/bots/api documents it:

* ``POST /bot<TOKEN>/<method>`` with form-encoded, multipart (files) or JSON
  parameters. PTB sends string parameters raw and every other value
  JSON-encoded; the stub decodes accordingly. Method names are
  case-insensitive, like Telegram's.
* ``{"ok": true, "result": …}``, or ``{"ok": false, "error_code": …,
  "description": …, "parameters": {"retry_after": n}}`` with the same HTTP
  status (400, 403, 404, 429).
* ``getUpdates`` honours ``offset`` (confirms earlier updates), ``limit``,
  ``allowed_updates`` and the long-poll ``timeout``.
* ``parse_mode=HTML`` is parsed as Telegram does it: only the supported tags,
  only ``&lt; &gt; &amp; &quot;`` and numeric entities, tags properly nested —
  anything else is the same 400 "can't parse entities" — and the message is
  stored as text plus entities (UTF-16 offsets). Texts over 4096 characters
  and captions over 1024 (after parsing) are refused as Telegram refuses them.
* Files: ``sendDocument``/``sendPhoto`` (multipart), ``getFile`` and the
  download URL ``/file/bot<TOKEN>/<file_path>``.
* Webhooks (https://core.telegram.org/bots/api#setwebhook): ``setWebhook``
  checks ``secret_token`` (1-256 characters of ``A-Za-z0-9_-``) and
  ``max_connections`` (1-100) and records the webhook (:attr:`webhook`);
  ``getWebhookInfo`` reports it; ``deleteWebhook`` removes it; while one is
  set, ``getUpdates`` is a 409 Conflict, as Telegram answers. The stub does
  not post to the URL itself: :meth:`webhook_request` gives what Telegram
  would post (the update and the secret header) for a test to send.

A test builds a small world (users, chats, members, files), queues updates
(:meth:`TelegramStub.send_text`, :meth:`press_button`, :meth:`send_document`),
injects failures (:meth:`flood`, :meth:`block`, :meth:`chat_not_found`,
:meth:`remove_method`) and inspects :attr:`calls` or waits for them
(:meth:`wait_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

TOKEN = "123456:TEST-token-for-the-stub"
BOT_ID = 123456
BOT_USERNAME = "alertbot_test_bot"

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

# Parameters Telegram types as String: PTB sends them raw, never JSON-encoded.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "action",
        "file_id",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "secret_token",
        "ip_address",
        "title",
        "description",
        "short_description",
        "name",
    }
)

ALLOWED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: (text, entities), or ApiError 400 like the real server.

    Offsets and lengths of entities are in UTF-16 code units.
    """

    def fail(why: str) -> ApiError:
        return ApiError(400, f"Bad Request: can't parse entities: {why}")

    def byte_offset(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    out: list[str] = []
    out_len = 0  # UTF-16 units so far
    stack: list[tuple[str, int, JSON]] = []  # (tag, start offset, entity extras)
    entities: list[JSON] = []
    tag_re = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
    attr_re = re.compile(r'([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s"\'>]+))')
    entity_re = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
    pos = 0
    while pos < len(source):
        ch = source[pos]
        if ch == "<":
            m = tag_re.match(source, pos)
            if not m:
                raise fail(f"Unexpected end name token at byte offset {byte_offset(pos)}")
            closing, tag, attrs, _ = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
            if tag not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                raise fail(f'Unsupported {kind} tag "{tag}" at byte offset {byte_offset(pos)}')
            if closing:
                if not stack or stack[-1][0] != tag:
                    raise fail(
                        f'Unmatched end tag at byte offset {byte_offset(pos)}, expected "</{stack[-1][0]}>", found "</{tag}>"'
                        if stack
                        else f"Unexpected end tag at byte offset {byte_offset(pos)}"
                    )
                open_tag, start, extra = stack.pop()
                if out_len > start:
                    entity = {
                        "type": ALLOWED_TAGS[open_tag],
                        "offset": start,
                        "length": out_len - start,
                    }
                    entity.update(extra)
                    entities.append(entity)
            else:
                extra: JSON = {}
                values = {
                    a.group(1).lower(): unescape(a.group(2) or a.group(3) or a.group(4) or "")
                    for a in attr_re.finditer(attrs)
                }
                if tag == "a":
                    href = values.get("href", "")
                    if not re.match(r"^(https?|tg|mailto)://|^mailto:", href):
                        raise fail(f'Unsupported URL protocol in "{href}"')
                    extra["url"] = href
                if tag == "span" and values.get("class") != "tg-spoiler":
                    raise fail(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(pos)}'
                    )
                stack.append((tag, out_len, extra))
            pos = m.end()
        elif ch == "&":
            m = entity_re.match(source, pos)
            if not m:
                raise fail(f"Character entity expected at byte offset {byte_offset(pos)}")
            decoded = unescape(m.group())
            out.append(decoded)
            out_len += utf16_len(decoded)
            pos = m.end()
        elif ch == ">":
            # Telegram tolerates a bare '>' but html.escape always writes &gt;
            out.append(ch)
            out_len += 1
            pos += 1
        else:
            nxt = min(
                (i for i in (source.find("<", pos), source.find("&", pos)) if i >= 0),
                default=len(source),
            )
            nxt = max(nxt, pos + 1)
            chunk = source[pos:nxt]
            out.append(chunk)
            out_len += utf16_len(chunk)
            pos = nxt
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


@dataclass
class Call:
    """One request the bot made."""

    method: str  # as Telegram names it, e.g. "sendMessage"
    params: JSON
    # field name → (filename, content, content type)
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    status: int = 0  # the HTTP status answered; 0 while the request is in flight
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Failure:
    code: int
    description: str
    parameters: JSON | None = None
    chat_id: int | None = None  # only requests to this chat fail (None: any)


Handler = Callable[[JSON, dict[str, tuple[str, bytes, str]]], Awaitable[Any]]


class TelegramStub:
    """A loopback Bot API server. ``async with TelegramStub() as tg: …`` or start()/stop()."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Alert Bot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        self.chats: dict[int, JSON] = {}
        self.members: dict[tuple[int, int], str] = {}
        self.files: dict[str, tuple[JSON, bytes]] = {}  # file_id → (File, content)
        self.messages: dict[tuple[int, int], JSON] = {}  # (chat id, message id) → Message
        self.commands: list[JSON] | None = None
        self.webhook: JSON | None = None  # the parameters of the last setWebhook
        self.removed: set[str] = set()
        self._failures: dict[str, list[Failure]] = {}
        self._updates: list[JSON] = []
        self._arrived = asyncio.Event()
        self._poll_generation = 0  # a newer getUpdates ends an older one (409), as Telegram does
        self._called = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._delays: dict[str, float] = {}
        self.port = 0
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getChatMember": self._get_chat_member,
                "sendChatAction": self._send_chat_action,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "getFile": self._get_file,
            }.items()
        }

    # --- server ------------------------------------------------------------------

    async def start(self) -> TelegramStub:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.05)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """What TELEGRAM_API_URL would be: the token is appended by PTB."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        params, files = await _read_params(request)
        name = request.match_info["method"]
        known = self._methods.get(name.lower())
        call = Call(known[0] if known else name, params, files)
        self.calls.append(call)
        self._signal()
        try:
            if known is None or known[0] in self.removed:
                raise ApiError(404, "Not Found: method not found")
            self._maybe_fail(known[0], params)
            if self._delays.get(known[0]):
                await asyncio.sleep(self._delays[known[0]])
            result = await known[1](params, files)
        except ApiError as err:
            call.status = err.code
            self._signal()
            return _error(err)
        call.status = 200
        self._signal()
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        for meta, content in self.files.values():
            if meta.get("file_path") == path:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    def _signal(self) -> None:
        self._called.set()
        self._called = asyncio.Event()

    # --- the world -------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Ann", username: str | None = None) -> JSON:
        """A User object (https://core.telegram.org/bots/api#user)."""
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
        }
        if username:
            user["username"] = username
        return user

    def private_chat(self, user: JSON) -> JSON:
        """The one-to-one chat with ``user`` (its id is the user's id)."""
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        self.chats[chat["id"]] = chat
        return chat

    def group(
        self, chat_id: int = -1001234567890, title: str = "Desk", kind: str = "supergroup"
    ) -> JSON:
        chat: JSON = {"id": chat_id, "type": kind, "title": title}
        self.chats[chat_id] = chat
        return chat

    def set_member(self, chat: JSON, user: JSON, status: str) -> None:
        """``status``: creator, administrator, member, left or kicked (what getChatMember says)."""
        self.members[(chat["id"], user["id"])] = status

    def add_file(
        self, content: bytes, file_name: str, mime_type: str = "application/octet-stream"
    ) -> JSON:
        """A stored file; returns its Document object."""
        n = next(self._file_ids)
        file_id, unique = f"BQACAgIAAx{n:06d}", f"AgAD{n:06d}"
        meta = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_size": len(content),
            "file_path": f"documents/file_{n}{_suffix(file_name)}",
        }
        self.files[file_id] = (meta, content)
        return {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    # --- updates ---------------------------------------------------------------------

    def queue_update(self, update: JSON) -> int:
        """Queue a raw Update (``update_id`` added when missing); returns its id."""
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._arrived.set()
        return int(update["update_id"])

    def message(
        self,
        chat: JSON,
        user: JSON,
        text: str | None = None,
        *,
        reply_to: JSON | None = None,
        **extra: Any,
    ) -> JSON:
        """A Message from ``user`` in ``chat``, with bot_command and mention entities as Telegram makes them."""
        self.chats.setdefault(chat["id"], chat)
        msg: JSON = {
            "message_id": next(self._message_ids),
            "from": user,
            "date": int(time.time()),
            "chat": chat,
        }
        if text is not None:
            msg["text"] = text
            entities = text_entities(text)
            if entities:
                msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        msg.update(extra)
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def send_text(self, chat: JSON, user: JSON, text: str, *, reply_to: JSON | None = None) -> JSON:
        """``user`` writes ``text`` in ``chat``: queues the update; returns the Message."""
        msg = self.message(chat, user, text, reply_to=reply_to)
        self.queue_update({"message": msg})
        return msg

    def send_document(
        self,
        chat: JSON,
        user: JSON,
        content: bytes,
        file_name: str,
        *,
        mime_type: str = "application/x-yaml",
        caption: str | None = None,
    ) -> JSON:
        document = self.add_file(content, file_name, mime_type)
        extra: JSON = {"document": document}
        if caption:
            extra["caption"] = caption
            entities = text_entities(caption)
            if entities:
                extra["caption_entities"] = entities
        msg = self.message(chat, user, **extra)
        self.queue_update({"message": msg})
        return msg

    def press_button(self, message: JSON, user: JSON, data: str) -> str:
        """``user`` presses a button with ``data`` under ``message``; returns the query id."""
        query_id = f"{next(self._callback_ids)}{int(time.time())}"
        self.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": f"-{abs(message['chat']['id'])}77",
                    "data": data,
                }
            }
        )
        return query_id

    # --- failures --------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        *,
        times: int = 1,
        parameters: JSON | None = None,
        chat_id: int | None = None,
    ) -> None:
        self._failures.setdefault(method.lower(), []).extend(
            Failure(code, description, parameters, chat_id) for _ in range(times)
        )

    def flood(self, method: str = "sendMessage", retry_after: int = 1, *, times: int = 1) -> None:
        """The next ``times`` calls get 429 with ``retry_after`` seconds."""
        self.fail_next(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            parameters={"retry_after": retry_after},
        )

    def slow(self, method: str, seconds: float) -> None:
        """Every later call of ``method`` waits ``seconds`` before it is answered."""
        self._delays[method] = seconds

    def block(self, method: str = "sendMessage", *, times: int = 1) -> None:
        self.fail_next(method, 403, "Forbidden: bot was blocked by the user", times=times)

    def chat_not_found(self, method: str = "sendMessage", *, times: int = 1) -> None:
        self.fail_next(method, 400, "Bad Request: chat not found", times=times)

    def remove_method(self, method: str) -> None:
        """The method answers 404 like an unknown method (an older or partial server)."""
        self.removed.add(method)

    def _maybe_fail(self, method: str, params: JSON) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        for i, failure in enumerate(queue):
            if failure.chat_id is None or failure.chat_id == params.get("chat_id"):
                del queue[i]
                raise ApiError(failure.code, failure.description, failure.parameters)

    # --- inspection --------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower() and (ok is None or c.ok == ok)
        ]

    def sent(self, chat_id: int | None = None) -> list[JSON]:
        """Messages the bot sent (sendMessage/sendDocument/sendPhoto), oldest first."""
        return [
            m
            for (cid, _), m in sorted(self.messages.items(), key=lambda kv: kv[1]["message_id"])
            if m.get("from", {}).get("id") == self.bot["id"] and (chat_id is None or cid == chat_id)
        ]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` (matching ``where``) were made."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._called  # before looking: a call made meanwhile sets this one
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                seen = ", ".join(c.method for c in self.calls[-20:])
                raise AssertionError(
                    f"{count} × {method} not seen in {timeout}s; last calls: {seen}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)

    # --- methods -----------------------------------------------------------------------

    async def _true(self, params: JSON, files: Any) -> bool:
        return True

    async def _get_me(self, params: JSON, files: Any) -> JSON:
        return self.bot

    async def _set_webhook(self, params: JSON, files: Any) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: parameter \"url\" is required")
        if url == "":
            self.webhook = None
            return True
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = params.get("max_connections", 40)
        if not _is_int(connections) or not 1 <= int(connections) <= 100:
            raise ApiError(400, "Bad Request: invalid max_connections specified")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = dict(params)
        return True

    async def _delete_webhook(self, params: JSON, files: Any) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON, files: Any) -> JSON:
        hook = self.webhook or {}
        info: JSON = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook:
            info["max_connections"] = int(hook.get("max_connections", 40))
            if hook.get("allowed_updates") is not None:
                info["allowed_updates"] = hook["allowed_updates"]
        return info

    def webhook_request(self, update: JSON) -> tuple[str, bytes, dict[str, str]]:
        """What Telegram would POST for ``update`` to the webhook set: URL, body, headers."""
        if self.webhook is None:
            raise AssertionError("no webhook set")
        headers = {"Content-Type": "application/json"}
        if self.webhook.get("secret_token") is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
        return str(self.webhook["url"]), json.dumps(update).encode(), headers

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def _get_updates(self, params: JSON, files: Any) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = time.monotonic() + timeout
        self._poll_generation += 1
        generation = self._poll_generation
        self._arrived.set()  # wakes an older long poll, which then ends with 409
        await asyncio.sleep(0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = [u for u in self._updates if _allowed(u, allowed)]
            left = deadline - time.monotonic()
            if ready or left <= 0:
                return ready[:limit]
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def _chat(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self.chats.get(int(chat_id)) if _is_int(chat_id) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _bot_message(self, chat: JSON, params: JSON, **content: Any) -> JSON:
        msg: JSON = {
            "message_id": next(self._message_ids),
            "from": {k: self.bot[k] for k in ("id", "is_bot", "first_name", "username")},
            "date": int(time.time()),
            "chat": chat,
        }
        if params.get("message_thread_id"):
            msg["message_thread_id"] = params["message_thread_id"]
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            original = self.messages.get((chat["id"], int(reply["message_id"])))
            if original is not None:
                msg["reply_to_message"] = original
            elif not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
        msg.update(content)
        markup = params.get("reply_markup")
        if markup is not None:
            _check_markup(markup)
            if "inline_keyboard" in markup:
                msg["reply_markup"] = markup
        if isinstance(params.get("link_preview_options"), dict):
            msg["link_preview_options"] = params["link_preview_options"]
        self.messages[(chat["id"], msg["message_id"])] = msg
        return msg

    async def _send_message(self, params: JSON, files: Any) -> JSON:
        chat = self._chat(params)
        text, entities = _formatted(params.get("text"), params, "text", TEXT_LIMIT)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, params, **content)

    async def _edit_message_text(self, params: JSON, files: Any) -> JSON | bool:
        if params.get("inline_message_id"):
            _formatted(params.get("text"), params, "text", TEXT_LIMIT)
            return True
        chat = self._chat(params)
        msg = self.messages.get((chat["id"], int(params.get("message_id") or 0)))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        text, entities = _formatted(params.get("text"), params, "text", TEXT_LIMIT)
        if (
            text == msg.get("text")
            and entities == msg.get("entities", [])
            and "reply_markup" not in params
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            )
        msg["text"] = text
        msg["edit_date"] = int(time.time())
        if entities:
            msg["entities"] = entities
        else:
            msg.pop("entities", None)
        if "reply_markup" in params:
            _check_markup(params["reply_markup"])
            msg["reply_markup"] = params["reply_markup"]
        return msg

    async def _answer_callback_query(self, params: JSON, files: Any) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _set_my_commands(self, params: JSON, files: Any) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100 BotCommand")
        for cmd in commands:
            name, desc = str(cmd.get("command", "")), str(cmd.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands = commands
        return True

    async def _get_chat_member(self, params: JSON, files: Any) -> JSON:
        chat = self._chat(params)
        user_id = int(params.get("user_id") or 0)
        status = self.members.get((chat["id"], user_id), "member")
        user = self.user(user_id, first_name=f"User {user_id}")
        if user_id == self.bot["id"]:
            user = {k: self.bot[k] for k in ("id", "is_bot", "first_name", "username")}
        if status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if status == "administrator":
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if status == "left":
            return {"status": "left", "user": user}
        return {"status": "member", "user": user}

    async def _send_chat_action(self, params: JSON, files: Any) -> bool:
        self._chat(params)
        if params.get("action") not in {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _send_document(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._chat(params)
        name, content, mime = _upload(params, files, "document")
        document = self.add_file(content, name, mime)
        caption = _caption(params)
        return self._bot_message(chat, params, document=document, **caption)

    async def _send_photo(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._chat(params)
        name, content, mime = _upload(params, files, "photo")
        stored = self.add_file(content, name, mime)
        size = {
            "file_id": stored["file_id"],
            "file_unique_id": stored["file_unique_id"],
            "width": 800,
            "height": 600,
            "file_size": len(content),
        }
        return self._bot_message(chat, params, photo=[size], **_caption(params))

    async def _get_file(self, params: JSON, files: Any) -> JSON:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return self.files[file_id][0]


# --- helpers -------------------------------------------------------------------------------


def text_entities(text: str) -> list[JSON]:
    """Entities Telegram's clients attach: a bot_command at the start, @mentions."""
    entities: list[JSON] = []
    command = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
    for m in re.finditer(r"(?<![\w/@])@[A-Za-z0-9_]{3,32}", text):
        entities.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group()),
            }
        )
    return sorted(entities, key=lambda e: e["offset"])


def _formatted(value: Any, params: JSON, what: str, limit: int) -> tuple[str, list[JSON]]:
    if value is None or (what == "text" and not str(value).strip()):
        raise ApiError(400, f"Bad Request: message {what} is empty")
    raw = str(value)
    mode = str(params.get("parse_mode") or "")
    if mode.lower() == "html":
        text, entities = parse_html(raw)
    elif mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {mode!r} in the stub")
    else:
        text = raw
        given = params.get("entities" if what == "text" else "caption_entities")
        entities = list(given) if isinstance(given, list) else []
    if what == "text" and not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > limit:
        raise ApiError(
            400,
            "Bad Request: message is too long"
            if what == "text"
            else "Bad Request: message caption is too long",
        )
    return text, entities


def _caption(params: JSON) -> JSON:
    if not params.get("caption"):
        return {}
    text, entities = _formatted(params["caption"], params, "caption", CAPTION_LIMIT)
    out: JSON = {"caption": text}
    if entities:
        out["caption_entities"] = entities
    return out


def _upload(
    params: JSON, files: dict[str, tuple[str, bytes, str]], field_name: str
) -> tuple[str, bytes, str]:
    value = params.get(field_name)
    if isinstance(value, str) and value.startswith("attach://"):
        key = value[len("attach://") :]
        if key in files:
            return files[key]
    if field_name in files:
        return files[field_name]
    raise ApiError(400, f"Bad Request: there is no {field_name} in the request")


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ApiError(
            400,
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        )
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise ApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def _allowed(update: JSON, allowed: Any) -> bool:
    if not allowed:
        return True
    return any(key in update for key in allowed)


def _is_int(value: Any) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _suffix(name: str) -> str:
    m = re.search(r"\.[A-Za-z0-9]{1,8}$", name)
    return m.group() if m else ""


def _error(err: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": err.code, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    return web.json_response(body, status=err.code)


def _decode(name: str, value: str) -> Any:
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes, str]]]:
    params: JSON = {k: _decode(k, v) for k, v in request.query.items()}
    files: dict[str, tuple[str, bytes, str]] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = (value.filename, value.file.read(), value.content_type)
        else:
            params[key] = _decode(key, str(value))
    return params, files
