"""Answers in chat: ``alerts``, ``search``, ``summary``, ``trend``, plain questions, digests.

Every answer is in the chat's time zone (``timezone``; UTC by default) and
goes through ``handle_text``, so Telegram, Slack and the console get the same
replies. The reading is in ``bot/answers/``; this module parses arguments and
turns what comes back into a :class:`~handlers.reply.Reply`.

* ``alerts [wl] [since] [all]`` — newest first, ten a page, a "More" button
  (``al:<offset>:<who>:<period key>[:all]``, where ``who`` is ``-`` for every
  watchlist, a watchlist's name, ``#<hash>`` for a name too long for a
  button, or ``@<hash>[.<hash>…]`` for entities). Alerts the learned stage
  held back (not pushed) are left out unless ``all`` is said; the answer
  says how many there were.
* ``search <query>`` — full-text, ranked by relevance and recency.
* ``summary [wl] [period]`` — the renderer the scheduled digests use too
  (:func:`due_digests`, :func:`send_digests`).
* ``trend <entity or wl> [period]`` — a PNG and a sparkline.
* :func:`answer_question` — text that is not a command: "anything new on
  Belarus?", "lukashenko this week".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, NoReturn

from sqlalchemy.orm import Session

from bot.answers.charts import sparkline, trend_png
from bot.answers.digests import DuePeriod, due_periods, register_digest_job, release_digest
from bot.answers.names import NameIndex, Target
from bot.answers.periods import (
    Period,
    PeriodError,
    find_period,
    parse_period,
    period_from_key,
)
from bot.answers.queries import (
    AlertFilter,
    AlertLine,
    SummaryData,
    alert_lines,
    count_alerts,
    latest_alert,
    list_alerts,
    summary_data,
    trend_data,
)
from bot.answers.search import (
    QueryError,
    SearchQuery,
    expand_names,
    match_spans,
    parse_query,
    search_alerts,
)
from bot.engine.matcher import Matcher
from bot.engine.watchlist import NAME_RE
from bot.runtime.delivery import DeliveryError, report_not_served
from bot.runtime.learning import held_back_reasons
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.subscriptions import claim_digest, pause_subscription
from bot.store.tables import Alert, utcnow
from bot.store.watchlists import list_watchlists
from handlers.commands.base import (
    Call,
    CommandSpec,
    chat_timezone,
    close_names,
    echo,
    one_line,
    prefix,
)
from handlers.render import format_time, highlighted, zone
from handlers.reply import (
    Attachment,
    Button,
    CommandContext,
    Part,
    Reply,
    bold,
    code,
    italic,
    link,
    text,
)

__all__ = [
    "ALERTS",
    "SEARCH",
    "SUMMARY",
    "TREND",
    "DigestMessage",
    "ALERTS_PERIOD",
    "QUESTIONS_HELP",
    "answer_question",
    "cmd_alerts",
    "cmd_search",
    "cmd_summary",
    "cmd_trend",
    "digest_reply",
    "due_digests",
    "more_alerts_button",
    "send_digests",
    "summary_reply",
]

log = logging.getLogger("alertbot.answers")

PAGE = 10
# `alerts` and a plain question ("anything new on Belarus?") without a period: one default
ALERTS_PERIOD = "7d"
QUESTIONS_HELP = (
    "A plain question naming a watched name or watchlist (“anything new on Belarus?”, "
    "“lukashenko today”) is answered like alerts (default: the last 7 days)."
)
MAX_OFFSET = 100_000
SEARCH_SHOWN = 10
SEARCH_FETCHED = 30  # several alerts may share an article: fetch more, show each article once
MAX_TREND_DAYS = 366
SPARK_MAX = 60  # a longer period is drawn in buckets of several days
TITLE_MAX = 110
SUMMARY_LINE_MAX = 200
DIGEST_HELD_SHOWN = 10  # held-back alerts a digest lists (the rest: alerts <wl> all)
SNIPPET_MAX = 220
HASH_LEN = 8
MAX_HEAD_WORDS = 8  # the longest name _extra_words looks for
ENTITY_HINT_CUTOFF = 0.7  # difflib ratio: a typo of a watched name (belaruswatch → Belarus)
_SLACK_MENTION = re.compile(r"^<@[^>\s]+>\s*")

ALERTS = CommandSpec(
    "alerts",
    "alerts [wl] [since] [all] [page N]",
    "recent alerts, newest first, ten a page "
    f"(since: 24h, 7d, today, yesterday, this week, a date; default {ALERTS_PERIOD}; "
    "all: also held back)",
    "alerts troop-movements 24h page 2",
)
SEARCH = CommandSpec(
    "search",
    "search <query>",
    'full-text search of alerted articles ("a phrase", AND, OR, NOT, prefix*)',
    'search "joint force" OR convoy*',
)
SUMMARY = CommandSpec(
    "summary",
    "summary [wl] [period]",
    "a digest: alerts, most mentioned names against the period before, top stories (default 24h)",
    "summary troop-movements 7d",
)
TREND = CommandSpec(
    "trend",
    "trend <entity or wl> [period]",
    "a chart of mentions and alerts per day (default 14d)",
    "trend Lukashenko 30d",
)


# --- who an answer is about ------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Alerts of one watchlist, or mentioning one of some entities, or all."""

    watchlist: str | None = None
    entities: tuple[str, ...] = ()

    @classmethod
    def of(cls, targets: Sequence[Target]) -> Subject:
        entities = tuple(t.name for t in targets if t.kind == "entity")
        if entities:
            return cls(None, entities[:3])
        watchlists = [t.name for t in targets if t.kind == "watchlist"]
        return cls(watchlists[0] if watchlists else None)

    @property
    def filter(self) -> AlertFilter:
        return AlertFilter(self.watchlist, self.entities)

    @property
    def about(self) -> str:
        """``for all watchlists``, ``for troop-movements``, ``about Belarus``."""
        if self.entities:
            return "about " + " or ".join(self.entities)
        return f"for {self.watchlist}" if self.watchlist else "for all watchlists"

    @property
    def token(self) -> str:
        """How a button names it (see the module's docstring)."""
        if self.entities:
            return "@" + ".".join(_hash(e) for e in self.entities)
        if self.watchlist is None:
            return "-"
        return self.watchlist if len(self.watchlist) <= 24 else "#" + _hash(self.watchlist)


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_LEN]


_INDEXES: weakref.WeakKeyDictionary[Matcher, NameIndex] = weakref.WeakKeyDictionary()


def _names(service: Service) -> NameIndex:
    """The watched names of the service's current watchlists (rebuilt when they change)."""
    matcher = service.matcher
    index = _INDEXES.get(matcher)
    if index is None:
        index = NameIndex(matcher.watchlists)
        _INDEXES[matcher] = index
    return index


def _watchlist_names(service: Service, session: Session) -> list[str]:
    stored = {row.name for row in list_watchlists(session)}
    return sorted(stored | {wl.name for wl in service.matcher.watchlists})


def _target(call: Call, session: Session, words: str) -> Target | None:
    name = words.strip().lower()
    if NAME_RE.match(name) and name in _watchlist_names(call.service, session):
        return Target("watchlist", name)
    return _names(call.service).lookup(words)


def _unknown_target(
    call: Call, session: Session, words: str, entities: bool, period_too: bool
) -> NoReturn:
    wanted = words.strip().lower()
    watchlists = _watchlist_names(call.service, session)
    close = close_names(wanted, watchlists)
    if entities and not close:  # a near-typo of a name only: "nosuch" is no hint of "Moscow"
        folded = {n.lower(): n for n in _names(call.service).entity_names}
        close += [folded[c] for c in close_names(wanted, folded, cutoff=ENTITY_HINT_CUTOFF)]
    kinds = ["a watchlist", "a watched name"] if entities else ["a watchlist"]
    if period_too:
        kinds.append("a period (24h, 7d, today, last week, 2026-11-01…)")
    what = ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0]
    if close:
        hint = f"; did you mean {' or '.join(close[:3])}?"
    else:
        hint = f"; send {call.prefix}watchlists for the list" if watchlists else ""
    call.fail(f"{echo(words)} is not {what}{hint}")


def _subject_and_period(
    call: Call, session: Session, tz: str, default: str, *, required: bool, entities: bool
) -> tuple[Subject, Period]:
    """``[wl or entity] [period]`` → what and when; a usage error for anything else."""
    now = utcnow()
    words = call.args.split()
    if not words:
        if required:
            call.fail("Name a watched entity or a watchlist" if entities else "Name a watchlist")
        return Subject(), _period(call, default, tz, now)
    if not required:
        try:
            return Subject(), parse_period(call.args, tz, now)
        except PeriodError:
            pass
    for size in range(min(4, len(words) - 1), 0, -1):
        head, tail = " ".join(words[:-size]), " ".join(words[-size:])
        try:
            period = parse_period(tail, tz, now)
        except PeriodError:
            continue
        target = _target(call, session, head)
        if target is not None:
            return _subject(call, target, entities), period
    whole = " ".join(words)
    target = _target(call, session, whole)
    if target is not None:
        return _subject(call, target, entities), _period(call, default, tz, now)
    extra = _extra_words(call, session, words, tz, now, name_needed=required)
    if extra:
        call.fail(f"Extra words after the period: {echo(extra)}")
    if len(words) > 1 and _target(call, session, " ".join(words[:-1])) is not None:
        _period(call, words[-1], tz, now)  # the name is right: the period is what is wrong
    shown = whole if entities or len(words) == 1 else words[0]
    _unknown_target(call, session, shown, entities, period_too=not required and len(words) == 1)


def _extra_words(
    call: Call, session: Session, words: list[str], tz: str, now: datetime, *, name_needed: bool
) -> str:
    """What follows ``[name] period`` when the words start with one (``demo 7d extra``:
    ``extra``); "" when they do not. At most MAX_HEAD_WORDS lookups of a name."""
    starts = []
    for cut in range(min(MAX_HEAD_WORDS, len(words) - 1), 0, -1):  # the longest name first
        if _target(call, session, " ".join(words[:cut])) is not None:
            starts.append(cut)
            break
    if not name_needed:
        starts.append(0)  # the name is optional: the period may come first
    for start in starts:
        rest = words[start:]
        for size in range(min(4, len(rest) - 1), 0, -1):
            try:
                parse_period(" ".join(rest[:size]), tz, now)
            except PeriodError:
                continue
            return " ".join(rest[size:])
    return ""


def _subject(call: Call, target: Target, entities: bool) -> Subject:
    if target.kind == "entity" and not entities:
        call.fail(f"{target.name!r} is a watched name, not a watchlist")
    return Subject.of([target])


def _period(call: Call, value: str, tz: str, now: datetime) -> Period:
    try:
        return parse_period(value, tz, now)
    except PeriodError as err:
        call.fail(str(err))


# --- formatting ------------------------------------------------------------


def _when(moment: datetime, tz: str, year: int | None = None) -> str:
    local = moment.astimezone(zone(tz))
    return f"{local:%d %b %H:%M}" if local.year == year else f"{local:%d %b %Y %H:%M}"


def _short(value: str, limit: int) -> str:
    value = one_line(value)
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def _title(line: AlertLine) -> Part:
    title = _short(line.title, TITLE_MAX) or "(untitled article)"
    return link(title, line.url) if line.url else text(title)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "±0"
    diff = now - before
    return f"+{diff}" if diff > 0 else f"−{-diff}" if diff < 0 else "±0"


def _alert_parts(line: AlertLine, tz: str, year: int) -> list[Part]:
    held = ""
    if line.held_back:
        held = " · held back" + (f" ({line.relevance:.2f})" if line.relevance is not None else "")
    return [
        text(f"{_when(line.created_at, tz, year)} · "),
        _title(line),
        text(
            f" · {line.watchlist} · {line.score:.2f} · "
            f"{_count(line.outlets, 'outlet', 'outlets')} · #{line.id}{held}"
        ),
    ]


def _button(label: str, data: str) -> list[list[Button]]:
    return [[Button(label, data)]] if len(data.encode("utf-8")) <= 64 else []


# --- alerts ----------------------------------------------------------------


def cmd_alerts(call: Call) -> Reply:
    call, page = _page(call)
    call, show_all = _all(call)
    with session_scope(call.service.factory) as session:
        tz = chat_timezone(session, call.ctx)
        subject, period = _subject_and_period(
            call, session, tz, ALERTS_PERIOD, required=False, entities=True
        )
        again = " ".join(["alerts", *call.args.split(), "all"])
        return alerts_page(
            session, subject, period, (page - 1) * PAGE, tz, show_all, f"{call.prefix}{again}"
        )


def _all(call: Call) -> tuple[Call, bool]:
    """``alerts … all``: the call without its trailing ``all``, and whether it was there."""
    words = call.args.split()
    if not words or words[-1].lower() != "all":
        return call, False
    return Call(call.service, call.ctx, " ".join(words[:-1]), call.spec), True


def _page(call: Call) -> tuple[Call, int]:
    """``alerts … page 3``: the call without its trailing ``page N``, and N (1 without)."""
    words = call.args.split()
    if len(words) < 2 or words[-2].lower() != "page":
        if words and words[-1].lower() == "page":
            call.fail("Say which page (page 2)")
        return call, 1
    raw = words[-1]
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        call.fail(f"{echo(raw)} is not a page number (page 2)")
    if (int(raw) - 1) * PAGE > MAX_OFFSET:
        call.fail(f"Page {raw} is too far (at most page {MAX_OFFSET // PAGE + 1})")
    return Call(call.service, call.ctx, " ".join(words[:-2]), call.spec), int(raw)


def alerts_page(
    session: Session,
    subject: Subject,
    period: Period,
    offset: int,
    tz: str,
    show_all: bool = False,
    all_command: str | None = None,
) -> Reply:
    """One page of alerts, newest first, with a button for the next page.

    Held-back alerts (the learned stage scored them under the threshold, so
    they were not pushed) are listed only with ``show_all``; without it the
    first page says how many there were and ``all_command`` shows them.
    """
    flt = subject.filter
    if show_all:
        flt = AlertFilter(flt.watchlist, flt.entities, held_back=None)
    total = count_alerts(session, flt, period)
    held = 0
    if not show_all and offset == 0:
        held = count_alerts(session, AlertFilter(flt.watchlist, flt.entities, True), period)
    how = all_command or " ".join(["alerts", *_subject_words(subject), "all"])
    held_line = (
        f"{_count(held, 'alert', 'alerts')} held back by the learned stage (not pushed): "
        f"{how} lists them."
    )
    lines = list_alerts(session, flt, period, offset, PAGE) if offset < total else []
    if not lines:
        message = f"No alerts {subject.about} {period.during}."
        if offset == 0:
            latest = latest_alert(session, flt, period.start)
            if latest is not None:
                message += f" The latest was #{latest.id}, {format_time(latest.created_at, tz)}."
        elif total:
            message = f"No more alerts {subject.about} {period.during} ({total} in all)."
        if held:
            return Reply().line(text(message)).line(text(held_line))
        return Reply.plain(message)
    year = period.end.astimezone(zone(tz)).year
    shown = f"{offset + 1}–{offset + len(lines)} of {total}"
    reply = Reply().line(
        bold(f"Alerts {subject.about}"), text(f" — {period.label}: {shown} (times in {tz})")
    )
    for line in lines:
        reply.line(*_alert_parts(line, tz, year))
    if held:
        reply.line(text(held_line))
    after = offset + len(lines)
    if after < total:
        label = f"More ({after + 1}–{min(total, after + PAGE)} of {total})"
        tail = ":all" if show_all else ""
        reply.buttons = _button(label, f"al:{after}:{subject.token}:{period.key}{tail}")
    return reply


def _subject_words(subject: Subject) -> list[str]:
    if subject.watchlist:
        return [subject.watchlist]
    return [subject.entities[0]] if subject.entities else []


async def more_alerts_button(call: Call, fields: list[str]) -> Reply:
    """``al:<offset>:<who>:<period key>``: the next page of an alerts answer."""
    show_all = len(fields) == 4 and fields[3] == "all"
    if show_all:
        fields = fields[:3]
    if (
        len(fields) != 3
        or not (fields[0].isascii() and fields[0].isdigit())
        or int(fields[0]) > MAX_OFFSET
    ):
        call.fail("That button is not one of ours (or no longer works)", usage=False)
    offset = int(fields[0])

    def page() -> Reply:
        with session_scope(call.service.factory) as session:
            tz = chat_timezone(session, call.ctx)
            try:
                period = period_from_key(fields[2], tz)
            except PeriodError:
                call.fail("That button is not one of ours (or no longer works)", usage=False)
            subject = _subject_of_token(call, session, fields[1])
            return alerts_page(session, subject, period, offset, tz, show_all)

    return await asyncio.to_thread(page)


def _subject_of_token(call: Call, session: Session, token: str) -> Subject:
    if token == "-":
        return Subject()
    if token.startswith("@"):
        wanted = token[1:].split(".")
        by_hash = {_hash(n): n for n in _names(call.service).entity_names}
        found = tuple(by_hash[h] for h in wanted if h in by_hash)
        if not found:
            call.fail("That name is no longer watched", usage=False)
        return Subject(None, found)
    if token.startswith("#"):
        by_hash = {_hash(n): n for n in _watchlist_names(call.service, session)}
        name = by_hash.get(token[1:])
        if name is None:
            call.fail("That watchlist is gone", usage=False)
        return Subject(name)
    if not NAME_RE.match(token):
        call.fail("That button is not one of ours (or no longer works)", usage=False)
    return Subject(token)


# --- search ----------------------------------------------------------------


def cmd_search(call: Call) -> Reply:
    raw = call.args.strip()
    if not raw:
        call.fail("Say what to search for")
    try:
        query = expand_names(parse_query(raw), _names(call.service).spellings)
    except QueryError as err:
        call.fail(f"{err} (search {echo(raw)})")
    with session_scope(call.service.factory) as session:
        tz = chat_timezone(session, call.ctx)
        try:
            result = search_alerts(session, query, utcnow(), limit=SEARCH_FETCHED)
        except QueryError as err:
            call.fail(str(err), usage=False)
        lines = alert_lines(session, result.alert_ids, with_text=True)
    if not lines:
        return Reply.plain(f"No alerted article matches {echo(raw)}.")
    return _search_reply(raw, query, lines, result.total, tz)


def _search_reply(
    raw: str, query: SearchQuery, lines: list[AlertLine], total: int, tz: str
) -> Reply:
    by_story: dict[int, list[AlertLine]] = {}
    for line in lines:
        by_story.setdefault(line.story_id, []).append(line)
    groups = list(by_story.values())[:SEARCH_SHOWN]
    matches = _count(total, "alert matches", "alerts match")
    reply = Reply().line(
        bold("Search "),
        text(f"{echo(raw)}: {matches}; the best {len(groups)}, by relevance and recency"),
    )
    year = utcnow().astimezone(zone(tz)).year
    for i, group in enumerate(groups, 1):
        best = group[0]
        watchlists = ", ".join(dict.fromkeys(g.watchlist for g in group))
        ids = ", ".join(f"#{g.id}" for g in group)
        reply.line(
            text(f"{i}. "),
            _title(best),
            text(f" — {watchlists} · {_when(best.created_at, tz, year)} · {ids}"),
        )
        snippet = next((parts for g in group if (parts := _snippet(g, query))), [])
        if snippet:
            reply.line(text("   "), *snippet)
    for typed, name, count in query.expanded:
        reply.line(
            italic(f"{echo(typed)} is the watched name {name}: its {count} spellings searched.")
        )
    reply.line(italic(f"Times in {tz}. Phrases in quotes; AND, OR, NOT; prefix*."))
    return reply


def _snippet(line: AlertLine, query: SearchQuery) -> list[Part]:
    """The summary when it shows a match, else the article's text around the first one."""
    summary = one_line(line.summary)
    spans = match_spans(summary, query.terms)
    if spans or not line.text:
        return _bold_spans(_short(summary, SNIPPET_MAX + 80), query)
    body = one_line(line.text)
    spans = match_spans(body, query.terms)
    if not spans:
        return _bold_spans(_short(summary, SNIPPET_MAX + 80), query)
    start = max(0, spans[0][0] - SNIPPET_MAX // 3)
    if start:
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    window = body[start : start + SNIPPET_MAX]
    if start + SNIPPET_MAX < len(body) and " " in window[SNIPPET_MAX // 2 :]:
        window = window[: window.rindex(" ")]
    window = ("…" if start else "") + window + ("…" if start + len(window) < len(body) else "")
    return _bold_spans(window, query)


def _bold_spans(value: str, query: SearchQuery) -> list[Part]:
    parts: list[Part] = []
    pos = 0
    for start, end in match_spans(value, query.terms):
        if start > pos:
            parts.append(text(value[pos:start]))
        parts.append(bold(value[start:end]))
        pos = end
    if pos < len(value):
        parts.append(text(value[pos:]))
    return parts


# --- summary and digests ---------------------------------------------------


def cmd_summary(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:
        tz = chat_timezone(session, call.ctx)
        subject, period = _subject_and_period(
            call, session, tz, "24h", required=False, entities=False
        )
        data = summary_data(session, subject.filter, period)
    return summary_reply(data, tz)


def summary_reply(
    data: SummaryData, tz: str, heading: str = "Summary", show_end: bool = True
) -> Reply:
    """A period in brief: counts against the period before, most mentioned names, top stories."""
    subject = Subject(data.watchlist)
    period = data.period
    if data.empty:
        return Reply.plain(f"No alerts {subject.about} {period.during}.")
    what = data.watchlist or "all watchlists"
    until = f", to {format_time(period.end, tz)}" if show_end else f" {zone(tz).key}"
    reply = Reply().line(bold(heading), text(f" — {what}, {period.label}{until}"))
    alerts = _count(data.alerts, "alert", "alerts")
    stories = _count(data.stories, "story", "stories")
    diff = data.alerts - data.previous_alerts
    change = f"+{diff}" if diff > 0 else f"−{-diff}" if diff < 0 else "±0"
    reply.line(
        text(f"{alerts} on {stories} ({change} against {data.previous.label}: "),
        text(f"{data.previous_alerts})"),
    )
    if data.entities:
        reply.line(
            bold("Most mentioned"), text(" (alerts naming them, change vs the period before)")
        )
        for ent in data.entities:
            reply.line(text(f"• {ent.name} — {ent.count} ({_change(ent.count, ent.previous)})"))
    if data.top:
        reply.line(bold("Top stories"))
        year = period.end.astimezone(zone(tz)).year
        for i, line in enumerate(data.top, 1):
            reply.line(
                text(f"{i}. "),
                _title(line),
                text(
                    f" — {line.watchlist} · {line.score:.2f} · "
                    f"{_count(line.outlets, 'outlet', 'outlets')} · "
                    f"{_when(line.created_at, tz, year)} · #{line.id}"
                ),
            )
            summary = _short(line.summary, SUMMARY_LINE_MAX)
            if summary:
                reply.line(text("   "), *highlighted(summary, line.hit_texts))
    if data.alerts > len(data.top):
        label = f"All {data.alerts} alerts"
        reply.buttons = _button(label, f"al:0:{subject.token}:{period.key}")
    return reply


@dataclass(frozen=True)
class HeldBack:
    """The alerts of a digest's period that the learned stage held back, and why."""

    total: int
    lines: list[tuple[AlertLine, str]]  # the newest DIGEST_HELD_SHOWN, each with its reason


def held_back_in(service: Service, session: Session, watchlist: str, period: Period) -> HeldBack:
    flt = AlertFilter(watchlist, held_back=True)
    total = count_alerts(session, flt, period)
    if not total:
        return HeldBack(0, [])
    lines = list_alerts(session, flt, period, 0, DIGEST_HELD_SHOWN)
    rows = [row for line in lines if (row := session.get(Alert, line.id)) is not None]
    reasons = held_back_reasons(session, service.matcher, rows)
    return HeldBack(total, [(line, reasons.get(line.id, "held back")) for line in lines])


def digest_reply(due: DuePeriod, data: SummaryData, held: HeldBack | None = None) -> Reply:
    """The period's summary of pushed alerts, then those held back (not pushed) with why."""
    heading = "Hourly digest" if due.mode == "hourly" else "Daily digest"
    tz = due.period.tz
    if data.empty and held is not None and held.total:
        reply = Reply().line(
            bold(heading), text(f" — {due.watchlist}, {due.period.label} {zone(tz).key}")
        )
        reply.line(text(f"No alerts pushed {due.period.during}."))
    else:
        reply = summary_reply(data, tz, heading, show_end=False)  # the label has both ends
    if held is None or not held.total:
        return reply
    reply.line(
        bold("Held back"),
        text(f" ({_count(held.total, 'alert', 'alerts')} the learned stage did not push)"),
    )
    year = due.period.end.astimezone(zone(tz)).year
    for line, reason in held.lines:
        reply.line(text("• "), *_alert_parts(line, tz, year))
        reply.line(text(f"   {reason}"))
    if held.total > len(held.lines):
        reply.line(text(f"… and {held.total - len(held.lines)} more: alerts {due.watchlist} all"))
    return reply


class DigestMessage(NamedTuple):
    """A digest to send: where, what, and the claim to release if sending fails."""

    platform: str
    chat_key: str
    reply: Reply
    subscription_id: int
    period_key: str


async def due_digests(
    service: Service, now: datetime, platforms: Collection[str] | None = None
) -> list[DigestMessage]:
    """Claim every digest period that just ended (once per subscription and period, across
    restarts and replicas) and render the non-empty ones."""
    return await asyncio.to_thread(_due_digests, service, now, platforms)


def _due_digests(
    service: Service, now: datetime, platforms: Collection[str] | None
) -> list[DigestMessage]:
    with session_scope(service.factory) as session:
        due = due_periods(session, now, platforms)
    out: list[DigestMessage] = []
    for item in due:
        served = service.settings.serves(item.chat_key)  # ALLOWED_CHATS, as for commands
        with session_scope(service.factory) as session:
            data = (
                None
                if item.muted or not served
                else summary_data(session, AlertFilter(item.watchlist), item.period)
            )
            held = (
                None if data is None else held_back_in(service, session, item.watchlist, item.period)
            )
            if not claim_digest(session, item.subscription_id, item.key, now):
                continue  # another replica has it
        if not served:
            report_not_served(item.chat_key, "digests")  # claimed: this period is skipped
            continue
        if data is None or (data.empty and not (held and held.total)):
            continue  # muted, or nothing happened: claimed, so not looked at again
        reply = digest_reply(item, data, held)
        out.append(
            DigestMessage(item.platform, item.chat_key, reply, item.subscription_id, item.key)
        )
    return out


async def send_digests(service: Service, now: datetime | None = None) -> int:
    """The scheduler's digest job: send what is due through each platform's ``send_reply``.

    A platform whose notifier has no ``send_reply`` is left alone (its digests
    stay unclaimed for a replica that can send them). A failed send releases
    the claim so the next run tries again; a permanent failure pauses the
    subscription, as for alerts. Returns how many digests went out.
    """
    now = now or utcnow()
    senders = {
        platform: send
        for platform, notifier in service.notifiers.items()
        if (send := getattr(notifier, "send_reply", None)) is not None
    }
    if not senders:
        return 0
    sent = 0
    for message in await due_digests(service, now, set(senders)):
        notifier = service.notifiers[message.platform]
        await service.pacer.wait(message.chat_key, notifier.min_interval)
        try:
            await senders[message.platform](message.chat_key, message.reply)
        except DeliveryError as err:
            await asyncio.to_thread(_digest_failed, service, message, str(err), err.permanent)
            continue
        except Exception as exc:  # a notifier bug must not stop the other digests
            log.exception("digest to %s failed", message.chat_key)
            await asyncio.to_thread(_digest_failed, service, message, str(exc), False)
            continue
        sent += 1
    return sent


def _digest_failed(service: Service, message: DigestMessage, error: str, permanent: bool) -> None:
    with session_scope(service.factory) as session:
        if permanent:
            log.warning("digest to %s failed for good: %s", message.chat_key, error)
            pause_subscription(session, message.subscription_id, error)
        else:
            log.info("digest to %s failed, retried next minute: %s", message.chat_key, error)
            release_digest(session, message.subscription_id, message.period_key)


register_digest_job(send_digests)


# --- trend -----------------------------------------------------------------


def cmd_trend(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:
        tz = chat_timezone(session, call.ctx)
        subject, period = _subject_and_period(
            call, session, tz, "14d", required=True, entities=True
        )
        period = period.from_midnight()  # whole local days: each bar is a full day
        if len(period.days()) > MAX_TREND_DAYS:
            call.fail(f"A trend covers at most {MAX_TREND_DAYS} days")
        days = trend_data(session, subject.filter, period)
    name = subject.entities[0] if subject.entities else subject.watchlist or ""
    mentions = [d.mentions for d in days]
    alerts = [d.alerts for d in days]
    if not any(alerts):
        return Reply.plain(f"No alerts {subject.about} {period.during}.")
    peak = max(days, key=lambda d: d.mentions)
    reply = Reply().line(bold(name), text(f" — {period.label}, per day ({tz})"))
    reply.line(
        code(f"mentions {_spark(mentions)}"),
        text(f" {sum(mentions)} in all, most on {peak.day:%d %b} ({peak.mentions})"),
    )
    reply.line(code(f"alerts   {_spark(alerts)}"), text(f" {sum(alerts)} in all"))
    title = f"{name} — mentions and alerts per day, {period.label} ({tz})"
    try:
        png = trend_png(days, _short(title, 90))
    except ImportError:  # matplotlib is an optional extra for a text-only install
        reply.line(italic("(no chart: matplotlib is not installed)"))
        return reply
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "trend"
    reply.attachment = Attachment(f"trend-{slug[:40]}.png", png, "image/png", is_image=True)
    return reply


def _spark(values: list[int]) -> str:
    if len(values) <= SPARK_MAX:
        return sparkline(values)
    size = -(-len(values) // SPARK_MAX)
    return sparkline([sum(values[i : i + size]) for i in range(0, len(values), size)])


# --- plain questions -------------------------------------------------------


async def answer_question(service: Service, ctx: CommandContext, question: str) -> Reply:
    """Text that is not a command. Naming a watched entity or watchlist (and maybe a
    period: "anything new on Belarus?", "lukashenko this week") is answered like
    ``alerts`` for it, with the same default period (``ALERTS_PERIOD``); anything else gets a one-line hint
    (an error reply)."""
    return await asyncio.to_thread(_answer_question, service, ctx, question)


def _answer_question(service: Service, ctx: CommandContext, question: str) -> Reply:
    body = one_line(_SLACK_MENTION.sub("", question.strip(), count=1))
    phrase, since, rest = find_period(body)
    index = _names(service)
    targets = index.find(rest)
    if not targets:
        return _hint(ctx, index)
    with session_scope(service.factory) as session:
        tz = chat_timezone(session, ctx)
        now = utcnow()
        try:
            period = parse_period(phrase or ALERTS_PERIOD, tz, now)
        except PeriodError as err:
            return Reply.plain(f"{err}.", error=True)
        if since and period.end < now:
            period = Period(period.start, now, f"since {period.label}", period.tz)
        return alerts_page(session, Subject.of(targets), period, 0, tz)


def _hint(ctx: CommandContext, index: NameIndex) -> Reply:
    example = index.entity_names[0] if index.entity_names else "Belarus"
    return Reply.plain(
        f"Ask about a watched name or watchlist (e.g. “anything new on {example}?”, "
        f"“{example.lower()} this week”), or send {prefix(ctx)}help for the commands.",
        error=True,
    )
