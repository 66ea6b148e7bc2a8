"""The Slack face: slack-bolt's ``AsyncApp`` (Socket Mode or HTTP) → ``handlers.commands``.

Inbound
    ``/alertbot <command> …`` (one slash command), ``@alertbot <command> …``
    (``app_mention``, answered in the thread), plain messages in the bot's DM,
    buttons (``block_actions`` whose ``action_id`` starts with ``alertbot:``;
    the value is ``Button.data``) and watchlist YAML files shared with the bot
    (``file_shared`` / ``message`` ``file_share``: ``files.info`` and a download
    of ``url_private`` with the bot token).

Outbound
    :func:`render_reply` turns a :class:`Reply` into Slack messages: mrkdwn
    with ``&``, ``<`` and ``>`` escaped in every piece of user or article text,
    section blocks of at most 3000 characters (split at line, then sentence,
    then word boundaries — never inside a piece of markup), at most 50 blocks
    per message (more → several messages), buttons as ``actions`` blocks, and a
    plain ``text`` fallback. Attachments go up with ``files_upload_v2``.
    :class:`SlackNotifier` pushes alerts with ``chat.postMessage`` and maps
    Slack's errors onto :class:`DeliveryError`.

No business logic lives here: every command, button and file goes to
``handlers.commands``; this module only knows Slack.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond, AsyncSay
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.runtime.delivery import AlertView, DeliveryError
from handlers import commands, render
from handlers.reply import Attachment, Button, CommandContext, Part, Reply

log = logging.getLogger("alertbot.slack")

__all__ = [
    "SlackFace",
    "SlackMessage",
    "SlackNotifier",
    "escape",
    "from_slack_text",
    "mrkdwn",
    "render_reply",
    "safe_url",
    "section_texts",
    "strip_mention",
]

PLATFORM = "slack"
COMMAND = "/alertbot"
EVENTS_PATH = "/slack/events"
ACTION_PREFIX = "alertbot:"

SECTION_LIMIT = 3000  # characters in a section block's text
MAX_BLOCKS = 50  # blocks in one message
MAX_BUTTONS = 25  # elements in one actions block
BUTTON_LABEL_LIMIT = 75  # a button's plain_text
FALLBACK_LIMIT = 3000  # the notification text that goes with the blocks
LINK_LABEL_LIMIT = 500
URL_LIMIT = 2000

ADMIN_CACHE_S = 300.0  # users.info answers are kept this long
SEEN_TTL_S = 600.0  # an event or file handled once, even when Slack sends it twice
MAX_FILE_BYTES = 512 * 1024  # a watchlist is a few kilobytes
DOWNLOAD_TIMEOUT_S = 30.0
CONNECT_WAIT_S = 10.0  # start() waits this long for Socket Mode, then connects in the background
YAML_SUFFIXES = (".yaml", ".yml")

# Commands that may take seconds (network, charts, full-text search): the
# slash command is acknowledged with a note, the answer follows.
SLOW_COMMANDS = frozenset({"test", "trend", "summary", "search", "addsource"})
# Answers only the asker needs to see.
PRIVATE_COMMANDS = frozenset({"help", "start"})

WORKING = "Working on it…"
# The signature headers as Slack sends them: anything else is refused before it is parsed.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
MAX_REQUEST_AGE_S = 300  # Slack's replay window

SORRY = "Sorry, something went wrong while handling that. It has been logged; please try again."

# chat.postMessage errors after which retrying this chat cannot help.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
    }
)
# Answers to auth.test / apps.connections.open that mean "fix the configuration".
TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
# Errors that mean "these blocks": the text alone is sent instead.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})
# Failures to reach Slack at all (no answer to map): transient.
_NET_ERRORS: tuple[type[BaseException], ...] = (
    SlackClientError,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
)


# --- mrkdwn -------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to (``&`` first)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _units(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units; an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


_URL_BAD = {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22"}


def safe_url(url: str) -> str | None:
    """``url`` ready for ``<url|label>``, or None when it is not a web or mail link.

    ``|``, ``<``, ``>``, spaces and quotes are percent-encoded (a ``|`` or ``>``
    would end the link early), ``&`` is escaped as Slack expects.
    """
    url = url.strip()
    if not url or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https", "mailto"):
        return None
    for bad, good in _URL_BAD.items():
        url = url.replace(bad, good)
    url = url.replace("&", "&amp;")
    return url if len(url) <= URL_LIMIT else None


def _wrap(md: str, marker: str) -> str:
    """``*text*`` with the whitespace outside the markers (``* bold*`` does not render)."""
    core = md.strip()
    if not core:
        return md
    lead = md[: len(md) - len(md.lstrip())]
    trail = md[len(md.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+")
_WORDS = re.compile(r"\S+\s*|\s+")


def _sentences(raw: str) -> list[str]:
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(raw):
        out.append(raw[pos : m.end()])
        pos = m.end()
    if pos < len(raw):
        out.append(raw[pos:])
    return out


def _pieces(raw: str, budget: int, fmt: Callable[[str], str]) -> list[str]:
    """``raw`` cut at sentence ends, then words, then characters, so ``fmt(piece)`` fits."""
    out: list[str] = []
    for sentence in _sentences(raw):
        if _units(fmt(sentence)) <= budget:
            out.append(sentence)
            continue
        for word in _WORDS.findall(sentence):
            if _units(fmt(word)) <= budget:
                out.append(word)
                continue
            cur = ""
            for ch in word:
                if cur and _units(fmt(cur + ch)) > budget:
                    out.append(cur)
                    cur = ch
                else:
                    cur += ch
            if cur:
                out.append(cur)
    return out


@dataclass(frozen=True)
class _Atom:
    """A piece of a line that is never split: its mrkdwn and its plain text."""

    md: str
    plain: str


_MARKERS = {"bold": "*", "italic": "_", "code": "`"}


def _code_text(raw: str) -> str:
    # a backtick would end the code span; Slack has no escape for it
    return escape(raw.replace("`", "ˋ"))


def _styled(kind: str, raw: str, limit: int) -> list[_Atom]:
    marker = _MARKERS.get(kind, "")
    body = _code_text if kind == "code" else escape

    def fmt(s: str) -> str:
        return _wrap(body(s), marker) if marker else body(s)

    return [_Atom(fmt(p), p) for p in _pieces(raw, limit, fmt)]


def _link(label: str, url: str, limit: int) -> list[_Atom]:
    label = " ".join(label.split()) or url
    target = safe_url(url)
    if target is None:
        return _styled("text", label, limit)
    if len(label) > LINK_LABEL_LIMIT:
        label = label[: LINK_LABEL_LIMIT - 1].rstrip() + "…"
    plain = label if label == url else f"{label} ({url})"
    md = f"<{target}>" if label == url else f"<{target}|{escape(label)}>"
    if _units(md) > limit:
        return _styled("text", plain, limit)
    return [_Atom(md, plain)]


def _pre(raw: str, limit: int) -> list[_Atom]:
    """A multi-line code part: one or more ``` blocks of whole lines."""
    budget = limit - 6
    blocks: list[str] = [""]
    for line in raw.strip("\n").split("\n"):
        for k, piece in enumerate(_pieces(line, budget - 1, _code_text) or [""]):
            joined = blocks[-1] + ("\n" if blocks[-1] and k == 0 else "") + piece
            if blocks[-1] and _units(_code_text(joined)) > budget:
                blocks.append(piece)
            else:
                blocks[-1] = joined
    return [_Atom("```" + _code_text(b) + "```", b) for b in blocks]


def _lines(parts: Iterable[Part], limit: int) -> list[list[_Atom]]:
    """The reply as lines of atoms (a ``break`` or a newline starts a line)."""
    lines: list[list[_Atom]] = [[]]
    after_pre = False
    for p in parts:
        if p.kind == "break":
            if not after_pre:
                lines.append([])
            after_pre = False
            continue
        after_pre = False
        if p.kind == "code" and "\n" in p.text.strip("\n"):
            if lines[-1]:
                lines.append([])
            for block in _pre(p.text, limit):
                lines[-1].append(block)
                lines.append([])
            after_pre = True
            continue
        if p.kind == "link":
            lines[-1].extend(_link(p.text, p.url, limit))
            continue
        for i, segment in enumerate(p.text.split("\n")):
            if i:
                lines.append([])
            if segment:
                lines[-1].extend(_styled(p.kind, segment, limit))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def section_texts(parts: Sequence[Part], limit: int = SECTION_LIMIT) -> list[tuple[str, str]]:
    """``parts`` as (mrkdwn, plain text) chunks of at most ``limit`` characters.

    Whole lines go together while they fit; a longer line is cut between
    sentences (then words); markup is never cut.
    """
    chunks: list[tuple[str, str]] = []
    md: list[str] = []
    plain: list[str] = []
    size = 0
    started = False

    def flush() -> None:
        nonlocal md, plain, size, started
        text = "".join(md).strip("\n").rstrip()
        if text.strip():
            chunks.append((text, "".join(plain).strip()))
        md, plain, size, started = [], [], 0, False

    def add(m: str, p: str, sep: str) -> None:
        nonlocal size, started
        md.append(sep + m)
        plain.append(sep + p)
        size += _units(sep + m)
        started = True

    for line in _lines(parts, limit):
        line_md = "".join(a.md for a in line)
        line_plain = "".join(a.plain for a in line)
        sep = "\n" if started else ""
        if size + _units(sep + line_md) <= limit:
            add(line_md, line_plain, sep)
            continue
        if _units(line_md) <= limit:
            flush()
            add(line_md, line_plain, "")
            continue
        for k, atom in enumerate(line):
            first = k == 0
            s = sep if first else ""
            if size + _units(s + atom.md) <= limit:
                add(atom.md, atom.plain, s)
            else:
                flush()
                add(atom.md if first else atom.md.lstrip(), atom.plain.lstrip(), "")
    flush()
    return chunks


def mrkdwn(parts: Sequence[Part]) -> str:
    """The whole reply as one mrkdwn string (no length limit; for fallbacks and logs)."""
    return "\n".join(md for md, _ in section_texts(parts, limit=10**9))


def _truncate(text: str, limit: int) -> str:
    if _units(text) <= limit:
        return text
    cut = text[: limit - 1]
    while _units(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    cut = re.sub(r"&[a-z]{0,3}$", "", cut)  # never half an escape
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class SlackMessage:
    """One Slack message: ``text`` (mrkdwn fallback for notifications) and ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


def _button(button: Button, action_ids: set[str]) -> dict[str, Any]:
    action_id = f"{ACTION_PREFIX}{button.data}"
    n = 1
    while action_id in action_ids:  # action_id must be unique within a block
        n += 1
        action_id = f"{ACTION_PREFIX}{button.data}#{n}"
    action_ids.add(action_id)
    label = " ".join(button.label.split()) or button.data
    if len(label) > BUTTON_LABEL_LIMIT:
        label = label[: BUTTON_LABEL_LIMIT - 1] + "…"
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": button.data,
    }


def _actions(rows: Sequence[Sequence[Button]]) -> list[dict[str, Any]]:
    blocks = []
    for row in rows:
        for i in range(0, len(row), MAX_BUTTONS):
            ids: set[str] = set()
            elements = [_button(b, ids) for b in row[i : i + MAX_BUTTONS]]
            if elements:
                blocks.append({"type": "actions", "elements": elements})
    return blocks


def render_reply(reply: Reply) -> list[SlackMessage]:
    """A :class:`Reply` as Slack messages (empty for a silent reply or one with no text).

    Sections of ≤ 3000 characters, ≤ 50 blocks a message, the buttons under
    the last section. The attachment is not here: it is uploaded on its own.
    """
    if reply.silent:
        return []
    sections = section_texts(reply.parts)
    actions = _actions(reply.buttons)
    batches: list[list[tuple[dict[str, Any], str]]] = [[]]
    for md, plain in sections:
        if len(batches[-1]) >= MAX_BLOCKS:
            batches.append([])
        batches[-1].append(({"type": "section", "text": {"type": "mrkdwn", "text": md}}, plain))
    if actions and len(batches[-1]) + len(actions) > MAX_BLOCKS:
        batches.append([])
    for block in actions:
        if len(batches[-1]) >= MAX_BLOCKS:
            batches.append([])
        batches[-1].append((block, ""))
    messages = []
    for batch in batches:
        if not batch:
            continue
        plain = "\n".join(p for _, p in batch if p).strip()
        if not plain:
            labels = [e["text"]["text"] for b, _ in batch for e in b.get("elements", [])]
            plain = " · ".join(labels)
        messages.append(
            SlackMessage(_truncate(escape(plain), FALLBACK_LIMIT), [b for b, _ in batch])
        )
    return messages


# --- Slack's text → plain text --------------------------------------------------

_SLACK_MARKUP = re.compile(r"<([^<>]*)>")


def _unmarkup(m: re.Match[str]) -> str:
    target, _, label = m.group(1).partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    return target  # a link: the URL itself, not its shortened label


def from_slack_text(text: str) -> str:
    """What the user typed: Slack's ``<url|label>``/``<@U1>`` markup and ``&amp;`` undone."""
    text = _SLACK_MARKUP.sub(_unmarkup, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.replace("\u00a0", " ").split(" ")).strip()


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """``<@UBOT> alerts 24h`` → ``alerts 24h`` (every mention of the bot, or the first mention)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[\s:,]*", "", text)
    else:
        text = re.sub(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*", "", text)
    return text.strip()


# --- small helpers ------------------------------------------------------------------


class _Recent:
    """Keys seen in the last ``ttl`` seconds (Slack may deliver an event or a file twice)."""

    def __init__(self, ttl: float = SEEN_TTL_S, size: int = 2000) -> None:
        self.ttl = ttl
        self.size = size
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def first_time(self, key: Hashable) -> bool:
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


def _slack_ids(admin_users: Iterable[str]) -> frozenset[str]:
    """``ADMIN_USERS`` entries that name Slack users: ``slack:U123`` or a bare ``U123``."""
    out = set()
    for item in admin_users:
        item = item.strip()
        platform, sep, ident = item.partition(":")
        if not sep:
            out.add(item)
        elif platform == PLATFORM:
            out.add(ident)
    return frozenset(out)


def _error_code(err: SlackApiError) -> str:
    try:
        return str(err.response.get("error") or "")
    except Exception:  # a response without a JSON body
        return ""


def _status(err: SlackApiError) -> int:
    return int(getattr(err.response, "status_code", 0) or 0)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    items = getattr(headers, "items", None)
    for key, value in items() if callable(items) else []:
        if str(key).lower() == "retry-after":
            if isinstance(value, list | tuple):
                value = value[0] if value else ""
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def delivery_error(err: SlackApiError) -> DeliveryError:
    """Slack's answer as a :class:`DeliveryError` (permanent, rate limited, or transient)."""
    code = _error_code(err)
    status = _status(err)
    if status == 429 or code == "ratelimited":
        after = _retry_after(getattr(err.response, "headers", None))
        after = 1.0 if after is None else after
        return DeliveryError(f"Slack rate limit, retry after {after:g}s", retry_after=after)
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"Slack refused: {code}", permanent=True)
    if status >= 500:
        return DeliveryError(f"Slack server error {status}" + (f": {code}" if code else ""))
    return DeliveryError(f"Slack error: {code or status or 'unknown'}")


# --- pushing alerts -------------------------------------------------------------------


def _channel_of(chat_key: str) -> str:
    platform, sep, channel = chat_key.partition(":")
    if platform != PLATFORM or not sep or not channel:
        raise DeliveryError(f"not a Slack chat: {chat_key!r}", permanent=True)
    return channel


class SlackNotifier:
    """Pushes alerts to Slack channels (the outbox's :class:`~bot.runtime.delivery.Notifier`).

    Its client has no rate-limit retry handler on purpose: a 429 becomes
    ``DeliveryError(retry_after=…)`` at once and the outbox reschedules the row,
    instead of one busy channel holding up every other chat's pushes.
    """

    platform = PLATFORM
    min_interval = 1.0  # Slack: about one message per second per channel

    def __init__(self, client: AsyncWebClient, *, tz: str = "UTC") -> None:
        self.client = client
        self.tz = tz

    @classmethod
    def from_settings(cls, settings: Settings, *, tz: str = "UTC") -> SlackNotifier:
        token = _secret(settings.slack_bot_token)
        if not token:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        return cls(AsyncWebClient(token=token, base_url=settings.slack_api_url), tz=tz)

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        return await self.send_reply(chat_key, render.alert_message(alert, self.tz))

    async def send_fold(self, chat_key: str, alerts: Sequence[AlertView]) -> str | None:
        """A flood's alerts in one message (more only past Slack's block limits)."""
        return await self.send_reply(chat_key, render.fold_message(alerts, self.tz))

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        """Any reply pushed unasked (an alert, a digest); DeliveryError on failure."""
        channel = _channel_of(chat_key)
        first: str | None = None
        for message in render_reply(reply):
            ts = await self._post(channel, message)
            first = first or ts
        return first

    async def _post(self, channel: str, message: SlackMessage) -> str | None:
        try:
            try:
                resp = await self.client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as err:
                if _error_code(err) not in BLOCK_ERRORS:
                    raise
                log.warning(
                    "Slack rejected the blocks (%s); sending the text alone", _error_code(err)
                )
                resp = await self.client.chat_postMessage(
                    channel=channel, text=message.text, unfurl_links=False, unfurl_media=False
                )
        except SlackApiError as err:
            raise delivery_error(err) from err
        except _NET_ERRORS as err:
            raise DeliveryError(f"Slack unreachable: {type(err).__name__}: {err}") from err
        ts = resp.get("ts")
        return str(ts) if ts else None


# --- the chat face --------------------------------------------------------------------------


@dataclass
class _Where:
    """Where an answer goes: the response_url (``respond``), a thread (``say``) or the channel."""

    channel: str
    user: str
    thread_ts: str | None = None
    respond: AsyncRespond | None = None
    say: AsyncSay | None = None
    interactive: bool = False  # a button: answer as a new message, keep the original


class _DownloadError(Exception):
    pass


class SlackFace:
    """slack-bolt ``AsyncApp`` wired to ``handlers.commands``.

    Socket Mode when ``SLACK_APP_TOKEN`` is set (``start()`` connects, ``stop()``
    closes); otherwise HTTP mode: mount :meth:`routes` (``POST /slack/events``,
    the one Request URL for events, the slash command and interactivity) on
    the process's aiohttp server. ``start()`` also checks the token
    (``auth.test``) and learns the bot's user id.
    """

    platform = PLATFORM

    def __init__(
        self,
        service: Any,
        settings: Settings | None = None,
        *,
        command: str = COMMAND,
        client: AsyncWebClient | None = None,
    ) -> None:
        self.service = service
        self.settings: Settings = settings or service.settings
        token = _secret(self.settings.slack_bot_token)
        if not token:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        self._token = token
        self.app_token = _secret(self.settings.slack_app_token)
        secret = _secret(self.settings.slack_signing_secret)
        if not self.app_token and not secret:
            raise ValueError("Slack over HTTP needs SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)")
        self.socket_mode = bool(self.app_token)
        self.command = command
        self.client = client or AsyncWebClient(token=token, base_url=self.settings.slack_api_url)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.app = AsyncApp(
            name="alertbot",
            client=self.client,
            signing_secret=secret or "",
            process_before_response=False,
        )
        self.admins = _slack_ids(self.settings.admin_users)
        self.bot_user_id: str | None = None
        self._admin_cache: dict[str, tuple[bool, float]] = {}
        self._seen = _Recent()
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Future[None] | None = None

        self.app.middleware(self._skip_timeout_retries)
        self.app.command(command)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.event("file_shared")(self._on_file_shared)
        self.app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        self.app.error(self._on_error)

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the tokens, learn the bot's id; in Socket Mode, connect.

        A token Slack refuses raises ``RuntimeError``; Slack unreachable only
        logs (HTTP mode answers anyway; Socket Mode keeps connecting in the
        background, as the SDK retries on its own).
        """
        await self._check_bot_token()
        if not self.socket_mode or self._socket is not None:
            return
        await self._check_app_token()
        self._socket = AsyncSocketModeHandler(self.app, self.app_token)
        self._connecting = asyncio.ensure_future(self._socket.connect_async())
        try:
            await asyncio.wait_for(asyncio.shield(self._connecting), CONNECT_WAIT_S)
            log.info("Slack: Socket Mode connected")
        except TimeoutError:
            log.warning("Slack: Socket Mode still connecting (in the background)")

    async def stop(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._connecting = None
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()

    async def _check_bot_token(self) -> None:
        try:
            who = await self.client.auth_test()
            self.bot_user_id = str(who.get("user_id") or "") or None
            log.info("Slack: signed in as %s in %s", who.get("user"), who.get("team"))
        except SlackApiError as err:
            code = _error_code(err)
            if code in TOKEN_ERRORS:
                raise RuntimeError(f"Slack refused SLACK_BOT_TOKEN: {code}") from err
            log.warning("Slack auth.test failed (%s); will retry on the first request", code)
        except _NET_ERRORS as err:
            log.warning("Slack unreachable at start (%s); will retry on the first request", err)

    async def _check_app_token(self) -> None:
        """The SDK retries a refused app token forever; refuse it here instead."""
        try:
            await self.client.apps_connections_open(app_token=self.app_token or "")
        except SlackApiError as err:
            code = _error_code(err)
            if code in TOKEN_ERRORS:
                raise RuntimeError(f"Slack refused SLACK_APP_TOKEN: {code}") from err
            log.warning("Slack apps.connections.open failed (%s); connecting anyway", code)
        except _NET_ERRORS as err:
            log.warning("Slack unreachable at start (%s); connecting in the background", err)

    def routes(self, path: str = EVENTS_PATH) -> list[web.RouteDef]:
        """The HTTP endpoint (events, the slash command and interactivity all post here)."""
        return [web.post(path, self.handle_http)]

    def mount(self, app: web.Application, path: str = EVENTS_PATH) -> None:
        app.router.add_routes(self.routes(path))

    async def handle_http(self, request: web.Request) -> web.Response:
        """Verify the signature here, before bolt sees the request.

        Bolt's own check raises on a malformed header (``X-Slack-Request-Timestamp:
        abc``) and its error handler then acts on the unverified body (an apology
        POSTed to whatever ``response_url`` it names). So nothing of the body is
        parsed until the signature is known good: a missing or malformed header
        or a wrong signature is a 401, a body that is not UTF-8 a 400.
        """
        raw = await request.read()
        refusal = self._refusal(request.headers, raw)
        if refusal is not None:
            status, reason = refusal
            log.info("Slack request refused (HTTP %d): %s", status, reason)
            return web.Response(status=status, text=reason)
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def _refusal(self, headers: Mapping[str, str], raw: bytes) -> tuple[int, str] | None:
        """Why a request is refused (HTTP status, one line), or None when it is signed."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return 401, "missing or malformed Slack signature headers"
        if abs(time.time() - int(timestamp)) > MAX_REQUEST_AGE_S:
            return 401, "stale Slack request timestamp"
        secret = (_secret(self.settings.slack_signing_secret) or "").encode()
        base = b"v0:" + timestamp.encode() + b":" + raw  # Slack signs the bytes it sent
        expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return 401, "invalid Slack signature"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return 400, "the request body is not UTF-8"
        return None

    def notifier(self) -> SlackNotifier:
        """A notifier on the same workspace (its own client: no in-place 429 retries)."""
        return SlackNotifier.from_settings(self.settings)

    # --- listeners ------------------------------------------------------------------------

    async def _skip_timeout_retries(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Any
    ) -> BoltResponse:
        """Slack re-sends an event it thinks timed out; the first delivery is being handled."""
        if req.headers.get("x-slack-retry-reason", [""])[0] == "http_timeout":
            return BoltResponse(status=200, body="")
        await next()
        return resp

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        text = from_slack_text(str(command.get("text", "")))
        word = text.split(maxsplit=1)[0].lower() if text else ""
        if word in SLOW_COMMANDS:
            await ack(text=WORKING, response_type="ephemeral")
        else:
            await ack()
        channel = str(command.get("channel_id", ""))
        user = str(command.get("user_id", ""))
        where = _Where(channel, user, respond=respond)

        async def work() -> None:
            ctx = await self.context(
                channel,
                user,
                user_name=str(command.get("user_name", "")),
                chat_title=str(command.get("channel_name", "")),
                private=command.get("channel_name") == "directmessage",
            )
            reply = await commands.handle_text(self.service, ctx, text)
            await self._send(reply, where, ephemeral=reply.error or word in PRIVATE_COMMANDS)

        await self._guarded(self.command, where, work())

    async def _on_mention(
        self, event: dict[str, Any], say: AsyncSay, context: AsyncBoltContext
    ) -> None:
        channel = str(event.get("channel", ""))
        if not self._seen.first_time(("msg", channel, event.get("ts"))):
            return
        bot_id = self.bot_user_id or context.bot_user_id
        text = from_slack_text(strip_mention(str(event.get("text", "")), bot_id))
        user = str(event.get("user", ""))
        where = _Where(channel, user, thread_ts=event.get("thread_ts") or event.get("ts"), say=say)
        private = channel.startswith("D")

        async def work() -> None:
            files = event.get("files") or []
            if files:
                await self._files(files, where, private=private)
                if not text:
                    return
            await self._text(text, where, private=private)

        await self._guarded("app_mention", where, work())

    async def _on_message(
        self, event: dict[str, Any], say: AsyncSay, context: AsyncBoltContext
    ) -> None:
        """DMs with the bot take commands without the mention; YAML files shared with it are read."""
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype not in (None, "file_share", "thread_broadcast"):
            return
        channel = str(event.get("channel", ""))
        private = event.get("channel_type") == "im" or channel.startswith("D")
        bot_id = self.bot_user_id or context.bot_user_id
        raw = str(event.get("text", ""))
        mentioned = bool(bot_id) and f"<@{bot_id}" in raw
        if not (private or (subtype == "file_share" and mentioned)):
            return  # channel chatter: mentions come as app_mention
        if not self._seen.first_time(("msg", channel, event.get("ts"))):
            return
        user = str(event.get("user", ""))
        thread = event.get("thread_ts") or (None if private else event.get("ts"))
        where = _Where(channel, user, thread_ts=thread, say=say)

        async def work() -> None:
            if subtype == "file_share":
                await self._files(event.get("files") or [], where, private=private)
                return
            text = from_slack_text(strip_mention(raw, bot_id))
            if text:
                await self._text(text, where, private=private)

        await self._guarded("message", where, work())

    async def _on_file_shared(self, event: dict[str, Any], say: AsyncSay) -> None:
        """A file shared in the bot's DM (the ``message`` event may not be subscribed)."""
        channel = str(event.get("channel_id", ""))
        file_id = str(event.get("file_id") or (event.get("file") or {}).get("id") or "")
        if not channel.startswith("D") or not file_id:
            return
        where = _Where(channel, str(event.get("user_id", "")), say=say)
        await self._guarded(
            "file_shared", where, self._files([{"id": file_id}], where, private=True)
        )

    async def _on_action(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond | None,
        say: AsyncSay,
    ) -> None:
        await ack()
        data = str(action.get("value") or "")
        if not data:  # the value is the data; the action_id carries it too
            data = re.sub(r"#\d+$", "", str(action.get("action_id", ""))[len(ACTION_PREFIX) :])
        channel = str(
            (body.get("channel") or {}).get("id")
            or (body.get("container") or {}).get("channel_id")
            or ""
        )
        person = body.get("user") or {}
        user = str(person.get("id", ""))
        where = _Where(
            channel,
            user,
            thread_ts=(body.get("message") or {}).get("thread_ts"),
            respond=respond,
            say=say if channel else None,
            interactive=True,
        )

        async def work() -> None:
            ctx = await self.context(channel, user, user_name=str(person.get("username", "")))
            reply = await commands.handle_button(self.service, ctx, data)
            await self._send(reply, where, ephemeral=reply.error)

        await self._guarded("button", where, work())

    async def _guarded(self, kind: str, where: _Where, work: Awaitable[None]) -> None:
        """Run a listener's work; a failure is logged with its traceback and apologised for."""
        try:
            await work
        except Exception as err:
            log.error("Slack %s failed: %s", kind, type(err).__name__, exc_info=err)
            await self._apologise(where)

    async def _on_error(
        self, error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Bolt's global error handler: whatever escaped a listener or a middleware."""
        kind = body.get("command") or body.get("type") or "request"
        event = body.get("event") or {}
        log.error("Slack %s failed: %s", kind, type(error).__name__, exc_info=error)
        where = _Where(
            str(context.channel_id or event.get("channel") or ""),
            str(context.user_id or event.get("user") or ""),
            thread_ts=event.get("thread_ts") or event.get("ts"),
            respond=context.respond,
            interactive=body.get("type") == "block_actions",
        )
        await self._apologise(where)

    async def _apologise(self, where: _Where) -> None:
        """A short note to the user, never a traceback."""
        try:
            if where.respond is not None:
                await where.respond(
                    text=SORRY,
                    response_type="ephemeral",
                    replace_original=False if where.interactive else None,
                )
            elif where.channel and where.user:
                await self.client.chat_postEphemeral(
                    channel=where.channel, user=where.user, text=SORRY, thread_ts=where.thread_ts
                )
        except Exception as err:  # reporting the failure failed too: the log has it
            log.warning("could not tell the Slack user about the failure: %s", err)

    # --- the work ---------------------------------------------------------------------------

    async def context(
        self,
        channel: str,
        user: str,
        *,
        user_name: str = "",
        chat_title: str = "",
        private: bool = False,
    ) -> CommandContext:
        return CommandContext(
            platform=PLATFORM,
            chat_key=f"{PLATFORM}:{channel}",
            user_id=f"{PLATFORM}:{user}",
            user_name=user_name,
            chat_title=chat_title,
            is_admin=await self.is_admin(user),
            is_private=private or channel.startswith("D"),
        )

    async def is_admin(self, user: str) -> bool:
        """Listed in ADMIN_USERS, or a workspace admin/owner (``users.info``, cached 5 min)."""
        if not user:
            return False
        if user in self.admins:
            return True
        now = time.monotonic()
        cached = self._admin_cache.get(user)
        if cached and cached[1] > now:
            return cached[0]
        flag = False
        try:
            info = (await self.client.users_info(user=user)).get("user") or {}
            flag = bool(
                info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")
            )
        except SlackApiError as err:
            log.info("users.info for %s failed (%s): not an admin", user, _error_code(err))
        except _NET_ERRORS as err:
            log.info("users.info for %s failed (%s): not an admin", user, err)
        self._admin_cache[user] = (flag, now + ADMIN_CACHE_S)
        return flag

    async def _text(self, text: str, where: _Where, *, private: bool) -> None:
        ctx = await self.context(where.channel, where.user, private=private)
        reply = await commands.handle_text(self.service, ctx, text)
        await self._send(reply, where, ephemeral=reply.error)

    async def _files(
        self, files: Sequence[dict[str, Any]], where: _Where, *, private: bool
    ) -> None:
        for meta in files:
            file_id = str(meta.get("id", ""))
            name = str(meta.get("name") or "")
            if not file_id or (name and not name.lower().endswith(YAML_SUFFIXES)):
                continue
            if not self._seen.first_time(("file", file_id)):
                continue
            try:
                info = (await self.client.files_info(file=file_id)).get("file") or {}
            except SlackApiError as err:
                log.warning("files.info %s failed: %s", file_id, _error_code(err))
                continue
            name = str(info.get("name") or name or file_id)
            if not name.lower().endswith(YAML_SUFFIXES):
                continue
            try:
                content = await self._download(info)
            except _DownloadError as err:
                await self._send(
                    Reply.plain(f"Could not read {name}: {err}", error=True), where, ephemeral=True
                )
                continue
            ctx = await self.context(where.channel, where.user, private=private)
            reply = await commands.handle_file(self.service, ctx, name, content)
            await self._send(reply, where, ephemeral=reply.error)

    def _trusted(self, url: str) -> bool:
        """Only Slack's own hosts get the bot token."""
        host = (urlsplit(url).hostname or "").lower()
        api_host = (urlsplit(self.settings.slack_api_url).hostname or "").lower()
        return (
            host == "slack.com" or host.endswith(".slack.com") or (bool(host) and host == api_host)
        )

    async def _download(self, info: Mapping[str, Any]) -> bytes:
        size = int(info.get("size") or 0)
        if size > MAX_FILE_BYTES:
            raise _DownloadError(
                f"it is {size // 1024} KB; a watchlist must be under {MAX_FILE_BYTES // 1024} KB"
            )
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not url or not self._trusted(url):
            raise _DownloadError("Slack gave no download link for it")
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers) as resp,
            ):
                if resp.status != 200:
                    raise _DownloadError(f"Slack answered HTTP {resp.status}")
                if resp.content_type == "text/html":
                    # Slack's answer to a request it did not authorise is its login page
                    raise _DownloadError(
                        "Slack sent a login page (does the app have the files:read scope?)"
                    )
                content = await resp.content.read(MAX_FILE_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise _DownloadError(f"download failed ({type(err).__name__})") from err
        if len(content) > MAX_FILE_BYTES:
            raise _DownloadError(f"a watchlist must be under {MAX_FILE_BYTES // 1024} KB")
        return content

    async def _send(self, reply: Reply, where: _Where, *, ephemeral: bool) -> None:
        """Post a reply: at the response_url when there is one, else in the channel/thread."""
        for message in render_reply(reply):
            await self._post(message, where, ephemeral=ephemeral)
        if reply.attachment is not None and not reply.silent:
            await self._upload(reply.attachment, where)

    async def _post(self, message: SlackMessage, where: _Where, *, ephemeral: bool) -> None:
        if where.respond is not None:
            resp = await where.respond(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=False if where.interactive else None,
                unfurl_links=False,
                unfurl_media=False,
            )
            if resp.status_code != 200:
                log.warning("Slack response_url answered HTTP %s", resp.status_code)
            return
        if ephemeral and where.user:
            await self.client.chat_postEphemeral(
                channel=where.channel,
                user=where.user,
                text=message.text,
                blocks=message.blocks,
                thread_ts=where.thread_ts,
            )
        elif where.say is not None:
            await where.say(
                text=message.text,
                blocks=message.blocks,
                channel=where.channel,
                thread_ts=where.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        else:
            await self.client.chat_postMessage(
                channel=where.channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=where.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )

    async def _upload(self, attachment: Attachment, where: _Where) -> None:
        try:
            await self.client.files_upload_v2(
                channel=where.channel,
                filename=attachment.filename,
                content=attachment.content,
                title=attachment.filename,
                thread_ts=where.thread_ts,
            )
        except SlackApiError as err:
            code = _error_code(err)
            log.warning("upload of %s to %s failed: %s", attachment.filename, where.channel, code)
            stranger = code in ("not_in_channel", "channel_not_found")
            hint = " Invite the bot to this channel and try again." if stranger else ""
            note = Reply.plain(
                f"Could not post {attachment.filename} here ({code}).{hint}", error=True
            )
            await self._send(note, where, ephemeral=True)
