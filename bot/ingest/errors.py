"""The one error type every reader raises, so callers need a single ``except``."""

from __future__ import annotations


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
