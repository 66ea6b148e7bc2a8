"""The Telegram face: python-telegram-bot 22 → ``handlers.commands`` → Telegram HTML.

It holds no business logic: an update becomes a :class:`CommandContext` and a
``commands`` call, and the :class:`Reply` that comes back becomes HTML
messages (escaped, split under the 4096-character limit with balanced tags),
an inline keyboard and maybe a file.

PTB is driven by hand on the shared event loop (the scheduler and Slack live
on it too)::

    face = TelegramFace(service, settings)
    service.notifiers["telegram"] = face.notifier   # pushes go through the same bot
    await face.start()          # getMe, setMyCommands, long polling
    ...
    await face.stop()

Every request goes through PTB's ``AIORateLimiter`` (30 messages/s per bot,
20/min per group, and ``RetryAfter`` retried up to three times after the
wait Telegram asks for). The outbox adds the 1 message/s per chat pacing
(:attr:`TelegramNotifier.min_interval`).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.logs import bind
from bot.runtime.delivery import AlertView, DeliveryError
from bot.runtime.service import Service
from bot.store import get_chat, session_scope
from bot.store.updates import claim_update, forget_updates
from handlers import commands, render
from handlers.commands.base import chat_allowed
from handlers.reply import CommandContext, Part, Reply

log = logging.getLogger("alertbot.telegram")

PLATFORM = "telegram"
FORGET_UPDATES_EVERY_S = 3600.0  # how often old update claims are dropped
TEXT_LIMIT = 4096  # characters per message (Bot API)
CAPTION_LIMIT = 1024  # characters per media caption
ADMIN_CACHE_S = 300.0  # getChatMember answers are trusted this long
MAX_UPLOAD_BYTES = 1_000_000  # a watchlist file; anything bigger is not one
POLL_TIMEOUT_S = 30.0  # long-poll duration of one getUpdates
ERROR_TEXT = "Something went wrong; it has been logged."
# Commands that fetch, search or compute: the chat sees "typing…" at once.
SLOW_COMMANDS = frozenset(
    {"test", "alerts", "search", "summary", "explain", "trend", "addsource", "sources"}
)
YAML_SUFFIXES = (".yaml", ".yml")
YAML_TYPES = frozenset(
    {"application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "application/x-yml"}
)
SAFE_LINK = re.compile(r"^(https?|tg)://|^mailto:", re.IGNORECASE)
BARE_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# Telegram's "chat gone" answers: retrying cannot help, the subscription is paused.
PERMANENT_BAD_REQUESTS = (
    "chat not found",
    "bot was kicked",
    "user is deactivated",
    "have no rights to send",
    "not enough rights to send",
    "chat_write_forbidden",
    "group chat was deactivated",
    "peer_id_invalid",
)


# --- rendering: Reply → Telegram HTML ---------------------------------------------------


def escape(s: str) -> str:
    """User or article text for HTML parse mode."""
    return html.escape(s, quote=False)


def utf16_len(s: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(s.encode("utf-16-le")) // 2


def _tags(part: Part) -> tuple[str, str]:
    if part.kind == "bold":
        return "<b>", "</b>"
    if part.kind == "italic":
        return "<i>", "</i>"
    if part.kind == "code":
        return "<code>", "</code>"
    if part.kind == "link":
        return f'<a href="{html.escape(part.url, quote=True)}">', "</a>"
    return "", ""


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _normalise(parts: Sequence[Part], limit: int) -> list[Part]:
    """Parts as Telegram will take them.

    Links it would refuse (unknown scheme, no URL, a URL as long as a
    message) become text; lone surrogates (broken text from a feed) become
    U+FFFD, since they cannot be encoded for the request at all.
    """
    out: list[Part] = []
    for part in parts:
        if _LONE_SURROGATE.search(part.text + part.url):
            part = Part(
                part.kind,
                _LONE_SURROGATE.sub("\ufffd", part.text),
                _LONE_SURROGATE.sub("\ufffd", part.url),
            )
        if part.kind == "link":
            label = part.text or part.url
            opening = utf16_len(_tags(part)[0]) + len("</a>")
            if not part.url or not SAFE_LINK.match(part.url) or opening > limit // 2:
                out.append(Part("text", label))
                continue
            if label != part.text:
                part = Part("link", label, part.url)
        out.append(part)
    return out


def render_html(parts: Sequence[Part]) -> str:
    """The whole reply as one HTML string (no length limit; see :func:`split_html`)."""
    out = []
    for part in _normalise(parts, TEXT_LIMIT):
        if part.kind == "break":
            out.append("\n")
            continue
        opening, closing = _tags(part)
        out.append(f"{opening}{escape(part.text)}{closing}")
    return "".join(out)


@dataclass(frozen=True)
class _Atom:
    part: int  # index in the normalised parts: consecutive atoms of one part share their tags
    text: str  # raw (unescaped) text
    cut: int  # how good a place to split after this atom is: 0 no, 1 space, 2 sentence, 3 line


_TOKEN = re.compile(r"\S+\s*|\s+")
_SENTENCE_END = re.compile(r"[.!?…:;][\"'»”’)\]]*$")


def _atoms(parts: Sequence[Part], limit: int) -> list[_Atom]:
    atoms: list[_Atom] = []
    for i, part in enumerate(parts):
        if part.kind == "break":
            atoms.append(_Atom(i, "\n", 3))
            continue
        opening, closing = _tags(part)
        room = limit - utf16_len(opening) - utf16_len(closing)
        for token in _TOKEN.findall(part.text):
            word = token.rstrip()
            space = token[len(word) :]
            if "\n" in space:
                cut = 3
            elif space and (not word or _SENTENCE_END.search(word)):
                cut = 2 if word else 1
            else:
                cut = 1 if space else 0
            if utf16_len(escape(token)) <= room:
                atoms.append(_Atom(i, token, cut))
                continue
            # one "word" longer than a message: cut between characters, never inside &amp;
            piece = ""
            for ch in token:
                if piece and utf16_len(escape(piece + ch)) > room:
                    atoms.append(_Atom(i, piece, 0))
                    piece = ""
                piece += ch
            if piece:
                atoms.append(_Atom(i, piece, cut))
    return atoms


def _render_atoms(parts: Sequence[Part], atoms: Sequence[_Atom]) -> str:
    out: list[str] = []
    i = 0
    while i < len(atoms):
        j = i
        while j < len(atoms) and atoms[j].part == atoms[i].part:
            j += 1
        part = parts[atoms[i].part]
        opening, closing = _tags(part)
        out.append(opening + escape("".join(a.text for a in atoms[i:j])) + closing)
        i = j
    return "".join(out)


def split_html(parts: Sequence[Part], limit: int = TEXT_LIMIT) -> list[str]:
    """The reply as HTML chunks of at most ``limit`` UTF-16 units each (HTML included).

    Splits at a line break if one falls in the second half of a chunk, else at
    a sentence end, else between words — never inside a tag or an entity: a
    bold or link part cut in two is closed in one chunk and reopened in the
    next, so every chunk parses alone. Whitespace-only chunks are dropped.
    """
    if limit < 32:
        raise ValueError("limit too small for HTML chunks")
    norm = _normalise(parts, limit)
    atoms = _atoms(norm, limit)
    overhead = [sum(utf16_len(t) for t in _tags(p)) for p in norm]
    chunks: list[str] = []
    cur: list[_Atom] = []
    lens: list[int] = []  # lens[k]: rendered length of cur[: k + 1]

    def cost(atom: _Atom, prev: _Atom | None) -> int:
        extra = 0 if prev is not None and prev.part == atom.part else overhead[atom.part]
        return extra + utf16_len(escape(atom.text))

    def push(atom: _Atom) -> None:
        if not cur and not atom.text.strip():
            return  # a chunk never starts with whitespace
        lens.append((lens[-1] if lens else 0) + cost(atom, cur[-1] if cur else None))
        cur.append(atom)

    def emit(upto: int) -> None:
        html_chunk = _render_atoms(norm, cur[:upto])
        if "".join(a.text for a in cur[:upto]).strip():
            chunks.append(html_chunk)
        rest = cur[upto:]
        cur.clear()
        lens.clear()
        for a in rest:
            push(a)

    for atom in atoms:
        while cur and lens[-1] + cost(atom, cur[-1]) > limit:
            emit(_best_cut(cur, lens, limit) + 1)
        push(atom)
    if cur:
        emit(len(cur))
    return chunks


def _best_cut(cur: Sequence[_Atom], lens: Sequence[int], limit: int) -> int:
    """Index of the atom after which to split the current chunk."""
    half = limit // 2
    for strength in (3, 2, 1):
        for k in range(len(cur) - 1, -1, -1):
            if lens[k] < half:
                break
            if cur[k].cut >= strength:
                return k
    for k in range(len(cur) - 1, -1, -1):
        if cur[k].cut >= 1:
            return k
    return len(cur) - 1


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (``callback_data`` is the button's short id)."""
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
        for row in reply.buttons
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def link_preview(reply: Reply) -> LinkPreviewOptions | None:
    """No link previews when the reply has several links (which one would Telegram show?)."""
    links = sum(1 for p in reply.parts if p.kind == "link")
    links += sum(len(BARE_URL.findall(p.text)) for p in reply.parts if p.kind == "text")
    return LinkPreviewOptions(is_disabled=True) if links > 1 else None


async def send_reply(
    bot: Bot,
    chat_id: int,
    reply: Reply,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> list[Message]:
    """Send ``reply`` to ``chat_id``; returns the messages sent (none for a silent or empty reply).

    Text goes as HTML messages (split under 4096 characters), the buttons
    under the last message. An attachment is a document (a photo when
    ``is_image``), captioned with the text when it fits in 1024 characters,
    else sent after the text.
    """
    if reply.silent:
        return []
    markup = keyboard(reply)
    preview = link_preview(reply)
    quote = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    chunks = split_html(reply.parts)
    caption: str | None = None
    attachment = reply.attachment
    if attachment is not None:
        short = split_html(reply.parts, CAPTION_LIMIT)
        if len(short) <= 1:
            caption, chunks = (short[0] if short else None), []
    sent: list[Message] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1 and attachment is None
        sent.append(
            await bot.send_message(
                chat_id,
                chunk,
                parse_mode=ParseMode.HTML,
                link_preview_options=preview,
                reply_markup=markup if last else None,
                reply_parameters=quote if not sent else None,
                message_thread_id=thread_id,
            )
        )
    if attachment is not None:
        common: dict[str, Any] = {
            "caption": caption,
            "parse_mode": ParseMode.HTML if caption else None,
            "reply_markup": markup,
            "reply_parameters": quote if not sent else None,
            "message_thread_id": thread_id,
            "filename": attachment.filename,
        }
        if attachment.is_image:
            sent.append(await bot.send_photo(chat_id, attachment.content, **common))
        else:
            sent.append(await bot.send_document(chat_id, attachment.content, **common))
    return sent


# --- pushing alerts -------------------------------------------------------------------------


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_seconds(err: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds, whatever PTB's PTB_TIMEDELTA setting."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return _seconds(err.retry_after)


def chat_id_of(chat_key: str) -> int:
    """``"telegram:-100123"`` → ``-100123``."""
    platform, _, native = chat_key.partition(":")
    if platform != PLATFORM or not re.fullmatch(r"-?\d+", native):
        raise ValueError(f"not a Telegram chat key: {chat_key!r}")
    return int(native)


def delivery_error(err: TelegramError) -> DeliveryError:
    """The outbox's view of a failed send: wait and retry, retry later, or give up on this chat."""
    message = f"telegram: {err.message}"
    if isinstance(err, RetryAfter):
        return DeliveryError(message, retry_after=retry_after_seconds(err))
    if isinstance(err, Forbidden):  # blocked by the user, kicked from the group
        return DeliveryError(message, permanent=True)
    if isinstance(err, ChatMigrated):
        return DeliveryError(
            f"{message} (the group is now supergroup {err.new_chat_id}; subscribe there again)",
            permanent=True,
        )
    if isinstance(err, BadRequest) and any(
        s in err.message.lower() for s in PERMANENT_BAD_REQUESTS
    ):
        return DeliveryError(message, permanent=True)
    # TimedOut, NetworkError, InvalidToken (our configuration), other BadRequests (our bug):
    # not this chat's fault — retried with backoff, the subscription stays.
    return DeliveryError(message)


class TelegramNotifier:
    """Pushes alerts to Telegram chats (the outbox's :class:`bot.runtime.delivery.Notifier`).

    The pace is Telegram's documented limits (Bots FAQ): about one message per
    second in a chat, 20 per minute in a group, 30 per second for the bot.
    ``limits=False`` drops the pacing (a local Bot API server, the benchmark).
    """

    platform = PLATFORM
    min_interval = 1.0  # Telegram: about one message per second per chat
    group_interval = 3.0  # 20 messages per minute in a group
    max_rate: float | None = 30.0  # messages per second, all chats together

    def __init__(
        self, bot: Bot, timezone_of: Callable[[str], str] | None = None, *, limits: bool = True
    ) -> None:
        self.bot = bot
        self.timezone_of = timezone_of  # chat key → IANA zone for the alert's times
        if not limits:
            self.min_interval = self.group_interval = 0.0
            self.max_rate = None

    def chat_interval(self, chat_key: str) -> float:
        """A group (negative chat id) is paced at 20/min, other chats at 1/s."""
        return self.group_interval if chat_key.startswith(f"{PLATFORM}:-") else self.min_interval

    async def _tz(self, chat_key: str) -> str:
        if self.timezone_of is None:
            return "UTC"
        return await asyncio.to_thread(self.timezone_of, chat_key)

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        return await self.send_reply(chat_key, render.alert_message(alert, await self._tz(chat_key)))

    async def send_fold(self, chat_key: str, alerts: Sequence[AlertView]) -> str | None:
        """A flood's alerts in one message (split only past 4096 characters)."""
        return await self.send_reply(chat_key, render.fold_message(alerts, await self._tz(chat_key)))

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        """Any reply pushed unasked (an alert, a digest); DeliveryError on failure."""
        try:
            chat_id = chat_id_of(chat_key)
        except ValueError as err:
            raise DeliveryError(str(err), permanent=True) from err
        try:
            sent = await send_reply(self.bot, chat_id, reply)
        except TelegramError as err:
            raise delivery_error(err) from err
        return ",".join(str(m.message_id) for m in sent) or None


# --- the face --------------------------------------------------------------------------------


class _RedactTokens(logging.Filter):
    """Telegram URLs carry the bot token: httpx logs each request URL, PTB its base URLs."""

    LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def add(self, token: str) -> None:
        if token and token not in self.tokens:
            self.tokens.add(token)
            for name in self.LOGGERS:
                logger = logging.getLogger(name)
                if self not in logger.filters:
                    logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(t in message for t in self.tokens):
            for token in self.tokens:
                message = message.replace(token, "<TOKEN>")
            record.msg, record.args = message, None
        return True


_REDACT = _RedactTokens()


class _HandledByUs(logging.Filter):
    """PTB logs two conditions alertbot handles as an ERROR with a traceback.

    - ``AIORateLimiter``: "Rate limit hit after maximum of N retries", then it
      raises ``RetryAfter``: the outbox turns that into a later retry and logs
      its own INFO line ("retried in …"); a command's answer gets a WARNING
      from :meth:`TelegramFace._on_error`. PTB's line is dropped.
    - ``Updater``: the last, short ``getUpdates`` at shutdown (confirming what
      was fetched) failing, e.g. timing out while Telegram is slow: shutdown
      goes on, so one WARNING line without the traceback.
    """

    LOGGERS = ("telegram.ext.AIORateLimiter", "telegram.ext.Updater")

    def install(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if message.startswith("Rate limit hit after maximum"):
            return False
        if message.startswith("Error while calling `get_updates` one more time"):
            err = record.exc_info[1] if record.exc_info else None
            record.msg = (
                "telegram: the last getUpdates at shutdown failed (%s); "
                "Telegram may send the updates of the last seconds again at the next start"
            )
            record.args = (_short_error(err),)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_HANDLED = _HandledByUs()


def _short_error(err: BaseException | None) -> str:
    if err is None:
        return "unknown error"
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _polling_error(err: TelegramError) -> None:
    """getUpdates failed (network, Telegram slow or down): PTB retries; one line, no traceback."""
    log.warning("telegram: getUpdates failed, retrying: %s", _short_error(err))


def listed_admins(admin_users: Sequence[str]) -> frozenset[int]:
    """Telegram user ids in ADMIN_USERS: ``"telegram:42"`` or a bare ``"42"``."""
    out = set()
    for item in admin_users:
        native = item[len("telegram:") :] if item.startswith("telegram:") else item
        if re.fullmatch(r"\d+", native.strip()):
            out.add(int(native))
    return frozenset(out)


def file_url_for(api_url: str) -> str:
    """``https://api.telegram.org/bot`` → ``https://api.telegram.org/file/bot``."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


class TelegramFace:
    """python-telegram-bot's Application wired to the platform-neutral commands."""

    def __init__(
        self,
        service: Service,
        settings: Settings,
        *,
        poll_timeout: float = POLL_TIMEOUT_S,
        max_retries: int = 3,
        updates_read_timeout: float = 10.0,
    ) -> None:
        if settings.telegram_token is None:
            raise ValueError("TELEGRAM_TOKEN is not set")
        self.service = service
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.admins = listed_admins(settings.admin_users)
        self._admin_cache: dict[tuple[int, int], tuple[bool, float]] = {}
        token = settings.telegram_token.get_secret_value()
        _REDACT.add(token)  # before PTB logs its URLs
        _HANDLED.install()
        api_url = settings.telegram_api_url.rstrip("/")  # PTB appends the token as is
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(api_url)
            .base_file_url(file_url_for(api_url))
            .rate_limiter(
                AIORateLimiter(overall_max_rate=30, group_max_rate=20, max_retries=max_retries)
            )
            .connect_timeout(10.0)
            .read_timeout(15.0)
            .write_timeout(20.0)
            .media_write_timeout(60.0)
            .pool_timeout(5.0)
            .get_updates_connect_timeout(10.0)
            .get_updates_read_timeout(updates_read_timeout)  # PTB adds the long-poll timeout
            .get_updates_pool_timeout(5.0)
            .concurrent_updates(8)  # a slow `test <url>` in one chat does not stall the rest
            .job_queue(None)  # alertbot has its own scheduler
            .build()
        )
        self._initialized = False
        self._polling = False
        # polled updates are claimed in the database too (see _claim_polled), once polling starts
        self._claims_polled = False
        self._forgotten_at = 0.0  # when the claims older than Telegram's retries were dropped
        # webhook mode: the endpoint (handlers.telegram_webhook) that feeds the Application
        self.webhook: Any = None
        self.notifier = TelegramNotifier(self.app.bot, self._chat_timezone)
        self._add_handlers()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, polling: bool = True) -> None:
        """getMe, the command menu, then long polling.

        With ``polling=False`` (webhook mode) updates come in through :meth:`feed`.
        A failing getMe (bad token, unreachable server) raises; a failing
        setMyCommands is only logged.
        """
        await self.app.initialize()  # getMe: a bad token or URL fails here
        self._initialized = True
        try:
            await self._set_commands()
            if polling:
                await self.start_polling()
            await self.app.start()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "telegram: @%s is up (%s)", self.app.bot.username, "polling" if polling else "webhook"
        )

    async def start_polling(self) -> None:
        """Long polling for updates (``getUpdates``). With replicas, only the one that
        holds the polling lock calls this (``bot.runtime.leader``)."""
        if self._polling:
            return
        if self.app.updater is None:
            raise RuntimeError("the Application was built without an Updater")
        await self.app.updater.start_polling(
            error_callback=_polling_error,
            timeout=timedelta(seconds=self.poll_timeout),
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            drop_pending_updates=False,
        )
        self._polling = True
        self._claims_polled = True
        log.info("telegram: this replica polls for updates")

    async def stop_polling(self) -> None:
        """Stop long polling (the updates fetched are still handled); safe to call twice."""
        if self._polling and self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        self._polling = False

    @property
    def bot_id(self) -> str:
        """The bot's id (the token's public part, before the colon): names its polling lock."""
        token = self.settings.telegram_token
        return token.get_secret_value().split(":", 1)[0] if token is not None else ""

    async def stop(self) -> None:
        """Stop polling, finish the updates in hand, close the HTTP clients. Safe to call twice."""
        await self.stop_polling()
        if self.app.running:
            await self.app.stop()
        if self._initialized:
            await self.app.shutdown()
            self._initialized = False

    async def feed(self, data: dict[str, Any]) -> None:
        """One update received some other way (a webhook request's JSON body)."""
        update = Update.de_json(data, self.app.bot)
        await self.app.update_queue.put(update)

    async def _set_commands(self) -> None:
        try:
            specs = commands.command_specs()
            await self.app.bot.set_my_commands(
                [BotCommand(s.name, s.description[:256] or s.name) for s in specs]
            )
        except (TelegramError, ValueError) as err:
            log.warning("telegram: setMyCommands failed, the command menu is unchanged: %s", err)

    def _chat_timezone(self, chat_key: str) -> str:
        with session_scope(self.service.factory) as session:
            chat = get_chat(session, chat_key)
            return (chat.timezone if chat is not None else None) or "UTC"

    # --- handlers ------------------------------------------------------------------------------

    def _add_handlers(self) -> None:
        self.app.add_handler(TypeHandler(Update, self._claim_polled), group=-1)
        new_messages = filters.UpdateType.MESSAGE  # not edits: an edited command is not run again
        for spec in commands.command_specs():
            self.app.add_handler(CommandHandler(spec.name, self._on_command, filters=new_messages))
        self.app.add_handler(MessageHandler(filters.COMMAND & new_messages, self._on_other_command))
        self.app.add_handler(
            MessageHandler(filters.TEXT & ~filters.COMMAND & new_messages, self._on_text)
        )
        self.app.add_handler(MessageHandler(filters.Document.ALL & new_messages, self._on_document))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_error_handler(self._on_error)

    async def _claim_polled(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A polled update is handled once across replicas: when the polling leader dies
        after handling an update but before its next getUpdates confirmed it, Telegram
        gives it again to the replica that takes over. Claimed by ``(bot, update_id)`` in
        the same table the webhook uses (the webhook claims before feeding, so this
        only runs for polled updates). A database error lets the update through: one
        answer twice is better than none."""
        if not self._claims_polled:
            return
        try:
            first = await asyncio.to_thread(self._claim, update.update_id)
        except Exception as err:  # noqa: BLE001 - logged; the update is still handled
            log.warning("telegram: could not claim update %s: %s", update.update_id, err)
            return
        if not first:
            log.info("telegram: update %s was handled by another replica", update.update_id)
            raise ApplicationHandlerStop

    def _claim(self, update_id: int) -> bool:
        with session_scope(self.service.factory) as session:
            first = claim_update(session, self.app.bot.id, update_id)
            now = time.monotonic()
            if first and now - self._forgotten_at >= FORGET_UPDATES_EVERY_S:
                self._forgotten_at = now
                forget_updates(session)
            return first

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A known /command (or /command@thisbot in a group)."""
        msg = update.effective_message
        if msg is None or msg.text is None:
            return
        await self._answer_text(update, context, msg, msg.text)

    async def _on_other_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An unknown command: answered in private or when addressed to us, else left alone.

        ``/foo@otherbot`` is another bot's; in a group a bare ``/foo`` may be too.
        """
        msg = update.effective_message
        if msg is None or msg.text is None:
            return
        target = _command_target(msg)
        me = (context.bot.username or "").lower()
        if target is not None and target.lower() != me:
            return
        if target is None and msg.chat.type != ChatType.PRIVATE:
            return
        await self._answer_text(update, context, msg, msg.text)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text: in private, or in a group when it mentions or answers the bot."""
        msg = update.effective_message
        if msg is None or msg.text is None:
            return
        if msg.chat.type != ChatType.PRIVATE and not _addressed(msg, context.bot):
            return
        await self._answer_text(update, context, msg, msg.text)

    async def _answer_text(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, msg: Message, text: str
    ) -> None:
        ctx = await self._context(update, context.bot)
        if ctx is None:
            return
        name = _command_name(msg)
        if name in SLOW_COMMANDS:
            await self._typing(context.bot, msg)
        reply = await commands.handle_text(
            self.service, ctx, text, bot_username=context.bot.username or ""
        )
        await self._send(context.bot, msg, reply)

    async def _on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A watchlist as a YAML file: downloaded and passed to ``handle_file``.

        In a group only a file addressed to the bot counts (a caption that
        mentions it or runs one of its commands, or a reply to it). Other
        files are not downloaded: ``handle_file`` answers them from the name.
        """
        msg = update.effective_message
        if msg is None or msg.document is None:
            return
        if msg.chat.type != ChatType.PRIVATE and not _addressed(msg, context.bot):
            return
        ctx = await self._context(update, context.bot)
        if ctx is None:
            return
        doc = msg.document
        name = doc.file_name or "watchlist"
        if not name.lower().endswith(YAML_SUFFIXES):
            if (doc.mime_type or "").lower() not in YAML_TYPES:
                reply = await commands.handle_file(self.service, ctx, name, b"")
                await self._send(context.bot, msg, reply)
                return
            name += ".yaml"
        if doc.file_size is not None and doc.file_size > MAX_UPLOAD_BYTES:
            if chat_allowed(self.service, ctx):
                too_big = (
                    f"{name} is too large for a watchlist (over {MAX_UPLOAD_BYTES // 1000} kB)."
                )
                await self._send(context.bot, msg, Reply.plain(too_big, error=True))
            return
        await self._typing(context.bot, msg)
        file = await context.bot.get_file(doc.file_id)
        content = bytes(await file.download_as_bytearray())
        reply = await commands.handle_file(self.service, ctx, name, content)
        await self._send(context.bot, msg, reply)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button under one of our messages: ``handle_button``, answer the query, then the reply.

        A short refusal is a toast only the presser sees; anything else is a
        new message quoting the one with the button (which stays as it was).
        """
        query = update.callback_query
        if query is None:
            return
        ctx = await self._context(update, context.bot)
        if ctx is None or not query.data:
            await query.answer()
            return
        reply = await commands.handle_button(self.service, ctx, query.data)
        toast = reply.plain_text if reply.error and reply.attachment is None else ""
        if toast and len(toast) <= 200:
            await query.answer(toast, show_alert=False)
            return
        await query.answer()
        message = query.message
        if message is None:
            return
        if isinstance(message, Message):
            await self._send(context.bot, message, reply, quote=True)
        else:  # too old for the bot to see: reply in the chat all the same
            await send_reply(context.bot, message.chat.id, reply)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the traceback; tell the user briefly (never the traceback).

        Telegram still rate-limiting after the limiter's retries is not a bug:
        one WARNING, and no apology (it would be rate-limited too).
        """
        err = context.error
        update_id = update.update_id if isinstance(update, Update) else "-"
        if isinstance(err, RetryAfter):
            log.warning(
                "telegram: still rate-limited answering update %s (retry after %ss); "
                "that answer was not sent",
                update_id,
                retry_after_seconds(err),
            )
            return
        log.error(
            "telegram: handling update %s failed: %r",
            update_id,
            err,
            exc_info=(type(err), err, err.__traceback__) if err is not None else None,
        )
        if not isinstance(update, Update):
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(ERROR_TEXT)
                return
            except TelegramError:
                pass
        chat = update.effective_chat
        if chat is None:
            return
        try:
            await context.bot.send_message(chat.id, ERROR_TEXT)
        except TelegramError as again:
            log.warning("telegram: could not tell chat %s about the error: %s", chat.id, again)

    # --- helpers -----------------------------------------------------------------------------

    async def _context(self, update: Update, bot: Bot) -> CommandContext | None:
        """Who asks, from where — or None for updates without a user and chat."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return None
        private = chat.type == ChatType.PRIVATE
        msg = update.message
        anonymous_admin = (
            msg is not None and msg.sender_chat is not None and msg.sender_chat.id == chat.id
        )
        bind(chat=f"{PLATFORM}:{chat.id}")  # the log lines of this update say which chat
        return CommandContext(
            platform=PLATFORM,
            chat_key=f"{PLATFORM}:{chat.id}",
            user_id=f"{PLATFORM}:{user.id}",
            user_name=user.username or user.full_name,
            chat_title=chat.effective_name or "",
            is_admin=anonymous_admin or await self._is_admin(bot, chat.id, user.id, private),
            is_private=private,
        )

    async def _is_admin(self, bot: Bot, chat_id: int, user_id: int, private: bool) -> bool:
        """Listed in ADMIN_USERS, or (in a group) its creator or an administrator."""
        if user_id in self.admins:
            return True
        if private:
            return False
        now = time.monotonic()
        cached = self._admin_cache.get((chat_id, user_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as err:
            log.warning("telegram: getChatMember(%s, %s) failed: %s", chat_id, user_id, err)
            return False
        is_admin = member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
        if len(self._admin_cache) > 10_000:
            self._admin_cache = {k: v for k, v in self._admin_cache.items() if v[1] > now}
        self._admin_cache[(chat_id, user_id)] = (is_admin, now + ADMIN_CACHE_S)
        return is_admin

    async def _typing(self, bot: Bot, msg: Message) -> None:
        try:
            await bot.send_chat_action(
                msg.chat.id, ChatAction.TYPING, message_thread_id=_thread(msg)
            )
        except TelegramError as err:
            log.debug("telegram: typing indicator failed: %s", err)

    async def _send(
        self, bot: Bot, msg: Message, reply: Reply, *, quote: bool | None = None
    ) -> None:
        """Answer ``msg``: quoted in groups (several people talk there), plain in private."""
        if quote is None:
            quote = msg.chat.type != ChatType.PRIVATE
        await send_reply(
            bot,
            msg.chat.id,
            reply,
            reply_to=msg.message_id if quote else None,
            thread_id=_thread(msg),
        )


def _thread(msg: Message) -> int | None:
    return msg.message_thread_id if msg.is_topic_message else None


def _command_name(msg: Message) -> str | None:
    """``"subscribe"`` for ``/subscribe@bot args``; None when the text is not a command."""
    entities = msg.entities or ()
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    text = msg.text or ""
    return text[1 : entities[0].length].split("@", 1)[0].lower()


def _command_target(msg: Message) -> str | None:
    """The bot a command names (``/foo@otherbot`` → ``otherbot``), None for a bare ``/foo``."""
    entities = msg.entities or ()
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND:
        return None
    command = (msg.text or "")[: entities[0].length]
    return command.split("@", 1)[1] if "@" in command else None


def _addressed(msg: Message, bot: Bot) -> bool:
    """In a group: the message mentions the bot, runs one of its commands, or answers it."""
    me = (bot.username or "").lower()
    answered = msg.reply_to_message.from_user if msg.reply_to_message is not None else None
    if answered is not None and answered.id == bot.id:
        return True
    text_entities = msg.parse_entities() if msg.text else msg.parse_caption_entities()
    for entity, value in text_entities.items():
        if entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == me:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            target = value.split("@", 1)[1].lower() if "@" in value else me
            if target == me:
                return True
    return False


__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "TelegramFace",
    "TelegramNotifier",
    "chat_id_of",
    "delivery_error",
    "escape",
    "file_url_for",
    "keyboard",
    "link_preview",
    "listed_admins",
    "render_html",
    "send_reply",
    "split_html",
]
