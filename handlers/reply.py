"""What a command answers, before any platform formats it.

A :class:`Reply` is rich text made of :class:`Part`s (plain, bold, code,
links, line breaks), optional buttons, and an optional file or image. Each
face renders it once (``handlers/render.py``): Telegram HTML, Slack mrkdwn /
Block Kit, plain text for the console — escaping user and article text for
its own markup there, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PartKind = Literal["text", "bold", "italic", "code", "link", "break"]


@dataclass(frozen=True)
class Part:
    kind: PartKind
    text: str = ""
    url: str = ""  # for links


def text(s: str) -> Part:
    return Part("text", s)


def bold(s: str) -> Part:
    return Part("bold", s)


def italic(s: str) -> Part:
    return Part("italic", s)


def code(s: str) -> Part:
    return Part("code", s)


def link(label: str, url: str) -> Part:
    return Part("link", label, url)


BREAK = Part("break")


@dataclass(frozen=True)
class Button:
    """A button under a message. ``data`` is short (Telegram allows 64 bytes): an id, not data."""

    label: str
    data: str  # e.g. "ex:1234" (explain alert 1234), "mu:troop-movements:24h"

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > 64:
            raise ValueError(f"button data over 64 bytes: {self.data!r}")


@dataclass(frozen=True)
class Attachment:
    """A file sent with the reply (a watchlist export, a chart)."""

    filename: str
    content: bytes
    mime: str = "application/octet-stream"
    is_image: bool = False


@dataclass
class Reply:
    parts: list[Part] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)  # rows of buttons
    attachment: Attachment | None = None
    error: bool = False  # a refusal or a usage error (faces may show it differently)
    silent: bool = False  # nothing to send (e.g. a refusal already sent elsewhere)

    @classmethod
    def plain(cls, message: str, *, error: bool = False) -> Reply:
        return cls([text(message)], error=error)

    def add(self, *parts: Part) -> Reply:
        self.parts.extend(parts)
        return self

    def line(self, *parts: Part) -> Reply:
        """Append ``parts`` and a line break."""
        self.parts.extend(parts)
        self.parts.append(BREAK)
        return self

    @property
    def plain_text(self) -> str:
        """The reply without any markup (tests, logs, the console's plain mode)."""
        out = []
        for p in self.parts:
            if p.kind == "break":
                out.append("\n")
            elif p.kind == "link":
                out.append(f"{p.text} ({p.url})" if p.url and p.url != p.text else p.text)
            else:
                out.append(p.text)
        return "".join(out).strip()


@dataclass(frozen=True)
class CommandContext:
    """Who asks, from where. Faces fill it in; commands never ask the platform."""

    platform: str  # "telegram" | "slack" | "console"
    chat_key: str  # "telegram:-100123", "slack:C024BE91L", "console:local"
    user_id: str  # platform user id ("telegram:42", "slack:U123", "console")
    user_name: str = ""
    chat_title: str = ""
    is_admin: bool = False  # chat admin (Telegram getChatMember) or listed in ADMIN_USERS
    is_private: bool = False  # a one-to-one chat with the bot
