"""Platform-neutral chat commands: parse the arguments, act on the store, answer a Reply.

The faces (``telegram.py``, ``slack.py``, ``console.py``) call three
functions and render what comes back:

* :func:`handle_text` — a typed command: ``/cmd args``, ``/cmd@bot args``,
  ``cmd args`` (Slack and the console);
* :func:`handle_button` — a button's callback data (see
  :func:`handlers.render.alert_buttons`);
* :func:`handle_file` — a YAML file sent to the chat: a watchlist import.

:func:`command_specs` lists the commands (help, Telegram's command menu).

Guarantees, for every input: a chat outside ALLOWED_CHATS gets one refusal
line and nothing else; a wrong argument gets one line and the command's
usage; an action the asker may not take gets one line; and no exception
escapes — an unexpected one is logged with its traceback and answered with
one line.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from bot.runtime.service import Service
from handlers.commands.answers import (
    ALERTS,
    QUESTIONS_HELP,
    SEARCH,
    SUMMARY,
    TREND,
    answer_question,
    cmd_alerts,
    cmd_search,
    cmd_summary,
    cmd_trend,
    more_alerts_button,
)
from handlers.commands.base import (
    NOT_ALLOWED,
    OOPS,
    Access,
    Call,
    CommandError,
    CommandSpec,
    Runner,
    chat_allowed,
    echo,
    error_reply,
    in_thread,
    may,
    one_line,
    parse_duration,
    prefix,
    refusal,
    split_first,
    watchlist_name,
)
from handlers.commands.chat import (
    alert_id,
    alert_watchlist,
    cmd_explain,
    cmd_feedback,
    cmd_mute,
    cmd_subscribe,
    cmd_timezone,
    cmd_unsubscribe,
    give_feedback,
)
from handlers.commands.learning import cmd_missed, cmd_stats, cmd_suggest
from handlers.commands.sources import cmd_addsource, cmd_removesource, cmd_sources
from handlers.commands.watchlists import (
    cmd_add,
    cmd_export,
    cmd_import,
    cmd_new,
    cmd_remove,
    cmd_rule,
    cmd_show,
    cmd_test,
    cmd_watchlists,
    import_file,
)
from handlers.reply import CommandContext, Reply, bold, code, italic, text

__all__ = [
    "CommandSpec",
    "command_specs",
    "handle_button",
    "handle_file",
    "handle_text",
]

log = logging.getLogger("alertbot.commands")

ABOUT = (
    "alertbot watches news sources and sends an alert here when an article matches a "
    "watchlist: names (entities), keywords and a rule. Each alert says why it fired."
)
_SLACK_MENTION = re.compile(r"^<@[^>\s]+>\s*")
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Arity:
    """At most ``words`` arguments, said as ``what`` ("one watchlist name") when exceeded."""

    words: int
    what: str


NO_ARGUMENTS = Arity(0, "no arguments")
ONE_WATCHLIST = Arity(1, "one watchlist name")
ONE_ALERT = Arity(1, "one alert number")


@dataclass(frozen=True)
class Command:
    spec: CommandSpec
    run: Runner
    access: Access = "anyone"
    refusal: str = ""  # "change watchlists": what a refused asker may not do
    takes: Arity | None = None  # for a command of fixed arguments: at most how many



def _spec(
    name: str, usage: str, description: str, example: str, admin: bool = False
) -> CommandSpec:
    return CommandSpec(name, usage, description, example, admin)


async def _help(call: Call) -> Reply:
    return help_reply(call.ctx, call.args)


async def _start(call: Call) -> Reply:
    return help_reply(call.ctx)  # a deep-link payload (/start xyz) is not a topic


HELP = _spec("help", "help [command]", "what the bot does and every command", "help subscribe")
START = _spec("start", "start", "what the bot does and every command", "start")
MUTE = _spec(
    "mute", "mute <wl> <duration>", "pause alerts for a while (30m, 2h, 1d, 1w) or off",
    "mute troop-movements 2h",
)  # fmt: skip
UNSUBSCRIBE = _spec(
    "unsubscribe", "unsubscribe <wl>", "stop alerts from a watchlist here",
    "unsubscribe troop-movements",
)  # fmt: skip
EXPLAIN = _spec(
    "explain", "explain <alert-id> [full]",
    "why an alert fired: the branch of the rule that fired, its hits, sentences and score "
    "(full: the whole rule)",
    "explain 42",
)  # fmt: skip

FEEDBACK = _spec(
    "feedback", "feedback <alert-id> relevant|not",
    "say whether an alert was relevant (as its buttons do; it is stored)",
    "feedback 42 relevant",
)  # fmt: skip

WATCHLIST_EDIT = "change watchlists"
SUBSCRIPTIONS = "change this chat's subscriptions"

COMMANDS: list[Command] = [
    Command(HELP, _help, takes=Arity(1, "one command name")),
    Command(START, _start),
    Command(
        _spec(
            "watchlists", "watchlists", "list the watchlists and this chat's subscriptions",
            "watchlists",
        ),
        in_thread(cmd_watchlists), takes=NO_ARGUMENTS,
    ),
    Command(
        _spec(
            "show", "show <wl>", "a watchlist's entities, keywords, groups, rule and min score",
            "show troop-movements",
        ),
        in_thread(cmd_show), takes=ONE_WATCHLIST,
    ),
    Command(
        _spec(
            "new", "new <wl> [description]", "create a watchlist",
            "new port-strikes Strikes and blockades at sea ports", admin=True,
        ),
        in_thread(cmd_new), "editor", WATCHLIST_EDIT,
    ),
    Command(
        _spec(
            "add", "add <wl> entity <name> [aka <alias>, <alias>…] | add <wl> keyword <phrase>",
            "add an entity (with aliases) or a keyword to a watchlist",
            "add troop-movements entity Wagner Group aka Wagner, PMC Wagner", admin=True,
        ),
        in_thread(cmd_add), "editor", WATCHLIST_EDIT,
    ),
    Command(
        _spec(
            "remove", "remove <wl> <term>", "remove a keyword, an entity or an alias",
            "remove troop-movements convoy*", admin=True,
        ),
        in_thread(cmd_remove), "editor", WATCHLIST_EDIT,
    ),
    Command(
        _spec(
            "rule", "rule <wl> <expression>",
            "set the rule (AND, OR, NOT, NEAR/n, \"phrase\", prefix*, @entity; default resets)",
            "rule port-strikes (strike OR blockade) NEAR/5 port*", admin=True,
        ),
        in_thread(cmd_rule), "editor", WATCHLIST_EDIT,
    ),
    Command(
        _spec(
            "test", "test <wl> <text or URL>",
            "dry run with the saved watchlist: would it alert, and why",
            "test troop-movements Russian troops arrived in Belarus by train",
        ),
        cmd_test,
    ),
    Command(
        _spec(
            "subscribe", "subscribe <wl> [instant|hourly|daily HH:MM]",
            "get a watchlist's alerts here (default instant)",
            "subscribe troop-movements daily 08:00",
        ),
        in_thread(cmd_subscribe), "subscriber", SUBSCRIPTIONS,
    ),
    Command(
        UNSUBSCRIBE, in_thread(cmd_unsubscribe), "subscriber", SUBSCRIPTIONS, ONE_WATCHLIST
    ),
    Command(MUTE, in_thread(cmd_mute), "subscriber", SUBSCRIPTIONS),
    Command(
        _spec(
            "timezone", "timezone [Area/City]",
            "show or set this chat's time zone (for times and digests)",
            "timezone Europe/Kyiv", admin=True,
        ),
        in_thread(cmd_timezone),  # reading is for anyone: the command checks when setting
    ),
    Command(ALERTS, in_thread(cmd_alerts)),
    Command(SEARCH, in_thread(cmd_search)),
    Command(SUMMARY, in_thread(cmd_summary)),
    Command(EXPLAIN, in_thread(cmd_explain), takes=Arity(2, "one alert number (and full)")),
    Command(FEEDBACK, in_thread(cmd_feedback)),  # anyone, as the buttons
    Command(
        _spec(
            "missed", "missed [wl] <url or text>",
            "a story that should have alerted",
            "missed troop-movements https://example.org/a",
        ),
        cmd_missed,
    ),
    Command(
        _spec(
            "stats", "stats <wl>",
            "feedback and what was learned from it",
            "stats troop-movements",
        ),
        in_thread(cmd_stats), takes=ONE_WATCHLIST,
    ),
    Command(
        _spec(
            "suggest", "suggest <wl>",
            "keywords for its missed stories",
            "suggest troop-movements",
        ),
        in_thread(cmd_suggest), takes=ONE_WATCHLIST,
    ),
    Command(TREND, in_thread(cmd_trend)),
    Command(
        _spec("sources", "sources", "the feeds, with their health", "sources"),
        in_thread(cmd_sources), takes=NO_ARGUMENTS,
    ),
    Command(
        _spec(
            "addsource", "addsource <url> [name]",
            "add a feed or page (fetched once to check it, then polled every 15m by alertbot run)",
            "addsource https://example.org/world/rss.xml Example World", admin=True,
        ),
        cmd_addsource, "editor", "add sources",
    ),
    Command(
        _spec(
            "removesource", "removesource <id>", "remove a source (its alerts stay)",
            "removesource 3", admin=True,
        ),
        in_thread(cmd_removesource), "editor", "remove sources", Arity(1, "one source number"),
    ),
    Command(
        _spec(
            "export", "export <wl>", "a watchlist as a YAML file (edit it, send it back)",
            "export troop-movements",
        ),
        in_thread(cmd_export), takes=ONE_WATCHLIST,
    ),
    Command(
        _spec(
            "import", "import", "how to import a watchlist: send its .yaml file here",
            "import", admin=True,
        ),
        cmd_import, "editor", "import watchlists", NO_ARGUMENTS,
    ),
]  # fmt: skip

REGISTRY: dict[str, Command] = {c.spec.name: c for c in COMMANDS}

# How the terminal (``alertbot chat``) shows a command that it types differently: it has
# no files to send, so ``import`` reads one from disk (handlers/console.py).
TERMINAL_SPECS: dict[str, CommandSpec] = {
    "import": _spec(
        "import", "import <path>",
        "import a watchlist file (YAML, as export writes it): it creates or replaces "
        "the watchlist named inside", "import data/exports/port-strikes.yaml", admin=True,
    ),
}  # fmt: skip


def shown_spec(spec: CommandSpec, ctx: CommandContext) -> CommandSpec:
    """``spec`` as the asker's face types it."""
    if ctx.platform == "console":
        return TERMINAL_SPECS.get(spec.name, spec)
    return spec


def command_specs() -> list[CommandSpec]:
    """Every command, in the order help lists them."""
    return [c.spec for c in COMMANDS]


# --- text ------------------------------------------------------------------


async def handle_text(
    service: Service, ctx: CommandContext, text: str, *, bot_username: str = ""
) -> Reply:
    """Run one typed command and answer it. Never raises."""
    try:
        return await _handle_text(service, ctx, text, bot_username)
    except Exception:
        log.exception("command failed: %r from %s in %s", text[:200], ctx.user_id, ctx.chat_key)
        return Reply.plain(OOPS, error=True)


def parse_command(text: str, bot_username: str = "") -> tuple[str, str] | None:
    """``(command, args)``, or None when the command is addressed to another bot."""
    body = _SLACK_MENTION.sub("", text.strip(), count=1).lstrip("/")
    head, args = split_first(body)
    name, _, target = head.partition("@")
    me = bot_username.lstrip("@").lower()
    if target and me and target.lower() != me:
        return None
    return name.lower(), args


async def _handle_text(
    service: Service, ctx: CommandContext, text: str, bot_username: str
) -> Reply:
    parsed = parse_command(text, bot_username)
    if parsed is None:
        return Reply(silent=True)
    if not chat_allowed(service, ctx):
        return Reply.plain(NOT_ALLOWED, error=True)
    name, args = parsed
    if not name:
        return help_reply(ctx)
    command = REGISTRY.get(name)
    if command is None:
        return await _not_a_command(service, ctx, text, name, args)
    return await run(command, Call(service, ctx, args, command.spec))


async def _not_a_command(
    service: Service, ctx: CommandContext, text: str, name: str, args: str
) -> Reply:
    """``/word`` is a mistyped command; other text may be a question about a watched name."""
    if _SLACK_MENTION.sub("", text.strip(), count=1).startswith("/"):
        return _unknown(ctx, name)
    reply = await answer_question(service, ctx, text)
    if reply.error and not args:
        return _unknown(ctx, name)  # one unknown word: more likely a command than a question
    return reply


def _unknown(ctx: CommandContext, name: str) -> Reply:
    close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
    hint = f" (did you mean {prefix(ctx)}{close[0]}?)" if close else ""
    shown = one_line(name)[:40]
    return Reply.plain(
        f"Unknown command {shown!r}{hint} — send {prefix(ctx)}help for the list.", error=True
    )


async def run(command: Command, call: Call) -> Reply:
    """Check the asker may run ``command``, run it, and turn a CommandError into one line."""
    if not may(call.service, call.ctx, command.access):
        return refusal(call.ctx, command.refusal or f"use {command.spec.name}")
    try:
        _check_arity(command, call)
        return await command.run(call)
    except CommandError as err:
        usage = f"{call.prefix}{shown_spec(command.spec, call.ctx).usage}" if err.usage else None
        return error_reply(err.message, usage)


def _check_arity(command: Command, call: Call) -> None:
    """Words past a fixed command's arguments are refused, not silently dropped."""
    takes = command.takes
    if takes is not None and len(call.args.split()) > takes.words:
        call.fail(f"{command.spec.name} takes {takes.what}, not {echo(call.args)}")


def help_reply(ctx: CommandContext, topic: str = "") -> Reply:
    p = prefix(ctx)
    wanted = topic.strip().lstrip("/").lower()
    if wanted:
        command = REGISTRY.get(wanted)
        if command is None:
            return _unknown(ctx, wanted)
        return _help_one(shown_spec(command.spec, ctx), p)
    reply = Reply().line(text(ABOUT)).line()
    for spec in command_specs():
        if spec.name == "start":
            continue
        spec = shown_spec(spec, ctx)
        admin = italic(" (admins)") if spec.admin_only else text("")
        reply.line(bold(p + spec.usage), admin, text(f" — {spec.description}."))
    # the examples are in "help <command>": with them the overview grew past one Telegram
    # message (4096 characters) and arrived in two
    reply.line(
        text("Each command's example: "),
        code(f"{p}help <command>"),
        text(", e.g. "),
        code(f"{p}help alerts"),
        text("."),
    )
    reply.line()
    reply.line(text(QUESTIONS_HELP))
    if ctx.platform == "console":
        reply.line(bold("more"), text(" — the next page of the last alerts listing."))
        reply.line(italic("Files (export, trend) are saved in EXPORT_DIR; the path is printed."))
    else:
        reply.line(italic("Send a watchlist's .yaml file (from export) to import it (admins)."))
    return reply


def _help_one(spec: CommandSpec, p: str) -> Reply:
    reply = Reply().line(bold(p + spec.usage))
    reply.line(text(spec.description[0].upper() + spec.description[1:] + "."))
    reply.line(text("Example: "), code(p + spec.example))
    if spec.admin_only:
        reply.line(italic("Chat admins only."))
    return reply


# --- buttons ---------------------------------------------------------------

ButtonAction = Callable[[Call, list[str]], Awaitable[Reply]]


async def handle_button(service: Service, ctx: CommandContext, data: str) -> Reply:
    """Run a button's action (``ex:``, ``mu:``, ``un:``, ``fb:``, see alert_buttons; ``al:``,
    see handlers/commands/answers.py). Never raises."""
    try:
        if not chat_allowed(service, ctx):
            return Reply.plain(NOT_ALLOWED, error=True)
        return await _handle_button(service, ctx, data)
    except Exception:
        log.exception("button failed: %r from %s in %s", data[:100], ctx.user_id, ctx.chat_key)
        return Reply.plain(OOPS, error=True)


async def _handle_button(service: Service, ctx: CommandContext, data: str) -> Reply:
    kind, *fields = data.split(":")
    action = BUTTONS.get(kind)
    if action is None or not 1 <= len(fields) <= 3 or len(data) > 64:
        return Reply.plain("That button is not one of ours (or no longer works).", error=True)
    if not may(service, ctx, action.access):
        return refusal(ctx, action.refusal)
    try:
        return await action.run(Call(service, ctx, "", BUTTON), fields)
    except CommandError as err:
        return error_reply(err.message)  # no usage: nobody typed anything


async def _explain_button(call: Call, fields: list[str]) -> Reply:
    ident = alert_id(call, fields[0]) if len(fields) == 1 else _bad(call)
    return await asyncio.to_thread(cmd_explain, _with_args(call, str(ident)))


async def _mute_button(call: Call, fields: list[str]) -> Reply:
    if len(fields) != 2 or parse_duration(fields[1]) is None:
        _bad(call)
    name = watchlist_name(call, fields[0])
    return await asyncio.to_thread(cmd_mute, _with_args(call, f"{name} {fields[1]}"))


async def _unsubscribe_button(call: Call, fields: list[str]) -> Reply:
    name = watchlist_name(call, fields[0]) if len(fields) == 1 else _bad(call)
    return await asyncio.to_thread(cmd_unsubscribe, _with_args(call, name))


async def _by_alert(call: Call, fields: list[str], then: Callable[[Call, str], Reply]) -> Reply:
    ident = alert_id(call, fields[0]) if len(fields) == 1 else _bad(call)

    def act() -> Reply:
        return then(call, alert_watchlist(call, ident))

    return await asyncio.to_thread(act)


async def _mute_by_alert(call: Call, fields: list[str]) -> Reply:
    return await _by_alert(call, fields, lambda c, wl: cmd_mute(_with_args(c, f"{wl} 24h")))


async def _unsubscribe_by_alert(call: Call, fields: list[str]) -> Reply:
    return await _by_alert(call, fields, lambda c, wl: cmd_unsubscribe(_with_args(c, wl)))


async def _feedback_button(call: Call, fields: list[str]) -> Reply:
    if len(fields) != 2 or fields[1] not in ("0", "1"):
        _bad(call)
    ident = alert_id(call, fields[0])
    return await asyncio.to_thread(give_feedback, call, ident, fields[1] == "1")


async def _suggestion_button(call: Call, fields: list[str]) -> Reply:
    """``sg:<wl>:<term>``: run ``add <wl> keyword <term>`` (editors only, as typing it)."""
    if len(fields) != 2 or not fields[1].strip():
        _bad(call)
    name = watchlist_name(call, fields[0])
    return await asyncio.to_thread(cmd_add, _with_args(call, f"{name} keyword {fields[1]}"))


def _bad(call: Call) -> NoReturn:
    call.fail("That button is not one of ours (or no longer works)", usage=False)


def _with_args(call: Call, args: str) -> Call:
    return Call(call.service, call.ctx, args, call.spec)


@dataclass(frozen=True)
class ButtonRoute:
    run: ButtonAction
    access: Access = "anyone"
    refusal: str = ""


BUTTON = _spec("button", "", "a button under an alert", "")
BUTTONS: dict[str, ButtonRoute] = {
    "ex": ButtonRoute(_explain_button),
    "mu": ButtonRoute(_mute_button, "subscriber", SUBSCRIPTIONS),
    "mx": ButtonRoute(_mute_by_alert, "subscriber", SUBSCRIPTIONS),
    "un": ButtonRoute(_unsubscribe_button, "subscriber", SUBSCRIPTIONS),
    "ux": ButtonRoute(_unsubscribe_by_alert, "subscriber", SUBSCRIPTIONS),
    "fb": ButtonRoute(_feedback_button),  # anyone may say whether an alert was relevant
    "al": ButtonRoute(more_alerts_button),  # the next page of an alerts answer
    "sg": ButtonRoute(_suggestion_button, "editor", WATCHLIST_EDIT),  # suggest's add
}


# --- files -----------------------------------------------------------------


async def handle_file(
    service: Service, ctx: CommandContext, filename: str, content: bytes
) -> Reply:
    """A file sent to the chat: a ``.yaml`` watchlist is imported (admins only). Never raises."""
    try:
        return await _handle_file(service, ctx, filename, content)
    except Exception:
        log.exception("import failed: %r from %s in %s", filename[:100], ctx.user_id, ctx.chat_key)
        return Reply.plain(OOPS, error=True)


async def _handle_file(
    service: Service, ctx: CommandContext, filename: str, content: bytes
) -> Reply:
    if not chat_allowed(service, ctx):
        return Reply.plain(NOT_ALLOWED, error=True)
    if not filename.lower().endswith(_YAML_SUFFIXES):
        if not ctx.is_private:
            return Reply(silent=True)  # a group shares all kinds of files; not ours
        return Reply.plain("Send a watchlist as a .yaml file to import it.", error=True)
    command = REGISTRY["import"]
    if not may(service, ctx, command.access):
        return refusal(ctx, command.refusal)
    call = Call(service, ctx, "", command.spec)
    try:
        return await asyncio.to_thread(import_file, call, one_line(filename)[:100], content)
    except CommandError as err:
        return error_reply(err.message)
