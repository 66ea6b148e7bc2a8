"""Periods as people type them: ``24h``, ``7d``, ``2w``, ``today``, ``last week``, dates, ranges.

A :class:`Period` is a half-open span ``[start, end)`` of aware UTC datetimes.
Calendar words and dates are read in the chat's time zone: ``today`` begins at
local midnight, a week on Monday, ``2026-11-01`` is that local day. Rolling
durations end now; ``7d`` and ``2w`` step back in local wall-clock days (a week
across a DST change is 167 or 169 hours, like the clock on the wall), ``24h``
in exact hours.

Each period knows the one before it of the same length (``previous``: for a
summary's "change against the previous period") and a short key that
survives a round trip through a button (``key`` / :func:`period_from_key`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "EXAMPLES",
    "Period",
    "PeriodError",
    "day_start",
    "find_period",
    "local_days",
    "parse_period",
    "period_from_key",
    "rolling",
    "zone_of",
]

EXAMPLES = "24h, 7d, 2w, today, yesterday, this week, last week, 2026-11-01, 2026-11-01..2026-11-07"
MAX_DAYS = 3660  # ten years: longer is a typo, and keeps date arithmetic in range

_DURATION = re.compile(
    r"^(?:(?:the\s+)?(?:last|past)\s+)?(\d{1,6})\s*"
    r"(h|hrs?|hours?|d|days?|w|wks?|weeks?)$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|–|—)\s*(\d{4}-\d{2}-\d{2})$")
_KEY = re.compile(r"^([0-9a-z]{1,8})\.([0-9a-z]{1,8})$")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class PeriodError(ValueError):
    """Not a period; ``str()`` is one line with examples of what is."""


_NAMED = ("today", "yesterday", "this", "last", "since")  # labels that need no "in"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, with how people call it and the zone its days are in."""

    start: datetime
    end: datetime
    label: str
    tz: str = "UTC"
    back_days: int = 0  # > 0: the previous period is this many local days earlier
    span: str = ""  # its length in words ("24 hours", "7 days", "week"); "" = from the times

    @property
    def during(self) -> str:
        """The label as a sentence says it after "No alerts …": ``in the last 7 days``,
        ``yesterday (2026-10-31)``, ``this week (…)``, ``on 2026-10-25``, ``from … to …``."""
        first = self.label.split(" ", 1)[0]
        if first in _NAMED:
            return self.label
        if first[:1].isdigit():
            return ("from " if " to " in self.label else "on ") + self.label
        return "in " + self.label

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.tz)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> Period:
        """The period of the same length just before this one (``today`` → the same
        hours of yesterday; ``last week`` → the week before; ``24h`` → the 24 h before)."""
        if self.back_days:
            start = shift_days(self.start, -self.back_days, self.zone)
            end = shift_days(self.end, -self.back_days, self.zone)
        else:
            start, end = self.start - self.length, self.start
        span = describe_length(self)
        return Period(start, end, f"the previous {span}", self.tz, self.back_days, span)

    @property
    def key(self) -> str:
        """``<start>.<end>`` in base-36 Unix seconds (≤ 13 characters; for button data)."""
        return f"{_b36(math.floor(self.start.timestamp()))}.{_b36(math.ceil(self.end.timestamp()))}"

    def from_midnight(self) -> Period:
        """Whole local days, for charts: from the midnight of the first day (``7d`` at
        noon: the six days before today and today, not a sliver of an eighth day)."""
        first = self.start.astimezone(self.zone).date()
        start = day_start(first, self.zone)
        if self.back_days and start != self.start:
            start = day_start(first + timedelta(days=1), self.zone)
        return Period(start, self.end, self.label, self.tz, self.back_days, self.span)

    def days(self) -> list[date]:
        """The local dates the period touches, in order (at most MAX_DAYS + 1)."""
        return local_days(self.start, self.end, self.zone)


def parse_period(text: str, tz: str = "UTC", now: datetime | None = None) -> Period:
    """The period ``text`` names, with days in zone ``tz``; PeriodError when it names none."""
    now = _aware(now or datetime.now(UTC))
    z = zone_of(tz)
    wanted = " ".join(text.strip().lower().split())
    if not wanted:
        raise PeriodError(f"Give a period, e.g. {EXAMPLES}")
    m = _DURATION.match(wanted)
    if m:
        return rolling(int(m.group(1)), m.group(2)[0], z, now)
    calendar = _calendar(wanted, z, now)
    if calendar is not None:
        return calendar
    if _DATE.match(wanted):
        first = _date(wanted)
        return _dates(first, first, z, first.isoformat())
    m = _RANGE.match(wanted)
    if m:
        first, last = _date(m.group(1)), _date(m.group(2))
        if last < first:
            raise PeriodError(f"{m.group(2)} is before {m.group(1)}: write the earlier date first")
        if (last - first).days >= MAX_DAYS:
            raise PeriodError(f"{wanted!r} is too long (at most {MAX_DAYS} days)")
        return _dates(first, last, z, f"{first.isoformat()} to {last.isoformat()}")
    shown = text.strip()[:40]
    raise PeriodError(f"{shown!r} is not a period; try {EXAMPLES}")


_FIND = re.compile(
    r"(?<![\w-])(?:(since)\s+)?("
    r"\d{4}-\d{2}-\d{2}\s*(?:\.\.|–|—)\s*\d{4}-\d{2}-\d{2}"
    r"|\d{4}-\d{2}-\d{2}"
    r"|(?:(?:the\s+)?(?:last|past)\s+)?\d{1,6}\s*(?:h|hrs?|hours?|d|days?|w|wks?|weeks?)"
    r"|(?:the\s+)?(?:last|past)\s+(?:hour|day|week)"
    r"|today|yesterday|this\s+week|last\s+week"
    r")(?![\w-])",
    re.IGNORECASE,
)
_SINGULAR = {"hour": "1h", "day": "1d", "week": "1w"}


def find_period(text: str) -> tuple[str | None, bool, str]:
    """The first period named inside free text: ``(period, since, the rest of the text)``.

    ``"anything on belarus since yesterday?"`` → ``("yesterday", True, "anything on
    belarus ?")``; ``"past week"`` is the rolling ``1w`` (``last week`` stays the
    calendar week). ``(None, False, text)`` when the text names no period.
    """
    m = _FIND.search(text)
    if m is None:
        return None, False, text
    phrase = " ".join(m.group(2).lower().split())
    words = phrase.split()
    if words[-2:-1] in (["last"], ["past"]) and words[-1] in _SINGULAR and phrase != "last week":
        phrase = _SINGULAR[words[-1]]
    rest = " ".join((text[: m.start()] + " " + text[m.end() :]).split())
    return phrase, m.group(1) is not None, rest


def rolling(count: int, unit: str, z: ZoneInfo, now: datetime) -> Period:
    """The last ``count`` hours (``h``), days (``d``) or weeks (``w``), ending ``now``."""
    if count <= 0:
        raise PeriodError(f"A period is at least one {_UNIT_NAME[unit]}")
    days = count * 7 if unit == "w" else count
    if (unit == "h" and count > MAX_DAYS * 24) or (unit != "h" and days > MAX_DAYS):
        raise PeriodError(f"{count}{unit} is too long (at most {MAX_DAYS} days)")
    name = _UNIT_NAME[unit]
    span = name if count == 1 else f"{count} {name}s"
    if unit == "h":
        return Period(now - timedelta(hours=count), now, f"the last {span}", z.key, 0, span)
    return Period(shift_days(now, -days, z), now, f"the last {span}", z.key, days, span)


_UNIT_NAME = {"h": "hour", "d": "day", "w": "week"}


def _calendar(wanted: str, z: ZoneInfo, now: datetime) -> Period | None:
    today = now.astimezone(z).date()
    if wanted == "today":
        return Period(day_start(today, z), now, f"today ({today:%a} {today})", z.key, 1, "day")
    if wanted == "yesterday":
        day = today - timedelta(days=1)
        label = f"yesterday ({day})"
        return Period(day_start(day, z), day_start(today, z), label, z.key, 1, "day")
    monday = today - timedelta(days=today.weekday())
    if wanted == "this week":
        label = f"this week (from Mon {monday})"
        return Period(day_start(monday, z), now, label, z.key, 7, "week")
    if wanted == "last week":
        first = monday - timedelta(days=7)
        label = f"last week ({first} to {monday - timedelta(days=1)})"
        return Period(day_start(first, z), day_start(monday, z), label, z.key, 7, "week")
    return None


def _dates(first: date, last: date, z: ZoneInfo, label: str) -> Period:
    days = (last - first).days + 1
    return Period(day_start(first, z), day_start(last + timedelta(days=1), z), label, z.key, days)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def period_from_key(key: str, tz: str = "UTC") -> Period:
    """The period a :attr:`Period.key` stands for, labelled by its local times."""
    m = _KEY.match(key)
    if not m:
        raise PeriodError(f"{key[:20]!r} is not a period key")
    try:
        start = datetime.fromtimestamp(int(m.group(1), 36), UTC)
        end = datetime.fromtimestamp(int(m.group(2), 36), UTC)
    except (OverflowError, OSError, ValueError):
        raise PeriodError(f"{key[:20]!r} is not a period key") from None
    if end <= start:
        raise PeriodError(f"{key[:20]!r} is not a period key")
    z = zone_of(tz)
    label = f"{start.astimezone(z):%Y-%m-%d %H:%M} to {end.astimezone(z):%Y-%m-%d %H:%M}"
    return Period(start, end, label, z.key)


def describe_length(period: Period) -> str:
    """``24 hours``, ``day``, ``7 days``, ``week`` — how long the period is, in words."""
    if period.span:
        return period.span
    if period.back_days:
        return "day" if period.back_days == 1 else f"{period.back_days} days"
    hours = period.length / timedelta(hours=1)
    if hours == int(hours):
        return "hour" if hours == 1 else f"{int(hours)} hours"
    return f"{period.length}"


# --- local days ------------------------------------------------------------


def day_start(day: date, z: ZoneInfo) -> datetime:
    """The first moment of local ``day`` in zone ``z``, in UTC.

    Where a DST change skips midnight (the clock jumps 00:00 → 01:00), the
    wall time 00:00 is read with the offset before the change, which is the
    same instant as the first wall time that exists.
    """
    return datetime.combine(day, time(), tzinfo=z).astimezone(UTC)


def shift_days(moment: datetime, days: int, z: ZoneInfo) -> datetime:
    """``moment`` moved by ``days`` local calendar days at the same wall-clock time."""
    local = moment.astimezone(z).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=z).astimezone(UTC)


def local_days(start: datetime, end: datetime, z: ZoneInfo) -> list[date]:
    """The local dates of ``[start, end)``, in order."""
    if end <= start:
        return []
    first = start.astimezone(z).date()
    last = (end - timedelta(microseconds=1)).astimezone(z).date()
    count = min((last - first).days + 1, MAX_DAYS + 1)
    return [first + timedelta(days=i) for i in range(count)]


def zone_of(tz: str) -> ZoneInfo:
    """The zone ``tz``, or UTC when it is unknown."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _b36(value: int) -> str:
    if value <= 0:
        return "0"
    out = []
    while value:
        value, digit = divmod(value, 36)
        out.append(_B36[digit])
    return "".join(reversed(out))
