"""Watchlist commands: list, show, create, add and remove terms, set the rule, test, export, import.

Every edit goes the same way (:func:`edit`): the stored YAML is loaded, the
:class:`~bot.engine.watchlist.Watchlist` changed, written back with
:func:`~bot.engine.watchlist.dump` over the old text (comments and layout kept),
validated again, saved, and the matcher recompiled, so the next article is
matched against the edited watchlist.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.engine.analyse import analyse, language_note, truncation_note
from bot.engine.matcher import Diagnosis, Matcher
from bot.engine.watchlist import (
    Entity,
    Keyword,
    Lexicon,
    SharedGroup,
    Watchlist,
    WatchlistError,
    compile_rule,
    dump,
    from_mapping,
    is_lexicon,
    parse_yaml,
)
from bot.ingest import IngestError, articles_from_fetch, fetch
from bot.ingest.safety import check_public_url_async
from bot.models import Article, Hit, Match
from bot.runtime.service import FILE_EDITOR
from bot.store import session_scope
from bot.store.subscriptions import chat_subscriptions, get_chat
from bot.store.tables import Subscription, WatchlistRow, utcnow
from bot.store.watchlists import get_watchlist, list_watchlists, save_watchlist
from handlers.commands.base import (
    Call,
    chat_timezone,
    close_names,
    echo,
    find_watchlist,
    local_time,
    new_watchlist_name,
    one_line,
    plural,
    split_first,
    straight_quotes,
    unquote,
    unwrap_url,
)
from handlers.render import highlighted
from handlers.reply import Attachment, Part, Reply, bold, code, italic, text

log = logging.getLogger("alertbot.watchlists")

YAML_MIME = "application/x-yaml"
MAX_IMPORT_BYTES = 512_000
MAX_LISTED = 30  # terms shown per list by `show` (export has them all)
MAX_TEST_HITS = 8
MAX_TEST_ARTICLES = 5
MAX_DESCRIPTION = 300
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$")
_AKA = re.compile(r"(?:^|\s+)aka(?:\s+|$)", re.IGNORECASE)
# A rule operator as the rule grammar writes it (upper case, a word of its own).
_OPERATOR = re.compile(r"(?<!\S)(AND|OR|NOT|SENT|CLAUSE|NEAR/\d*)(?!\S)")

_EDIT_LOCK = threading.Lock()  # one read-modify-write of a watchlist at a time


# --- loading and saving ----------------------------------------------------


def load_watchlist(
    text: str, name: str, lexicons: Mapping[str, Lexicon] | None = None
) -> Watchlist:
    """A stored watchlist, including one just created (no terms yet), which
    :func:`~bot.engine.watchlist.load_text` refuses because it cannot match anything.

    ``lexicons`` are those its ``use`` may name (the service's, as compiled)."""
    return _load_document(text, name, lexicons)[0]


def _load_document(
    text: str, name: str, lexicons: Mapping[str, Lexicon] | None = None
) -> tuple[Watchlist, object]:
    """:func:`load_watchlist` and the parsed YAML document it was read from."""
    data = parse_yaml(text, name)
    if is_lexicon(data):
        raise WatchlistError(
            name, "lexicon", "this is a lexicon, not a watchlist; lexicons come from WATCHLIST_DIR"
        )
    if isinstance(data, dict) and _is_empty(data):
        placeholder = dict(data)
        placeholder["keywords"] = ["placeholder"]
        wl = from_mapping(placeholder, name, lexicons)
        wl.keywords = []
        return wl, data
    return from_mapping(data, name, lexicons), data


def _is_empty(data: dict[object, object]) -> bool:
    rule = data.get("rule")
    return not any(data.get(k) for k in ("entities", "keywords", "groups")) and not (
        rule is not None and str(rule).strip()
    )


def where_wrong(err: WatchlistError) -> str:
    """A watchlist error without the file name: ``field: what is wrong``."""
    return f"{err.field_name}: {err.message}" if err.field_name else err.message


def leaves_file(call: Call, row: WatchlistRow | None, new_text: str) -> str:
    """Saving ``new_text`` over ``row`` from chat: when the row followed its file in
    WATCHLIST_DIR, log one WARNING and return the note for the reply (else "").

    The file seeds a watchlist that nobody edited in chat (``updated_by == "file"``,
    ``bot.runtime.service._file_may_update``); this edit makes the file's later
    changes ignored. Importing the file's own text hands the watchlist back to it.
    """
    if row is None or row.updated_by != FILE_EDITOR:
        return ""
    found = call.service.watchlist_files.get(row.name)
    if found is None or found[1] == new_text:
        return ""
    path = found[0]
    log.warning(
        "watchlist %s edited in chat by %s: later changes to %s are ignored; to take the "
        "file's version back, import %s (alertbot chat) or send that file to the chat",
        row.name,
        call.ctx.user_id,
        path,
        path,
    )
    how = (
        f"import {path}"
        if call.ctx.platform == "console"
        else f"send that file ({path.name}) to this chat"
    )
    return (
        f" Note: {row.name} came from {path}; from now on changes to that file are ignored"
        f" (to take the file's version back: {how})."
    )


def edit(
    call: Call, raw_name: str, change: Callable[[Watchlist], str]
) -> tuple[str, Watchlist, str]:
    """Apply ``change`` to the stored watchlist and save it; returns its message, the
    result and :func:`leaves_file`'s note (when the edit leaves the file behind).

    The cost is linear in the watchlist's size: the stored YAML is parsed once
    (its document is the base the edit is dumped over), the new text parsed
    once to check it, and the matcher recompiled once.
    """
    with _EDIT_LOCK:
        with session_scope(call.service.factory) as session:
            row = find_watchlist(call, session, raw_name)
            wl, document = _stored_document(call, row)
            message = change(wl)
            new_text = dump(wl, document=document)
            try:
                checked = load_watchlist(new_text, f"watchlist {row.name}", call.service.lexicons)
            except WatchlistError as err:
                call.fail(f"Not changed: {where_wrong(err)}")
            note = leaves_file(call, row, new_text)
            save_watchlist(session, row.name, new_text, updated_by=call.ctx.user_id)
        if checked.entities or checked.keywords or checked.groups or checked.rule:
            call.service.remember_parsed(row.name, new_text, checked)  # as load_text reads it
        call.service.load_watchlists()
    return message, checked, note


def _stored(call: Call, row: WatchlistRow) -> Watchlist:
    return _stored_document(call, row)[0]


def _stored_document(call: Call, row: WatchlistRow) -> tuple[Watchlist, object]:
    try:
        return _load_document(row.yaml, row.name, call.service.lexicons)
    except WatchlistError as err:
        call.fail(
            f"{row.name} does not load ({where_wrong(err)}); fix it with an import", usage=False
        )


def rule_note(wl: Watchlist) -> str:
    return (
        " It has a rule: a new term counts as evidence, but fires only where the rule uses it."
        if wl.rule
        else ""
    )


# --- watchlists ------------------------------------------------------------


def cmd_watchlists(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:
        rows = list_watchlists(session)
        subs = _subscriptions(session, call)
        tz = chat_timezone(session, call.ctx)
    if not rows:
        return Reply.plain(f"No watchlists yet. Create one: {call.prefix}new <wl> [description]")
    reply = Reply().line(bold(f"Watchlists ({len(rows)})"))
    for row in rows:
        reply.line(*_summary_line(row, subs.get(row.name), tz, call.service.lexicons))
    p = call.prefix
    return reply.line(italic(f"{p}show <wl> for its terms · {p}subscribe <wl> for alerts here"))


def _subscriptions(session: Session, call: Call) -> dict[str, Subscription]:
    chat = get_chat(session, call.ctx.chat_key)
    return {s.watchlist: s for s in chat_subscriptions(session, chat.id)} if chat else {}


def _summary_line(
    row: WatchlistRow, sub: Subscription | None, tz: str, lexicons: Mapping[str, Lexicon]
) -> list[Part]:
    try:
        wl = load_watchlist(row.yaml, row.name, lexicons)
    except WatchlistError as err:
        return [text("• "), bold(row.name), text(f" — does not load: {where_wrong(err)}")]
    about = f" — {wl.description}" if wl.description else ""
    terms = plural(wl.term_count, "term") if wl.term_count else "no terms yet"
    return [text("• "), bold(row.name), text(f"{about} · {terms} · {subscription_state(sub, tz)}")]


def subscription_state(sub: Subscription | None, tz: str) -> str:
    if sub is None:
        return "not subscribed here"
    mode = {"instant": "instant alerts", "hourly": "hourly digest"}.get(
        sub.mode, f"daily digest at {sub.daily_at}"
    )
    state = f"subscribed: {mode}"
    if sub.paused_reason:
        state += f" (paused: {sub.paused_reason})"
    elif sub.muted_until is not None and sub.muted_until > utcnow():
        state += f" (muted until {local_time(sub.muted_until, tz)})"
    return state


def cmd_show(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:  # one word: checked by the dispatcher
        row = find_watchlist(call, session, call.args)
        wl = _stored(call, row)
    return describe(wl, call.prefix)


def describe(wl: Watchlist, p: str) -> Reply:
    reply = Reply().line(bold(wl.name), text(f" — {wl.description}" if wl.description else ""))
    reply.line(bold(f"Entities ({len(wl.entities)})"))
    for ent in wl.entities[:MAX_LISTED]:
        reply.line(*_entity_line(ent))
    _more(reply, len(wl.entities), p, wl.name)
    reply.line(bold(f"Keywords ({len(wl.keywords)}): "), text(_terms(wl.keywords) or "none"))
    for group, terms in wl.groups.items():
        reply.line(bold(f"Group @{group} ({len(terms)}): "), text(_terms(terms)))
    if wl.use:
        reply.line(bold("Uses lexicons: "), text(", ".join(wl.use)))
    shared = wl.shared_groups()
    if shared:
        reply.line(bold(f"Shared groups ({len(shared)}): "), text(_shared_text(shared)))
    elif wl.use:
        reply.line(italic("Its rule uses no group of these lexicons yet."))
    for part, fragment in wl.parts.items():
        reply.line(bold(f"Part ${part}: "), code(fragment))
    for part, lexicon, fragment in wl.shared_parts():
        reply.line(bold(f"Part ${part} ({lexicon}): "), code(fragment))
    reply.line(bold("Rule: "), code(wl.rule) if wl.rule else text(_default_rule(wl)))
    reply.line(bold("Min score: "), text(f"{wl.min_score:g}"))
    if wl.languages:
        reply.line(
            bold("Languages: "),
            text(", ".join(wl.languages)),
            italic(" (an article detected in another language does not match; unsure is let in)"),
        )
    if not wl.term_count:
        reply.line(italic(f"No terms yet: {p}add {wl.name} keyword <phrase>"))
    return reply


def _shared_text(shared: list[SharedGroup]) -> str:
    """``@forces (shared, 12 terms), @hedge (shared, 30 terms)``."""
    return ", ".join(f"@{g.name} ({g.lexicon}, {plural(len(g.terms), 'term')})" for g in shared)


def group_origins(wl: Watchlist) -> str:
    """The groups the rule names and where each comes from: ``@forces (shared), @hedge (own)``."""
    return ", ".join(f"@{name} ({origin})" for name, origin in wl.rule_groups())


def _entity_line(ent: Entity) -> list[Part]:
    parts: list[Part] = [text("• "), text(ent.name)]
    if ent.aliases:
        shown = ", ".join(ent.aliases[:MAX_LISTED])
        more = f" … (+{len(ent.aliases) - MAX_LISTED})" if len(ent.aliases) > MAX_LISTED else ""
        parts.append(text(f" — aka {shown}{more}"))
    if ent.fuzzy is not None:
        parts.append(italic(f" (fuzzy {ent.fuzzy})"))
    if ent.weight != 1.0:
        parts.append(italic(f" (weight {ent.weight:g})"))
    return parts


def _terms(keywords: list[Keyword]) -> str:
    shown = [k.term if k.weight == 1.0 else f"{k.term} (×{k.weight:g})" for k in keywords]
    more = f" … (+{len(shown) - MAX_LISTED})" if len(shown) > MAX_LISTED else ""
    return ", ".join(shown[:MAX_LISTED]) + more


def _more(reply: Reply, count: int, p: str, name: str) -> None:
    if count > MAX_LISTED:
        reply.line(italic(f"… and {count - MAX_LISTED} more ({p}export {name} for all)"))


def _default_rule(wl: Watchlist) -> str:
    if wl.entities and wl.keywords:
        return "(default) any entity AND any keyword"
    return "(default) any term"


# --- editing ---------------------------------------------------------------


def cmd_new(call: Call) -> Reply:
    raw, description = split_first(call.args)
    name = new_watchlist_name(call, raw)
    description = one_line(unquote(description))
    if len(description) > MAX_DESCRIPTION:
        call.fail(f"The description is too long (at most {MAX_DESCRIPTION} characters)")
    with _EDIT_LOCK:
        with session_scope(call.service.factory) as session:
            if get_watchlist(session, name) is not None:
                call.fail(f"Watchlist {name} already exists")
            yaml_text = dump(Watchlist(name=name, description=description))
            try:
                load_watchlist(yaml_text, name, call.service.lexicons)
            except WatchlistError as err:
                call.fail(where_wrong(err))
            save_watchlist(session, name, yaml_text, updated_by=call.ctx.user_id)
        call.service.load_watchlists()
    p = call.prefix
    return (
        Reply()
        .line(text("Created watchlist "), bold(name), text("."))
        .line(
            text("Add terms: "),
            code(f"{p}add {name} entity <name> aka <alias>, <alias>"),
            text(" or "),
            code(f"{p}add {name} keyword <phrase>"),
            text(f"; then {p}subscribe {name}."),
        )
    )


def cmd_add(call: Call) -> Reply:
    raw, rest = split_first(call.args)
    kind, term = split_first(rest)
    kind = kind.lower()
    if not raw or not kind:
        call.fail("Say what to add")
    _balanced_quotes(call, term)
    if kind in ("entity", "entities"):
        name, aliases = _entity_args(call, term)
        message, wl, note = edit(call, raw, lambda wl: _add_entity(call, wl, name, aliases))
    elif kind in ("keyword", "keywords"):
        phrase = unquote(term)
        if not phrase:
            call.fail("Give the keyword or phrase to add")
        _no_operator(call, raw, phrase)
        message, wl, note = edit(call, raw, lambda wl: _add_keyword(call, wl, phrase))
    else:
        call.fail(f"Add an entity or a keyword, not {echo(kind)}")
    return Reply.plain(f"{message} ({plural(wl.term_count, 'term')}).{rule_note(wl)}{note}")


def _balanced_quotes(call: Call, term: str) -> None:
    """A lone ``"`` is a typo, not part of a name: storing it would never match."""
    if straight_quotes(term).count('"') % 2:
        call.fail(f"{echo(term)} has an unbalanced quote: close it or leave it out")


def _no_operator(call: Call, raw: str, phrase: str) -> None:
    """A keyword is matched as a literal phrase: ``a NEAR/3 b`` there means what a rule says."""
    m = _OPERATOR.search(phrase)
    if m:
        call.fail(
            f"{echo(phrase)} contains the operator {m.group(1)}, but a keyword is a plain phrase; "
            f"use {call.prefix}rule {raw.lower()} <expression> for operators "
            "(or write the word in lower case)"
        )


def _entity_args(call: Call, args: str) -> tuple[str, list[str]]:
    pieces = _AKA.split(straight_quotes(args), maxsplit=1)
    name = unquote(pieces[0])
    aliases = [unquote(a) for a in pieces[1].split(",")] if len(pieces) > 1 else []
    aliases = [a for a in aliases if a]
    if not name:
        call.fail("Give the entity's name")
    if len(pieces) > 1 and not aliases:
        call.fail("Give the aliases after aka, separated by commas")
    return name, aliases


def _add_entity(call: Call, wl: Watchlist, name: str, aliases: list[str]) -> str:
    existing = wl.entity(name)
    if existing is None:
        wl.entities.append(Entity(name=name, aliases=_unique(aliases, {name.casefold()})))
        return f"Added entity {name!r} to {wl.name}"
    known = {n.casefold() for n in existing.all_names}
    new = _unique(aliases, known)
    if not new:
        call.fail(f"{existing.name!r} is already an entity of {wl.name} with those aliases")
    existing.aliases.extend(new)
    return f"Added {', '.join(map(repr, new))} to entity {existing.name!r} of {wl.name}"


def _unique(values: list[str], seen: set[str]) -> list[str]:
    out = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def _add_keyword(call: Call, wl: Watchlist, phrase: str) -> str:
    if any(k.term.casefold() == phrase.casefold() for k in wl.keywords):
        call.fail(f"{phrase!r} is already a keyword of {wl.name}")
    wl.keywords.append(Keyword(phrase))
    return f"Added keyword {phrase!r} to {wl.name}"


def cmd_remove(call: Call) -> Reply:
    raw, rest = split_first(call.args)
    term = unquote(rest)
    if not raw or not term:
        call.fail("Say which term to remove")
    message, wl, note = edit(call, raw, lambda wl: _remove_term(call, wl, term))
    return Reply.plain(f"{message} ({plural(wl.term_count, 'term')} left).{note}")


def _remove_term(call: Call, wl: Watchlist, term: str) -> str:
    wanted = term.casefold()
    ent = wl.entity(term)
    if ent is not None:
        wl.entities.remove(ent)
        extra = f" and its {plural(len(ent.aliases), 'alias')}" if ent.aliases else ""
        return f"Removed entity {ent.name!r}{extra} from {wl.name}"
    for ent in wl.entities:
        for alias in ent.aliases:
            if alias.casefold() == wanted:
                ent.aliases.remove(alias)
                return f"Removed alias {alias!r} of {ent.name!r} from {wl.name}"
    for kw in wl.keywords:
        if kw.term.casefold() == wanted:
            wl.keywords.remove(kw)
            return f"Removed keyword {kw.term!r} from {wl.name}"
    for group, terms in wl.groups.items():
        for kw in terms:
            if kw.term.casefold() == wanted:
                terms.remove(kw)
                return f"Removed {kw.term!r} from group @{group} of {wl.name}"
    for shared in wl.shared_groups():
        if any(kw.term.casefold() == wanted for kw in shared.terms):
            call.fail(
                f"{term!r} is in @{shared.name} of lexicon {shared.lexicon}, shared with other "
                "watchlists: edit the lexicon's file to change it",
                usage=False,
            )
    known = [*(n for e in wl.entities for n in e.all_names), *(k.term for k in wl.keywords)]
    close = close_names(term, known)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    call.fail(f"{term!r} is not a term of {wl.name}{hint}")


def cmd_rule(call: Call) -> Reply:
    raw, expression = split_first(call.args)
    expression = straight_quotes(expression).strip()
    if not raw or not expression:
        call.fail("Give the watchlist and the rule")
    message, wl, note = edit(call, raw, lambda wl: _set_rule(call, wl, expression))
    reply = Reply().line(text(message))
    if wl.rule:
        reply.line(code(wl.rule))
    reply.line(italic(f"Try it: {call.prefix}test {wl.name} <text or URL>"))
    return reply.line(text(note.strip())) if note else reply


def _set_rule(call: Call, wl: Watchlist, expression: str) -> str:
    if expression.lower() == "default":
        if not wl.entities and not wl.keywords and not wl.groups:
            call.fail(f"{wl.name} has no terms for the default rule")
        wl.rule, wl.rule_ast = None, None
        return f"{wl.name} now uses the default rule: {_default_rule(wl)}."
    try:
        ast = compile_rule(wl, expression, wl.name)
    except WatchlistError as err:
        call.fail(f"Bad rule: {err.message}")
    wl.rule, wl.rule_ast = expression, ast
    return f"Rule of {wl.name} set:"


# --- testing ---------------------------------------------------------------


@dataclass
class _Tested:
    article: Article
    match: Match | None
    diagnosis: Diagnosis
    max_chars: int  # of the article matched
    language: str = ""  # why its language keeps the watchlist from matching (language_note)


async def cmd_test(call: Call) -> Reply:
    raw, sample = split_first(call.args)
    if not raw or not sample:
        call.fail("Give the watchlist and a text or URL to try")
    wl = await asyncio.to_thread(_saved_for_test, call, raw)
    target = unwrap_url(sample)
    if _URL.match(target):
        articles = await _fetch_articles(call, target)
    else:
        articles = [_article_from_text(sample)]
    matcher = Matcher([wl], max_chars=call.service.settings.max_match_chars)
    results = await asyncio.to_thread(_run_tests, matcher, wl.name, articles)
    if len(results) == 1:
        return _test_reply(results[0], wl, call.prefix)
    return _tests_reply(results, wl)


def _saved_for_test(call: Call, raw: str) -> Watchlist:
    with session_scope(call.service.factory) as session:
        row = find_watchlist(call, session, raw)
        wl = _stored(call, row)
    if not wl.term_count and not wl.rule:
        call.fail(f"{wl.name} has no terms yet; add some first", usage=False)
    return wl


async def _fetch_articles(call: Call, url: str) -> list[Article]:
    try:
        await check_public_url_async(url, allow_private=call.service.settings.allow_private_sources)
        result = await fetch(url, client=call.service.client, max_bytes=2_000_000, timeout=15)
        articles = await asyncio.to_thread(articles_from_fetch, result)
    except IngestError as err:
        call.fail(f"Cannot use {echo(url)}: {err.reason}")
    if not articles:
        call.fail(f"No article found at {echo(url)}", usage=False)
    return articles


def _article_from_text(sample: str) -> Article:
    lines = [line.strip() for line in sample.strip().splitlines() if line.strip()]
    if len(lines) > 1:
        return Article(title=lines[0], text="\n".join(lines[1:]))
    return Article(title="", text=sample.strip())


def _run_tests(matcher: Matcher, name: str, articles: list[Article]) -> list[_Tested]:
    out = []
    for article in articles:
        matches = analyse(article, matcher)
        out.append(
            _Tested(
                article,
                matches[0] if matches else None,
                matcher.diagnose(article, name),
                matcher.max_chars,
                language_note(
                    article, matcher.watchlists[0].languages if matcher.watchlists else []
                ),
            )
        )
    return out


def _test_reply(result: _Tested, wl: Watchlist, call_prefix: str = "/") -> Reply:
    diag, match = result.diagnosis, result.match
    reply = Reply()
    if result.article.title and result.article.url:
        reply.line(italic(result.article.title))
    if match is None and result.language:
        reply.line(bold(f"{wl.name} would not alert"), text(f": {result.language}."))
        return reply.line(
            text("Without that, the rule would " + ("fire." if diag.fired else "not fire either."))
        )
    if match is None:
        reply.line(bold(f"{wl.name} would not alert"), text(f" (min score {wl.min_score:g})."))
        reply.line(text("Nearest miss: "), text(diag.nearest_miss or "nothing of it matched"))
        found = ", ".join(diag.terms_found) or "none"
        reply.line(text(f"Terms found: {found}"))
        if diag.truncated:
            reply.line(italic(f"The article is long: {truncation_note(result.max_chars)}"))
        return _groups_line(reply, wl)
    reply.line(
        bold(f"{wl.name} would alert"),
        text(f" — score {match.score:.2f} (min {wl.min_score:g})."),
    )
    if diag.branch and diag.branch != match.rule:
        reply.line(text("Branch that fired: "), code(diag.branch))
        reply.line(italic(f"The whole rule: {call_prefix}show {wl.name}"))
    else:
        reply.line(text("Rule: "), code(match.rule))
    _groups_line(reply, wl)
    for part in _hit_lines(match.hits):
        reply.line(*part)
    if match.summary:
        reply.line(text("Summary: "), *highlighted(match.summary, [h.text for h in match.hits]))
    return reply


def _groups_line(reply: Reply, wl: Watchlist) -> Reply:
    groups = group_origins(wl)
    return reply.line(text("Groups: "), text(groups)) if groups else reply


def _hit_lines(hits: list[Hit], limit: int = MAX_TEST_HITS) -> list[list[Part]]:
    lines: list[list[Part]] = []
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        if (hit.term, hit.sentence) in seen:
            continue
        seen.add((hit.term, hit.sentence))
        where = f"{hit.kind}, {hit.zone}"
        lines.append([text(f"• {hit.term} ({where}): "), *highlighted(hit.sentence, [hit.text])])
    if len(lines) > limit:
        return [*lines[:limit], [italic(f"… and {len(lines) - limit} more hits")]]
    return lines


def _tests_reply(results: list[_Tested], wl: Watchlist) -> Reply:
    fired = [r for r in results if r.match is not None]
    reply = Reply().line(
        bold(f"{len(fired)} of {len(results)} articles would alert on {wl.name}"),
        text(f" (min score {wl.min_score:g})."),
    )
    for r in fired[:MAX_TEST_ARTICLES]:
        assert r.match is not None
        terms = ", ".join(sorted({h.term for h in r.match.hits})[:6])
        reply.line(text(f"• {r.match.score:.2f} "), italic(r.article.title or "(untitled)"))
        reply.line(text(f"   {terms}"))
    if len(fired) > MAX_TEST_ARTICLES:
        reply.line(italic(f"… and {len(fired) - MAX_TEST_ARTICLES} more"))
    if not fired:
        first = results[0]
        reply.line(text(f"Nearest miss (first article): {first.diagnosis.nearest_miss}"))
    return reply


# --- export and import -----------------------------------------------------


def cmd_export(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:  # one word: checked by the dispatcher
        row = find_watchlist(call, session, call.args)
        name, content = row.name, row.yaml
    back = (
        "import it with import <path>"
        if call.ctx.platform == "console"
        else "send it back to this chat to import it"
    )
    reply = Reply().add(text(f"{name}.yaml — edit it and {back}."))
    reply.attachment = Attachment(f"{name}.yaml", content.encode("utf-8"), YAML_MIME)
    return reply


async def cmd_import(call: Call) -> Reply:
    if call.ctx.platform == "console":  # the terminal reads the file itself (console.repl)
        return Reply.plain(
            "To import a watchlist, give its file: import <path> (get one with export <wl>). "
            "The name inside the file decides which watchlist it creates or replaces."
        )
    return Reply.plain(
        "To import a watchlist, send its .yaml file to this chat "
        f"(get one with {call.prefix}export <wl>). The name inside the file decides which "
        "watchlist it creates or replaces."
    )


def import_file(call: Call, filename: str, content: bytes) -> Reply:
    """A YAML file sent to the chat: validated, then it creates or replaces its watchlist."""
    if len(content) > MAX_IMPORT_BYTES:
        call.fail(f"{filename} is too large (at most {MAX_IMPORT_BYTES // 1000} kB)", usage=False)
    try:
        yaml_text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        call.fail(f"{filename} is not UTF-8 text", usage=False)
    try:
        wl = load_watchlist(yaml_text, filename, call.service.lexicons)
    except WatchlistError as err:
        call.fail(f"{filename} not imported: {where_wrong(err)}", usage=False)
    if not wl.term_count and not wl.rule:
        call.fail(
            f"{filename} not imported: a watchlist needs entities, keywords or a rule", usage=False
        )
    with _EDIT_LOCK:
        with session_scope(call.service.factory) as session:
            row = get_watchlist(session, wl.name)
            file = call.service.watchlist_files.get(wl.name)
            back = file is not None and file[1] == yaml_text  # the file's own text
            note = "" if back else leaves_file(call, row, yaml_text)
            editor = FILE_EDITOR if back else call.ctx.user_id
            save_watchlist(session, wl.name, yaml_text, updated_by=editor)
        call.service.load_watchlists()
    verb = "Replaced" if row is not None else "Created"
    reply = Reply().add(
        text(f"{verb} watchlist "),
        bold(wl.name),
        text(f" from {filename} ({plural(wl.term_count, 'term')})."),
    )
    if back and file is not None:
        reply.add(text(f" It follows {file[0]} again: changes to that file apply."))
    return reply.add(text(note))
