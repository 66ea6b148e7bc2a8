"""What every chat command shares: the call, its errors, permissions, names, times.

A command is a function of a :class:`Call` (who asks, where, with which
arguments) that returns a :class:`~handlers.reply.Reply` or raises
:class:`CommandError`, which the dispatcher in ``handlers/commands.py`` turns
into one line plus the command's usage. Nothing here knows a chat platform
beyond the prefix a command is typed with.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn

from sqlalchemy.orm import Session

from bot.engine.watchlist import NAME_RE
from bot.runtime.service import Service
from bot.store.subscriptions import get_chat, upsert_chat
from bot.store.tables import Chat, WatchlistRow
from bot.store.watchlists import get_watchlist, list_watchlists
from handlers.render import format_time
from handlers.reply import CommandContext, Reply, code, text

OOPS = "Something went wrong on our side; it has been logged."
NOT_ALLOWED = "This chat is not allowed to use this bot."
NAME_RULE = "lower-case letters, digits, - and _; at most 64"
MAX_ECHO = 60  # how much of a user's argument an error repeats

Access = Literal["anyone", "editor", "subscriber"]
"""Who may run a command: anyone; chat admins and ADMIN_USERS; or, for a chat's
subscriptions, editors in groups and anyone in a private chat."""

_SMART_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"}
)
_SLACK_LINK = re.compile(r"^<([^|>\s]+)(?:\|[^>]*)?>$")
_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m)")
_DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
MAX_MUTE = timedelta(days=365)


@dataclass(frozen=True)
class CommandSpec:
    """A command as people see it: in help, in usage errors, in Telegram's command menu."""

    name: str
    usage: str  # without the platform prefix: "add <wl> keyword <phrase>"
    description: str
    example: str  # without the platform prefix: "add troop-movements keyword convoy*"
    admin_only: bool = False


class CommandError(Exception):
    """A wrong argument or a refused action: one line for the chat (plus the usage)."""

    def __init__(self, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class Call:
    """One command being run: the service, who asks, the arguments after the command."""

    service: Service
    ctx: CommandContext
    args: str
    spec: CommandSpec

    def fail(self, message: str, *, usage: bool = True) -> NoReturn:
        raise CommandError(message, usage=usage)

    @property
    def prefix(self) -> str:
        return prefix(self.ctx)


Runner = Callable[[Call], Awaitable[Reply]]


def in_thread(fn: Callable[[Call], Reply]) -> Runner:
    """Run a blocking command (database, YAML, recompiling) off the event loop."""

    @functools.wraps(fn)
    async def run(call: Call) -> Reply:
        return await asyncio.to_thread(fn, call)

    return run


# --- replies ---------------------------------------------------------------


def prefix(ctx: CommandContext) -> str:
    """How a command is typed on the asker's platform."""
    return {"telegram": "/", "slack": "/alertbot "}.get(ctx.platform, "")


def one_line(message: str) -> str:
    return " ".join(message.split())


def plural(count: int, word: str) -> str:
    """``1 term``, ``3 terms``, ``2 aliases``."""
    if count == 1:
        return f"1 {word}"
    return f"{count} {word}{'es' if word.endswith('s') else 's'}"


def echo(value: str) -> str:
    """A user's argument, quoted and shortened, for an error message."""
    value = one_line(value)
    if len(value) > MAX_ECHO:
        value = value[: MAX_ECHO - 1] + "…"
    return repr(value)


def error_reply(message: str, usage: str | None = None) -> Reply:
    """One line: what is wrong, and how the command is used."""
    message = one_line(message)
    if not message.endswith((".", "?", "!")):
        message += "."
    if usage is None:
        return Reply.plain(message, error=True)
    return Reply([text(f"{message} Usage: "), code(usage)], error=True)


# --- permissions -----------------------------------------------------------


def is_editor(service: Service, ctx: CommandContext) -> bool:
    """A chat admin, or a user listed in ADMIN_USERS (as ``telegram:42`` or just ``42``)."""
    if ctx.is_admin:
        return True
    admins = {a.strip() for a in service.settings.admin_users if a.strip()}
    if ctx.user_id in admins:
        return True
    _, sep, bare = ctx.user_id.partition(":")
    return bool(sep and bare) and bare in admins


def may(service: Service, ctx: CommandContext, access: Access) -> bool:
    if access == "anyone":
        return True
    if access == "subscriber" and ctx.is_private:
        return True
    return is_editor(service, ctx)


def refusal(ctx: CommandContext, what: str) -> Reply:
    return Reply.plain(f"Only chat admins can {what}.", error=True)


def chat_allowed(service: Service, ctx: CommandContext) -> bool:
    """ALLOWED_CHATS, when set, lists every chat the bot serves (the terminal is always served)."""
    return ctx.platform == "console" or service.settings.serves(ctx.chat_key)


# --- arguments -------------------------------------------------------------


def straight_quotes(value: str) -> str:
    """Typographic quotes (phones insert them) as plain ones."""
    return value.translate(_SMART_QUOTES)


def unquote(value: str) -> str:
    value = straight_quotes(value).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def unwrap_url(value: str) -> str:
    """A URL as typed, or as Slack wraps it (``<https://x|x>``)."""
    value = value.strip()
    m = _SLACK_LINK.match(value)
    return m.group(1) if m else value


def split_first(args: str) -> tuple[str, str]:
    """The first word and the rest (stripped)."""
    parts = args.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def parse_duration(value: str) -> timedelta | None:
    """``30m``, ``2h``, ``1d``, ``1w``, ``1h30m`` → a timedelta; None when not a duration."""
    compact = value.strip().lower().replace(" ", "")
    if not compact or _DURATION_PART.sub("", compact):
        return None
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds) if seconds > 0 else None


def close_names(wanted: str, names: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    names = list(names)
    close = [x for x in names if wanted and x.startswith(wanted)][:n]
    for x in difflib.get_close_matches(wanted, names, n=n, cutoff=cutoff):
        if x not in close:
            close.append(x)
    return close[:n]


# --- watchlists ------------------------------------------------------------


def watchlist_name(call: Call, raw: str) -> str:
    """A watchlist name as typed (case folded), or a usage error."""
    if not raw:
        call.fail("Name a watchlist")
    name = raw.strip().lower()
    if not NAME_RE.match(name):
        call.fail(f"{echo(raw)} is not a watchlist name ({NAME_RULE})")
    return name


def new_watchlist_name(call: Call, raw: str) -> str:
    """The name of a watchlist to create, exactly as typed: ``new Bad Name!`` is refused
    rather than read as ``bad`` described as "Name!"."""
    name = watchlist_name(call, raw)
    if raw != name:
        call.fail(f"{echo(raw)} is not a watchlist name ({NAME_RULE})")
    return name


def find_watchlist(call: Call, session: Session, raw: str) -> WatchlistRow:
    """The stored watchlist ``raw`` names; an error naming close ones when there is none."""
    name = watchlist_name(call, raw)
    row = get_watchlist(session, name)
    if row is None:
        call.fail(unknown_watchlist(call, name, [r.name for r in list_watchlists(session)]))
    return row


def unknown_watchlist(call: Call, name: str, names: list[str]) -> str:
    close = close_names(name, names)
    if close:
        return f"No watchlist {name!r}; did you mean {' or '.join(close)}?"
    if not names:
        return f"No watchlist {name!r}; there are none yet"
    return f"No watchlist {name!r}; send {call.prefix}watchlists for the list"


# --- chats and times -------------------------------------------------------


def this_chat(session: Session, ctx: CommandContext) -> Chat:
    """The asker's chat, created on first use."""
    return upsert_chat(session, ctx.platform, ctx.chat_key, title=ctx.chat_title or None)


def chat_timezone(session: Session, ctx: CommandContext) -> str:
    chat = get_chat(session, ctx.chat_key)
    return chat.timezone if chat is not None and chat.timezone else "UTC"


def local_time(moment: datetime, tz: str) -> str:
    """``2026-03-10 14:30 Europe/Kyiv`` (the zone's name, not an abbreviation)."""
    return format_time(moment, tz)
