"""Watchlists: YAML load, validation and round-trip save (comments kept).

A watchlist file looks like this (see ``docs/ARCHITECTURE.md``)::

    name: troop-movements
    description: Troop movements and border deployments
    entities:
      - name: Alexander Lukashenko
        aliases: [Lukashenko, Лукашенко]
        fuzzy: 90
    keywords:
      - troops
      - convoy*
      - {term: "joint force", weight: 2}
    groups:                     # named keyword sets, used in the rule as @name
      movement: [deploy*, arriv*, "on the move"]
    rule: (troops OR convoy*) NEAR/12 (border OR @movement)
    min_score: 0.4

A *lexicon* is a file of groups that any watchlist can use instead of a copy::

    lexicon: shared             # its name (the field that makes it a lexicon)
    description: Words every military watchlist needs
    groups:
      forces: [troops, battalion*, {term: "armoured brigade", weight: 2}]
      hedge: [weighs, "could send", threaten*]

A lexicon may also hold ``parts:`` (named rule fragments, as a watchlist's
own ``parts:``), written with its own groups and the parts before it::

    parts:
      force: "@forces NEAR/2 NOT @hedge"

A watchlist says ``use: [shared]`` and its rule may then say ``@forces`` and
``$force``. Its own group or part of the same name wins (a lexicon's part
reads ``@x`` as the watchlist does, so an own group ``x`` changes it too). The shared groups stay in the
watchlist's :attr:`Watchlist.lexicons` (never in :attr:`Watchlist.groups`),
so a chat edit saved with :func:`dump` never copies them into its YAML.
A lexicon never alerts and is not a watchlist: :func:`load_dir` returns it
apart, and the database keeps it in a table of its own.

Every problem is reported as ``file: field: what is wrong`` — never a
traceback, never a silently ignored part.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import marshal
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from bot.bundled import cache_dir, write_cache_file
from bot.configfile import (
    ConfigError,
    RoundTripOnly,
    plain_yaml,
    unknown_field_message,
    without_aliases,
)
from bot.configfile import type_name as _type_name
from bot.engine import rules
from bot.engine.text import normalise_str, split_tokens
from bot.limits import (
    MAX_PARTS,
    MAX_RULE_CHARS,
    MAX_RULE_TERMS,
    MAX_TERM_CHARS,
    MAX_TERM_WORDS,
    MAX_WATCHLIST_TERMS,
)

T = TypeVar("T")
DOCUMENT_CACHE_FORMAT = 1  # of read_yaml's cache: bump it when plain_yaml reads anything otherwise
MAX_CACHED_DOCUMENTS = 256
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOP_FIELDS = (
    "name",
    "description",
    "use",
    "entities",
    "keywords",
    "groups",
    "parts",
    "rule",
    "min_score",
    "title_weight",
    "languages",
    "relevance_threshold",
)
LEXICON_FIELDS = ("lexicon", "description", "groups", "parts")
MAX_KNOWN_SHOWN = 12  # names listed after "known:" in an error
ENTITY_FIELDS = ("name", "aliases", "fuzzy", "weight")
KEYWORD_FIELDS = ("term", "weight")
DEFAULT_MIN_SCORE = 0.3
# the learned stage's calibrated relevance under which an alert is held back (not pushed)
DEFAULT_RELEVANCE_THRESHOLD = 0.5


class WatchlistError(ConfigError):
    """A watchlist that cannot be used; ``str()`` is one line naming file and field."""

    @property
    def field_name(self) -> str:
        return self.where


@dataclass
class Entity:
    name: str
    aliases: list[str] = field(default_factory=list)
    fuzzy: int | None = None  # rapidfuzz ratio cutoff (0-100); None = exact only
    weight: float = 1.0

    @property
    def all_names(self) -> list[str]:
        seen: dict[str, None] = {self.name: None}
        for alias in self.aliases:
            seen.setdefault(alias, None)
        return list(seen)


@dataclass
class Keyword:
    term: str
    weight: float = 1.0


@dataclass
class Lexicon:
    """Named groups shared by watchlists (``use: [name]``); it never alerts on its own."""

    name: str
    description: str = ""
    groups: dict[str, list[Keyword]] = field(default_factory=dict)
    # named rule fragments a watchlist that uses the lexicon may say as ``$name``
    parts: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def group(self, name: str) -> list[Keyword] | None:
        return _find_group(self.groups, name)

    @property
    def term_count(self) -> int:
        return sum(len(terms) for terms in self.groups.values())


@dataclass(frozen=True)
class SharedGroup:
    """A group a watchlist's rule takes from a lexicon (the terms are the lexicon's own list)."""

    name: str
    lexicon: str
    terms: list[Keyword]


def _find_group(groups: dict[str, list[Keyword]], name: str) -> list[Keyword] | None:
    wanted = name.casefold()
    for group_name, terms in groups.items():
        if group_name.casefold() == wanted:
            return terms
    return None


@dataclass
class Watchlist:
    name: str
    description: str = ""
    use: list[str] = field(default_factory=list)  # names of the lexicons it uses
    entities: list[Entity] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
    groups: dict[str, list[Keyword]] = field(default_factory=dict)
    # named rule fragments, ``$name`` in the rule and in later parts (texts as written)
    parts: dict[str, str] = field(default_factory=dict)
    rule: str | None = None
    min_score: float = DEFAULT_MIN_SCORE
    title_weight: float = 1.0  # multiplies the extra weight a title hit gets
    # the languages an article may be in to match (bot.engine.language); [] means any
    languages: list[str] = field(default_factory=list)
    # held back (listed in the digest, not pushed) under this relevance, once a model is trained
    relevance_threshold: float = DEFAULT_RELEVANCE_THRESHOLD
    rule_ast: rules.Node | None = None
    path: Path | None = None
    # the lexicons named by ``use``, resolved at load; never written back (see dump)
    lexicons: list[Lexicon] = field(default_factory=list, repr=False, compare=False)

    def entity(self, name: str) -> Entity | None:
        wanted = name.casefold()
        for ent in self.entities:
            if ent.name.casefold() == wanted:
                return ent
        return None

    def group(self, name: str) -> list[Keyword] | None:
        """The terms of group ``@name``: its own group, else the first lexicon's that has it."""
        own = _find_group(self.groups, name)
        if own is not None:
            return own
        shared = self.lexicon_group(name)
        return shared.terms if shared is not None else None

    def lexicon_group(self, name: str) -> SharedGroup | None:
        """Group ``@name`` of the first lexicon in ``use`` that has it (own groups not looked at)."""
        for lexicon in self.lexicons:
            terms = lexicon.group(name)
            if terms is not None:
                return SharedGroup(name, lexicon.name, terms)
        return None

    def group_origin(self, name: str) -> str | None:
        """Where ``@name`` comes from: ``"own"``, a lexicon's name, or None (no such group)."""
        if _find_group(self.groups, name) is not None:
            return "own"
        shared = self.lexicon_group(name)
        return shared.lexicon if shared is not None else None

    def shared_groups(self) -> list[SharedGroup]:
        """The lexicon groups the rule uses (not those the watchlist has of its own), in rule order."""
        if self.rule_ast is None or not self.lexicons:
            return []
        found: dict[str, SharedGroup] = {}
        for term in rules.terms(self.rule_ast):
            if term.kind != "entity" or term.value.casefold() in found:
                continue
            if self.entity(term.value) is not None or _find_group(self.groups, term.value):
                continue
            shared = self.lexicon_group(term.value)
            if shared is not None:
                found[term.value.casefold()] = shared
        return list(found.values())

    def shared_parts(self) -> list[tuple[str, str, str]]:
        """``(name, lexicon, text)`` of the lexicon parts the rule says (directly, in its
        own parts or through other lexicon parts), in the order they are first said."""
        if self.rule is None or not self.lexicons:
            return []
        lexicon_parts: dict[str, tuple[str, str]] = {}
        for lex in self.lexicons:
            for name, text in lex.parts.items():
                lexicon_parts.setdefault(name, (lex.name, text))
        found: dict[str, tuple[str, str, str]] = {}
        pending = [*self.parts.values(), self.rule]
        while pending:
            for name in rules.part_names(pending.pop(0)):
                if name in found or name in self.parts or name not in lexicon_parts:
                    continue
                owner, text = lexicon_parts[name]
                found[name] = (name, owner, text)
                pending.append(text)
        return list(found.values())

    def rule_groups(self) -> list[tuple[str, str]]:
        """``(group, origin)`` of every group the rule names, in rule order (origin: ``"own"``
        or the lexicon's name), for explain and test."""
        out: dict[str, tuple[str, str]] = {}
        if self.rule_ast is None:
            return []
        for term in rules.terms(self.rule_ast):
            if term.kind != "entity" or self.entity(term.value) is not None:
                continue
            origin = self.group_origin(term.value)
            if origin is not None:
                out.setdefault(term.value.casefold(), (term.value, origin))
        return list(out.values())

    @property
    def term_count(self) -> int:
        """Terms it matches: its own, and those of the shared groups its rule uses."""
        grouped = sum(len(terms) for terms in self.groups.values())
        shared = sum(len(g.terms) for g in self.shared_groups())
        own = sum(len(e.all_names) for e in self.entities) + len(self.keywords) + grouped
        return own + shared


# --- parsing ---------------------------------------------------------------


def _yaml() -> YAML:
    yaml = without_aliases(YAML())  # round-trip: keeps comments and key order
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _unknown_field(source: str, where: str, key: object, allowed: Iterable[str]) -> WatchlistError:
    return WatchlistError(source, where, unknown_field_message(key, allowed))


def _string(source: str, where: str, value: object) -> str:
    if isinstance(value, bool):
        word = "true" if value else "false"
        raise WatchlistError(
            source, where, f"expected text, got {word!r} as yes/no: quote it ('{word}')"
        )
    if value is None or isinstance(value, (dict, list)):
        raise WatchlistError(source, where, f"expected text, got {_type_name(value)}")
    text = str(value).strip()
    if not text:
        raise WatchlistError(source, where, "must not be empty")
    if len(text) > MAX_TERM_CHARS * 4:  # too long whatever normalising does: not normalised
        raise WatchlistError(source, where, _too_long(text))
    problem = term_problem(text.rstrip("*"))
    if problem:
        raise WatchlistError(source, where, problem)
    if "*" in text.rstrip("*") or text.endswith("**"):
        raise WatchlistError(source, where, f"{text!r}: * may only end the last word (deploy*)")
    if text.endswith("*") and not text[-2].isalnum():
        raise WatchlistError(source, where, f"{text!r}: * must follow a letter or digit (deploy*)")
    return text


def _shown(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:30] + "…")


def _too_long(text: str) -> str:
    return f"{_shown(text)} is too long: a term has at most {MAX_TERM_CHARS} characters"


def term_problem(text: str) -> str | None:
    """What makes ``text`` unusable as a term, measured as the matcher holds it (normalised).

    Normalising can make one character many (U+FDFA becomes 18, then more
    transliterated), so the bounds apply to the normalised form.
    """
    normalised = normalise_str(text)
    if len(normalised) > MAX_TERM_CHARS * 2:  # bounded before splitting it into words
        return f"{_too_long(text)} (after normalising)"
    words = split_tokens(normalised)
    if not words:
        return f"{_shown(text)} has no letters or digits to match"
    if len(words) > MAX_TERM_WORDS:
        return f"{_shown(text)} has {len(words)} words: a term has at most {MAX_TERM_WORDS}"
    if len(" ".join(words)) > MAX_TERM_CHARS:
        return f"{_too_long(text)} (after normalising)"
    return None


def _parse_languages(source: str, value: object) -> list[str]:
    """``languages: [en, ru, uk]``: codes the language detector knows, each once."""
    if value is None:
        return []
    from bot.engine.language import known_languages  # the profile names, not the profiles

    known = known_languages()
    out: list[str] = []
    for i, raw in enumerate(_list(source, "languages", value)):
        code = str(raw).strip().lower() if isinstance(raw, str) else ""
        if code not in known:
            raise WatchlistError(
                source,
                f"languages[{i}]",
                f"{raw!r} is not a language code the detector knows "
                f"(e.g. {', '.join(c for c in ('en', 'ru', 'uk', 'de', 'pl') if c in known)})",
            )
        if code not in out:
            out.append(code)
    return out


def _number(source: str, where: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WatchlistError(
            source, where, f"expected a number from {lo:g} to {hi:g}, got {value!r}"
        )
    if not lo <= float(value) <= hi:
        raise WatchlistError(source, where, f"{value!r} is out of range ({lo:g} to {hi:g})")
    return float(value)


def _list(source: str, where: str, value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WatchlistError(source, where, f"expected a list, got {_type_name(value)}")
    return list(value)


def _parse_entity(source: str, where: str, raw: object) -> Entity:
    if isinstance(raw, str):
        return Entity(name=_string(source, where, raw))
    if not isinstance(raw, dict):
        raise WatchlistError(source, where, f"expected a name or a mapping, got {_type_name(raw)}")
    for key in raw:
        if key not in ENTITY_FIELDS:
            raise _unknown_field(source, where, key, ENTITY_FIELDS)
    if "name" not in raw:
        raise WatchlistError(source, where, "an entity needs a 'name'")
    name = _string(source, f"{where}.name", raw["name"])
    aliases = [
        _string(source, f"{where}.aliases[{i}]", a)
        for i, a in enumerate(_list(source, f"{where}.aliases", raw.get("aliases")))
    ]
    fuzzy = raw.get("fuzzy")
    if fuzzy is not None:
        fuzzy = int(_number(source, f"{where}.fuzzy", fuzzy, 50, 100))
    weight = _number(source, f"{where}.weight", raw.get("weight", 1.0), 0.0, 10.0)
    return Entity(name=name, aliases=aliases, fuzzy=fuzzy, weight=weight)


def _parse_keyword(source: str, where: str, raw: object) -> Keyword:
    if isinstance(raw, dict):
        for key in raw:
            if key not in KEYWORD_FIELDS:
                raise _unknown_field(source, where, key, KEYWORD_FIELDS)
        if "term" not in raw:
            raise WatchlistError(source, where, "a keyword mapping needs a 'term'")
        weight = _number(source, f"{where}.weight", raw.get("weight", 1.0), 0.0, 10.0)
        return Keyword(_string(source, f"{where}.term", raw["term"]), weight)
    return Keyword(_string(source, where, raw))


def _parse_groups(source: str, raw: object) -> dict[str, list[Keyword]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise WatchlistError(
            source, "groups", f"expected a mapping of names to lists, got {_type_name(raw)}"
        )
    groups: dict[str, list[Keyword]] = {}
    for name, items in raw.items():
        if not NAME_RE.match(str(name)):
            raise WatchlistError(
                source, f"groups.{name}", "a group name is lower-case letters, digits, - and _"
            )
        where = f"groups.{name}"
        terms = [
            _parse_keyword(source, f"{where}[{i}]", item)
            for i, item in enumerate(_list(source, where, items))
        ]
        if not terms:
            raise WatchlistError(source, where, "a group needs at least one term")
        groups[str(name)] = terms
    return groups


def from_mapping(
    data: object, source: str = "<watchlist>", lexicons: Mapping[str, Lexicon] | None = None
) -> Watchlist:
    """Validate a parsed YAML document and build a :class:`Watchlist`.

    ``lexicons`` are those its ``use`` may name (by name); a name not among
    them is an error, as is a rule's ``@x`` that is in none of them.
    """
    if not isinstance(data, dict):
        raise WatchlistError(source, "", f"expected a mapping at the top, got {_type_name(data)}")
    if "lexicon" in data and "name" not in data:
        raise WatchlistError(
            source, "lexicon", "this is a lexicon, not a watchlist (a watchlist uses it: use: [name])"
        )
    for key in data:
        if key not in TOP_FIELDS:
            raise _unknown_field(source, "", key, TOP_FIELDS)
    if "name" not in data:
        raise WatchlistError(source, "name", "missing (every watchlist needs a name)")
    name = str(data["name"]).strip()
    if not NAME_RE.match(name):
        raise WatchlistError(
            source, "name", f"{name!r} is not a valid name (lower-case letters, digits, - and _)"
        )
    entities = [
        _parse_entity(source, f"entities[{i}]", raw)
        for i, raw in enumerate(_list(source, "entities", data.get("entities")))
    ]
    keywords = [
        _parse_keyword(source, f"keywords[{i}]", raw)
        for i, raw in enumerate(_list(source, "keywords", data.get("keywords")))
    ]
    use = _parse_use(source, data.get("use"))
    wl = Watchlist(
        name=name,
        description=str(data.get("description") or "").strip(),
        use=use,
        entities=entities,
        keywords=keywords,
        groups=_parse_groups(source, data.get("groups")),
        parts=_parse_parts(source, data.get("parts")),
        min_score=_number(source, "min_score", data.get("min_score", DEFAULT_MIN_SCORE), 0, 1),
        title_weight=_number(source, "title_weight", data.get("title_weight", 1.0), 0, 10),
        languages=_parse_languages(source, data.get("languages")),
        relevance_threshold=_number(
            source,
            "relevance_threshold",
            data.get("relevance_threshold", DEFAULT_RELEVANCE_THRESHOLD),
            0,
            1,
        ),
        path=Path(source) if source and not source.startswith("<") else None,
        lexicons=_resolve_use(source, use, lexicons or {}),
    )
    _check_size(source, wl.term_count, "a watchlist")
    rule_text = data.get("rule")
    if rule_text is not None and str(rule_text).strip():
        wl.rule = str(rule_text).strip()
        wl.rule_ast = compile_rule(wl, wl.rule, source)
        if wl.lexicons:  # the shared groups its rule uses count too
            _check_size(source, wl.term_count, "a watchlist, with the shared groups it uses,")
    elif not entities and not keywords and not wl.groups:
        raise WatchlistError(source, "", "a watchlist needs entities, keywords or a rule")
    return wl


def _check_size(source: str, count: int, what: str) -> None:
    if count > MAX_WATCHLIST_TERMS:
        raise WatchlistError(
            source,
            "",
            f"{count} terms: {what} has at most {MAX_WATCHLIST_TERMS} (split it into several)",
        )


def _parse_use(source: str, raw: object) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]  # use: shared
    names: list[str] = []
    for i, item in enumerate(_list(source, "use", raw)):
        where = f"use[{i}]"
        text = _string(source, where, item)
        if not NAME_RE.match(text):
            raise WatchlistError(
                source, where, f"{text!r} is not a lexicon name (lower-case letters, digits, - and _)"
            )
        if text in names:
            raise WatchlistError(source, where, f"lexicon {text!r} is named twice")
        names.append(text)
    return names


def _known(names: Iterable[str]) -> str:
    shown = list(names)
    if not shown:
        return "none"
    more = f" (+{len(shown) - MAX_KNOWN_SHOWN} more)" if len(shown) > MAX_KNOWN_SHOWN else ""
    return ", ".join(shown[:MAX_KNOWN_SHOWN]) + more


def _resolve_use(source: str, use: list[str], lexicons: Mapping[str, Lexicon]) -> list[Lexicon]:
    resolved = []
    for i, name in enumerate(use):
        lexicon = lexicons.get(name)
        if lexicon is None:
            raise WatchlistError(
                source, f"use[{i}]", f"no lexicon named {name!r} (known: {_known(sorted(lexicons))})"
            )
        resolved.append(lexicon)
    return resolved


def _parse_parts(source: str, raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise WatchlistError(
            source, "parts", f"expected a mapping of name: rule fragment, got {_type_name(raw)}"
        )
    if len(raw) > MAX_PARTS:
        raise WatchlistError(source, "parts", f"{len(raw)} parts: a watchlist has at most {MAX_PARTS}")
    parts: dict[str, str] = {}
    for name, text in raw.items():
        key = str(name)
        if not NAME_RE.match(key):
            raise WatchlistError(
                source,
                f"parts.{key}",
                "not a valid part name (lower-case letters, digits, - and _)",
            )
        if not isinstance(text, str) or not text.strip():
            raise WatchlistError(source, f"parts.{key}", "expected a rule fragment (text)")
        parts[key] = text.strip()
    return parts


def _check_rule_text(text: str, source: str, where: str) -> None:
    if len(text) > MAX_RULE_CHARS or len(normalise_str(text)) > MAX_RULE_CHARS:
        what = "a rule" if where == "rule" else "a part"
        raise WatchlistError(source, where, f"too long: {what} has at most {MAX_RULE_CHARS} characters")


def _compile_parts(wl: Watchlist, source: str) -> dict[str, rules.Part]:
    """The parts a rule of ``wl`` may say: the lexicons' (the first lexicon in ``use``
    that has a name wins), then its own, parsed in order (a part may use the ones
    before it; an own part replaces a lexicon's of the same name). A lexicon's part
    reads its ``@x`` as the watchlist does."""

    def check(leaves: list[rules.Term], where: str) -> None:
        _check_terms(wl, leaves, source, where)

    shared: dict[str, rules.Part] = {}
    for lexicon in wl.lexicons:
        prefix = f"use: {lexicon.name}: parts."
        for name, part in _parse_in_order(lexicon.parts, source, prefix, check).items():
            shared.setdefault(name, part)
    return _parse_in_order(wl.parts, source, "parts.", check, shared)


def _parse_in_order(
    texts: Mapping[str, str],
    source: str,
    prefix: str,
    check: Callable[[list[rules.Term], str], None],
    known: Mapping[str, rules.Part] | None = None,
) -> dict[str, rules.Part]:
    """``texts`` (name: rule fragment) parsed in order, each with ``known`` and the
    ones before it; ``check`` sees each part's terms (``prefix`` + name is where)."""
    compiled = dict(known or {})
    for name, text in texts.items():
        where = prefix + name
        _check_rule_text(text, source, where)
        try:
            compiled[name] = rules.parse_part(text, compiled)
        except rules.RuleError as err:
            raise WatchlistError(source, where, str(err)) from None
        check(rules.terms(compiled[name].node), where)
    return compiled


def compile_rule(wl: Watchlist, rule_text: str, source: str = "<rule>") -> rules.Node:
    """Parse a rule and check that it can be evaluated for ``wl`` (its ``@x`` found in
    its entities, its groups or the lexicons it uses; its ``$x`` in its parts)."""
    _check_rule_text(rule_text, source, "rule")
    parts = _compile_parts(wl, source)
    try:
        ast = rules.parse(rule_text, parts)
    except rules.RuleError as err:
        raise WatchlistError(source, "rule", str(err)) from None
    _check_terms(wl, rules.terms(ast), source, "rule")
    if not _has_positive_term(ast):
        raise WatchlistError(
            source, "rule", "the rule has no term outside NOT, so it would match every article"
        )
    return ast


def _check_terms(wl: Watchlist, leaves: list[rules.Term], source: str, where: str) -> None:
    """``leaves`` as a rule of ``wl`` may say them (see :func:`_check_leaves`)."""

    def unknown(name: str) -> str | None:
        if wl.entity(name) is not None or wl.group(name) is not None:
            return None
        own = [e.name for e in wl.entities] + list(wl.groups)
        shared = [g for lex in wl.lexicons for g in lex.groups if g not in wl.groups]
        known = _known(dict.fromkeys(own + shared))
        owner = "this watchlist or the lexicons it uses" if wl.use else "this watchlist"
        return f"@{name} is not an entity or group of {owner} (known: {known})"

    _check_leaves(leaves, source, where, unknown)


def _check_leaves(
    leaves: list[rules.Term], source: str, where: str, unknown: Callable[[str], str | None]
) -> None:
    """At most MAX_RULE_TERMS terms, each a valid pattern, every ``@x`` known
    (``unknown(x)`` is None, else the message)."""
    if len(leaves) > MAX_RULE_TERMS:
        raise WatchlistError(
            source, where, f"{len(leaves)} terms: a rule has at most {MAX_RULE_TERMS}"
        )
    for term in leaves:
        problem = term_problem(term.value) if term.kind != "entity" else unknown(term.value)
        if problem:
            raise WatchlistError(source, where, problem)


def lexicon_from_mapping(data: object, source: str = "<lexicon>") -> Lexicon:
    """Validate a parsed lexicon document (``lexicon:``, ``description:``, ``groups:``)."""
    if not isinstance(data, dict):
        raise WatchlistError(source, "", f"expected a mapping at the top, got {_type_name(data)}")
    for key in data:
        if key not in LEXICON_FIELDS:
            raise _unknown_field(source, "", key, LEXICON_FIELDS)
    name = str(data.get("lexicon") or "").strip()
    if not NAME_RE.match(name):
        raise WatchlistError(
            source, "lexicon", f"{name!r} is not a valid name (lower-case letters, digits, - and _)"
        )
    groups = _parse_groups(source, data.get("groups"))
    if not groups:
        raise WatchlistError(source, "groups", "a lexicon needs at least one group")
    _check_size(source, sum(len(terms) for terms in groups.values()), "a lexicon")
    lexicon = Lexicon(
        name=name,
        description=str(data.get("description") or "").strip(),
        groups=groups,
        parts=_parse_parts(source, data.get("parts")),
        path=Path(source) if source and not source.startswith("<") else None,
    )
    _check_lexicon_parts(lexicon, source)
    return lexicon


def _check_lexicon_parts(lexicon: Lexicon, source: str) -> None:
    """Each part parses with the parts before it and names only the lexicon's groups
    (a typo is the lexicon file's error, not that of every watchlist using it)."""

    def unknown(name: str) -> str | None:
        if lexicon.group(name) is not None:
            return None
        return f"@{name} is not a group of this lexicon (known: {_known(lexicon.groups)})"

    def check(leaves: list[rules.Term], where: str) -> None:
        _check_leaves(leaves, source, where, unknown)

    _parse_in_order(lexicon.parts, source, "parts.", check)


def is_lexicon(data: object) -> bool:
    """Whether a parsed YAML document is a lexicon (it has ``lexicon:``) rather than a watchlist."""
    return isinstance(data, dict) and "lexicon" in data and "name" not in data


def load_lexicon_text(text: str, source: str = "<lexicon>") -> Lexicon:
    return lexicon_from_document(read_yaml(text, source), text, source)


def _has_positive_term(node: rules.Node) -> bool:
    if isinstance(node, rules.Term):
        return True
    if isinstance(node, rules.Not):
        return False
    if isinstance(node, rules.InTitle):
        return _has_positive_term(node.child)
    return _has_positive_term(node.left) or _has_positive_term(node.right)


# --- files -----------------------------------------------------------------


def parse_yaml(text: str, source: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise WatchlistError(source, "", f"not valid YAML: {where}{problem}") from None


def read_yaml(text: str, source: str, *, cache: bool = False) -> Any:
    """The document of ``text`` for reading only (nothing saved back from it): plain
    dicts and lists from the quicker safe loader (:func:`bot.configfile.plain_yaml`), or,
    where that one gives up or fails, :func:`parse_yaml`'s document or error. Build
    from it with :func:`from_document` / :func:`lexicon_from_document`, which give the
    errors :func:`from_mapping` gives on the round-trip document.

    With ``cache`` (the files of a watchlist folder: scan, eval and run read the same
    ones at every start) a plain document is cached (``yaml/`` of
    :func:`bot.bundled.cache_dir`, named by a hash of the text and of the loader's
    version): the next process that reads the same text reads it back with ``marshal``
    (~1 ms instead of ~20 ms for a bundled file), the same dicts, lists and values.
    """
    path = _cached_document(text) if cache else None
    if path is not None:
        try:
            return marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    try:
        data = plain_yaml().load(text)
    except (YAMLError, RoundTripOnly, ValueError, TypeError, RecursionError):
        return parse_yaml(text, source)
    if path is not None:
        _cache_document(path, data)
    return data


def _cached_document(text: str) -> Path:
    key = f"{DOCUMENT_CACHE_FORMAT} {ruamel.yaml.__version__}\n{text}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return cache_dir() / "yaml" / f"{digest}.marshal"


def _cache_document(path: Path, data: Any) -> None:
    """Write ``data`` at ``path`` (atomically), keeping at most ``MAX_CACHED_DOCUMENTS``
    (the oldest go); a folder that cannot be written only costs the speed."""
    try:
        packed = marshal.dumps(data)
    except ValueError:
        return
    if write_cache_file(path, packed) is not None:
        return
    with contextlib.suppress(OSError):
        cached = list(path.parent.glob("*.marshal"))
        if len(cached) > MAX_CACHED_DOCUMENTS:
            cached.sort(key=lambda p: p.stat().st_mtime_ns)
            for old in cached[: len(cached) - MAX_CACHED_DOCUMENTS]:
                old.unlink(missing_ok=True)


def _round_trip_error(text: str, source: str, build: Callable[[object], T]) -> T:
    """``build`` of the round-trip document of ``text``: an error then says what it says
    on the round-trip values (``ScalarFloat``, a quoted string), as it always did."""
    return build(parse_yaml(text, source))


def from_document(
    data: object, text: str, source: str, lexicons: Mapping[str, Lexicon] | None = None
) -> Watchlist:
    """:func:`from_mapping` of :func:`read_yaml`'s ``data`` (``text``'s document)."""
    try:
        return from_mapping(data, source, lexicons)
    except WatchlistError:
        if isinstance(data, CommentedBase):
            raise
        return _round_trip_error(text, source, lambda doc: from_mapping(doc, source, lexicons))


def lexicon_from_document(data: object, text: str, source: str) -> Lexicon:
    """:func:`lexicon_from_mapping` of :func:`read_yaml`'s ``data`` (``text``'s document)."""
    try:
        return lexicon_from_mapping(data, source)
    except WatchlistError:
        if isinstance(data, CommentedBase):
            raise
        return _round_trip_error(text, source, lambda doc: lexicon_from_mapping(doc, source))


def load_text(
    text: str, source: str = "<watchlist>", lexicons: Mapping[str, Lexicon] | None = None
) -> Watchlist:
    return from_document(read_yaml(text, source), text, source, lexicons)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WatchlistError(str(path), "", f"cannot read: {err}") from None


def load_file(path: Path, lexicons: Mapping[str, Lexicon] | None = None) -> Watchlist:
    return load_text(_read(path), str(path), lexicons)


def watchlist_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


@dataclass
class Folder:
    """What a folder of YAML files holds: watchlists, lexicons, and the files that failed."""

    watchlists: list[Watchlist] = field(default_factory=list)
    lexicons: dict[str, Lexicon] = field(default_factory=dict)
    errors: list[WatchlistError] = field(default_factory=list)


def split_documents(
    files: Iterable[tuple[str, str]], *, cache: bool = False
) -> tuple[dict[str, Lexicon], list[tuple[str, str, object]], list[WatchlistError]]:
    """Sort ``(source, text)`` pairs into lexicons and watchlist documents (not yet built),
    read with :func:`read_yaml` (``cache``: see there).

    Lexicons come first because a watchlist needs them to resolve ``use``;
    two lexicons of one name are an error naming the second file.
    """
    lexicons: dict[str, Lexicon] = {}
    documents: list[tuple[str, str, object]] = []
    errors: list[WatchlistError] = []
    for source, text in files:
        try:
            data = read_yaml(text, source, cache=cache)
            if not is_lexicon(data):
                documents.append((source, text, data))
                continue
            lexicon = lexicon_from_document(data, text, source)
        except WatchlistError as err:
            errors.append(err)
            continue
        if lexicon.name in lexicons:
            first = lexicons[lexicon.name].path or "another lexicon"
            errors.append(
                WatchlistError(source, "lexicon", f"{lexicon.name!r} is already used by {first}")
            )
            continue
        lexicons[lexicon.name] = lexicon
    return lexicons, documents, errors


def load_folder(directory: Path) -> Folder:
    """Load every ``*.yaml`` in ``directory``: lexicons (files with ``lexicon:``) first,
    then the watchlists, which may use them. Bad files are returned as errors."""
    if not directory.is_dir():
        return Folder(errors=[WatchlistError(str(directory), "", "no such watchlist directory")])
    folder = Folder()
    texts: list[tuple[str, str]] = []
    for path in watchlist_files(directory):
        try:
            texts.append((str(path), _read(path)))
        except WatchlistError as err:
            folder.errors.append(err)
    folder.lexicons, documents, errors = split_documents(texts, cache=True)
    folder.errors += errors
    names: dict[str, str] = {}
    for source, text, data in documents:
        try:
            wl = from_document(data, text, source, folder.lexicons)
        except WatchlistError as err:
            folder.errors.append(err)
            continue
        if wl.name in names:
            folder.errors.append(
                WatchlistError(source, "name", f"{wl.name!r} is already used by {names[wl.name]}")
            )
            continue
        names[wl.name] = source
        folder.watchlists.append(wl)
    return folder


def load_dir(directory: Path) -> tuple[list[Watchlist], list[WatchlistError]]:
    """The watchlists of ``directory`` (using its lexicons) and the errors (see :func:`load_folder`)."""
    folder = load_folder(directory)
    return folder.watchlists, folder.errors


# --- round-trip save -------------------------------------------------------


def to_document(wl: Watchlist, base: CommentedMap | None = None) -> CommentedMap:
    """Write ``wl`` into a round-trip YAML document, keeping ``base``'s comments."""
    doc = base if base is not None else CommentedMap()
    doc["name"] = wl.name
    if wl.description or "description" in doc:
        doc["description"] = wl.description
    if wl.use or "use" in doc:  # the lexicons' names only: their groups stay in their files
        _set_seq(doc, "use", list(wl.use))
        if isinstance(doc.get("use"), CommentedSeq) and "use" not in (base or {}):
            doc["use"].fa.set_flow_style()
    _set_seq(doc, "entities", [_entity_doc(e) for e in wl.entities])
    _set_seq(doc, "keywords", [_keyword_doc(k) for k in wl.keywords])
    if wl.groups or "groups" in doc:
        _set_map(
            doc,
            "groups",
            {name: [_keyword_doc(k) for k in terms] for name, terms in wl.groups.items()},
            _merge_seq,
        )
    if wl.parts or "parts" in doc:  # a text kept as it is keeps its style (folded, quoted)
        _set_map(doc, "parts", dict(wl.parts), lambda old, text: old if old == text else text)
    if wl.rule:
        doc["rule"] = wl.rule
    elif "rule" in doc:
        del doc["rule"]
    doc["min_score"] = wl.min_score
    if wl.title_weight != 1.0 or "title_weight" in doc:
        doc["title_weight"] = wl.title_weight
    if wl.languages:
        doc["languages"] = _merge_seq(doc.get("languages"), list(wl.languages))
    elif "languages" in doc:
        del doc["languages"]
    if wl.relevance_threshold != DEFAULT_RELEVANCE_THRESHOLD or "relevance_threshold" in doc:
        doc["relevance_threshold"] = wl.relevance_threshold
    return doc


def _entity_doc(ent: Entity) -> CommentedMap:
    out = CommentedMap(name=ent.name)
    if ent.aliases:
        aliases = CommentedSeq(ent.aliases)
        aliases.fa.set_flow_style()
        out["aliases"] = aliases
    if ent.fuzzy is not None:
        out["fuzzy"] = ent.fuzzy
    if ent.weight != 1.0:
        out["weight"] = ent.weight
    return out


def _keyword_doc(kw: Keyword) -> object:
    if kw.weight == 1.0:
        return kw.term
    return CommentedMap(term=kw.term, weight=kw.weight)


def _set_map(
    doc: CommentedMap, key: str, values: dict[str, T], merge: Callable[[object, T], object]
) -> None:
    """Set a mapping field name by name, keeping the comments of the names still there:
    names no longer in ``values`` go, each value is ``merge(old value, new value)``."""
    found = doc.get(key)
    mapping = found if isinstance(found, CommentedMap) else CommentedMap()
    for name in [n for n in mapping if n not in values]:
        del mapping[name]
    for name, value in values.items():
        merged = merge(mapping.get(name), value)
        if merged is not mapping.get(name):
            mapping[name] = merged
    doc[key] = mapping


def _set_seq(doc: CommentedMap, key: str, items: list[object]) -> None:
    """Set a list field, keeping unchanged items' comments; an emptied list goes away
    (with its comments: an empty list with a comment inside is not valid YAML)."""
    if items:
        doc[key] = _merge_seq(doc.get(key), items)
    elif key in doc:
        del doc[key]


def _merge_seq(old: object, new: list[object]) -> CommentedSeq:
    """Edit the old sequence in place so unchanged items keep their comments.

    Membership is looked up in sets of :func:`_item_key`, not in the lists: a
    50,000-term list is merged in linear time (plus one shift of the list per
    item actually removed or inserted).
    """
    if not isinstance(old, CommentedSeq):
        return CommentedSeq(new)
    wanted = {_item_key(item) for item in new}
    for index in range(len(old) - 1, -1, -1):
        if _item_key(old[index]) not in wanted:
            del old[index]
    present = {_item_key(item) for item in old}
    for position, item in enumerate(new):
        key = _item_key(item)
        if key not in present:
            old.insert(min(position, len(old)), item)
            present.add(key)
    return old


def _item_key(item: object) -> object:
    """A hashable stand-in for ``item`` such that equal items (``==``) get equal keys."""
    if isinstance(item, dict):
        return ("map", frozenset((k, _item_key(v)) for k, v in item.items()))
    if isinstance(item, list):
        return ("seq", tuple(_item_key(v) for v in item))
    if isinstance(item, str):
        return str(item)  # a quoted ruamel scalar equals the plain string
    try:
        hash(item)
    except TypeError:
        return ("repr", repr(item))
    return item


def dump(wl: Watchlist, original_text: str | None = None, *, document: object = None) -> str:
    """YAML text for ``wl``; with ``original_text``, its comments and layout are kept.

    ``document`` is the original text already parsed (:func:`parse_yaml`), so
    an edit parses a big watchlist once instead of twice; it is changed in place.
    """
    base = document if isinstance(document, CommentedMap) else None
    if base is None and original_text:
        loaded = _yaml().load(original_text)
        if isinstance(loaded, CommentedMap):
            base = loaded
    buf = io.StringIO()
    _yaml().dump(to_document(wl, base), buf)
    return buf.getvalue()


def save(wl: Watchlist, path: Path) -> None:
    original = path.read_text(encoding="utf-8") if path.exists() else None
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dump(wl, original), encoding="utf-8")
    tmp.replace(path)
