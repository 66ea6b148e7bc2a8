"""Full-text search of alerted articles: the user's query, translated safely, ranked.

Both sides are folded the way the matcher folds (``bot.engine.text``: NFKC,
casefold, every script transliterated, diacritics folded): the indexes read
``articles.search_title``/``search_text`` (filled when an article is stored,
migration 0008) and a query's words are normalised the same way, so
``лукашенко`` finds "Lukashenko" and ``Cichanouskaja`` "Cichanoŭskaja" on
SQLite and PostgreSQL alike. A term that is a watched entity's name or alias
is also searched as its other spellings (:func:`expand_names`).

The query language is the one people already know from search boxes::

    lukashenko troops              both words (AND is implied)
    "joint force" OR convoy*       a phrase, or a word starting with convoy
    belarus NOT exercise           leave out (also: belarus -exercise)
    (minsk OR гродно) AND border   parentheses group; any script works

:func:`parse_query` turns it into a small tree, or raises :class:`QueryError`
(one line) for what cannot be read: an unclosed quote or parenthesis, an
operator with nothing on one side, nothing but exclusions. The tree is then
rendered for the database — never by pasting the user's text into SQL:

* SQLite: an FTS5 MATCH expression (every term a double-quoted string, so
  FTS5 syntax in the user's text is just text), passed as one bound parameter;
* PostgreSQL: ``phraseto_tsquery('simple', :qN)`` per term (a prefix term
  ``to_tsquery('simple', :qN)`` built from letters and digits only) joined
  with ``&&``, ``||`` and ``!!``; the user's words are bound parameters.

Ranking: relevance (FTS5 ``bm25`` with the title worth four times the text;
PostgreSQL ``ts_rank`` with the title weighted A) divided by
``1 + age in days / RECENCY_DAYS``, so among equally good matches the recent
ones come first. The index itself (FTS5 table, tsvector column, triggers) is
made by migrations 0003 and 0008 and is not part of the models: :func:`include_object`
keeps it out of autogenerate and the schema comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.engine.text import normalise, tokenise, tokens

__all__ = [
    "And",
    "Not",
    "Or",
    "QueryError",
    "SearchQuery",
    "SearchResult",
    "Term",
    "expand_names",
    "include_object",
    "match_spans",
    "parse_query",
    "search_alerts",
]

MAX_QUERY_CHARS = 300
MAX_TERMS = 20
MAX_SPELLINGS = 20  # spellings of one watched name a term is searched as
RECENCY_DAYS = 30.0  # a match this many days old counts half as much as one from today
FTS_TABLE = "articles_fts"
PG_COLUMN = "search_vector"
PG_INDEX = "ix_articles_search_vector"

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_OPERATORS = {"and": "AND", "or": "OR", "not": "NOT"}


class QueryError(ValueError):
    """A search query that cannot be read; ``str()`` is one line saying why."""


# --- the tree --------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase; ``prefix``: its last word may go on (``convoy*``)."""

    text: str
    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: its tree and the terms a match must (or may) contain."""

    node: Node
    terms: tuple[Term, ...] = field(default=())  # positive terms, for highlighting

    expanded: tuple[tuple[str, str, int], ...] = field(default=())  # (as typed, entity, spellings)

    def fts5(self) -> str:
        """The FTS5 MATCH expression (bind it as a parameter)."""
        return _fts5(self.node)

    def tsquery(self) -> tuple[str, dict[str, str]]:
        """A PostgreSQL tsquery SQL expression and its bound parameters."""
        params: dict[str, str] = {}
        return _pg(self.node, params), params


# --- parsing ---------------------------------------------------------------


def parse_query(raw: str) -> SearchQuery:
    """The query ``raw`` as a tree; QueryError (one line) when it cannot be read."""
    # control characters (NUL ends an FTS5 string early) are spaces, like any separator
    query = "".join(c if c.isprintable() else " " for c in raw.translate(_QUOTES)).strip()
    if not query:
        raise QueryError("Nothing to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is too long (at most {MAX_QUERY_CHARS} characters)")
    tokens = _lex(query)
    parser = _Parser(tokens)
    node = parser.parse()
    node = _check(_simplify(node), top=True)
    terms = tuple(_positive_terms(node))
    if len(list(_all_terms(node))) > MAX_TERMS:
        raise QueryError(f"Too many terms (at most {MAX_TERMS})")
    return SearchQuery(node, terms)


Token = tuple[str, Any]  # ("term", Term) | ("op", "AND"|"OR"|"NOT") | ("(", None) | (")", None)


def _lex(query: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, None))
            i += 1
        elif ch == "-" and i + 1 < n and query[i + 1] in '"(':
            out.append(("op", "NOT"))  # -"a phrase", -(a OR b)
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError(f"Unclosed quote: {_echo(query[i:])}")
            phrase = query[i + 1 : close]
            i = close + 1
            prefix = i < n and query[i] == "*"
            i += int(prefix)
            term = _term(phrase, prefix)
            out.append(("term", term) if term else ("skip", phrase))
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            out.extend(_word_tokens(query[i:j]))
            i = j
    return out


def _word_tokens(word: str) -> list[Token]:
    op = _OPERATORS.get(word.lower())
    if op is not None:
        return [("op", op)]
    negated = word.startswith("-") and len(word) > 1
    body = word[1:] if negated else word
    prefix = body.endswith("*")
    term = _term(body.rstrip("*"), prefix)
    if term is None:
        return [("skip", word)]
    return [("op", "NOT"), ("term", term)] if negated else [("term", term)]


def _term(raw: str, prefix: bool) -> Term | None:
    words = tuple(tokens(raw))  # folded as the matcher folds: лукашенко → lukashenko
    if not words:
        return None
    return Term(" ".join(raw.split()), words, prefix)


class _Parser:
    """``or := and (OR and)*``; ``and := unary ([AND] unary)*``; ``unary := NOT unary | atom``."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = [t for t in tokens if t[0] != "skip"]
        self.skipped = [t[1] for t in tokens if t[0] == "skip"]
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            if self.skipped:
                raise QueryError(f"No words to search for in {_echo(' '.join(self.skipped))}")
            raise QueryError("Nothing to search for")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise QueryError("A ) without its (")  # or_expr stops only at a stray )
        return node

    def or_expr(self) -> Node:
        nodes = [self.and_expr("")]
        while self.peek() == ("op", "OR"):
            self.take()
            nodes.append(self.and_expr("OR"))
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def and_expr(self, after: str) -> Node:
        nodes = [self.unary(after)]
        while True:
            token = self.peek()
            if token is None or token[0] == ")" or token == ("op", "OR"):
                break
            if token == ("op", "AND"):
                self.take()
                nodes.append(self.unary("AND"))
            else:
                nodes.append(self.unary(""))
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self, after: str) -> Node:
        if self.peek() == ("op", "NOT"):
            self.take()
            return Not(self.unary("NOT"))
        return self.atom(after)

    def atom(self, after: str) -> Node:
        token = self.peek()
        if token is None or token[0] in (")", "op"):
            if after:
                raise QueryError(f"{after} needs a word after it")
            if token is None:
                raise QueryError("Nothing to search for")
            if token[0] == "op":
                raise QueryError(f"{token[1]} needs a word before it")
            raise QueryError("A ) without its (")
        self.take()
        if token[0] == "(":
            if self.peek() == (")", None):
                raise QueryError("Empty parentheses")
            node = self.or_expr()
            if self.peek() != (")", None):
                raise QueryError("A ( without its )")
            self.take()
            return node
        term = token[1]
        assert isinstance(term, Term)
        return term


def _simplify(node: Node) -> Node:
    """Flatten nested AND/OR, cancel double negation."""
    if isinstance(node, Not):
        inner = _simplify(node.node)
        return inner.node if isinstance(inner, Not) else Not(inner)
    if isinstance(node, And | Or):
        kind = type(node)
        flat: list[Node] = []
        for child in map(_simplify, node.nodes):
            flat.extend(child.nodes if isinstance(child, kind) else (child,))
        return kind(tuple(flat))
    return node


def _check(node: Node, top: bool = False) -> Node:
    """Every exclusion must exclude from something: ``a NOT b`` yes, ``NOT b``/``a OR NOT b`` no."""
    if isinstance(node, Not):
        if top:
            raise QueryError("Say what to look for, not only what to leave out (e.g. a NOT b)")
        raise QueryError("NOT leaves words out of a match: write it after them (a NOT b)")
    if isinstance(node, Or):
        for child in node.nodes:
            if isinstance(child, Not):
                raise QueryError("OR NOT cannot be searched: write a NOT b, or (a OR b) NOT c")
            _check(child)
    if isinstance(node, And):
        positives = [c for c in node.nodes if not isinstance(c, Not)]
        if not positives:
            raise QueryError("Say what to look for, not only what to leave out (e.g. a NOT b)")
        for child in node.nodes:
            _check(child.node if isinstance(child, Not) else child)
    return node


def _positive_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for child in node.nodes for t in _positive_terms(child)]


def _all_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _all_terms(node.node)
    return [t for child in node.nodes for t in _all_terms(child)]


def _echo(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= 40 else value[:39] + "…")


# --- watched names ---------------------------------------------------------

Spellings = Callable[[tuple[str, ...]], "tuple[str, list[tuple[str, ...]]] | None"]


def expand_names(query: SearchQuery, spellings: Spellings) -> SearchQuery:
    """``query`` with each term that is a watched entity's name or alias searched as
    every spelling of that entity (at most ``MAX_SPELLINGS``), as the matcher would
    find it: ``Zelensky`` also finds "Zelenskyy" and "Зеленский".

    A prefix term (``zelensk*``) is left as typed. ``spellings`` is
    ``bot.answers.names.NameIndex.spellings``.
    """
    expanded: list[tuple[str, str, int]] = []

    def walk(node: Node) -> Node:
        if isinstance(node, Term):
            found = None if node.prefix else spellings(node.words)
            if found is None:
                return node
            name, keys = found
            others = [k for k in dict.fromkeys(keys) if k != node.words][: MAX_SPELLINGS - 1]
            if not others:
                return node
            expanded.append((node.text, name, len(others) + 1))
            return Or((node, *(Term(" ".join(k), k) for k in others)))
        if isinstance(node, Not):
            return Not(walk(node.node))
        return type(node)(tuple(walk(c) for c in node.nodes))

    node = _simplify(walk(query.node))
    if not expanded:
        return query
    return SearchQuery(node, tuple(_positive_terms(node)), tuple(expanded))


# --- rendering -------------------------------------------------------------


def _fts5(node: Node) -> str:
    if isinstance(node, Term):  # folded words are [a-z0-9]+: nothing in them to escape
        return '"' + " ".join(node.words) + '"' + ("*" if node.prefix else "")
    if isinstance(node, Not):  # only as a child of And (checked)
        return _fts5(node.node)
    if isinstance(node, Or):
        return "(" + " OR ".join(_fts5(c) for c in node.nodes) + ")"
    positives = [c for c in node.nodes if not isinstance(c, Not)]
    negatives = [c for c in node.nodes if isinstance(c, Not)]
    out = "(" + " AND ".join(_fts5(c) for c in positives) + ")"
    for neg in negatives:
        out = f"({out} NOT {_fts5(neg)})"
    return out


def _pg(node: Node, params: dict[str, str]) -> str:
    if isinstance(node, Term):
        name = f"q{len(params)}"
        if node.prefix:
            params[name] = " <-> ".join(f"'{w}'" for w in node.words) + ":*"
            return f"to_tsquery('simple', :{name})"
        params[name] = " ".join(node.words)
        return f"phraseto_tsquery('simple', :{name})"
    if isinstance(node, Not):
        return f"(!! {_pg(node.node, params)})"
    joiner = " || " if isinstance(node, Or) else " && "
    return "(" + joiner.join(_pg(c, params) for c in node.nodes) + ")"


# --- running ---------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """The best-ranked matching alerts (ids, best first) and how many alerts match."""

    alert_ids: list[int]
    total: int


def search_alerts(
    session: Session, query: SearchQuery, now: datetime, limit: int = 10
) -> SearchResult:
    """Alerts whose article matches ``query``, ranked by relevance and recency.

    Raises QueryError if the database cannot read the translated query (it
    should always be able to; a safety net, not a code path).
    """
    dialect = session.get_bind().dialect.name
    now = now.astimezone(UTC)
    try:
        if dialect == "sqlite":
            rows = session.execute(
                text(_SQLITE_SEARCH),
                {
                    "q": query.fts5(),
                    "now": now.replace(tzinfo=None).isoformat(sep=" "),
                    "half": RECENCY_DAYS,
                    "limit": limit,
                },
            ).all()
        elif dialect == "postgresql":
            expr, params = query.tsquery()
            rows = session.execute(
                text(_PG_SEARCH.format(tsquery=expr)),
                {**params, "now": now, "half": RECENCY_DAYS, "limit": limit},
            ).all()
        else:  # pragma: no cover - the store supports these two
            raise NotImplementedError(f"no full-text search on {dialect}")
    except DBAPIError as exc:
        session.rollback()
        raise QueryError("The database could not read that query; simplify it") from exc
    total = int(rows[0].total) if rows else 0
    return SearchResult([int(r.alert_id) for r in rows], total)


_SQLITE_SEARCH = """
WITH matched AS MATERIALIZED (
    SELECT rowid AS article_id, bm25(articles_fts, 4.0, 1.0) AS bm25
    FROM articles_fts WHERE articles_fts MATCH :q
)
SELECT alerts.id AS alert_id, count(*) OVER () AS total
FROM matched JOIN alerts ON alerts.article_id = matched.article_id
ORDER BY -matched.bm25
         / (1.0 + max(0.0, julianday(:now) - julianday(alerts.created_at)) / :half) DESC,
         alerts.id DESC
LIMIT :limit
"""

_PG_SEARCH = """
SELECT alerts.id AS alert_id, count(*) OVER () AS total
FROM (SELECT {tsquery} AS q) AS query, articles
JOIN alerts ON alerts.article_id = articles.id
WHERE articles.search_vector @@ query.q
ORDER BY ts_rank(articles.search_vector, query.q)
         / (1.0 + greatest(0.0, extract(epoch FROM (:now - alerts.created_at)) / 86400.0)
                  / :half) DESC,
         alerts.id DESC
LIMIT :limit
"""


# --- highlighting ----------------------------------------------------------


def match_spans(value: str, terms: tuple[Term, ...] | list[Term]) -> list[tuple[int, int]]:
    """``[start, end)`` of each word of ``value`` that a query term matches (for bold).

    The words are the matcher's normalised tokens, mapped back to ``value``
    as written: ``Лукашенко`` is bold for a search of ``lukashenko``.
    """
    exact: set[str] = set()
    prefixes: set[str] = set()
    for term in terms:
        exact.update(term.words)
        if term.prefix:
            prefixes.add(term.words[-1])
    spans: list[tuple[int, int]] = []
    for token in tokenise(normalise(value)):
        word = token.text
        if word in exact or any(word.startswith(p) for p in prefixes):
            if spans and spans[-1][1] > token.start:  # one character that folded to two tokens
                spans[-1] = (spans[-1][0], max(spans[-1][1], token.end))
            else:
                spans.append((token.start, token.end))
    return spans


# --- schema comparison -----------------------------------------------------


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic ``include_object``: leave the search index (migration 0003) out of comparisons."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    if type_ == "column" and name == PG_COLUMN:
        return False
    return not (type_ == "index" and name == PG_INDEX)
