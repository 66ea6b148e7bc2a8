"""Feedback for the learned stage: verdicts, missed stories, and the trained models.

Verdicts are the ``feedback`` rows (one per alert, chat and user: a repeated
click, or the same click handled by two replicas, is one row). Training
counts one verdict per *alert*: the majority of its rows, the latest on a
tie. ``missed`` stories are unique per watchlist and content. A model row is
unique per (watchlist, version), so two replicas that train at once save one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Article
from bot.store._sql import insert_ignore
from bot.store.alerts import record_feedback
from bot.store.tables import (
    Alert,
    ArticleRow,
    Feedback,
    LabelledRow,
    MissedItem,
    RelevanceModelRow,
    utcnow,
)

MAX_TRAINING_ITEMS = 5_000  # the newest feedback items a model is trained on

Verdict = Literal["new", "changed", "same"]


def give_verdict(
    session: Session, alert_id: int, chat_id: int, user_id: str, relevant: bool
) -> Verdict:
    """Record a user's verdict; ``same`` when that user had already said so (counted once)."""
    before = session.scalars(
        select(Feedback.relevant).where(
            Feedback.alert_id == alert_id, Feedback.chat_id == chat_id, Feedback.user_id == user_id
        )
    ).first()
    if before is not None and before == relevant:
        return "same"
    record_feedback(session, alert_id, chat_id, user_id, relevant)
    return "new" if before is None else "changed"


def missed_hash(title: str, text: str) -> str:
    norm = " ".join((title + "\n" + text).split()).casefold()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def record_missed(
    session: Session,
    watchlist: str,
    article: Article,
    chat_id: int | None,
    user_id: str,
    now: datetime | None = None,
) -> bool:
    """Store a story that should have alerted; False when this watchlist already has it."""
    new_id = insert_ignore(
        session,
        MissedItem,
        {
            "watchlist": watchlist,
            "chat_id": chat_id,
            "user_id": user_id,
            "title": article.title,
            "text": article.text,
            "url": article.url,
            "source": article.source[:200],
            "content_hash": missed_hash(article.title, article.text),
            "created_at": now or utcnow(),
        },
    )
    return new_id is not None


def record_labelled(
    session: Session, watchlist: str, article: Article, relevant: bool, now: datetime | None = None
) -> Verdict:
    """Keep one item of a labelled file; ``same`` when it is already kept with that label."""
    digest = missed_hash(article.title, article.text)
    row = session.scalars(
        select(LabelledRow).where(
            LabelledRow.watchlist == watchlist, LabelledRow.content_hash == digest
        )
    ).first()
    if row is not None:
        if row.relevant == relevant:
            return "same"
        row.relevant = relevant
        row.created_at = now or utcnow()  # a new mark: the next retraining sees the change
        return "changed"
    new_id = insert_ignore(
        session,
        LabelledRow,
        {
            "watchlist": watchlist,
            "title": article.title,
            "text": article.text,
            "url": article.url,
            "source": article.source[:200],
            "relevant": relevant,
            "content_hash": digest,
            "created_at": now or utcnow(),
        },
    )
    return "new" if new_id is not None else "same"


def labelled_items(session: Session, watchlist: str) -> list[LabelledRow]:
    return list(
        session.scalars(
            select(LabelledRow)
            .where(LabelledRow.watchlist == watchlist)
            .order_by(LabelledRow.id.desc())
            .limit(MAX_TRAINING_ITEMS)
        )
    )


@dataclass(frozen=True)
class LabelledAlert:
    """One alert with its verdict, as the trainer needs it."""

    alert_id: int
    title: str
    text: str
    source: str
    hits: list[Any]
    relevant: bool


def labelled_alerts(session: Session, watchlist: str) -> list[LabelledAlert]:
    """The watchlist's alerts that have feedback, newest first, one verdict each."""
    rows = session.execute(
        select(Feedback.alert_id, Feedback.relevant, Feedback.created_at)
        .join(Alert, Alert.id == Feedback.alert_id)
        .where(Alert.watchlist == watchlist)
        .order_by(Feedback.alert_id.desc(), Feedback.created_at)
    ).all()
    votes: dict[int, list[bool]] = defaultdict(list)
    for alert_id, relevant, _ in rows:
        votes[alert_id].append(bool(relevant))
    ids = list(votes)[:MAX_TRAINING_ITEMS]
    out = []
    for alert in session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id.desc())):
        said = votes[alert.id]
        yes = sum(said)
        relevant = said[-1] if yes * 2 == len(said) else yes * 2 > len(said)
        art: ArticleRow | None = alert.article
        out.append(
            LabelledAlert(
                alert.id,
                art.title if art else "",
                art.text if art else alert.summary,
                art.source_name if art else "",
                list(alert.hits or []),
                relevant,
            )
        )
    return out


def missed_items(session: Session, watchlist: str) -> list[MissedItem]:
    return list(
        session.scalars(
            select(MissedItem)
            .where(MissedItem.watchlist == watchlist)
            .order_by(MissedItem.id.desc())
            .limit(MAX_TRAINING_ITEMS)
        )
    )


@dataclass(frozen=True)
class FeedbackCounts:
    relevant: int
    not_relevant: int
    missed: int
    labelled: int = 0  # items of labelled files (alertbot learn)

    @property
    def total(self) -> int:
        return self.relevant + self.not_relevant + self.missed + self.labelled


def feedback_counts(session: Session, watchlist: str) -> FeedbackCounts:
    labelled = labelled_alerts(session, watchlist)
    yes = sum(a.relevant for a in labelled)
    missed = session.scalar(
        select(func.count()).select_from(MissedItem).where(MissedItem.watchlist == watchlist)
    )
    filed = session.scalar(
        select(func.count()).select_from(LabelledRow).where(LabelledRow.watchlist == watchlist)
    )
    return FeedbackCounts(yes, len(labelled) - yes, int(missed or 0), int(filed or 0))


def feedback_mark(session: Session, watchlist: str) -> str:
    """A cheap fingerprint of the watchlist's feedback: a new one means retrain."""
    fb = session.execute(
        select(func.count(), func.max(Feedback.created_at))
        .join(Alert, Alert.id == Feedback.alert_id)
        .where(Alert.watchlist == watchlist)
    ).one()
    missed = session.execute(
        select(func.count(), func.max(MissedItem.id)).where(MissedItem.watchlist == watchlist)
    ).one()
    filed = session.execute(
        select(func.count(), func.max(LabelledRow.created_at)).where(
            LabelledRow.watchlist == watchlist
        )
    ).one()
    stamp = fb[1].isoformat() if fb[1] is not None else "-"
    mark = f"f{fb[0]}@{stamp};m{missed[0]}@{missed[1] or 0}"
    if filed[0]:
        mark += f";l{filed[0]}@{filed[1].isoformat()}"
    return mark


def watchlists_with_feedback(session: Session) -> list[str]:
    fed = session.scalars(
        select(Alert.watchlist).join(Feedback, Feedback.alert_id == Alert.id).distinct()
    ).all()
    missed = session.scalars(select(MissedItem.watchlist).distinct()).all()
    filed = session.scalars(select(LabelledRow.watchlist).distinct()).all()
    return sorted(set(fed) | set(missed) | set(filed))


def latest_model(session: Session, watchlist: str) -> RelevanceModelRow | None:
    return session.scalars(
        select(RelevanceModelRow)
        .where(RelevanceModelRow.watchlist == watchlist)
        .order_by(RelevanceModelRow.version.desc())
        .limit(1)
    ).first()


def model_version(session: Session, watchlist: str, version: int) -> RelevanceModelRow | None:
    """One stored version of a watchlist's model (what scored an older alert)."""
    return session.scalars(
        select(RelevanceModelRow).where(
            RelevanceModelRow.watchlist == watchlist, RelevanceModelRow.version == version
        )
    ).first()


def latest_models(session: Session) -> dict[str, RelevanceModelRow]:
    """The newest model of every watchlist that has one."""
    newest = (
        select(RelevanceModelRow.watchlist, func.max(RelevanceModelRow.version).label("v"))
        .group_by(RelevanceModelRow.watchlist)
        .subquery()
    )
    rows = session.scalars(
        select(RelevanceModelRow).join(
            newest,
            (RelevanceModelRow.watchlist == newest.c.watchlist)
            & (RelevanceModelRow.version == newest.c.v),
        )
    )
    return {row.watchlist: row for row in rows}


def save_model(
    session: Session,
    watchlist: str,
    model: dict[str, Any],
    mark: str,
    examples: int,
    now: datetime | None = None,
) -> int | None:
    """Store a new version; its number, or None when another replica saved that version first."""
    current = session.scalar(
        select(func.max(RelevanceModelRow.version)).where(RelevanceModelRow.watchlist == watchlist)
    )
    version = int(current or 0) + 1
    new_id = insert_ignore(
        session,
        RelevanceModelRow,
        {
            "watchlist": watchlist,
            "version": version,
            "model": model,
            "feedback_mark": mark,
            "examples": examples,
            "trained_at": now or utcnow(),
        },
    )
    return version if new_id is not None else None


def recent_article_texts(session: Session, limit: int, chars: int = 3_000) -> list[str]:
    """Headline and the start of the text of the newest stored articles (for suggestions)."""
    rows = session.execute(
        select(ArticleRow.title, func.substr(ArticleRow.text, 1, chars))
        .order_by(ArticleRow.id.desc())
        .limit(limit)
    )
    return [f"{title}\n{body or ''}" for title, body in rows]
