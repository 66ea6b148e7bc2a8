"""Dates from feeds, pages and JSON → ISO 8601 strings (``""`` when unknown)."""

from __future__ import annotations

import calendar
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
    RSS and e-mail) and numbers (seconds since the epoch). Returns ``""`` for
    an empty value and None when the value is not a date at all, so callers
    can tell "absent" from "wrong".
    """
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(value, str):
        return None
    return _iso_from_text(value.strip())


def _iso_from_text(text: str) -> str | None:
    if not text:
        return ""
    try:
        if len(text) == 10:  # a bare date stays a date: no invented midnight
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError):
        return None
