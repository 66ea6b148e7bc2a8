"""This chat's settings and alerts: subscribe, unsubscribe, mute, timezone, explain, feedback."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session

from bot.engine.analyse import read_part_note
from bot.engine.watchlist import WatchlistError
from bot.runtime.delivery import alert_view
from bot.store import get_alert, session_scope
from bot.store.articles import as_article
from bot.store.feedback import give_verdict
from bot.store.subscriptions import get_chat, mute, subscribe, unsubscribe, upsert_chat
from bot.store.tables import Alert, utcnow
from bot.store.watchlists import get_watchlist, list_watchlists
from handlers.commands.base import (
    MAX_MUTE,
    Call,
    chat_timezone,
    close_names,
    echo,
    is_editor,
    local_time,
    parse_duration,
    split_first,
    this_chat,
    unknown_watchlist,
    watchlist_name,
)
from handlers.commands.learning import feedback_reply, learned_lines
from handlers.commands.watchlists import group_origins, load_watchlist
from handlers.render import highlighted
from handlers.reply import Part, Reply, bold, code, italic, link, text

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^(?:utc|gmt)\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
MAX_EXPLAIN_HITS = 12
MODES = ("instant", "hourly", "daily")
DEFAULT_DAILY = "08:00"  # a daily digest's time when none is said


# --- subscriptions ---------------------------------------------------------


def cmd_subscribe(call: Call) -> Reply:
    raw, rest = split_first(call.args)
    name = watchlist_name(call, raw)
    mode, daily_at = _mode(call, rest)
    with session_scope(call.service.factory) as session:
        _require_watchlist(call, session, name)
        chat = this_chat(session, call.ctx)
        _, created = subscribe(session, chat.id, name, mode, daily_at)
        tz = chat.timezone or "UTC"
    chosen = mode == "daily" and len(rest.split()) == 1  # no time said: 08:00 was chosen
    what = {
        "instant": "an alert as soon as an article matches",
        "hourly": "an hourly digest",
        "daily": f"a daily digest at {daily_at} "
        + (f"(the default, in this chat's time zone {tz})" if chosen else f"({tz})"),
    }[mode]
    verb = "Subscribed" if created else "Subscription changed"
    reply = Reply().add(text(f"{verb}: this chat gets {what} from "), bold(name))
    if not chosen:
        reply.add(text("."))
    else:
        reply.add(
            text("; for another time say "),
            code(f"{call.prefix}subscribe {name} daily HH:MM"),
            text("."),
        )
    if not _matches_anything(call, name):
        reply.line(
            text(f"Note: {name} has no terms yet, so it cannot alert; add some with "),
            code(f"{call.prefix}add {name} keyword <phrase>"),
            text(" or "),
            code(f"{call.prefix}add {name} entity <name>"),
            text("."),
        )
    return reply


def _matches_anything(call: Call, name: str) -> bool:
    """Whether the matcher holds ``name`` with a term or a rule (an empty watchlist, as
    ``new`` makes it, is not compiled: a subscription to it would stay silent)."""
    for wl in call.service.matcher.watchlists:
        if wl.name == name:
            return bool(wl.term_count or wl.rule)
    return False


def _mode(call: Call, rest: str) -> tuple[str, str | None]:
    words = rest.lower().split()
    if not words:
        return "instant", None
    mode = words[0]
    if mode not in MODES:
        call.fail(f"{echo(words[0])} is not a mode (instant, hourly or daily HH:MM)")
    if mode != "daily":
        if len(words) > 1:
            call.fail(f"{mode} takes no time")
        return mode, None
    if len(words) == 1:
        return mode, DEFAULT_DAILY
    if len(words) > 2:
        call.fail(f"Too many words after daily: {echo(rest)}")
    return mode, _clock(call, words[1])


def _clock(call: Call, value: str) -> str:
    m = _HHMM.match(value)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        call.fail(f"{echo(value)} is not a time of day (HH:MM, 00:00 to 23:59)")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _require_watchlist(call: Call, session: Session, name: str) -> None:
    if get_watchlist(session, name) is None:
        call.fail(unknown_watchlist(call, name, [r.name for r in list_watchlists(session)]))


def _not_subscribed(call: Call, session: Session, name: str) -> None:
    _require_watchlist(call, session, name)
    call.fail(f"This chat is not subscribed to {name}", usage=False)


def cmd_unsubscribe(call: Call) -> Reply:
    name = watchlist_name(call, call.args)  # one word: checked by the dispatcher
    with session_scope(call.service.factory) as session:
        chat = get_chat(session, call.ctx.chat_key)
        if chat is None or not unsubscribe(session, chat.id, name):
            _not_subscribed(call, session, name)
    return Reply().add(text("Unsubscribed: no more alerts from "), bold(name), text(" here."))


def cmd_mute(call: Call) -> Reply:
    raw, rest = split_first(call.args)
    name = watchlist_name(call, raw)
    if not rest:
        call.fail("Say for how long (30m, 2h, 1d, 1w) or off")
    until = _mute_until(call, rest)
    with session_scope(call.service.factory) as session:
        chat = get_chat(session, call.ctx.chat_key)
        if chat is None or not mute(session, chat.id, name, until):
            _not_subscribed(call, session, name)
        tz = chat.timezone if chat is not None else "UTC"
    if until is None:
        return Reply().add(bold(name), text(" is no longer muted here."))
    return Reply().add(
        text("Muted "),
        bold(name),
        text(f" until {local_time(until, tz)}. Unmute: "),
        code(f"{call.prefix}mute {name} off"),
    )


def _mute_until(call: Call, value: str) -> datetime | None:
    if value.strip().lower() in ("off", "none", "0"):
        return None
    span = parse_duration(value)
    if span is None:
        call.fail(f"{echo(value)} is not a duration (30m, 2h, 1d, 1w) or off")
    if span > MAX_MUTE:
        call.fail(f"{echo(value)} is too long (at most {MAX_MUTE.days} days)")
    return utcnow() + span


# --- time zone -------------------------------------------------------------


@cache
def _zones() -> dict[str, str]:
    names = available_timezones() | {"UTC"}
    return {n.casefold(): n for n in names}


def resolve_zone(call: Call, value: str) -> str:
    wanted = value.strip()
    zones = _zones()
    found = zones.get(wanted.casefold())
    if found is not None:
        return found
    try:
        return ZoneInfo(wanted).key  # a zone the listing missed
    except (ZoneInfoNotFoundError, ValueError):
        pass
    offset = _offset_hint(wanted)
    if offset:
        call.fail(f"{echo(value)} is not a time zone; {offset}")
    close = [zones[z] for z in close_names(wanted.casefold(), zones)]
    hint = f"; did you mean {' or '.join(close)}?" if close else " (write it as Area/City)"
    call.fail(f"{echo(value)} is not a time zone{hint}")


def _offset_hint(value: str) -> str:
    """For ``UTC+2`` / ``GMT-5``: the Etc zone of that offset, whose sign is inverted
    (POSIX style: ``Etc/GMT-2`` is two hours *ahead* of UTC), so the lookalike is wrong."""
    m = _OFFSET.match(value)
    if m is None:
        return ""
    sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    ahead = sign == "+"
    if minutes or hours > (14 if ahead else 12):
        return "no Etc zone has that offset: write the place as Area/City (e.g. Asia/Kolkata)"
    if hours == 0:
        return "write UTC"
    zone_name = f"Etc/GMT{'-' if ahead else '+'}{hours}"
    return (
        f"for UTC{'+' if ahead else '−'}{hours} write {zone_name} (the sign is inverted in "
        "the Etc names), or better the place as Area/City, which follows summer time"
    )


def cmd_timezone(call: Call) -> Reply:
    value = call.args.strip()
    if not value:
        with session_scope(call.service.factory) as session:
            tz = chat_timezone(session, call.ctx)
        return Reply().add(
            text(f"This chat's time zone is {tz} (now {local_time(utcnow(), tz)}). Change it: "),
            code(f"{call.prefix}timezone Area/City"),
        )
    if not (call.ctx.is_private or is_editor(call.service, call.ctx)):
        call.fail("Only chat admins can change the time zone", usage=False)
    if len(value.split()) > 1:
        call.fail(f"{echo(value)} is not a time zone (one Area/City name)")
    tz = resolve_zone(call, value)
    with session_scope(call.service.factory) as session:
        upsert_chat(
            session, call.ctx.platform, call.ctx.chat_key, call.ctx.chat_title or None, timezone=tz
        )
    return Reply.plain(f"Time zone set to {tz} (now {local_time(utcnow(), tz)}).")


# --- alerts ----------------------------------------------------------------


def alert_id(call: Call, value: str) -> int:
    raw = value.strip().lstrip("#")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        call.fail(
            f"{echo(value)} is not an alert number" if value.strip() else "Give an alert number"
        )
    return int(raw)


def _alert(call: Call, session: Session, ident: int) -> Alert:
    alert = get_alert(session, ident)
    if alert is None:
        call.fail(f"No alert #{ident}")
    return alert


def cmd_explain(call: Call) -> Reply:
    raw, rest = split_first(call.args)  # at most two words: checked by the dispatcher
    full = rest.strip().lower() == "full"
    if rest.strip() and not full:
        call.fail(f"{echo(rest.strip())} is not 'full' (explain 42 full: the whole rule)")
    ident = alert_id(call, raw)
    with session_scope(call.service.factory) as session:
        alert = _alert(call, session, ident)
        view = alert_view(alert)
        rule, parts = alert.rule, list(alert.score_parts or [])
        groups = _rule_groups(call, session, alert.watchlist, rule)
        branch = "" if full or not rule else _fired_branch(call, alert)
        learned = learned_lines(call, session, alert)
    reply = Reply().line(
        bold(f"Why alert #{view.id} fired"), text(f" — {view.watchlist}, score {view.score:.2f}")
    )
    title = " ".join(view.title.split()) or "(untitled article)"
    reply.line(link(title, view.url) if view.url else italic(title))
    if branch and branch != rule:
        reply.line(text("Branch that fired: "), code(branch))
        reply.line(italic(f"The whole rule: {call.prefix}explain {view.id} full"))
    elif rule:
        reply.line(text("Rule: "), code(rule))
    if groups:
        reply.line(text("Groups: "), text(groups))
    reply.line(bold("Hits"))
    for line in _hit_lines(view.hits):
        reply.line(*line)
    if parts:
        reply.line(bold("Score "), text(_score_text(parts, view.score)))
    note = read_part_note(view.summary)
    if note:
        reply.line(italic(f"The article is long: {note}"))
    for learned_line in learned:
        reply.line(text(learned_line))
    return reply


def _fired_branch(call: Call, alert: Alert) -> str:
    """The part of the alert's rule that matched its article, judged again now by the
    watchlist when it still has that rule ("" otherwise: the whole rule is shown)."""
    watched = next((w for w in call.service.matcher.watchlists if w.name == alert.watchlist), None)
    if watched is None or watched.rule != alert.rule or alert.article is None:
        return ""
    diagnosis = call.service.matcher.diagnose(as_article(alert.article), alert.watchlist)
    return diagnosis.branch


def _rule_groups(call: Call, session: Session, name: str, rule: str | None) -> str:
    """Where the groups of the alert's rule come from (own or a lexicon), when the watchlist
    still has that rule (an edited watchlist may say something else: then nothing)."""
    row = get_watchlist(session, name)
    if row is None or not rule:
        return ""
    try:
        wl = load_watchlist(row.yaml, row.name, call.service.lexicons)
    except WatchlistError:
        return ""
    return group_origins(wl) if wl.rule == rule else ""


def _hit_lines(hits: list[dict[str, Any]]) -> list[list[Part]]:
    lines: list[list[Part]] = []
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        term, sentence = str(hit.get("term", "")), str(hit.get("sentence", ""))
        if (term, sentence) in seen:
            continue
        seen.add((term, sentence))
        where = [str(hit.get("kind", "")), _zone(hit)]
        if hit.get("fuzzy_score") is not None:
            where.append(f"fuzzy {hit['fuzzy_score']:g}")
        label = f"• {term} ({', '.join(w for w in where if w)}): "
        lines.append([text(label), *highlighted(sentence, [str(hit.get("text", ""))])])
    if len(lines) > MAX_EXPLAIN_HITS:
        extra = len(lines) - MAX_EXPLAIN_HITS
        return [*lines[:MAX_EXPLAIN_HITS], [italic(f"… and {extra} more")]]
    return lines or [[text("(no hits stored)")]]


def _zone(hit: dict[str, Any]) -> str:
    """The hit's zone (title, lead or body); alerts stored before zones know only the field."""
    zone = hit.get("zone")
    if zone:
        return str(zone)
    return "title" if hit.get("field") == "title" else ""


def _score_text(parts: list[dict[str, Any]], score: float) -> str:
    shown = []
    for p in parts:
        notes = []
        zone = p.get("zone") or ("title" if p.get("in_title") else "")
        if zone:
            notes.append(str(zone))
        if int(p.get("occurrences", 1)) > 1:
            notes.append(f"×{p['occurrences']}")
        if float(p.get("weight", 1.0)) != 1.0:
            notes.append(f"weight {float(p['weight']):g}")
        note = f" ({', '.join(notes)})" if notes else ""
        shown.append(f"{p.get('term', '')} {float(p.get('contribution', 0)):.2f}{note}")
    return f"(1 − Π(1 − part)): {', '.join(shown)} → {score:.2f}"


RELEVANT = ("relevant", "yes", "y", "1", "+")
NOT_RELEVANT = ("not", "not relevant", "irrelevant", "no", "n", "0", "-")


def cmd_feedback(call: Call) -> Reply:
    """``feedback 42 relevant|not``: what the Relevant / Not relevant buttons say."""
    raw, verdict = split_first(call.args)
    ident = alert_id(call, raw)
    said = " ".join(verdict.lower().split())
    if said in RELEVANT:
        return give_feedback(call, ident, True)
    if said in NOT_RELEVANT:
        return give_feedback(call, ident, False)
    if not said:
        call.fail(f"Say whether alert #{ident} was relevant or not")
    call.fail(f"{echo(verdict)} is not a verdict (relevant or not)")


def give_feedback(call: Call, ident: int, relevant: bool) -> Reply:
    with session_scope(call.service.factory) as session:
        _alert(call, session, ident)
        chat = this_chat(session, call.ctx)
        said = give_verdict(session, ident, chat.id, call.ctx.user_id, relevant)
    return feedback_reply(said, relevant)


def alert_watchlist(call: Call, ident: int) -> str:
    """The watchlist of alert ``ident`` (for buttons that name the alert, not the watchlist)."""
    with session_scope(call.service.factory) as session:
        return _alert(call, session, ident).watchlist
