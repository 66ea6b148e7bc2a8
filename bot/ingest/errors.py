"""The one error type every reader raises, so callers need a single ``except``."""

from __future__ import annotations

from bot.limits import MAX_URL_CHARS

_SHOWN_URL = 80  # characters of an over-long URL shown in a message


def one_line(text: str) -> str:
    """``text`` with its whitespace runs (newlines included) folded to single spaces."""
    return " ".join(text.split())


class IngestError(Exception):
    """An input could not be read; ``str()`` is one line naming the input.

    Readers deep down often do not know what the user typed (a path, ``-``, a
    URL), so they raise with only a ``reason``; the dispatcher adds the ``name``
    with :meth:`naming` on the way out.
    """

    def __init__(self, reason: str, name: str = "") -> None:
        self.reason = one_line(reason)
        self.name = name
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}" if self.name else self.reason

    def naming(self, name: str) -> IngestError:
        """This error with ``name`` as the input it is about (kept if it already has one)."""
        if self.name or not name:
            return self
        renamed = type(self)(self.reason, name)
        renamed.__cause__ = self.__cause__
        return renamed


def shorten_url(url: str) -> str:
    """``url`` as shown in a message: its start when it is long."""
    return url if len(url) <= _SHOWN_URL else url[:_SHOWN_URL] + "…"


def url_too_long(url: str) -> str:
    """The one-line refusal of a URL over :data:`bot.limits.MAX_URL_CHARS`."""
    return f"URL too long: {len(url):,} characters (at most {MAX_URL_CHARS:,})"
