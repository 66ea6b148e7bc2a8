"""Logging set-up: one line per event, to stderr, tokens never printed.

Two formats (``LOG_FORMAT``): ``text`` for a person at a terminal, ``json``
(one JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ``exc``
and the ids of what the line is about) for a log collector; ``auto``, the
default, is JSON when stderr is not a terminal. The ids (``source``,
``source_id``, ``article_id``, ``alert_id``, ``delivery_id``, ``chat``,
``update_id``) come from :func:`bind`, which the code that handles one
source, article, delivery or update calls once: every line logged under it,
by any module or library, carries them. :func:`log_scope` ends a scope.

:func:`redact` is the one place secrets are masked: the log filter uses it,
and so does every line the CLI prints itself (``bot.cli.error``), so a start-up
error that quotes a token (PTB's "The token `…` was rejected") cannot leak it.
Besides the token shapes below, the values of the configured secrets
(:func:`register_secrets`) are masked wherever they appear.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

MASK = "[token]"
MIN_SECRET_LEN = 6  # shorter values would mask ordinary words
_SECRET = re.compile(
    r"(bot\d+:[A-Za-z0-9_-]{20,}"  # a Telegram token in an API URL
    r"|\b\d{5,}:[A-Za-z0-9_-]{30,}"  # a Telegram token on its own
    r"|xox[abpr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)"  # Slack tokens
)
_known: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these values (tokens, signing secrets) in everything :func:`redact` sees.

    A Telegram token ``<id>:<secret>`` also registers its secret half, which
    is what an error message may quote when it cuts the token short.
    """
    for value in values:
        if not value:
            continue
        parts = [value, value.partition(":")[2]]
        _known.update(p for p in parts if len(p) >= MIN_SECRET_LEN)


def redact(text: str) -> str:
    """``text`` with every known secret and every token-shaped string masked."""
    for secret in sorted(_known, key=len, reverse=True):  # a whole token before its half
        if secret in text:
            text = text.replace(secret, MASK)
    return _SECRET.sub(MASK, text)


# --- ids carried by every line of a scope ----------------------------------------------------

FIELDS = ("source", "source_id", "article_id", "alert_id", "delivery_id", "chat", "update_id")
# never mutated: bind() sets a new dict, so a task's copy of the context cannot change ours
_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "log_fields", default=None
)
P = ParamSpec("P")
R = TypeVar("R")


def bind(**fields: Any) -> None:
    """Add ids to every line logged from here on in this task (or thread), e.g.
    ``bind(source=name)``. A new asyncio task, and ``asyncio.to_thread``, start with a
    copy: what they bind does not leak back. ``None`` values are left out."""
    current = _fields.get() or {}
    _fields.set({**current, **{k: v for k, v in fields.items() if v is not None}})


def bound() -> dict[str, Any]:
    """The ids bound in this context."""
    return dict(_fields.get() or {})


def log_scope(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """What ``fn`` binds ends with it (for a coroutine called in a loop of one task,
    e.g. every source of ``run --once``)."""

    @functools.wraps(fn)
    async def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _fields.set(_fields.get())
        try:
            return await fn(*args, **kwargs)
        finally:
            _fields.reset(token)

    return scoped


class RedactSecrets(logging.Filter):
    """Masks Telegram and Slack tokens wherever they would appear (e.g. in a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


class TextFormatter(logging.Formatter):
    """The terminal's line; the traceback too is masked (an exception may quote a token)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, every string masked (:func:`redact`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in (_fields.get() or {}).items():
            entry[key] = redact(value) if isinstance(value, str) else value
        for key in FIELDS:  # ``log.info(..., extra={"chat": key})`` works too
            if key in record.__dict__:
                value = record.__dict__[key]
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


LOG_FORMATS = ("auto", "json", "text")


def use_json(log_format: str = "auto", stream: Any = None) -> bool:
    """``json``/``text`` as asked; ``auto``: JSON unless ``stream`` (stderr) is a terminal."""
    if log_format == "auto":
        stream = stream if stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", None)
        return not (isatty is not None and isatty())
    return log_format == "json"


def configure_logging(level: str = "INFO", log_format: str = "text", stream: Any = None) -> None:
    """The root logger: one handler on ``stream`` (stderr), in ``log_format``
    (``auto``, ``json`` or ``text``), secrets masked either way."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json(log_format, stream) else TextFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
