"""The terminal face: alerts printed as they are pushed (no chat token needed), and the
chat commands typed at a prompt (:func:`repl`, ``alertbot chat``)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.runtime.delivery import AlertView
from bot.runtime.service import Service
from handlers.commands import handle_file, handle_text
from handlers.render import plain_alert
from handlers.reply import CommandContext, Reply


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

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        """A reply pushed unasked (a digest)."""
        print(reply_text(reply) + "\n", file=self.stream, flush=True)
        return "console"


# --- the chat commands in a terminal -----------------------------------------

CONSOLE_CONTEXT = CommandContext(
    platform="console",
    chat_key="console:local",
    user_id="console",
    user_name="console",
    chat_title="terminal",
    is_admin=True,
    is_private=True,
)
QUIT = ("quit", "exit", "/quit", "/exit")


def reply_text(reply: Reply) -> str:
    """What the terminal shows for a reply: its text, and the attached file's name and size."""
    out = reply.plain_text
    if reply.attachment is not None:
        size = len(reply.attachment.content)
        out += f"\n[attachment: {reply.attachment.filename}, {size} bytes]"
    return out


async def repl(service: Service, stdin: TextIO, stdout: TextIO) -> None:
    """Read commands line by line and print the answers, until ``quit`` or end of input.

    ``import <path>`` reads a watchlist file from disk, as sending it to a chat would.
    """
    prompt = "alertbot> " if stdin.isatty() else ""
    while True:
        if prompt:
            print(prompt, end="", file=stdout, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        command = line.strip()
        if command.lower() in QUIT:
            break
        if not command:
            continue
        path = _import_path(command)
        if path is not None:
            reply = await _import(service, path)
        else:
            reply = await handle_text(service, CONSOLE_CONTEXT, command)
        if not reply.silent:
            print(reply_text(reply), file=stdout, flush=True)


def _import_path(command: str) -> Path | None:
    word, _, rest = command.partition(" ")
    if word.lower().lstrip("/") != "import" or not rest.strip():
        return None
    return Path(rest.strip()).expanduser()


async def _import(service: Service, path: Path) -> Reply:
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as err:
        return Reply.plain(f"Cannot read {path}: {err.strerror or err}.", error=True)
    return await handle_file(service, CONSOLE_CONTEXT, path.name, content)
