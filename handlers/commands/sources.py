"""Source commands: list the feeds with their health, add one (SSRF-checked), remove one."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.ingest import IngestError
from bot.ingest.poll import SourceState, poll
from bot.ingest.safety import check_public_url_async
from bot.ingest.sources import (
    SourceError,
    format_interval,
    guess_url_kind,
    is_http_url,
    load_sources,
)
from bot.store import add_source, get_source, list_sources, remove_source, session_scope
from bot.store.tables import Source
from handlers.commands.base import (
    Call,
    chat_timezone,
    echo,
    local_time,
    one_line,
    split_first,
    unquote,
    unwrap_url,
)
from handlers.reply import Part, Reply, bold, italic, link, text

DEFAULT_INTERVAL_S = 900
MAX_NAME = 100
MAX_ERROR_SHOWN = 160


def cmd_sources(call: Call) -> Reply:
    with session_scope(call.service.factory) as session:
        sources = list_sources(session)
        tz = chat_timezone(session, call.ctx)
    if not sources:
        return Reply.plain(f"No sources yet. Add a feed: {call.prefix}addsource <url>")
    reply = Reply().line(bold(f"Sources ({len(sources)})"))
    for src in sources:
        reply.line(*_source_line(src, tz))
    return reply


def _source_line(src: Source, tz: str) -> list[Part]:
    name: Part = link(src.name, src.url_or_path) if is_http_url(src.url_or_path) else text(src.name)
    head = f"• #{src.id} "
    facts = [src.kind, f"every {format_interval(src.interval_s)}"]
    if not src.enabled:
        facts.append("disabled")
    ok = local_time(src.last_success_at, tz) if src.last_success_at else "never"
    facts.append(f"last success {ok}")
    parts: list[Part] = [text(head), name, text(" — " + ", ".join(facts))]
    if src.consecutive_failures:
        when = f" at {local_time(src.last_error_at, tz)}" if src.last_error_at else ""
        error = one_line(src.last_error or "unknown error")
        if len(error) > MAX_ERROR_SHOWN:
            error = error[: MAX_ERROR_SHOWN - 1] + "…"
        parts.append(
            italic(f" · failing: {src.consecutive_failures} in a row, last error{when}: {error}")
        )
    elif src.last_error:
        parts.append(italic(" · healthy (recovered from its last error)"))
    return parts


async def cmd_addsource(call: Call) -> Reply:
    raw, rest = split_first(call.args)
    url = unwrap_url(raw)
    if not url:
        call.fail("Give the feed or page URL")
    allow = call.service.settings.allow_private_sources
    try:
        await check_public_url_async(url, allow_private=allow)
    except IngestError as err:
        call.fail(f"Cannot add {echo(url)}: {err.reason}")
    name = one_line(unquote(rest))
    if len(name) > MAX_NAME:
        call.fail(f"The name is too long (at most {MAX_NAME} characters)")
    await asyncio.to_thread(_not_taken, call, url, name)  # before fetching anything
    kind = await _check_once(call, url)
    return await asyncio.to_thread(_add, call, url, name, kind)


def _not_taken(call: Call, url: str, name: str) -> None:
    with session_scope(call.service.factory) as session:
        same = get_source(session, url)
        if same is not None:
            call.fail(f"That URL is already source #{same.id} {same.name}", usage=False)
        if name and get_source(session, name) is not None:
            call.fail(f"There is already a source named {name!r}")


async def _check_once(call: Call, url: str) -> str:
    """Fetch ``url`` once, as its polls will (the same client, so the same address checks),
    and return what it is (``feed`` or ``page``); a URL that fails (404, not a feed or a
    page, unreachable) is refused: its polls would fail the same way, and the person who
    typed it is here to correct it."""
    state = SourceState(kind=guess_url_kind(url), url=url)
    service = call.service
    outcome = await poll(state, client=service.client, limiter=service.limiter, full_text_limit=0)
    if outcome.error is not None:
        error = outcome.error
        if len(error) > MAX_ERROR_SHOWN:
            error = error[: MAX_ERROR_SHOWN - 1] + "…"
        call.fail(f"Not added: {error}", usage=False)
    return outcome.kind or state.kind


def _first_poll(call: Call) -> str:
    if call.service.polling:
        return "its first poll is within a minute"
    return "it will be polled when alertbot run runs (alertbot chat polls nothing)"


def _add(call: Call, url: str, name: str, kind: str) -> Reply:
    try:
        _not_taken(call, url, name)  # again: the check took a moment
        with session_scope(call.service.factory) as session:
            name = name or _free_name(session, url)
            src = add_source(session, name, url, kind, DEFAULT_INTERVAL_S)
            ident, interval = src.id, src.interval_s
    except IntegrityError:
        call.fail("That source was added a moment ago by someone else", usage=False)
    return Reply().add(
        text(f"Added source #{ident} "),
        bold(name),
        text(f" ({kind}, every {format_interval(interval)}); {_first_poll(call)}."),
    )


def _free_name(session: Session, url: str) -> str:
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    name, n = host, 1
    while get_source(session, name) is not None:
        n += 1
        name = f"{host}-{n}"
    return name


def cmd_removesource(call: Call) -> Reply:
    raw, extra = split_first(call.args)
    if not raw or extra:
        call.fail("Give one source number (see sources)")
    ref = raw.lstrip("#")
    if not (ref.isascii() and ref.isdigit()) or len(ref) > 12:
        call.fail(f"{echo(raw)} is not a source number")
    with session_scope(call.service.factory) as session:
        src = get_source(session, int(ref))
        if src is None:
            ids = ", ".join(f"#{s.id}" for s in list_sources(session)[:20]) or "none"
            call.fail(f"No source #{ref} (the sources are {ids})")
        name = src.name
        remove_source(session, src.id)
    note = _declared_note(call, name)
    return Reply.plain(f"Removed source #{ref} {name}; its articles and alerts stay.{note}")


def _declared_note(call: Call, name: str) -> str:
    """Sources declared in the SOURCES file come back at the next start."""
    path = call.service.settings.sources
    try:
        declared = {spec.name for spec in load_sources(path)}
    except (SourceError, OSError):
        return ""
    if name not in declared:
        return ""
    return (
        f" It is declared in {path.name}: remove it there too, or it comes back at the next start."
    )
