"""Watchlist rules: a small boolean/proximity language over article words.

A watchlist's ``rule`` says which combination of terms makes an alert, e.g.::

    (troops OR servicemen OR convoy*) NEAR/12 (border OR deploy*) AND NOT @"Minsk Marathon"

Grammar (EBNF; spaces between tokens are free, operators are UPPER CASE)::

    rule       = or_expr ;
    or_expr    = and_expr , { "OR" , and_expr } ;
    and_expr   = near_expr , { "AND" , near_expr } ;
    near_expr  = unary , { near_op , unary } ;             (* not NOT on both sides *)
    near_op    = "NEAR/" , distance | "PRE/" , distance | "SENT" | "CLAUSE" ;
    unary      = { "NOT" | zone } , primary ;              (* not NOT right after a zone *)
    zone       = "title:" | "lead:" | "top:" | "question:" ;
    primary    = term | part | "(" , or_expr , ")" ;
    part       = "$" , name ;                              (* $force: a named part *)
    term       = word | prefix | phrase | entity ;
    word       = alnum , { alnum | mark | inner } ;        (* troops, Лукашенко, pro-Russian *)
    inner      = ( "-" | "'" | "’" ) , alnum ;             (* hyphen/apostrophe inside a word *)
    prefix     = word , "*" ;                              (* deploy* = deploy, deployed, ... *)
    phrase     = '"' , word , { separator , word } , [ "*" ] , '"' ;   (* "joint force" *)
    separator  = space or punctuation , { space or punctuation } ;
    entity     = "@" , ( name | '"' , text , '"' ) ;        (* @Belarus, @"Alexander Lukashenko" *)
    name       = alnum , { alnum | mark | inner | "_" | "-" } ;   (* @troop_moves *)
    text       = any characters but '"', at least one letter or digit ;
    distance   = digit , { digit } ;                       (* 1 to 1000, no space after "/" *)

``alnum`` is a letter or digit of any script.  Inside quotes, punctuation
between words counts as a space (as it does in articles), and only the last
word may end in ``*``.  ``@name`` refers to an entity (all its aliases) or a
keyword group of the same watchlist; the name may also contain ``_`` and ``-``.
``$name`` stands for a *part*: a rule fragment the watchlist names under
``parts:`` (see :func:`parse`), as if written there in parentheses. A part may
use the parts named before it. Parts let a long rule say a thing once; equal
sub-expressions, written once or many times, are one node after parsing (see
:func:`intern`), so each is evaluated once per article.

Precedence, tightest first: ``NOT`` (and the zones), ``NEAR/n``, ``PRE/n``,
``SENT`` and ``CLAUSE``, ``AND``, ``OR``; binary operators group from the
left, so ``a OR b AND c`` is ``a OR (b AND c)`` and ``a NEAR/3 b NEAR/5 c`` is
``(a NEAR/3 b) NEAR/5 c``.  Use parentheses when in doubt.  Lower-case
``and``/``or``/``not``/``near`` (and ``pre``, ``sent``, ``clause``) are not
operators: where an operator is expected they are reported as an error (write
``"and"`` in quotes, or in lower case where a term is expected, to search for
the word itself).

Meaning, for one article.  Each term has the word positions where it occurs;
a part of the rule either matches or not, and carries the positions that made
it match (used as evidence):

- a term matches if it occurs at least once;
- ``a OR b`` matches if either side does; ``a AND b`` if both do;
- ``NOT a`` matches if ``a`` does not; it contributes no positions;
- ``title:a`` (or ``title:(…)``) is ``a`` judged on the headline alone, e.g.
  ``NOT (title:@opinion AND NOT title:@forces)`` drops opinion pieces whose
  headline names no force; ``lead:a`` is ``a`` judged on the lead (the first
  whole sentences of the body, up to about 300 characters, at least one,
  never more than 600), and
  ``top:a`` on the headline and lead together: ``top:@forces AND ...`` keeps
  a long article whose body mentions forces only in passing from alerting;
- ``question:a`` is ``a`` judged on the sentences that ask a yes/no question
  only (they end in ``?`` and do not open with a question word:
  :func:`bot.engine.text.is_yes_no_question`): such a sentence asks whether
  something happens, as a hedge does, so ``NOT title:question:@forces`` drops
  "Will Russia send troops to Belarus?" and keeps "Why is the US deploying
  warships?" (which says it is); zones combine, ``title:question:x``;
- ``a SENT b`` matches if some occurrence of ``a`` and some occurrence of a
  different word ``b`` are in the same sentence (the engine's sentence
  splitter, :func:`bot.engine.text.split_sentences`; the headline is its own
  sentence); ``a SENT NOT b`` keeps the occurrences of ``a`` whose sentence has
  no ``b``: ``deploy* SENT NOT @hedge`` drops a deployment that is only weighed;
- ``a CLAUSE b`` and ``a CLAUSE NOT b`` (or ``NOT b CLAUSE a``) are ``SENT``
  at clause level: each sentence (the headline one of its own) is cut further
  at ``;``, ``:``, a spaced dash and before a conjunction such as ``as``,
  ``while`` or ``but`` (:func:`bot.engine.text.split_clauses`), so
  ``deploy* CLAUSE NOT could`` keeps "troops deployed to the city as officials
  could not say why", where the hedge is in another clause, and drops "troops
  could be deployed";
- ``a NEAR/n b`` matches if some occurrence of ``a`` and some occurrence of
  ``b`` are at most ``n`` words apart, in either order (neighbouring words are
  1 apart); the two must be different words: ``"border patrol" NEAR/3 patrol``
  does not match one "Border Patrol".  A side that matches only through ``NOT`` has
  no positions, so it cannot be near anything;
- ``a NEAR/n NOT b`` (or ``NOT b NEAR/n a``) keeps the occurrences of ``a``
  that have no ``b`` within ``n`` words, and matches if at least one is left.
  This is how to exclude false friends:
  ``deploy* NEAR/3 NOT (software OR code)``.  ``NOT`` on both sides of a
  ``NEAR`` is an error: there would be nothing to look for.
- ``a PRE/n b`` is ``a NEAR/n b`` in that order: an ``a`` that ends before a
  ``b`` starts, at most ``n`` words before it (spans that overlap have no
  order). With ``NOT`` it keeps the occurrences that have no such word on
  that side: ``NOT (amid OR after) PRE/3 withdrawal`` drops "amid the
  withdrawal" and keeps "withdrawal after the attack"; ``deploy* PRE/4 NOT
  (plan OR plans)`` drops "deployment plans" only.

A bad rule raises :class:`RuleError`, whose message gives the 1-based
position, what was expected there and what was found.  Limits: at most 50
parentheses inside one another and 100 operators stacked on one another (put
long lists of alternatives in a keyword group and use ``@group``).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from itertools import accumulate, chain
from typing import Any, Literal, TypeAlias

from bot.limits import MAX_RULE_NODES

__all__ = [
    "And",
    "Clause",
    "InTitle",
    "InZone",
    "Layout",
    "MAX_DISTANCE",
    "Near",
    "Node",
    "NodeTrace",
    "Not",
    "Or",
    "Result",
    "RuleError",
    "Sent",
    "Span",
    "Term",
    "evaluate",
    "nearest_miss",
    "parse",
    "parse_part",
    "Part",
    "intern",
    "tree_size",
    "render",
    "span_distance",
    "terms",
    "trace",
    "uses_zone",
    "ZONES",
    "Zone",
]

MAX_DISTANCE = 1000
MAX_NESTING = 50  # parentheses inside parentheses
MAX_DEPTH = 100  # operators stacked on one another (a chain of 100 ORs is fine)

TermKind = Literal["word", "phrase", "prefix", "entity"]
Span: TypeAlias = tuple[int, int]


# --- AST -------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A leaf: ``value`` as written, without quotes, ``@`` or a prefix's ``*``."""

    kind: TermKind
    value: str


@dataclass(frozen=True)
class Not:
    child: Node


Zone: TypeAlias = Literal["title", "lead", "top", "question"]
ZONES: tuple[Zone, ...] = ("title", "lead", "top", "question")


@dataclass(frozen=True)
class InZone:
    """``title:x``, ``lead:x``, ``top:x``, ``question:x``: ``x`` evaluated on one zone.

    ``title`` is the headline, ``lead`` the first sentences of the body (see
    :func:`bot.engine.text.lead_end`), ``top`` the two together, ``question``
    the sentences, anywhere, that ask a yes/no question.
    """

    child: Node
    zone: Zone = "title"


InTitle = InZone  # ``InTitle(x)`` is ``title:x``


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Near:
    """``a NEAR/n b``; with ``ordered`` it is ``a PRE/n b`` (``a`` before ``b``)."""

    left: Node
    right: Node
    n: int
    ordered: bool = False


@dataclass(frozen=True)
class Sent:
    """``a SENT b``: an ``a`` and a ``b`` in the same sentence (``NOT`` on one side excludes)."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Clause:
    """``a CLAUSE b``: :class:`Sent` at clause level (``a`` and ``b`` in the same clause)."""

    left: Node
    right: Node


Node: TypeAlias = Term | Not | InZone | And | Or | Near | Sent | Clause
_NODE_TYPES = (Term, Not, InZone, And, Or, Near, Sent, Clause)


@dataclass(frozen=True)
class Layout:
    """Where an article's zones and sentences lie, in token positions.

    Spans starting before ``title_end`` are in the title, those from
    ``title_end`` up to ``lead_end`` in the lead, the rest in the body.
    ``sentence_of`` gives a token position's sentence number (any numbering,
    equal within a sentence), ``clause_of`` its clause number (the same, for
    clauses: a clause never spans two sentences). Without ``title_end``
    ``title:x`` is ``x``; without ``lead_end`` the lead is empty; without
    ``sentence_of`` the title is one sentence and the rest another; without
    ``clause_of`` each sentence is one clause; without ``question_of`` no
    sentence asks a question.
    """

    title_end: int | None = None
    lead_end: int | None = None
    sentence_of: Callable[[int], int] | None = None
    clause_of: Callable[[int], int] | None = None
    question_of: Callable[[int], bool] | None = None

    def knows(self, zone: Zone) -> bool:
        """Whether ``zone`` can be told apart here (without a title, ``title:x`` is ``x``)."""
        return zone == "question" or self.title_end is not None

    def in_zone(self, zone: Zone, start: int) -> bool:
        """Whether a span starting at ``start`` lies in ``zone`` (given ``title_end``)."""
        if zone == "question":
            return self.question_of is not None and self.question_of(start)
        title_end = self.title_end
        assert title_end is not None
        lead_end = title_end if self.lead_end is None else self.lead_end
        if zone == "title":
            return start < title_end
        if zone == "lead":
            return title_end <= start < lead_end
        return start < lead_end

    def sentence(self, position: int) -> int:
        if self.sentence_of is not None:
            return self.sentence_of(position)
        return 0 if self.title_end is None or position < self.title_end else 1

    def clause(self, position: int) -> int:
        if self.clause_of is not None:
            return self.clause_of(position)
        return self.sentence(position)


@dataclass(frozen=True)
class Result:
    """Whether a rule (or part) matched, and the token spans that made it match."""

    matched: bool
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class NodeTrace:
    """One row of :func:`trace`: a node's text, whether it matched, its depth."""

    text: str
    matched: bool
    depth: int


# --- errors ----------------------------------------------------------------


class RuleError(ValueError):
    """A rule that cannot be parsed; ``str()`` is one line."""

    def __init__(
        self, rule: str, position: int, expected: str, found: str | None, hint: str = ""
    ) -> None:
        self.rule = rule
        self.position = position  # 0-based index into ``rule``
        self.expected = expected
        self.found = found  # the offending text; None at the end of the rule
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        found = "end of rule" if self.found is None else repr(self.found)
        message = (
            f"rule error at position {self.position + 1}: expected {self.expected}, found {found}"
        )
        return f"{message}; {self.hint}" if self.hint else message

    def __reduce__(self) -> tuple[type[RuleError], tuple[str, int, str, str | None, str]]:
        return (RuleError, (self.rule, self.position, self.expected, self.found, self.hint))

    def pointer(self) -> str:
        """The rule's line holding the error, and a caret under the position."""
        start = self.rule.rfind("\n", 0, self.position) + 1
        end = self.rule.find("\n", self.position)
        line = self.rule[start : len(self.rule) if end < 0 else end]
        pad = "".join(c if c == "\t" else " " for c in self.rule[start : self.position])
        return f"{line}\n{pad}^"


# --- tokens ----------------------------------------------------------------

_OPERATORS = ("AND", "OR", "NOT", "SENT", "CLAUSE")
_TERM_KINDS: dict[str, TermKind] = {
    "word": "word",
    "prefix": "prefix",
    "phrase": "phrase",
    "entity": "entity",
}
_OPERATOR_KINDS = ("AND", "OR", "NOT", "NEAR", "SENT", "CLAUSE", "ZONE")
_OPERATOR_HINTS = {  # for a token found where an operator is expected
    "NOT": "NOT goes before a term: write AND NOT",
    "*": "write '*' right after the word, without a space: deploy*",
    ")": "this ')' has no matching '('",
}
_LOWER_HINTS = {
    "and": "AND",
    "or": "OR",
    "not": "NOT (e.g. a AND NOT b)",
    "near": "NEAR/n (e.g. NEAR/5)",
    "pre": "PRE/n (e.g. PRE/3: the left side before the right)",
    "sent": "SENT (e.g. troops SENT deploy*)",
    "clause": "CLAUSE (e.g. deploy* CLAUSE NOT could)",
}
_INNER = "-'’"  # may join two letters of a word
_SMART_QUOTES = "“”„«»"
_PART_EXPECTED = "a part's name right after '$' (e.g. $force)"
_ENTITY_EXPECTED = "an entity name right after '@' (e.g. @Belarus or @\"Alexander Lukashenko\")"


@dataclass(frozen=True)
class _Token:
    kind: str  # a _TERM_KINDS kind, an operator, "(", ")", "*", "bad" or "end"
    text: str
    pos: int
    value: str = ""
    n: int = 0
    ordered: bool = False  # PRE/n (a NEAR/n in that order)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _scan_word(text: str, i: int, loose: str = "") -> int:
    """End of the word starting at ``i`` (``i`` itself if there is none).

    Hyphens and apostrophes may join letters; ``loose`` characters may follow
    the first letter anywhere (``_`` and ``-`` in entity and group names).
    """
    if i >= len(text) or not text[i].isalnum():
        return i
    j = i + 1
    while j < len(text):
        char = text[j]
        if char.isalnum() or _is_mark(char) or char in loose:
            j += 1
        elif char in _INNER and text[j + 1 : j + 2].isalnum():
            j += 2
        else:
            break
    return j


def _scan_name(text: str, i: int) -> int:
    """End of a bare entity/group name: a word that may also hold ``_`` and ``-``."""
    return _scan_word(text, i, loose="-_")


def _is_name(text: str) -> bool:
    return bool(text) and _scan_name(text, 0) == len(text)


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunk(text: str, i: int) -> str | None:
    """The text from ``i`` up to the next space or parenthesis, for error messages."""
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in "()":
        j += 1
    return _shorten(text[i : max(j, i + 1)]) if i < len(text) else None


class _Lexer:
    """Produces tokens on demand, so the leftmost problem is the one reported."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.i = 0

    def error(self, pos: int, expected: str, found: str | None, hint: str = "") -> RuleError:
        return RuleError(self.rule, pos, expected, found, hint)

    def next(self) -> _Token:
        s, i = self.rule, self.i
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            return _Token("end", "", len(s.rstrip()))
        char = s[i]
        if char == '"':
            return self._phrase(i)
        if char == "@":
            return self._entity(i)
        if char == "$":
            return self._part(i)
        if char.isalnum():
            return self._word(i)
        self.i = i + 1
        return _Token(char if char in "()*" else "bad", char, i)

    def _word(self, i: int) -> _Token:
        end = _scan_word(self.rule, i)
        text = self.rule[i:end]
        if self.rule[end : end + 1] == "*":
            return self._prefix(i, end)
        if text == "NEAR" or (text == "PRE" and self.rule[end : end + 1] == "/"):
            return self._near(i, end)
        if self.rule[end : end + 1] == ":":
            if text in ZONES:
                self.i = end + 1
                return _Token("ZONE", text + ":", i, text)
            if text.isalpha():  # never a term: a colon outside quotes ends no word
                zones = ", ".join(f"{zone}:" for zone in ZONES)
                raise self.error(i, f"a zone ({zones})", text + ":")
        self.i = end
        if text in _OPERATORS:
            return _Token(text, text, i)
        return _Token("word", text, i, text)

    def _prefix(self, i: int, star: int) -> _Token:
        after = self.rule[star + 1 : star + 2]
        if after == "*" or after.isalnum():
            raise self.error(
                star + 1, "a space or operator after '*' (a '*' can only end a word)", after
            )
        self.i = star + 1
        return _Token("prefix", self.rule[i : star + 1], i, self.rule[i:star])

    def _near(self, i: int, end: int) -> _Token:
        """``NEAR/n`` or ``PRE/n`` (both of kind NEAR; PRE is ordered)."""
        s = self.rule
        op = s[i:end]
        if s[end : end + 1] != "/":
            raise self.error(i, "a distance written as NEAR/n (e.g. NEAR/5)", _chunk(s, i))
        k = end + 1
        while k < len(s) and s[k] in "0123456789":
            k += 1
        digits = s[end + 1 : k]
        if not digits or (k < len(s) and (s[k].isalnum() or s[k] == "*")):
            raise self.error(
                end + 1, f"a whole number after {op}/ (e.g. {op}/5)", _chunk(s, end + 1)
            )
        if len(digits.lstrip("0")) > 4 or not 1 <= int(digits) <= MAX_DISTANCE:
            raise self.error(
                end + 1, f"a distance from 1 to {MAX_DISTANCE} after {op}/", _shorten(digits)
            )
        self.i = k
        return _Token("NEAR", s[i:k], i, n=int(digits), ordered=op == "PRE")

    def _closing_quote(self, i: int) -> int:
        close = self.rule.find('"', i + 1)
        if close < 0:
            smart = any(c in _SMART_QUOTES for c in self.rule[i:])
            hint = 'close it with a straight double quote (")' if smart else ""
            raise self.error(i, "a closing '\"' for the quote opened here", None, hint)
        return close

    def _phrase(self, i: int) -> _Token:
        close = self._closing_quote(i)
        content = self.rule[i + 1 : close]
        self._check_phrase(i, content)
        self.i = close + 1
        return _Token("phrase", self.rule[i : close + 1], i, content.strip())

    def _check_phrase(self, start: int, content: str) -> None:
        j, words = 0, 0
        while j < len(content):
            if content[j].isalnum():
                j = _scan_word(content, j)
                words += 1
                if content[j : j + 1] == "*":
                    self._check_phrase_star(start + 1 + j, content[j + 1 :])
                    return
            elif content[j] == "*":
                raise self.error(start + 1 + j, "a word right before '*'", "*")
            else:
                j += 1
        if words == 0:
            quoted = self.rule[start : start + len(content) + 2]
            raise self.error(start, "one or more words between the quotes", _shorten(quoted))

    def _check_phrase_star(self, star: int, rest: str) -> None:
        if rest.strip():
            expected = "the closing '\"' after '*' (only the last word of a phrase may end in '*')"
            raise self.error(star + 1, expected, _shorten(rest.strip()))

    def _entity(self, i: int) -> _Token:
        s = self.rule
        if s[i + 1 : i + 2] == '"':
            close = self._closing_quote(i + 1)
            name = s[i + 2 : close].strip()
            if not any(c.isalnum() for c in name):
                raise self.error(i, _ENTITY_EXPECTED, _shorten(s[i : close + 1]))
            self.i = close + 1
            return _Token("entity", s[i : close + 1], i, name)
        end = _scan_name(s, i + 1)
        if end == i + 1:
            raise self.error(i, _ENTITY_EXPECTED, s[i : i + 2])
        if s[end : end + 1] == "*":
            raise self.error(
                end, "no '*' after an entity name (an entity has its own aliases)", "*"
            )
        self.i = end
        return _Token("entity", s[i:end], i, s[i + 1 : end])

    def _part(self, i: int) -> _Token:
        end = _scan_name(self.rule, i + 1)
        if end == i + 1:
            raise self.error(i, _PART_EXPECTED, self.rule[i : i + 2])
        self.i = end
        return _Token("part", self.rule[i:end], i, self.rule[i + 1 : end])


# --- parser ----------------------------------------------------------------

_Parsed: TypeAlias = tuple[Node, int]  # a node and its depth


class _Parser:
    """Recursive descent over the grammar in the module docstring."""

    def __init__(self, rule: str, parts: Mapping[str, Part] | None = None) -> None:
        self.rule = rule
        self.parts = parts or {}
        self.lexer = _Lexer(rule)
        self.prev: _Token | None = None
        self.tok = self.lexer.next()
        self.open_parens: list[int] = []

    def advance(self) -> _Token:
        tok, self.prev = self.tok, self.tok
        self.tok = self.lexer.next()
        return tok

    def parse(self) -> _Parsed:
        parsed = self.binary("OR", self.and_expr)
        if self.tok.kind != "end":
            raise self.operator_error()
        return parsed

    def and_expr(self) -> _Parsed:
        return self.binary("AND", self.near_expr)

    def near_expr(self) -> _Parsed:
        return self.binary(("NEAR", "SENT", "CLAUSE"), self.unary)

    def binary(self, kind: str | tuple[str, ...], operand: Callable[[], _Parsed]) -> _Parsed:
        kinds = (kind,) if isinstance(kind, str) else kind
        left, depth = operand()
        while self.tok.kind in kinds:
            op = self.advance()
            right_tok = self.tok
            right, right_depth = operand()
            left = self.combine(op, left, right, right_tok)
            depth = self.check_depth(max(depth, right_depth) + 1, op)
        return left, depth

    def combine(self, op: _Token, left: Node, right: Node, right_tok: _Token) -> Node:
        if op.kind == "OR":
            return Or(left, right)
        if op.kind == "AND":
            return And(left, right)
        if isinstance(left, Not) and isinstance(right, Not):
            expected = (
                f"a term without NOT on this side of {op.text} (one side must say what to look for)"
            )
            raise RuleError(self.rule, right_tok.pos, expected, right_tok.text)
        if op.kind == "SENT":
            return Sent(left, right)
        if op.kind == "CLAUSE":
            return Clause(left, right)
        return Near(left, right, op.n, op.ordered)

    def unary(self) -> _Parsed:
        prefixes: list[_Token] = []
        while self.tok.kind in ("NOT", "ZONE"):
            if self.tok.kind == "NOT" and prefixes and prefixes[-1].kind == "ZONE":
                zone = prefixes[-1].text
                raise self.error(
                    f"a term or '(' after {zone}", f"write NOT {zone}x, not {zone}NOT x"
                )
            prefixes.append(self.advance())
        node, depth = self.primary()
        for tok in reversed(prefixes):
            node = Not(node) if tok.kind == "NOT" else InZone(node, _zone(tok.value))
            depth = self.check_depth(depth + 1, tok)
        return node, depth

    def primary(self) -> _Parsed:
        tok = self.tok
        kind = _TERM_KINDS.get(tok.kind)
        if kind is not None:
            self.advance()
            return Term(kind, tok.value), 1
        if tok.kind == "(":
            return self.group()
        if tok.kind == "part":
            return self.part()
        raise self.term_error()

    def part(self) -> _Parsed:
        tok = self.tok
        found = self.parts.get(tok.value)
        if found is None:
            known = ", ".join("$" + name for name in self.parts) or "none"
            expected = f"a part named before this rule (known: {known})"
            raise self.error(expected, f"${tok.value} is not a part of this watchlist")
        self.advance()
        return found.node, self.check_depth(found.depth, tok)

    def group(self) -> _Parsed:
        opening = self.advance()
        if len(self.open_parens) >= MAX_NESTING:
            expected = f"at most {MAX_NESTING} parentheses inside one another"
            raise RuleError(self.rule, opening.pos, expected, "(")
        self.open_parens.append(opening.pos)
        parsed = self.binary("OR", self.and_expr)
        if self.tok.kind != ")":
            raise self.operator_error()
        self.open_parens.pop()
        self.advance()
        return parsed

    def check_depth(self, depth: int, tok: _Token) -> int:
        if depth > MAX_DEPTH:
            expected = f"a simpler rule (at most {MAX_DEPTH} operators stacked on one another)"
            raise RuleError(self.rule, tok.pos, expected, tok.text)
        return depth

    def error(self, expected: str, hint: str = "") -> RuleError:
        found = None if self.tok.kind == "end" else _shorten(self.tok.text)
        return RuleError(self.rule, self.tok.pos, expected, found, hint)

    def term_error(self) -> RuleError:
        tok, prev = self.tok, self.prev
        if tok.kind == "*":
            return self.error("a word right before '*' (e.g. deploy*)")
        after = f" after {prev.text}" if prev is not None and prev.kind in _OPERATOR_KINDS else ""
        hint = 'write phrases in straight double quotes: "joint force"'
        smart = tok.text != "" and tok.text in _SMART_QUOTES  # "" is in every string
        return self.error(f"a term or '('{after}", hint if smart else "")

    def operator_error(self) -> RuleError:
        if not self.open_parens:
            return self.error(
                "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or end of rule", self.operator_hint()
            )
        expected = "AND, OR, NEAR/n, PRE/n, SENT, CLAUSE or ')'"
        if self.tok.kind == "end":
            expected += f" to close the '(' at position {self.open_parens[-1] + 1}"
        return self.error(expected, self.operator_hint())

    def operator_hint(self) -> str:
        tok, prev = self.tok, self.prev
        if tok.kind in _TERM_KINDS and prev is not None and _upper_case_hint(prev):
            return _upper_case_hint(prev)  # "not troops": the error is at troops
        return _upper_case_hint(tok) or _OPERATOR_HINTS.get(tok.kind, "")


def _zone(name: str) -> Zone:
    for zone in ZONES:
        if zone == name:
            return zone
    raise AssertionError(name)


def _upper_case_hint(tok: _Token) -> str:
    """The hint for a lower-case operator such as ``and`` (empty for other tokens)."""
    if tok.kind == "word" and tok.text.lower() in _LOWER_HINTS:
        return f"operators are written in upper case: {_LOWER_HINTS[tok.text.lower()]}"
    return ""


@dataclass(frozen=True)
class Part:
    """A named rule fragment (``$name``), parsed: its tree and that tree's depth."""

    node: Node
    depth: int


def parse(rule: str, parts: Mapping[str, Part] | None = None) -> Node:
    """Parse ``rule`` into an AST, ``$name`` taken from ``parts``; any problem
    raises :class:`RuleError`. Equal sub-expressions come out as one node."""
    return parse_part(rule, parts).node


def parse_part(rule: str, parts: Mapping[str, Part] | None = None) -> Part:
    """:func:`parse`, keeping the depth, so that the fragment can be a part of later rules
    (a ``$name`` counts with its whole depth, so a chain of parts stays within MAX_DEPTH)."""
    try:
        node, depth = _Parser(rule, parts).parse()
    except RecursionError:
        raise RuleError(rule, 0, "a simpler rule", _chunk(rule, 0)) from None
    if tree_size(node) > MAX_RULE_NODES:
        expected = (
            f"a smaller rule (at most {MAX_RULE_NODES:,} operators and terms"
            " with its parts written out)"
        )
        raise RuleError(rule, 0, expected, _chunk(rule, 0))
    return Part(intern(node), depth)


def intern(node: Node) -> Node:
    """``node`` with equal subtrees made one object (bottom-up, each node visited once).

    The evaluators cache results by node identity, so a sub-expression a rule
    writes several times (or takes from a part several times) is computed once.
    A node is keyed by its type, its own values and its children's identities
    (already shared, so equal children are the same object): linear in the number
    of distinct nodes, never hashing a written-out tree.
    """
    table: dict[tuple[object, ...], Node] = {}
    done: dict[int, Node] = {}

    def visit(current: Node) -> Node:
        known = done.get(id(current))
        if known is not None:
            return known
        changes: dict[str, Any] = {}
        key: list[object] = [type(current)]
        for f in fields(current):
            value = getattr(current, f.name)
            if isinstance(value, _NODE_TYPES):
                new = visit(value)
                if new is not value:
                    changes[f.name] = new
                key.append(id(new))
            else:
                key.append(value)
        rebuilt = replace(current, **changes) if changes else current
        canonical = table.setdefault(tuple(key), rebuilt)
        done[id(current)] = canonical
        return canonical

    return visit(node)


def tree_size(node: Node) -> int:
    """Nodes of ``node`` written out (a shared subtree counted each time it is used),
    worked out once per distinct node."""
    sizes: dict[int, int] = {}

    def size(current: Node) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        total = 1 + sum(size(child) for child in _children(current))
        sizes[id(current)] = total
        return total

    return size(node)


# --- rendering -------------------------------------------------------------

_PRECEDENCE: dict[type, int] = {
    Or: 1,
    And: 2,
    Near: 3,
    Sent: 3,
    Clause: 3,
    Not: 4,
    InZone: 4,
    Term: 5,
}


def _render_term(term: Term) -> str:
    if term.kind == "prefix":
        return term.value + "*"
    if term.kind == "phrase":
        return f'"{term.value}"'
    if term.kind == "entity":
        return "@" + term.value if _is_name(term.value) else f'@"{term.value}"'
    return term.value


def _operand(node: Node, min_precedence: int) -> str:
    text = render(node)
    return text if _PRECEDENCE[type(node)] >= min_precedence else f"({text})"


def _operator(node: And | Or | Near | Sent | Clause) -> str:
    if isinstance(node, Near):
        return f"PRE/{node.n}" if node.ordered else f"NEAR/{node.n}"
    if isinstance(node, Sent):
        return "SENT"
    if isinstance(node, Clause):
        return "CLAUSE"
    return "AND" if isinstance(node, And) else "OR"


def render(node: Node) -> str:
    """Canonical text of ``node``, with only the parentheses the grammar needs."""
    if isinstance(node, Term):
        return _render_term(node)
    if isinstance(node, Not):
        return "NOT " + _operand(node.child, _PRECEDENCE[Not])
    if isinstance(node, InZone):
        child = render(node.child)
        bare = isinstance(node.child, Term | InZone)
        return f"{node.zone}:" + (child if bare else f"({child})")
    precedence = _PRECEDENCE[type(node)]
    left = _operand(node.left, precedence)
    right = _operand(node.right, precedence + 1)
    return f"{left} {_operator(node)} {right}"


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Term):
        return ()
    if isinstance(node, Not | InZone):
        return (node.child,)
    return (node.left, node.right)


def _preorder(node: Node) -> Iterator[tuple[Node, int]]:
    """Every node with its depth, parents before children, left before right."""
    stack: list[tuple[Node, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        yield current, depth
        stack.extend((child, depth + 1) for child in reversed(_children(current)))


def uses_zone(node: Node, zones: Sequence[Zone]) -> bool:
    """Whether ``node`` has one of ``zones`` (``lead:``, ``top:``…) anywhere."""
    return any(isinstance(n, InZone) and n.zone in zones for n, _ in _preorder(node))


def part_names(rule: str) -> list[str]:
    """The ``$name`` parts a rule text says, in order, read by the rule lexer (so a
    ``$`` inside a quoted phrase is not one); raises :class:`RuleError` as
    :func:`parse` would on a text that does not lex."""
    lexer = _Lexer(rule)
    names: list[str] = []
    while (tok := lexer.next()).kind != "end":
        if tok.kind == "part":
            names.append(tok.value)
    return names


def terms(node: Node) -> list[Term]:
    """The leaf terms in order of appearance, each once."""
    seen: dict[Term, None] = {}
    for current, _ in _preorder(node):
        if isinstance(current, Term):
            seen.setdefault(current)
    return list(seen)


# --- evaluation ------------------------------------------------------------

Lookup: TypeAlias = Callable[[Term], Sequence[Span]]
_NO_MATCH = Result(False, ())


def span_distance(a: Span, b: Span) -> int:
    """Words between two spans: 0 if they overlap, 1 for neighbours."""
    if a[0] < b[1] and b[0] < a[1]:
        return 0
    if a[1] <= b[0]:
        return b[0] - (a[1] - 1)
    return a[0] - (b[1] - 1)


class _SpanIndex:
    """Spans sorted by start, to ask "is there one near this span?" in O(log n).

    Every question is answered by a bisection (no walk over the spans in a
    window), so NEAR costs O((|left| + |right|) log n) whatever ``n`` and
    however dense the article: a 1 MB page of the same sentence repeated has
    10⁵ spans per term, and every one of them is still looked at (``a NEAR/n
    NOT b`` must see every ``b``).
    """

    def __init__(self, spans: tuple[Span, ...]) -> None:
        self.spans = spans
        self.starts = [start for start, _ in spans]
        self.ends = sorted(end for _, end in spans)
        self.max_end = list(accumulate((end for _, end in spans), max))  # over starts ≤ …

    def has_apart(self, a: Span, n: int) -> bool:
        """Some span at most ``n`` words from ``a`` that does not overlap it."""
        return self.has_after(a, n) or self.has_before(a, n)

    def has_after(self, a: Span, n: int) -> bool:
        """Some span starting after ``a`` ends, at most ``n`` words on."""
        after = bisect_left(self.starts, a[1])
        return after < len(self.starts) and self.starts[after] <= a[1] + n - 1

    def has_before(self, a: Span, n: int) -> bool:
        """Some span ending before ``a`` starts, at most ``n`` words back."""
        before = bisect_left(self.ends, a[0] - n + 1)
        return before < len(self.ends) and self.ends[before] <= a[0]

    def has_within(self, a: Span, n: int) -> bool:
        """Some span at most ``n`` words from ``a``, overlapping it or not."""
        k = bisect_right(self.starts, a[1] + n - 1)
        return k > 0 and self.max_end[k - 1] >= a[0] - n + 1


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _near_pairs(left: Result, right: Result, n: int, ordered: bool = False) -> Result:
    """Pairs of *different* words: a span never pairs with one that overlaps it.

    The spans kept are those of either side with a partner on the other side;
    each is found by one query (the relation is symmetric), so the cost is
    linear in the spans (times a log), not in the pairs. ``ordered`` (PRE/n):
    the left span ends before the right one starts.
    """
    right_index = _SpanIndex(right.spans)
    has_partner = right_index.has_after if ordered else right_index.has_apart
    found = [a for a in left.spans if has_partner(a, n)]
    if not found:
        return _NO_MATCH
    left_index = _SpanIndex(left.spans)
    has_partner = left_index.has_before if ordered else left_index.has_apart
    partners = [b for b in right.spans if has_partner(b, n)]
    return Result(True, _merge_spans(found, partners))


def _near_exclude(keep: Result, drop: Result, n: int, side: str = "") -> Result:
    """The ``keep`` spans with no ``drop`` span within ``n`` words; ``side`` "before" or
    "after" (PRE/n with NOT) looks only on that side of each, at spans not overlapping it."""
    index = _SpanIndex(drop.spans)
    if side == "before":
        found = index.has_before
    elif side == "after":
        found = index.has_after
    else:
        found = index.has_within
    kept = tuple(a for a in keep.spans if not found(a, n))
    return Result(bool(kept), kept)


def _drop_side(node: Near) -> str:
    """Where ``a PRE/n NOT b`` (after) or ``NOT b PRE/n a`` (before) looks; "" for NEAR."""
    if not node.ordered:
        return ""
    return "before" if isinstance(node.left, Not) else "after"


def _merge_spans(*lists: Sequence[Span]) -> tuple[Span, ...]:
    """Sorted, without duplicates. The inputs are sorted: Timsort merges the runs in
    linear time and duplicates end up side by side (``dict.fromkeys`` drops them).
    One non-empty input is returned as it is (``a AND NOT b`` copies nothing)."""
    full = [spans for spans in lists if spans]
    if len(full) == 1:
        return tuple(full[0])
    return tuple(dict.fromkeys(sorted(chain.from_iterable(full))))


def _merge(*results: Result) -> tuple[Span, ...]:
    return _merge_spans(*(result.spans for result in results))


_BOTTOM_UP: dict[int, tuple[Node, list[Node]]] = {}


def _bottom_up(node: Node) -> list[Node]:
    """Children before parents. Cached per rule: a watchlist's rule is evaluated for
    every article, and walking a large rule's tree each time would dominate."""
    cached = _BOTTOM_UP.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    order = [current for current, _ in reversed(list(_preorder(node)))]
    if len(_BOTTOM_UP) > 10_000:
        _BOTTOM_UP.clear()
    _BOTTOM_UP[id(node)] = (node, order)
    return order


def _layout(where: int | Layout | None) -> Layout:
    """A :class:`Layout` from what the entry points accept (a bare int is ``title_end``)."""
    return where if isinstance(where, Layout) else Layout(title_end=where)


Scoped: TypeAlias = Sent | Clause  # both sides in one sentence, or in one clause


def _scope(node: Scoped, layout: Layout) -> Callable[[int], int]:
    """The numbering a SENT (sentences) or a CLAUSE (clauses) compares."""
    return layout.sentence if isinstance(node, Sent) else layout.clause


def _sentence_pairs(left: Result, right: Result, unit: Callable[[int], int]) -> Result:
    """``left SENT right`` (``unit``: a position's sentence) or ``left CLAUSE right`` (its
    clause): pairs of *different* words in one sentence or clause (as for NEAR)."""
    by_sentence: dict[int, list[Span]] = {}
    for b in right.spans:
        by_sentence.setdefault(unit(b[0]), []).append(b)
    found: set[Span] = set()
    paired: set[int] = set()
    for a in left.spans:
        sentence = unit(a[0])
        others = by_sentence.get(sentence, ())
        # spans overlapping ``a`` are few (they start within it): the loop ends soon
        if any(not _overlap(a, b) for b in others):
            found.add(a)
            paired.add(sentence)
    for sentence in paired:
        found.update(by_sentence[sentence])
    return Result(bool(found), tuple(sorted(found)))


def _sentence_exclude(keep: Result, drop: Result, unit: Callable[[int], int]) -> Result:
    """``keep SENT NOT drop``: the ``keep`` spans whose sentence (``unit``) has no ``drop``;
    ``keep CLAUSE NOT drop`` with ``unit`` giving a position's clause."""
    dropped = {unit(b[0]) for b in drop.spans}
    kept = tuple(a for a in keep.spans if unit(a[0]) not in dropped)
    return Result(bool(kept), kept)


class _Evaluator:
    """Results of every node of one rule for one article, computed bottom-up."""

    def __init__(self, node: Node, lookup: Lookup, layout: Layout) -> None:
        self.lookup = lookup
        self.layout = layout
        self.results: dict[int, Result] = {}
        self.term_spans: dict[Term, tuple[Span, ...]] = {}
        for current in _bottom_up(node):
            self.results[id(current)] = self.compute(current)

    def __getitem__(self, node: Node) -> Result:
        return self.results[id(node)]

    def spans(self, term: Term) -> tuple[Span, ...]:
        if term not in self.term_spans:
            found = {(int(s), int(e)) for s, e in self.lookup(term)}
            self.term_spans[term] = tuple(sorted(found))
        return self.term_spans[term]

    def compute(self, node: Node) -> Result:
        if isinstance(node, Term):
            spans = self.spans(node)
            return Result(bool(spans), spans)
        if isinstance(node, Not):
            return Result(not self[node.child].matched, ())
        if isinstance(node, InZone):
            return self.in_zone(node)
        left, right = self[node.left], self[node.right]
        if isinstance(node, Or):
            return Result(left.matched or right.matched, _merge(left, right))
        if isinstance(node, And):
            return (
                Result(True, _merge(left, right)) if left.matched and right.matched else _NO_MATCH
            )
        if isinstance(node, Sent | Clause):
            return self.sent(node)
        return self.near(node)

    def in_zone(self, node: InZone) -> Result:
        """The child evaluated again with only the spans that lie in the zone."""
        layout = self.layout
        zone = node.zone
        if not layout.knows(zone):
            return self[node.child]

        def zone_lookup(term: Term) -> list[Span]:
            return [span for span in self.spans(term) if layout.in_zone(zone, span[0])]

        return _Evaluator(node.child, zone_lookup, layout)[node.child]

    def near(self, node: Near) -> Result:
        if isinstance(node.left, Not):
            return _near_exclude(self[node.right], self[node.left.child], node.n, _drop_side(node))
        if isinstance(node.right, Not):
            return _near_exclude(self[node.left], self[node.right.child], node.n, _drop_side(node))
        return _near_pairs(self[node.left], self[node.right], node.n, node.ordered)

    def sent(self, node: Scoped) -> Result:
        """SENT, or CLAUSE: the same over clauses."""
        unit = _scope(node, self.layout)
        if isinstance(node.left, Not):
            return _sentence_exclude(self[node.right], self[node.left.child], unit)
        if isinstance(node.right, Not):
            return _sentence_exclude(self[node.left], self[node.right.child], unit)
        left, right = self[node.left], self[node.right]
        if not left.spans or not right.spans:
            return _NO_MATCH
        return _sentence_pairs(left, right, unit)


class _Lazy:
    """One rule for one article, evaluated top-down, only as far as the answer needs.

    The same results as :class:`_Evaluator` (which computes every node: :func:`trace`
    and :func:`nearest_miss` show them all), but an AND whose one side fails, a NEAR or
    SENT/CLAUSE whose one side has no span, never looks at the other side, and under NOT only
    whether a part matches is asked (an OR stops at its first matching side). Most
    watchlists whose term occurs in an article do not fire on it, so most rules stop at
    their first condition. Recursion is bounded by the parser's ``MAX_DEPTH``.
    """

    def __init__(self, lookup: Lookup, layout: Layout) -> None:
        self.lookup = lookup
        self.layout = layout
        self.full: dict[int, Result] = {}  # by node id: matched and every span
        self.known: dict[int, bool] = {}  # by node id: whether it matched (spans not made)
        self.term_spans: dict[Term, tuple[Span, ...]] = {}
        # each zone's spans of each term, shared by every ``zone:`` part of the rule (a
        # rule says ``top:(@forces)`` in several places: the spans are filtered once)
        self.zoned: dict[Zone, dict[Term, tuple[Span, ...]]] = {}

    def spans(self, term: Term) -> tuple[Span, ...]:
        found = self.term_spans.get(term)
        if found is None:
            found = self.term_spans[term] = tuple(
                sorted({(int(s), int(e)) for s, e in self.lookup(term)})
            )
        return found

    def result(self, node: Node) -> Result:
        key = id(node)
        done = self.full.get(key)
        if done is None:
            done = self.full[key] = self._result(node)
            self.known[key] = done.matched
        return done

    def matched(self, node: Node) -> bool:
        key = id(node)
        known = self.known.get(key)
        if known is None:
            known = self.known[key] = self._matched(node)
        return known

    def _matched(self, node: Node) -> bool:
        if isinstance(node, Term):
            return bool(self.spans(node))
        if isinstance(node, Not):
            return not self.matched(node.child)
        if isinstance(node, Or):
            return self.matched(node.left) or self.matched(node.right)
        if isinstance(node, And):
            return self.matched(node.left) and self.matched(node.right)
        if isinstance(node, InZone):
            if not self.layout.knows(node.zone):
                return self.matched(node.child)
            return self._zone(node.zone).matched(node.child)
        return self.result(node).matched  # NEAR, SENT and CLAUSE need the spans

    def _result(self, node: Node) -> Result:
        if isinstance(node, Term):
            spans = self.spans(node)
            return Result(bool(spans), spans)
        if isinstance(node, Not):
            return Result(not self.matched(node.child), ())
        if isinstance(node, InZone):
            return self.in_zone(node)
        if isinstance(node, Or):
            left, right = self.result(node.left), self.result(node.right)
            return Result(left.matched or right.matched, _merge(left, right))
        if isinstance(node, And):
            left = self.result(node.left)
            if not left.matched:
                return _NO_MATCH
            right = self.result(node.right)
            return Result(True, _merge(left, right)) if right.matched else _NO_MATCH
        if isinstance(node, Near):
            return self.near(node)
        return self.sent(node)

    def in_zone(self, node: InZone) -> Result:
        if not self.layout.knows(node.zone):
            return self.result(node.child)
        return self._zone(node.zone).result(node.child)

    def _zone(self, zone: Zone) -> _Lazy:
        """An evaluator of ``zone``: this one's spans, only those that lie in the zone.

        A new one per ``zone:`` part (its results are dropped with it: keeping them
        all for the whole rule raised the peak memory of a dense page), sharing the
        zone's filtered spans."""
        layout = self.layout

        def zone_lookup(term: Term) -> list[Span]:
            return [span for span in self.spans(term) if layout.in_zone(zone, span[0])]

        child = _Lazy(zone_lookup, layout)
        child.term_spans = self.zoned.setdefault(zone, {})
        return child

    def _pair_sides(self, node: Near | Scoped) -> tuple[Result, Result] | None:
        """Both sides' results, or None when the side looked at first has no span."""
        left = self.result(node.left)
        if not left.spans:
            return None
        right = self.result(node.right)
        return (left, right) if right.spans else None

    def _exclude_sides(self, node: Near | Scoped) -> tuple[Result, Result] | None:
        """(kept, dropped) of ``a OP NOT b`` / ``NOT b OP a``; None when nothing can be kept."""
        keep_node, drop_node = (
            (node.right, node.left) if isinstance(node.left, Not) else (node.left, node.right)
        )
        assert isinstance(drop_node, Not)
        keep = self.result(keep_node)
        if not keep.spans:
            return None
        return keep, self.result(drop_node.child)

    def near(self, node: Near) -> Result:
        if isinstance(node.left, Not) or isinstance(node.right, Not):
            sides = self._exclude_sides(node)
            if sides is None:
                return _NO_MATCH
            return _near_exclude(sides[0], sides[1], node.n, _drop_side(node))
        pair = self._pair_sides(node)
        return _NO_MATCH if pair is None else _near_pairs(pair[0], pair[1], node.n, node.ordered)

    def sent(self, node: Scoped) -> Result:
        """SENT, or CLAUSE: the same over clauses."""
        unit = _scope(node, self.layout)
        if isinstance(node.left, Not) or isinstance(node.right, Not):
            sides = self._exclude_sides(node)
            return _NO_MATCH if sides is None else _sentence_exclude(sides[0], sides[1], unit)
        pair = self._pair_sides(node)
        return _NO_MATCH if pair is None else _sentence_pairs(pair[0], pair[1], unit)


def evaluate(node: Node, lookup: Lookup, layout: int | Layout | None = None) -> Result:
    """Whether ``node`` matches, given each term's spans, and the evidence spans.

    ``layout`` says where the zones and sentences are (:class:`Layout`; a
    bare int is ``title_end``: spans starting before it are in the title).
    Without it, ``title:x`` is ``x``. Evaluated lazily (:class:`_Lazy`): the
    same answer as every node computed (:func:`evaluate_all`), with less work.
    """
    lazy = _Lazy(lookup, _layout(layout))
    if not lazy.matched(node):  # most rules asked do not match: no span is merged for them
        return _NO_MATCH  # (a part that does not match has no spans: the same result)
    return lazy.result(node)


def evaluate_all(node: Node, lookup: Lookup, layout: int | Layout | None = None) -> Result:
    """:func:`evaluate` computing every node bottom-up (the reference the tests compare with)."""
    return _Evaluator(node, lookup, _layout(layout))[node]


def trace(node: Node, lookup: Lookup, layout: int | Layout | None = None) -> list[NodeTrace]:
    """One row per node, parents first: its text and whether it matched."""
    results = _Evaluator(node, lookup, _layout(layout))
    return [
        NodeTrace(render(current), results[current].matched, depth)
        for current, depth in _preorder(node)
    ]


# --- explaining a miss -----------------------------------------------------


SHOW_CHARS = 70  # a part of a rule quoted in an explanation is cut to this length


def _show(node: Node) -> str:
    text = _shorten(render(node), SHOW_CHARS)
    return text if isinstance(node, Term | Not | InZone) else f"({text})"


def _listed(nodes: Sequence[Node], limit: int = 6) -> str:
    """``a, b, c`` for the first ``limit`` nodes, then how many more."""
    shown = ", ".join(_shorten(render(n), SHOW_CHARS) for n in nodes[:limit])
    return shown + (f" (+{len(nodes) - limit} more)" if len(nodes) > limit else "")


def _alternatives(node: Node) -> list[Node]:
    """The operands of a chain of ORs, left to right."""
    stack: list[Node] = [node]
    found: list[Node] = []
    while stack:
        current = stack.pop()
        if isinstance(current, Or):
            stack += [current.right, current.left]
        else:
            found.append(current)
    return found


def _only_terms(node: Node) -> bool:
    return all(isinstance(alt, Term) for alt in _alternatives(node))


_ZONE_MISSES = {
    "title": "is not in the title (only further down)",
    "lead": "is not in the lead (only further down)",
    "top": "is not in the title or lead (only further down)",
    "question": "is not in a yes/no question",
}


class _Explainer:
    """Walks down the failing branch of a rule to the most specific failing part."""

    def __init__(self, results: _Evaluator) -> None:
        self.results = results
        self.closeness_of: dict[int, float] = {}

    def closeness(self, node: Node) -> float:
        """How near ``node`` came to matching, from 0 (nothing of it) to 1 (it matched).

        Used to follow, in an OR, the alternative that came closest. A NEAR,
        SENT, CLAUSE or zone whose parts are all found but not together counts 0.75.
        """
        cached = self.closeness_of.get(id(node))
        if cached is not None:
            return cached
        value = self._closeness(node)
        self.closeness_of[id(node)] = value
        return value

    def _closeness(self, node: Node) -> float:
        if self.results[node].matched:
            return 1.0
        if isinstance(node, Term | Not):
            return 0.0
        if isinstance(node, InZone):
            return 0.75 * self.closeness(node.child)
        if isinstance(node, Or):
            return max(self.closeness(alt) for alt in _alternatives(node))
        if isinstance(node, And):
            return (self.closeness(node.left) + self.closeness(node.right)) / 2
        sides = [child for _, child in self.sides(node)]
        return 0.75 * sum(self.closeness(child) for child in sides) / len(sides)

    def miss(self, node: Node) -> str:
        if isinstance(node, Term):
            return f"{_show(node)} found nothing"
        if isinstance(node, Not):
            return f"NOT: excluded {_show(node.child)} was found"
        if isinstance(node, InZone):
            if not self.results[node.child].matched:
                return self.miss(node.child)
            return f"{node.zone}: {_show(node.child)} {_ZONE_MISSES[node.zone]}"
        if isinstance(node, Or):
            return self.or_miss(node)
        label = _operator(node)
        failing = [
            (side, child) for side, child in self.sides(node) if not self.results[child].matched
        ]
        if failing:
            return self.sides_miss(label, failing)
        if isinstance(node, Sent | Clause):
            return self.sent_miss(node)
        assert isinstance(node, Near)  # an AND with both sides matched would have matched
        return self.near_miss(node)

    @staticmethod
    def sides(node: And | Near | Scoped) -> list[tuple[str, Node]]:
        """The sides that must match: for NEAR with a NOT side, only the other one."""
        sides = [("left", node.left), ("right", node.right)]
        if isinstance(node, And):
            return sides
        return [(side, child) for side, child in sides if not isinstance(child, Not)] or sides

    def or_miss(self, node: Or) -> str:
        alternatives = _alternatives(node)
        if _only_terms(node):
            return f"OR: none of {_listed(alternatives)} found anything"
        closest = max(alternatives, key=self.closeness)  # the first of equals
        return f"OR: no alternative matched; closest of {len(alternatives)}: {self.miss(closest)}"

    def side_miss(self, side: str, child: Node) -> str:
        if _only_terms(child):
            return f"{side} side {_show(child)} found nothing"
        return self.miss(child)

    def sides_miss(self, label: str, failing: list[tuple[str, Node]]) -> str:
        if len(failing) == 2:
            parts = "; ".join(self.side_miss(side, child) for side, child in failing)
            return f"{label}: neither side matched: {parts}"
        side, child = failing[0]
        return f"{label}: {self.side_miss(side, child)}" if _only_terms(child) else self.miss(child)

    def near_miss(self, node: Near) -> str:
        label, n = _operator(node), node.n
        if isinstance(node.left, Not) or isinstance(node.right, Not):
            keep, drop = (
                (node.right, node.left) if isinstance(node.left, Not) else (node.left, node.right)
            )
            assert isinstance(drop, Not)
            if not self.results[keep].spans:
                return f"{label}: {_show(keep)} has no word positions (it matches only through NOT)"
            where = {"before": " before it", "after": " after it"}.get(_drop_side(node), "")
            return f"{label}: every {_show(keep)} has {_show(drop.child)} within {n} words{where}"
        left, right = self.results[node.left], self.results[node.right]
        relation = "before" if node.ordered else "of"
        message = f"{label}: no {_show(node.left)} within {n} words {relation} {_show(node.right)}"
        if not left.spans or not right.spans:
            return f"{message} (a side that matches only through NOT has no word positions)"
        if node.ordered:
            closest = self.closest_before(left.spans, right.spans)
            if closest is None:
                return f"{message} (none comes before one in the same field)"
            return f"{message} (closest in that order: {closest} words apart)"
        closest = self.closest(left.spans, right.spans)
        if closest is None:
            return f"{message} (one in the title, the other in the body)"
        return f"{message} (closest: {closest} words apart)"

    def closest(self, left: Sequence[Span], right: Sequence[Span]) -> int | None:
        """Fewest words between a left and a right span in the same field (None: no such pair).

        Per field, the right spans are sorted by start with a running maximum of
        their ends: for each left span the nearest right span before it is the
        one ending last among those starting earlier, and the nearest after it
        the first starting at or after it. Two bisections per left span, so
        this stays linear in the hits, give or take a log.
        """
        title_end = self.results.layout.title_end

        def field(span: Span) -> bool:
            return title_end is not None and span[0] < title_end

        best: int | None = None
        for in_title in (True, False):
            rights = sorted(b for b in right if field(b) == in_title)
            if not rights:
                continue
            starts = [b[0] for b in rights]
            max_end: list[int] = []
            for b in rights:
                max_end.append(max(b[1], max_end[-1]) if max_end else b[1])
            for a in left:
                if field(a) != in_title:
                    continue
                i = bisect_left(starts, a[0])
                candidates = []
                if i > 0:
                    candidates.append(span_distance(a, (starts[i - 1], max_end[i - 1])))
                if i < len(rights):
                    candidates.append(span_distance(a, rights[i]))
                for distance in candidates:
                    best = distance if best is None else min(best, distance)
        return best

    def closest_before(self, left: Sequence[Span], right: Sequence[Span]) -> int | None:
        """Fewest words from a left span to a right span starting after it ends, in the
        same field (None: no such pair); one bisection per left span."""
        title_end = self.results.layout.title_end
        rights = sorted(right)
        starts = [b[0] for b in rights]
        best: int | None = None
        for a in left:
            i = bisect_left(starts, a[1])
            if i == len(rights):
                continue
            b = rights[i]
            if title_end is not None and (a[0] < title_end) != (b[0] < title_end):
                continue
            distance = span_distance(a, b)
            best = distance if best is None else min(best, distance)
        return best

    def sent_miss(self, node: Scoped) -> str:
        """Why a SENT (or CLAUSE) with both sides matched did not match."""
        label = _operator(node)
        unit = "sentence" if isinstance(node, Sent) else "clause"
        if isinstance(node.left, Not) or isinstance(node.right, Not):
            keep, drop = (
                (node.right, node.left) if isinstance(node.left, Not) else (node.left, node.right)
            )
            assert isinstance(drop, Not)
            if not self.results[keep].spans:
                return f"{label}: {_show(keep)} has no word positions (it matches only through NOT)"
            return f"{label}: every {_show(keep)} has {_show(drop.child)} in its {unit}"
        left, right = self.results[node.left], self.results[node.right]
        if not left.spans or not right.spans:
            return f"{label}: a side that matches only through NOT has no word positions"
        return f"{label}: {_show(node.left)} and {_show(node.right)} are not in the same {unit}"


def nearest_miss(node: Node, lookup: Lookup, layout: int | Layout | None = None) -> str:
    """One line saying what kept ``node`` from matching (the most specific part)."""
    results = _Evaluator(node, lookup, _layout(layout))
    if results[node].matched:
        return "the rule matched"
    return _Explainer(results).miss(node)


# --- the branch that fired -------------------------------------------------

BRANCH_TERMS = 6  # matched words of a list of alternatives shown in a fired branch


def fired_branch(node: Node, lookup: Lookup, layout: int | Layout | None = None) -> str:
    """The part of a matched rule that made it match ("" when it did not match).

    Each OR is cut to what matched in it: a list of words to the words found
    (at most ``BRANCH_TERMS``), a list of larger alternatives to the first that
    matched. NOT parts stay as written (their absence is part of the match).
    ``explain`` and ``test`` show this instead of a rule of twenty lines;
    :func:`nearest_miss` is the same for a rule that did not match.
    """
    results = _Evaluator(node, lookup, _layout(layout))
    if not results[node].matched:
        return ""
    conjuncts = _conjuncts(node)
    kept = [_pruned(c, results) for c in conjuncts if not isinstance(c, Not)]
    excluded = len(conjuncts) - len(kept)
    if not kept or excluded < 2:
        return render(_pruned(node, results))
    out = kept[0]
    for part in kept[1:]:
        out = And(out, part)
    # the rule's AND NOT exclusions, none of which was found, are counted, not spelled out
    return f"{render(out)} (and none of its {excluded} AND NOT exclusions)"


def _conjuncts(node: Node) -> list[Node]:
    """The operands of a chain of ANDs, left to right."""
    if isinstance(node, And):
        return [*_conjuncts(node.left), *_conjuncts(node.right)]
    return [node]


def _pruned(node: Node, results: _Evaluator) -> Node:
    if isinstance(node, Term | Not):
        return node
    if isinstance(node, InZone):
        return replace(node, child=_pruned(node.child, results))
    if isinstance(node, Or):
        matched = [alt for alt in _alternatives(node) if results[alt].matched]
        if not matched:  # an OR under NOT, say: kept as written
            return node
        if all(isinstance(alt, Term) for alt in matched):
            kept = matched[:BRANCH_TERMS]
            out: Node = kept[0]
            for alt in kept[1:]:
                out = Or(out, alt)
            return out
        return _pruned(matched[0], results)
    return replace(node, left=_pruned(node.left, results), right=_pruned(node.right, results))
