"""A stand-in for Slack on 127.0.0.1: the Web API, files, response_urls and Socket Mode.

It speaks the wire format the real slack_sdk / slack-bolt use, so they run
unchanged against it (``AsyncWebClient(base_url=stub.api_url)``):

- ``GET|POST /api/<method>``: query, form or JSON parameters, the token in
  ``Authorization: Bearer …`` (or a ``token`` parameter); answers
  ``{"ok": true, …}`` / ``{"ok": false, "error": "…"}``; a rate limit is HTTP
  429 with ``Retry-After``. Unknown methods: ``unknown_method``.
- ``chat.postMessage`` checks what Slack checks (text or blocks, ≤ 50 blocks,
  section text ≤ 3000 characters) and answers ``invalid_blocks`` otherwise.
- ``files.info`` + the ``url_private`` download (without the bot token Slack's
  answer is its HTML login page, and so is ours).
- ``files.getUploadURLExternal`` → ``POST /upload/<id>`` → ``files.completeUploadExternal``.
- ``response_url``\\s (``POST /response/<id>``), as slash commands and buttons get.
- ``apps.connections.open`` (app token) → a WebSocket at ``/socket``: tests push
  envelopes with :meth:`SlackStub.socket_send` and read the client's acks.

Every call is recorded (:attr:`SlackStub.calls`); :meth:`fail` and
:meth:`rate_limit` make the next N calls of a method fail. The helpers at the
bottom build and sign the requests Slack sends to an app.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
BOT_USER_ID = "UBOT"
TEAM_ID = "T0TEST"

SECTION_LIMIT = 3000
MAX_BLOCKS = 50

LOGIN_PAGE = b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"


@dataclass
class Call:
    """One request to the stub."""

    method: str  # "chat.postMessage", "response", "upload", "download"
    params: dict[str, Any]
    token: str | None
    http_method: str = "POST"
    body: bytes = b""
    result: dict[str, Any] | None = None  # what the stub answered (Web API methods)


@dataclass
class _Failure:
    times: int
    status: int = 200
    error: str = ""
    retry_after: int | None = None


@dataclass
class StoredFile:
    id: str
    name: str
    content: bytes
    mimetype: str = "text/plain"
    user: str = "U1"
    channels: list[str] = field(default_factory=list)


class SlackStub:
    """Run with ``async with SlackStub() as stub:`` (or :meth:`start`/:meth:`stop`)."""

    def __init__(
        self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN, bot_user_id: str = BOT_USER_ID
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, bytes] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.root = ""

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> SlackStub:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.root = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """What goes into ``SLACK_API_URL`` / ``AsyncWebClient(base_url=…)``."""
        return f"{self.root}/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.root}/response/{key}"

    # --- test controls ---------------------------------------------------------------

    def fail(
        self, method: str, error: str = "channel_not_found", *, times: int = 1, status: int = 200
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, []).append(_Failure(times, status, error))

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After``."""
        self._failures.setdefault(method, []).append(
            _Failure(times, 429, "ratelimited", retry_after)
        )

    def add_user(self, user_id: str, **flags: Any) -> None:
        """A user for ``users.info`` (``is_admin=True``, ``is_owner=True``, …)."""
        self.users[user_id] = {"id": user_id, "name": user_id.lower(), "team_id": TEAM_ID, **flags}

    def add_file(
        self, name: str, content: bytes, *, user: str = "U1", mimetype: str = "text/plain"
    ) -> StoredFile:
        file_id = f"F{next(self._ids):06d}"
        stored = StoredFile(file_id, name, content, mimetype, user)
        self.files[file_id] = stored
        return stored

    def file_meta(self, stored: StoredFile) -> dict[str, Any]:
        """``files.info``'s ``file`` object for ``stored``."""
        url = f"{self.root}/files/{stored.id}/{stored.name}"
        return {
            "id": stored.id,
            "name": stored.name,
            "title": stored.name,
            "mimetype": stored.mimetype,
            "filetype": stored.name.rsplit(".", 1)[-1],
            "size": len(stored.content),
            "user": stored.user,
            "url_private": url,
            "url_private_download": url + "?download=1",
            "channels": stored.channels,
        }

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (matching ``where``); those calls."""

        def matching() -> list[Call]:
            return [c for c in self.called(method) if where is None or where(c)]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(matching()) >= count), timeout
            )
        return matching()

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to the connected app."""
        deadline = time.monotonic() + 5
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode client connected")
            await asyncio.sleep(0.02)
        await self._sockets[-1].send_str(json.dumps(envelope))

    async def wait_for_socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [a for a in self.socket_acks if a.get("envelope_id") == envelope_id]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(found())), timeout)
        return found()[0]

    # --- plumbing ------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _next_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    @staticmethod
    async def _params(request: web.Request) -> tuple[dict[str, Any], bytes]:
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if request.method == "POST" and body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "attachments", "files"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params, body

    @staticmethod
    def _token_of(request: web.Request, params: dict[str, Any]) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        token = params.pop("token", None)
        return str(token) if token else None

    def _ts_now(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # --- the Web API ------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, body = await self._params(request)
        token = self._token_of(request, params)
        call = Call(method, params, token, request.method, body)
        await self._record(call)
        failure = self._next_failure(method)
        if failure is not None:
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method", "req_method": method})
        wanted = self.app_token if method == "apps.connections.open" else self.token
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != wanted:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call.result = handler(params)
        return web.json_response(call.result)

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://stub.slack.com/",
            "team": "Stub",
            "user": "alertbot",
            "team_id": TEAM_ID,
            "user_id": self.bot_user_id,
            "bot_id": "BSTUB",
            "is_enterprise_install": False,
        }

    def _message(self, params: dict[str, Any]) -> dict[str, Any] | str:
        """The posted message, or the error Slack would answer."""
        channel = params.get("channel")
        if not channel:
            return "channel_not_found"
        blocks = params.get("blocks") or []
        text = params.get("text") or ""
        if not text and not blocks:
            return "no_text"
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            if block.get("type") == "section":
                section = (block.get("text") or {}).get("text", "")
                if not section or len(section.encode("utf-16-le")) // 2 > SECTION_LIMIT:
                    return "invalid_blocks"
            elif block.get("type") == "actions":
                elements = block.get("elements") or []
                ids = [e.get("action_id") for e in elements]
                if not elements or len(elements) > 25 or len(ids) != len(set(ids)):
                    return "invalid_blocks"
        return {"type": "message", "text": text, "blocks": blocks, "user": self.bot_user_id}

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        if isinstance(message, str):
            return {"ok": False, "error": message}
        ts = self._ts_now()
        message["ts"] = ts
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        message = self._message(params)
        if isinstance(message, str):
            return {"ok": False, "error": message}
        return {
            "ok": True,
            "channel": params["channel"],
            "ts": params["ts"],
            "text": message["text"],
        }

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        message = self._message(params)
        if isinstance(message, str):
            return {"ok": False, "error": message}
        return {"ok": True, "message_ts": self._ts_now()}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file", "")))
        if stored is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self.file_meta(stored)}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):06d}"
        self.files[file_id] = StoredFile(file_id, str(params["filename"]), b"")
        return {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        out = []
        for item in files:
            stored = self.files.get(str(item.get("id")))
            if stored is None or stored.id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            stored.content = self.uploads[stored.id]
            channel = params.get("channel_id")
            if channel:
                stored.channels.append(str(channel))
            out.append({**self.file_meta(stored), "title": item.get("title") or stored.name})
        return {"ok": True, "files": out}

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ws_root = self.root.replace("http://", "ws://")
        return {"ok": True, "url": f"{ws_root}/socket"}

    # --- the rest of Slack --------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        """A response_url: JSON message bodies, answered with ``ok``."""
        body = await request.read()
        try:
            params = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        params["_key"] = request.match_info["key"]
        await self._record(Call("response", params, None, "POST", body))
        failure = self._next_failure("response")
        if failure is not None:
            return web.Response(status=failure.status or 500, text=failure.error)
        blocks = params.get("blocks") or []
        if len(blocks) > MAX_BLOCKS or any(
            len((b.get("text") or {}).get("text") or "") > SECTION_LIMIT for b in blocks
        ):
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        body = await request.read()
        await self._record(Call("upload", {"file_id": file_id}, None, "POST", body))
        if file_id not in self.files:
            return web.Response(status=404, text="not found")
        self.uploads[file_id] = body
        return web.Response(text=f"OK - {len(body)}")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        await self._record(Call("download", {"file_id": file_id}, token, "GET"))
        stored = self.files.get(file_id)
        if token != self.token:
            return web.Response(body=LOGIN_PAGE, content_type="text/html")
        if stored is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=stored.content, content_type=stored.mimetype)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    async with self._changed:
                        self.socket_acks.append(data)
                        self._changed.notify_all()
        finally:
            self._sockets.remove(ws)
        return ws


# --- what Slack sends to an app -------------------------------------------------------


def signed_headers(
    body: str,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers of a request from Slack, signed as Slack signs them."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "content-type": content_type,
        "x-slack-signature": signature,
        "x-slack-request-timestamp": ts,
    }


def forged_signature(body: str, timestamp: int) -> str:
    """A well-formed signature made with the wrong secret."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(b"wrong-secret", base, hashlib.sha256).hexdigest()


def slash_command_body(
    text: str,
    *,
    response_url: str,
    channel: str = "C1",
    user: str = "U1",
    command: str = "/alertbot",
    channel_name: str = "newsdesk",
    user_name: str = "ana",
) -> str:
    """The form body of a slash command."""
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "stub",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0STUB",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def event_body(event: dict[str, Any], *, event_id: str = "Ev1") -> str:
    """The JSON body of an Events API callback."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0STUB",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
    )


def mention_event(
    text: str, *, channel: str = "C1", user: str = "U1", ts: str = "1700000000.000100", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **extra,
    }


def block_actions_payload(
    data: str,
    *,
    response_url: str,
    channel: str = "C1",
    user: str = "U1",
    message_ts: str = "1700000000.000200",
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "ana", "team_id": TEAM_ID},
        "api_app_id": "A0STUB",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM_ID, "domain": "stub"},
        "channel": {"id": channel, "name": "newsdesk"},
        "message": {"type": "message", "ts": message_ts, "text": "alert", "user": BOT_USER_ID},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": f"alertbot:{data}",
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Explain"},
                "value": data,
                "action_ts": "1700000001.000300",
            }
        ],
    }


def interactive_body(payload: dict[str, Any]) -> str:
    """The form body of an interactivity request (``payload=<json>``)."""
    return urlencode({"payload": json.dumps(payload)})
