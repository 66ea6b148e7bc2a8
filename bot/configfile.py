"""What the YAML config files (watchlists, sources) share: their one-line errors, no aliases.

Two loaders read them: ruamel's round-trip one, whose document keeps the
comments for saving a watchlist back (``bot/engine/watchlist.py``), and for
reading only the quicker safe one (:func:`plain_yaml`, ~2.5x faster on the bundled
watchlists), which leaves to the round-trip loader whatever it would read
differently.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.events import AliasEvent


class ConfigError(ValueError):
    """A config file that cannot be used; ``str()`` is one line: ``file: field: what``."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source = source
        self.where = where
        self.message = message
        prefix = f"{source}: {where}: " if where else f"{source}: "
        super().__init__(prefix + message)


def unknown_field_message(key: object, allowed: Iterable[str]) -> str:
    """``unknown field 'keywrods' (did you mean 'keywords'?)``, or the allowed ones."""
    names = list(allowed)
    hint = difflib.get_close_matches(str(key), names, n=1)
    more = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(names)})"
    return f"unknown field {key!r}{more}"


def type_name(value: object) -> str:
    """How a YAML value reads to a person: "a mapping", "a list", "nothing", "true"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return type(value).__name__


class _NoAliasComposer(Composer):
    """Refuses YAML aliases (``*name``, also ``<<: *name``) at the first one.

    Nine levels of aliases in a 1 kB file expand to billions of values (a
    "billion laughs"): a config file written by a person has no need of them,
    so none is read rather than bounding how far they expand.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            raise ComposerError(
                None,
                None,
                f"YAML aliases (*{event.anchor}) are not allowed: write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def without_aliases(yaml: YAML) -> YAML:
    """``yaml`` made to refuse aliases (see :class:`_NoAliasComposer`)."""
    yaml.Composer = _NoAliasComposer
    return yaml


class RoundTripOnly(Exception):
    """Raised by :func:`plain_yaml`'s loader for a document it leaves to the round-trip one."""


class _PlainComposer(_NoAliasComposer):
    """No aliases, and no explicit tags (``!!set``, ``!x``): the safe loader builds other
    values for those than the round-trip one (a ``set``, an error), so it gives up."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if getattr(self.parser.peek_event(), "tag", None) is not None:
            raise RoundTripOnly("explicit tag")
        return super().compose_node(parent, index)


class _PlainConstructor(SafeConstructor):
    """The safe constructor, except timestamps: the round-trip loader's ``TimeStamp``
    reads (``str()``) otherwise than a ``datetime``, so it gives up on them."""


def _give_up(constructor: Any, node: Any) -> Any:
    raise RoundTripOnly("timestamp")


_PlainConstructor.add_constructor("tag:yaml.org,2002:timestamp", _give_up)


def plain_yaml() -> YAML:
    """A loader for reading only: plain dicts, lists, str, int, float, bool and None, with
    the same values as the round-trip loader's (``str()``, ``==``), no aliases; it raises
    :class:`RoundTripOnly` (or a YAML error) where the round-trip loader must decide."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _PlainComposer
    yaml.Constructor = _PlainConstructor
    return yaml
