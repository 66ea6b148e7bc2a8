"""The terminal face: alerts printed as they are pushed (no chat token needed), and the
chat commands typed at a prompt (:func:`repl`, ``alertbot chat``)."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.runtime.delivery import AlertView
from bot.runtime.service import Service
from handlers.commands import handle_button, handle_file, handle_text
from handlers.render import fold_message, plain_alert
from handlers.reply import Attachment, CommandContext, Reply

log = logging.getLogger("alertbot.console")

MAX_SUFFIX = 999  # demo.yaml, demo-2.yaml, … demo-999.yaml; then the folder needs tidying
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ConsoleNotifier:
    """A Notifier that prints each pushed alert to a stream (stdout by default)."""

    platform = "console"
    min_interval = 0.0  # a terminal has no rate limit

    def __init__(
        self, stream: TextIO | None = None, color: bool | None = None, exports: Path | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.color = self.stream.isatty() if color is None else color
        self.exports = exports or Path("data") / "exports"

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        print(plain_alert(alert, self.color) + "\n", file=self.stream, flush=True)
        return f"console:{alert.id}"

    async def send_fold(self, chat_key: str, alerts: Sequence[AlertView]) -> str | None:
        """A flood's alerts as one listing."""
        return await self.send_reply(chat_key, fold_message(alerts))

    async def send_reply(self, chat_key: str, reply: Reply) -> str | None:
        """A reply pushed unasked (a digest)."""
        print(reply_text(reply, self.exports) + "\n", file=self.stream, flush=True)
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
MORE = ("more", "/more")
LISTINGS = ("alerts", "summary", "more")
NO_LISTING = "Nothing to continue: list alerts first (alerts [wl] [since])."
LAST_PAGE = "No more pages: that listing is complete."


def reply_text(reply: Reply, exports: Path) -> str:
    """What the terminal shows for a reply: its text, and where its attachment was saved
    (in ``exports``, EXPORT_DIR; see :func:`save_attachment`)."""
    out = reply.plain_text
    if reply.attachment is not None:
        out += "\n" + _saved_line(reply.attachment, exports)
    if more_data(reply) is not None:
        label = next(b.label for row in reply.buttons for b in row if b.data.startswith("al:"))
        out += f"\n{label}: type more"
    return out


def more_data(reply: Reply) -> str | None:
    """The data of a reply's "More" button (the next page of an alerts listing), if any."""
    for row in reply.buttons:
        for button in row:
            if button.data.startswith("al:"):
                return button.data
    return None


def _saved_line(attachment: Attachment, exports: Path) -> str:
    size = len(attachment.content)
    try:
        path = save_attachment(attachment, exports)
    except OSError as err:
        log.warning("cannot save %s in %s: %s", attachment.filename, exports, err)
        reason = err.strerror or str(err)
        return f"[{attachment.filename}, {size:,} bytes, not saved: {exports}: {reason}]"
    return f"[saved {path} ({size:,} bytes)]"


def save_attachment(attachment: Attachment, folder: Path) -> Path:
    """Write ``attachment`` into ``folder`` (created if need be) and return its absolute path.

    An existing file is never replaced: ``demo.yaml`` becomes ``demo-2.yaml``,
    ``demo-3.yaml``… (created exclusively, so two terminals cannot write the same
    file). The name is reduced to letters, digits, ``.``, ``-`` and ``_``.
    """
    name = _UNSAFE.sub("-", Path(attachment.filename).name).strip(".-") or "attachment"
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_SUFFIX + 1):
        path = folder / (name if n == 1 else f"{stem}-{n}{dot}{ext}")
        try:
            with path.open("xb") as handle:
                handle.write(attachment.content)
        except FileExistsError:
            continue
        return path
    raise OSError(f"{MAX_SUFFIX} files named {stem}-N{dot}{ext} already (move some away)")


async def repl(service: Service, stdin: TextIO, stdout: TextIO) -> None:
    """Read commands line by line and print the answers, until ``quit`` or end of input.

    ``import <path>`` reads a watchlist file from disk, as sending it to a chat would.
    """
    prompt = "alertbot> " if stdin.isatty() else ""
    pages = _Pages()
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
        reply = await _answer(service, command, pages)
        if not reply.silent:
            print(reply_text(reply, service.settings.exports_folder()), file=stdout, flush=True)


class _Pages:
    """Where ``more`` continues: the "More" button of the last alerts listing (``None``
    before any listing, ``""`` once the last page was shown)."""

    def __init__(self) -> None:
        self.next: str | None = None

    def saw(self, command: str, reply: Reply) -> None:
        data = more_data(reply)
        if data is not None:
            self.next = data
        elif not reply.error and command.split()[0].lower().lstrip("/") in LISTINGS:
            self.next = ""  # a listing that fits its page, or the last page


async def _answer(service: Service, command: str, pages: _Pages) -> Reply:
    """One line typed at the prompt: ``more``, ``import <path>``, or a chat command."""
    if command.lower() in MORE:
        if not pages.next:
            return Reply.plain(LAST_PAGE if pages.next == "" else NO_LISTING, error=True)
        reply = await handle_button(service, CONSOLE_CONTEXT, pages.next)
    else:
        path = _import_path(command)
        if path is not None:
            return await _import(service, path)
        reply = await handle_text(service, CONSOLE_CONTEXT, command)
    pages.saw(command, reply)
    return reply


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
