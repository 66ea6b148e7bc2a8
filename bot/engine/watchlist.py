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

Every problem is reported as ``file: field: what is wrong`` — never a
traceback, never a silently ignored part.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from bot.configfile import ConfigError, unknown_field_message, without_aliases
from bot.configfile import type_name as _type_name
from bot.engine import rules
from bot.engine.text import normalise_str, split_tokens
from bot.limits import (
    MAX_RULE_CHARS,
    MAX_RULE_TERMS,
    MAX_TERM_CHARS,
    MAX_TERM_WORDS,
    MAX_WATCHLIST_TERMS,
)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOP_FIELDS = (
    "name",
    "description",
    "entities",
    "keywords",
    "groups",
    "rule",
    "min_score",
    "title_weight",
)
ENTITY_FIELDS = ("name", "aliases", "fuzzy", "weight")
KEYWORD_FIELDS = ("term", "weight")
DEFAULT_MIN_SCORE = 0.3


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
class Watchlist:
    name: str
    description: str = ""
    entities: list[Entity] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
    groups: dict[str, list[Keyword]] = field(default_factory=dict)
    rule: str | None = None
    min_score: float = DEFAULT_MIN_SCORE
    title_weight: float = 1.0  # multiplies the extra weight a title hit gets
    rule_ast: rules.Node | None = None
    path: Path | None = None

    def entity(self, name: str) -> Entity | None:
        wanted = name.casefold()
        for ent in self.entities:
            if ent.name.casefold() == wanted:
                return ent
        return None

    def group(self, name: str) -> list[Keyword] | None:
        wanted = name.casefold()
        for group_name, terms in self.groups.items():
            if group_name.casefold() == wanted:
                return terms
        return None

    @property
    def term_count(self) -> int:
        grouped = sum(len(terms) for terms in self.groups.values())
        return sum(len(e.all_names) for e in self.entities) + len(self.keywords) + grouped


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


def from_mapping(data: object, source: str = "<watchlist>") -> Watchlist:
    """Validate a parsed YAML document and build a :class:`Watchlist`."""
    if not isinstance(data, dict):
        raise WatchlistError(source, "", f"expected a mapping at the top, got {_type_name(data)}")
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
    wl = Watchlist(
        name=name,
        description=str(data.get("description") or "").strip(),
        entities=entities,
        keywords=keywords,
        groups=_parse_groups(source, data.get("groups")),
        min_score=_number(source, "min_score", data.get("min_score", DEFAULT_MIN_SCORE), 0, 1),
        title_weight=_number(source, "title_weight", data.get("title_weight", 1.0), 0, 10),
        path=Path(source) if source and not source.startswith("<") else None,
    )
    if wl.term_count > MAX_WATCHLIST_TERMS:
        raise WatchlistError(
            source,
            "",
            f"{wl.term_count} terms: a watchlist has at most {MAX_WATCHLIST_TERMS}"
            " (split it into several)",
        )
    rule_text = data.get("rule")
    if rule_text is not None and str(rule_text).strip():
        wl.rule = str(rule_text).strip()
        wl.rule_ast = compile_rule(wl, wl.rule, source)
    elif not entities and not keywords and not wl.groups:
        raise WatchlistError(source, "", "a watchlist needs entities, keywords or a rule")
    return wl


def compile_rule(wl: Watchlist, rule_text: str, source: str = "<rule>") -> rules.Node:
    """Parse a rule and check that it can be evaluated for ``wl``."""
    if len(rule_text) > MAX_RULE_CHARS or len(normalise_str(rule_text)) > MAX_RULE_CHARS:
        raise WatchlistError(
            source, "rule", f"too long: a rule has at most {MAX_RULE_CHARS} characters"
        )
    try:
        ast = rules.parse(rule_text)
    except rules.RuleError as err:
        raise WatchlistError(source, "rule", str(err)) from None
    leaves = rules.terms(ast)
    if len(leaves) > MAX_RULE_TERMS:
        raise WatchlistError(
            source, "rule", f"{len(leaves)} terms: a rule has at most {MAX_RULE_TERMS}"
        )
    for term in leaves:
        problem = term_problem(term.value) if term.kind != "entity" else None
        if problem:
            raise WatchlistError(source, "rule", problem)
        if term.kind == "entity" and wl.entity(term.value) is None and wl.group(term.value) is None:
            known = ", ".join([e.name for e in wl.entities] + list(wl.groups)) or "none defined"
            raise WatchlistError(
                source,
                "rule",
                f"@{term.value} is not an entity or group of this watchlist (known: {known})",
            )
    if not _has_positive_term(ast):
        raise WatchlistError(
            source, "rule", "the rule has no term outside NOT, so it would match every article"
        )
    return ast


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


def load_text(text: str, source: str = "<watchlist>") -> Watchlist:
    return from_mapping(parse_yaml(text, source), source)


def load_file(path: Path) -> Watchlist:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WatchlistError(str(path), "", f"cannot read: {err}") from None
    return load_text(text, str(path))


def watchlist_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def load_dir(directory: Path) -> tuple[list[Watchlist], list[WatchlistError]]:
    """Load every ``*.yaml`` in ``directory``; bad files are returned as errors."""
    if not directory.is_dir():
        return [], [WatchlistError(str(directory), "", "no such watchlist directory")]
    loaded: list[Watchlist] = []
    errors: list[WatchlistError] = []
    names: dict[str, Path] = {}
    for path in watchlist_files(directory):
        try:
            wl = load_file(path)
        except WatchlistError as err:
            errors.append(err)
            continue
        if wl.name in names:
            errors.append(
                WatchlistError(
                    str(path), "name", f"{wl.name!r} is already used by {names[wl.name]}"
                )
            )
            continue
        names[wl.name] = path
        loaded.append(wl)
    return loaded, errors


# --- round-trip save -------------------------------------------------------


def to_document(wl: Watchlist, base: CommentedMap | None = None) -> CommentedMap:
    """Write ``wl`` into a round-trip YAML document, keeping ``base``'s comments."""
    doc = base if base is not None else CommentedMap()
    doc["name"] = wl.name
    if wl.description or "description" in doc:
        doc["description"] = wl.description
    _set_seq(doc, "entities", [_entity_doc(e) for e in wl.entities])
    _set_seq(doc, "keywords", [_keyword_doc(k) for k in wl.keywords])
    if wl.groups or "groups" in doc:
        groups = doc.get("groups")
        groups = groups if isinstance(groups, CommentedMap) else CommentedMap()
        for name in [n for n in groups if n not in wl.groups]:
            del groups[name]
        for name, terms in wl.groups.items():
            groups[name] = _merge_seq(groups.get(name), [_keyword_doc(k) for k in terms])
        doc["groups"] = groups
    if wl.rule:
        doc["rule"] = wl.rule
    elif "rule" in doc:
        del doc["rule"]
    doc["min_score"] = wl.min_score
    if wl.title_weight != 1.0 or "title_weight" in doc:
        doc["title_weight"] = wl.title_weight
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
