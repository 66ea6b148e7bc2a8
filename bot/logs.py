"""Logging set-up: one line per event, to stderr, tokens never printed.

:func:`redact` is the one place secrets are masked: the log filter uses it,
and so does every line the CLI prints itself (``bot.cli.error``), so a start-up
error that quotes a token (PTB's "The token `…` was rejected") cannot leak it.
Besides the token shapes below, the values of the configured secrets
(:func:`register_secrets`) are masked wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


class RedactSecrets(logging.Filter):
    """Masks Telegram and Slack tokens wherever they would appear (e.g. in a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
