"""What the YAML config files (watchlists, sources) share: their one-line errors."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
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
