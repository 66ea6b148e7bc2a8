"""What the desk teaches the learned stage, and what it learned: missed, stats, explain's part."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session

from bot.engine import relevance, suggest
from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.watchlist import Watchlist, WatchlistError
from bot.limits import SUGGEST_MAX_ITEMS
from bot.models import Article
from bot.store import feedback as fb
from bot.store.db import session_scope
from bot.store.subscriptions import chat_subscriptions
from bot.store.tables import Alert
from bot.store.watchlists import get_watchlist
from handlers.commands.base import (
    Call,
    is_editor,
    split_first,
    this_chat,
    unwrap_url,
    watchlist_name,
)
from handlers.commands.watchlists import (
    _URL,
    _article_from_text,
    _fetch_articles,
    load_watchlist,
)
from handlers.reply import Button, Reply, bold, code, text

TOP_FEATURES = 5


async def cmd_missed(call: Call) -> Reply:
    """``missed [wl] <url or text>``: a story that should have alerted (a positive to learn)."""
    raw = call.args.strip()
    if not raw:
        call.fail("Give the story that should have alerted: a URL or its text")
    first, rest = split_first(raw)
    name = await asyncio.to_thread(_watchlist_for, call, first, bool(rest))
    sample = rest if name == first.strip().lower() and rest else raw
    target = unwrap_url(sample)
    if _URL.match(target):
        article = (await _fetch_articles(call, target))[0]
        article = Article(article.title, article.text, article.url or target, article.source)
    else:
        article = _article_from_text(sample)
    return await asyncio.to_thread(_record, call, name, article)


def _watchlist_for(call: Call, first: str, more: bool) -> str:
    with session_scope(call.service.factory) as session:
        if more and get_watchlist(session, first.strip().lower()) is not None:
            return watchlist_name(call, first)
        chat = this_chat(session, call.ctx)
        names = sorted({s.watchlist for s in chat_subscriptions(session, chat.id)})
    if len(names) == 1:
        return names[0]
    call.fail("Say which watchlist should have alerted: missed <wl> <url or text>")


def _record(call: Call, name: str, article: Article) -> Reply:
    if not (article.title.strip() or article.text.strip()):
        call.fail("That story has no text to learn from", usage=False)
    with session_scope(call.service.factory) as session:
        chat = this_chat(session, call.ctx)
        new = fb.record_missed(session, name, article, chat.id, call.ctx.user_id)
    if not new:
        return Reply.plain(f"Already noted as missed by {name}.")
    return Reply.plain(f"Thanks — noted as missed by {name}; the model learns from it shortly.")


def cmd_stats(call: Call) -> Reply:
    """``stats <wl>``: feedback counts, the model's held-out figures, when it was trained."""
    name = watchlist_name(call, call.args.strip())
    with session_scope(call.service.factory) as session:
        stored = get_watchlist(session, name)
        if stored is None:
            call.fail(f"No watchlist {name!r}")
        threshold = _threshold(call, stored.yaml, name)
        counts = fb.feedback_counts(session, name)
        row = fb.latest_model(session, name)
        lines = [
            f"{name}: feedback {counts.relevant} relevant, {counts.not_relevant} not relevant, "
            f"{counts.missed} missed",
            f"Relevance threshold {threshold:.2f} (relevance_threshold in the watchlist; "
            f"default {relevance.DEFAULT_THRESHOLD:.1f})",
        ]
        if row is None:
            lines.append(
                f"No learned model yet (needs {relevance.MIN_PER_CLASS} relevant and "
                f"{relevance.MIN_PER_CLASS} not relevant): every alert is pushed as the rules say."
            )
        else:
            model = relevance.Model.from_json(row.model)
            m = model.metrics
            lines.append(
                f"Model v{row.version}, trained {row.trained_at:%Y-%m-%d %H:%M} UTC on "
                f"{model.examples} feedback items; held-out precision {m.precision:.2f}, "
                f"recall {m.recall:.2f}; alerts under {threshold:.2f} are held back."
            )
    return Reply.plain("\n".join(lines))


def _threshold(call: Call, text: str, name: str) -> float:
    try:
        return load_watchlist(text, name, call.service.lexicons).relevance_threshold
    except WatchlistError:
        return relevance.DEFAULT_THRESHOLD


def learned_lines(call: Call, session: Session, alert: Alert) -> list[str]:
    """explain's learned part: the relevance, the model version and what moved it most."""
    if alert.model_version is None or alert.relevance is None:
        return []
    row = next(
        (
            r
            for r in [fb.latest_model(session, alert.watchlist)]
            if r is not None and r.version == alert.model_version
        ),
        None,
    ) or _version(session, alert.watchlist, alert.model_version)
    state = "held back (in the digest)" if alert.held_back else "pushed"
    lines = [f"Learned: relevance {alert.relevance:.2f} by model v{alert.model_version} — {state}"]
    if row is None:
        return lines
    model = relevance.Model.from_json(row.model)
    lines.append(f"  the model has seen {model.examples} feedback items")
    art = alert.article
    ev = relevance.evidence_of_record(
        art.title if art else "", art.text if art else "", art.source_name if art else "",
        list(alert.hits or []),
    )
    parts = model.contributions(_features(call, row.watchlist, ev, session))
    up = [p for p in parts if p[1] > 0][:TOP_FEATURES]
    down = [p for p in parts if p[1] < 0][:TOP_FEATURES]
    if up:
        lines.append("  raised by: " + ", ".join(f"{model.label(n)} {w:+.2f}" for n, w in up))
    if down:
        lines.append("  lowered by: " + ", ".join(f"{model.label(n)} {w:+.2f}" for n, w in down))
    return lines


def _version(session: Session, watchlist: str, version: int) -> Any:
    from sqlalchemy import select

    from bot.store.tables import RelevanceModelRow

    return session.scalars(
        select(RelevanceModelRow).where(
            RelevanceModelRow.watchlist == watchlist, RelevanceModelRow.version == version
        )
    ).first()


def _features(
    call: Call, watchlist: str, ev: relevance.Evidence, session: Session
) -> dict[str, float]:
    row = get_watchlist(session, watchlist)
    wl = None
    if row is not None:
        try:
            wl = load_watchlist(row.yaml, row.name, call.service.lexicons)
        except WatchlistError:
            wl = None
    return relevance.FeatureSpace(wl).features(ev)


def cmd_suggest(call: Call) -> Reply:
    """``suggest <wl>``: keywords for what it missed; admins on Telegram/Slack get one button
    per suggestion that runs its ``add`` (nothing changes until an admin presses one)."""
    name = watchlist_name(call, call.args.strip())
    with session_scope(call.service.factory) as session:
        stored = get_watchlist(session, name)
        if stored is None:
            call.fail(f"No watchlist {name!r}")
        wl = _loaded(call, stored.yaml, name)
        missed, rest = suggestion_texts(session, call.service.matcher, name)
    found = suggest.suggest(missed, rest, wl)
    if not found:
        if len(missed) < suggest.MIN_MISSED_ITEMS:
            return Reply.plain(
                f"{name}: {len(missed)} missed stor{'y' if len(missed) == 1 else 'ies'} so far; "
                f"suggestions need {suggest.MIN_MISSED_ITEMS} (send missed {name} <url or text>)."
            )
        return Reply.plain(
            f"{name}: no word or phrase is common in its {len(missed)} missed stories and rare "
            "in the rest."
        )
    reply = Reply().line(
        bold(f"Suggestions for {name}"),
        text(f" (from {len(missed)} missed stories, against {len(rest)} others)"),
    )
    buttons: list[list[Button]] = []
    for s in found:
        command = suggest.add_command(name, s)
        reply.line(
            code(f"{call.prefix}{command}"),
            text(f" — in {s.missed} of {s.of_missed} missed, {s.rest} of {s.of_rest} others"),
        )
        data = f"sg:{name}:{s.term}"
        if len(data.encode("utf-8")) <= 64:
            buttons.append([Button(f"Add '{s.term}'", data)])
    if call.ctx.platform in ("telegram", "slack") and is_editor(call.service, call.ctx):
        reply.buttons = buttons
    else:
        reply.line(text("Nothing changes until a chat admin adds one."))
    return reply


def suggestion_texts(session: Session, matcher: Matcher, watchlist: str) -> tuple[list[str], list[str]]:
    """The missed stories (``missed``, and labelled items it still does not alert on) and the
    rest (the newest stored articles, the other labelled items) as texts to compare."""
    missed = [f"{m.title}\n{m.text}" for m in fb.missed_items(session, watchlist)]
    rest: list[str] = []
    for row in fb.labelled_items(session, watchlist):
        body = f"{row.title}\n{row.text}"
        fired = any(
            m.watchlist == watchlist
            for m in analyse(Article(row.title, row.text, row.url, row.source), matcher)
        )
        (missed if row.relevant and not fired else rest).append(body)
    rest += fb.recent_article_texts(session, SUGGEST_MAX_ITEMS)
    return missed[:SUGGEST_MAX_ITEMS], rest[:SUGGEST_MAX_ITEMS]


def _loaded(call: Call, text_: str, name: str) -> Watchlist | None:
    try:
        return load_watchlist(text_, name, call.service.lexicons)
    except WatchlistError:
        return None


def feedback_reply(said: fb.Verdict, relevant: bool) -> Reply:
    word = "relevant" if relevant else "not relevant"
    if said == "same":
        return Reply.plain(f"Already noted as {word} (counted once).")
    return Reply.plain(f"Thanks — noted as {word}.")
