"""Chats, their subscriptions to watchlists, and once-only digests."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.store._sql import insert_ignore
from bot.store.tables import SUBSCRIPTION_MODES, Chat, DigestSent, Subscription, utcnow

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def chat_key(platform: str, native_id: str | int) -> str:
    """The key of a chat: ``"telegram:-100123"``, ``"slack:C0123"``."""
    return f"{platform}:{native_id}"


def upsert_chat(
    session: Session,
    platform: str,
    key: str,
    title: str | None = None,
    timezone: str | None = None,
) -> Chat:
    """The chat with ``key``, created if new; ``title``/``timezone`` updated when given."""
    values: dict[str, object] = {
        "platform": platform,
        "chat_key": key,
        "title": title or "",
        "timezone": timezone or "UTC",
        "allowed": True,
        "created_at": utcnow(),
    }
    new_id = insert_ignore(session, Chat, values)
    chat = session.get(Chat, new_id) if new_id is not None else get_chat(session, key)
    assert chat is not None
    if new_id is None:
        if title is not None:
            chat.title = title
        if timezone is not None:
            chat.timezone = timezone
        session.flush()
    return chat


def get_chat(session: Session, key: str) -> Chat | None:
    return session.scalars(select(Chat).where(Chat.chat_key == key)).one_or_none()


def subscribe(
    session: Session,
    chat_id: int,
    watchlist: str,
    mode: str = "instant",
    daily_at: str | None = None,
    now: datetime | None = None,
) -> tuple[Subscription, bool]:
    """Subscribe a chat to a watchlist, or change the mode of its subscription.

    Returns the subscription and whether it is new. Subscribing again also
    lifts a mute and a pause. ValueError for a bad mode or ``daily_at``.
    """
    if mode not in SUBSCRIPTION_MODES:
        raise ValueError(f"mode must be one of {', '.join(SUBSCRIPTION_MODES)}, not {mode!r}")
    if mode == "daily":
        daily_at = daily_at or "08:00"
        if not _HHMM.match(daily_at):
            raise ValueError(f"daily time must be HH:MM (24 h), not {daily_at!r}")
    else:
        daily_at = None
    new_id = insert_ignore(
        session,
        Subscription,
        {
            "chat_id": chat_id,
            "watchlist": watchlist,
            "mode": mode,
            "daily_at": daily_at,
            "created_at": now or utcnow(),
        },
    )
    if new_id is not None:
        sub = session.get(Subscription, new_id)
        assert sub is not None
        return sub, True
    sub = get_subscription(session, chat_id, watchlist)
    assert sub is not None
    sub.mode, sub.daily_at, sub.muted_until, sub.paused_reason = mode, daily_at, None, None
    session.flush()
    return sub, False


def get_subscription(session: Session, chat_id: int, watchlist: str) -> Subscription | None:
    return session.scalars(
        select(Subscription).where(
            Subscription.chat_id == chat_id, Subscription.watchlist == watchlist
        )
    ).one_or_none()


def unsubscribe(session: Session, chat_id: int, watchlist: str) -> bool:
    """Remove the subscription (and its pending deliveries); False if there was none."""
    gone = session.execute(
        delete(Subscription)
        .where(Subscription.chat_id == chat_id, Subscription.watchlist == watchlist)
        .returning(Subscription.id)
    ).scalar_one_or_none()
    return gone is not None


def mute(session: Session, chat_id: int, watchlist: str, until: datetime | None) -> bool:
    """No pushes for this subscription until ``until`` (None lifts the mute)."""
    return _update_sub(session, chat_id, watchlist, muted_until=until)


def pause_subscription(session: Session, subscription_id: int, reason: str | None) -> bool:
    """Stop pushes until resumed (``reason`` None resumes), e.g. when the bot was blocked."""
    done = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id)
        .values(paused_reason=reason)
        .returning(Subscription.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def _update_sub(session: Session, chat_id: int, watchlist: str, **values: object) -> bool:
    done = session.execute(
        update(Subscription)
        .where(Subscription.chat_id == chat_id, Subscription.watchlist == watchlist)
        .values(**values)
        .returning(Subscription.id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return done is not None


def chat_subscriptions(session: Session, chat_id: int) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.chat_id == chat_id)
            .order_by(Subscription.watchlist)
        )
    )


def digest_subscriptions(session: Session, mode: str) -> list[Subscription]:
    """Unpaused subscriptions in ``mode`` (hourly or daily) in allowed chats."""
    return list(
        session.scalars(
            select(Subscription)
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(
                Subscription.mode == mode,
                Subscription.paused_reason.is_(None),
                Chat.allowed.is_(True),
            )
            .order_by(Subscription.id)
        )
    )


def claim_digest(
    session: Session, subscription_id: int, period_key: str, now: datetime | None = None
) -> bool:
    """True exactly once per (subscription, period): the replica that gets it sends it."""
    new_id = insert_ignore(
        session,
        DigestSent,
        {
            "subscription_id": subscription_id,
            "period_key": period_key,
            "sent_at": now or utcnow(),
        },
    )
    return new_id is not None
