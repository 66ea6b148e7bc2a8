"""Turn alerts into text for each face. One renderer per platform lives here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.limits import MAX_FOLD_BUTTONS
from bot.models import Match
from handlers.reply import Button, Part, Reply, bold, italic, link, text

if TYPE_CHECKING:  # the store (and numpy/scipy behind it) is not needed to render a match
    from bot.runtime.delivery import AlertView

Segment = tuple[str, bool]  # (text, is a matched term)
FOLD_TITLE_CHARS = 90  # a title in a flood digest is cut here
FOLD_BUTTONS_PER_ROW = 4


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


def segments(text: str, hits: Iterable[_HasText]) -> list[Segment]:
    """Split ``text`` into plain and matched parts, for bold or colour.

    The summary is rebuilt from sentences, so the hits' offsets do not apply to
    it; the matched words are found again by their text (longest first,
    whole words only, case-insensitive).
    """
    return segments_of(text, [h.text for h in hits])


def segments_of(text: str, matched: Iterable[str]) -> list[Segment]:
    """:func:`segments` for the matched texts themselves."""
    words = sorted({" ".join(t.split()) for t in matched if t.strip()}, key=len, reverse=True)
    if not words or not text:
        return [(text, False)] if text else []
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in words) + r")(?!\w)",
        re.IGNORECASE,
    )
    out: list[Segment] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


BOLD = "\033[1;33m"
DIM = "\033[2m"
RESET = "\033[0m"


def plain_match(match: Match, color: bool = False) -> str:
    """A terminal block for one alert: title, watchlist and score, summary, terms."""
    art = match.article
    hi = (lambda s: f"{BOLD}{s}{RESET}") if color else (lambda s: f"*{s}*")
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    summary = "".join(hi(t) if is_hit else t for t, is_hit in segments(match.summary, match.hits))
    terms = sorted({h.term for h in match.hits})
    where = " · ".join(x for x in (art.source, art.published, art.url) if x)
    lines = [
        f"{hi(art.title) if color else art.title}",
        dim(f"[{match.watchlist}] score {match.score:.2f}" + (f" · {where}" if where else "")),
        f"  {summary}",
        dim(f"  matched: {', '.join(terms)}"),
    ]
    return "\n".join(lines)


def plain_alert(alert: AlertView, color: bool = False) -> str:
    """A terminal block for a stored alert (what the console face prints)."""
    hi = (lambda s: f"{BOLD}{s}{RESET}") if color else (lambda s: f"*{s}*")
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    summary = "".join(
        hi(t) if is_hit else t for t, is_hit in segments_of(alert.summary, alert.matched_texts)
    )
    outlets = f" · {len(alert.outlets)} outlets" if len(alert.outlets) > 1 else ""
    where = " · ".join(x for x in (alert.source, alert.published, alert.url) if x)
    terms = sorted({str(h.get("term", "")) for h in alert.hits if h.get("term")})
    return "\n".join(
        [
            hi(alert.title) if color else alert.title,
            dim(
                f"[{alert.watchlist}] #{alert.id} score {alert.score:.2f}{outlets}"
                + (f" · {where}" if where else "")
            ),
            f"  {summary}",
            dim(f"  matched: {', '.join(terms)}"),
            dim(f"  {alert_commands(alert)}"),
        ]
    )


def alert_commands(alert: AlertView) -> str:
    """The buttons of an alert as the commands that do the same (for the terminal, which has
    no buttons): ``explain 42 · mute wl 24h · unsubscribe wl · feedback 42 relevant|not``."""
    wl, ident = alert.watchlist, alert.id
    return (
        f"explain {ident} · mute {wl} 24h · unsubscribe {wl} · feedback {ident} relevant|not"
    )


# --- chat messages ---------------------------------------------------------

BUTTON_LIMIT = 64  # bytes of callback data (Telegram)


def zone(tz: str) -> ZoneInfo:
    """The zone ``tz``, or UTC when it is unknown."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_time(moment: datetime, tz: str = "UTC") -> str:
    """``2026-03-10 14:30 Europe/Kyiv``: the moment in the chat's zone, named by the zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    where = zone(tz)
    return f"{moment.astimezone(where):%Y-%m-%d %H:%M} {where.key}"


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time as stored for articles; None when it is not one."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def highlighted(sentence: str, matched: Iterable[str]) -> list[Part]:
    """``sentence`` with the ``matched`` words in bold."""
    return [bold(t) if hit else text(t) for t, hit in segments_of(sentence, matched)]


def button_data(short: str, fallback: str) -> str:
    """``short`` when it fits in a button, else ``fallback`` (an id that always fits)."""
    return short if len(short.encode("utf-8")) <= BUTTON_LIMIT else fallback


def alert_buttons(alert: AlertView) -> list[list[Button]]:
    """[Explain, Mute 24 h, Unsubscribe] and [Relevant, Not relevant].

    Data: ``ex:<id>``, ``mu:<wl>:24h``, ``un:<wl>``, ``fb:<id>:1``/``fb:<id>:0``;
    a watchlist name too long for 64 bytes is reached through the alert
    (``mx:<id>``, ``ux:<id>``).
    """
    wl, ident = alert.watchlist, alert.id
    return [
        [
            Button("Explain", f"ex:{ident}"),
            Button("Mute 24 h", button_data(f"mu:{wl}:24h", f"mx:{ident}")),
            Button("Unsubscribe", button_data(f"un:{wl}", f"ux:{ident}")),
        ],
        [Button("Relevant", f"fb:{ident}:1"), Button("Not relevant", f"fb:{ident}:0")],
    ]


def alert_message(alert: AlertView, tz: str = "UTC") -> Reply:
    """The push message of an alert: linked title, watchlist and score, the summary
    with the matched words in bold, source and time (in ``tz``), outlets, buttons."""
    reply = Reply()
    title = " ".join(alert.title.split()) or "(untitled article)"
    reply.line(link(title, alert.url) if alert.url else bold(title))
    reply.line(italic(f"{alert.watchlist} · score {alert.score:.2f} · alert #{alert.id}"))
    summary = " ".join(alert.summary.split())
    if summary:
        reply.line(*highlighted(summary, alert.matched_texts))
    where = [alert.source] if alert.source else []
    moment = parse_time(alert.published) or alert.created_at
    if moment is not None:
        where.append(format_time(moment, tz))
    if len(alert.outlets) > 1:
        where.append(f"reported by {len(alert.outlets)} outlets")
    if where:
        reply.line(italic(" · ".join(where)))
    reply.buttons = alert_buttons(alert)
    return reply


def fold_message(alerts: Sequence[AlertView], tz: str = "UTC") -> Reply:
    """One message for a chat's flood: every alert of it on a line (linked title,
    watchlist, score, its number), oldest first, and Explain buttons for the first
    MAX_FOLD_BUTTONS. Sent instead of one push per alert when the chat's backlog
    passed FOLD_THRESHOLD (``bot.runtime.delivery``)."""
    reply = Reply()
    reply.line(
        bold(f"{len(alerts)} more alerts"),
        text(" arrived at once; here they are in one message instead of one push each."),
    )
    for alert in alerts:
        title = " ".join(alert.title.split()) or "(untitled article)"
        if len(title) > FOLD_TITLE_CHARS:
            title = title[: FOLD_TITLE_CHARS - 1].rstrip() + "…"
        reply.line(
            text("• "),
            link(title, alert.url) if alert.url else bold(title),
            italic(f" · {alert.watchlist} · score {alert.score:.2f} · #{alert.id}"),
        )
    reply.line(italic("explain <number> shows why an alert fired."))
    shown = [Button(f"Explain #{a.id}", f"ex:{a.id}") for a in alerts[:MAX_FOLD_BUTTONS]]
    reply.buttons = [shown[i : i + FOLD_BUTTONS_PER_ROW] for i in range(0, len(shown), FOLD_BUTTONS_PER_ROW)]
    return reply
