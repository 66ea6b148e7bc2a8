"""Dates from feeds, pages and JSON → ISO 8601 strings (``""`` when unknown)."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime


def iso_from_struct(value: time.struct_time | None) -> str:
    """feedparser's ``*_parsed`` (a UTC ``struct_time``) → ``2024-05-01T12:00:00+00:00``."""
    if value is None:
        return ""
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC).isoformat()
    except (OverflowError, ValueError, TypeError):
        return ""


def iso_from_value(value: object) -> str | None:
    """An ISO 8601 string for a date given as text or a Unix timestamp.

    Accepts ISO 8601 (date or date-time, ``Z`` suffix too), RFC 2822 (as in
    RSS and e-mail), ``2022/2/7``, ``7 Feb 2022``, ``February 7, 2022``,
    ``07.02.2022`` and seconds since the epoch (a number or its digits). Returns ``""`` for
    an empty value and None when the value is not a date at all, so callers
    can tell "absent" from "wrong".
    """
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _iso_from_epoch(value)
    if not isinstance(value, str):
        return None
    return _iso_from_text(value.strip())


# Dates as people and exporters write them, read as dates (no invented midnight).
_DATE_FORMATS = (
    "%Y/%m/%d",  # 2022/2/7 (strptime takes one-digit months and days)
    "%d %b %Y",  # 7 Feb 2022
    "%d %B %Y",  # 7 February 2022
    "%b %d %Y",  # Feb 7 2022 (commas are dropped first)
    "%B %d %Y",  # February 7 2022
    "%d.%m.%Y",  # 07.02.2022
)
_DATETIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")  # seconds (or milliseconds) since 1970


def _iso_from_text(text: str) -> str | None:
    if not text:
        return ""
    if _EPOCH.match(text):
        seconds = float(text)
        return _iso_from_epoch(seconds / 1000 if seconds >= 1e11 else seconds)
    try:
        if len(text) == 10:  # a bare date stays a date: no invented midnight
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    return _iso_from_formats(" ".join(text.replace(",", " ").split()))


def _iso_from_formats(text: str) -> str | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).isoformat()
        except ValueError:
            continue
    return None


def _iso_from_epoch(seconds: float) -> str | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return None
