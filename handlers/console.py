"""The terminal face: alerts printed as they are pushed (no chat token needed)."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.delivery import AlertView
from handlers.render import plain_alert


class ConsoleNotifier:
    """A Notifier that prints each pushed alert to a stream (stdout by default)."""

    platform = "console"
    min_interval = 0.0  # a terminal has no rate limit

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.color = self.stream.isatty() if color is None else color

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        print(plain_alert(alert, self.color) + "\n", file=self.stream, flush=True)
        return f"console:{alert.id}"
