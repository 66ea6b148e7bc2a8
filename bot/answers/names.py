"""Watched names in free text: which entity or watchlist a question is about.

Names and text go through the one normaliser (``bot.engine.text``), so ``Лукашенко``,
``lukashenko`` and ``LUKASHENKO`` are one name, and ``troop movements`` names
the watchlist ``troop-movements``. An alias is looked up as the entity it
belongs to; the entity is what stored hits name (their ``term``), in every
watchlist that has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.engine.text import tokens
from bot.engine.watchlist import Watchlist

__all__ = ["NameIndex", "Target"]

MAX_NAME_WORDS = 8


@dataclass(frozen=True)
class Target:
    """What an answer is about: a watchlist, or an entity (its canonical name)."""

    kind: Literal["watchlist", "entity"]
    name: str

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.name,) if self.kind == "entity" else ()

    @property
    def watchlist(self) -> str | None:
        return self.name if self.kind == "watchlist" else None


class NameIndex:
    """Every watched entity (name and aliases) and watchlist name, by normalised words."""

    def __init__(self, watchlists: Iterable[Watchlist]) -> None:
        self._names: dict[tuple[str, ...], Target] = {}
        entities: dict[tuple[str, ...], Target] = {}
        for wl in watchlists:
            for ent in wl.entities:
                target = Target("entity", ent.name)
                for alias in ent.all_names:
                    key = tuple(tokens(alias.rstrip("*")))
                    if key and len("".join(key)) >= 2:
                        entities.setdefault(key, target)
        for wl in watchlists:  # a watchlist's own name wins over an entity's
            key = tuple(tokens(wl.name))
            if key:
                self._names[key] = Target("watchlist", wl.name)
        for key, target in entities.items():
            self._names.setdefault(key, target)
        self.entity_names = sorted({t.name for t in entities.values()})
        self._spellings: dict[str, list[tuple[str, ...]]] = {}
        for key, target in entities.items():
            self._spellings.setdefault(target.name, []).append(key)
        self._longest = min(MAX_NAME_WORDS, max((len(k) for k in self._names), default=0))

    def lookup(self, text: str) -> Target | None:
        """The entity or watchlist ``text`` names in full (``None`` when it names none)."""
        return self._names.get(tuple(tokens(text)))

    def find(self, text: str) -> list[Target]:
        """Entities and watchlists named in ``text``, in order, longest names first."""
        words = tokens(text)
        found: list[Target] = []
        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                target = self._names.get(tuple(words[i : i + size]))
                if target is not None:
                    if target not in found:
                        found.append(target)
                    i += size
                    break
            else:
                i += 1
        return found

    def spellings(self, words: tuple[str, ...]) -> tuple[str, list[tuple[str, ...]]] | None:
        """The watched entity whose name or alias is ``words`` (normalised tokens), and
        every spelling of it (its name and aliases, normalised); None if none is."""
        target = self._names.get(words)
        if target is None or target.kind != "entity":
            for key, spelled in self._spellings.items():  # a watchlist's name hides an alias
                if words in spelled:
                    return key, spelled
            return None
        return target.name, self._spellings[target.name]
