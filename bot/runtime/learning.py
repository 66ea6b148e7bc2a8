"""The learned second stage at run time: score on the push path, train in the scheduler.

:class:`Relevance` holds the newest model of each watchlist in memory and
scores a match in plain Python (``bench/learn.py``: well under 1 ms). With
no model — no feedback yet, or too little of one kind — a watchlist's
alerts are not scored at all and go out exactly as before. Training
(:func:`retrain`) runs only in a scheduler job (:func:`schedule_learning`),
off the event loop, when a watchlist's feedback changed since its last
model; a replica picks up a model another one trained at the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.engine import relevance
from bot.engine.evaluation import EvalError, LabelledItem, accepted_watchlists
from bot.engine.learneval import FileLearning, labelled_example, learn_from_file, missed_evidence
from bot.engine.matcher import Matcher
from bot.engine.suggest import Suggestion, suggest
from bot.engine.watchlist import Watchlist
from bot.models import Article, Match
from bot.store import feedback as store
from bot.store.db import SessionFactory, session_scope
from bot.store.tables import Alert

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime.scheduler import InFlight
    from bot.runtime.service import Service

log = logging.getLogger(__name__)

LEARN_S = 60  # how often the scheduler looks for new feedback


@dataclass(frozen=True)
class Scored:
    """What the second stage said about one alert."""

    relevance: float
    version: int
    held_back: bool
    threshold: float


@dataclass
class _Loaded:
    version: int
    model: relevance.Model


class Relevance:
    """The models in use, and a feature space per watchlist (rebuilt when it is edited)."""

    def __init__(self) -> None:
        self.models: dict[str, _Loaded] = {}
        self.loaded = False
        self._spaces: dict[str, tuple[Watchlist, relevance.FeatureSpace]] = {}

    def refresh(self, session: Session) -> None:
        rows = store.latest_models(session)
        models = {}
        for name, row in rows.items():
            current = self.models.get(name)
            if current is not None and current.version == row.version:
                models[name] = current
                continue
            try:
                models[name] = _Loaded(row.version, relevance.Model.from_json(row.model))
            except (KeyError, TypeError, ValueError) as err:
                log.error("relevance model %s v%s not loaded: %s", name, row.version, err)
        self.models = models
        self.loaded = True

    def space(self, wl: Watchlist) -> relevance.FeatureSpace:
        cached = self._spaces.get(wl.name)
        if cached is not None and cached[0] is wl:
            return cached[1]
        space = relevance.FeatureSpace(wl)
        self._spaces[wl.name] = (wl, space)
        return space

    def score(self, match: Match, matcher: Matcher, session: Session | None = None) -> Scored | None:
        """The relevance of ``match``, or None when its watchlist has no model (the cold start)."""
        if not self.loaded and session is not None:
            self.refresh(session)
        loaded = self.models.get(match.watchlist)
        if loaded is None:
            return None
        wl = _watchlist(matcher, match.watchlist)
        if wl is None:
            return None
        p = loaded.model.probability(self.space(wl).features(relevance.evidence_of_match(match)))
        threshold = wl.relevance_threshold  # the watchlist's, so editing it needs no retraining
        return Scored(p, loaded.version, p < threshold, threshold)


def _watchlist(matcher: Matcher, name: str) -> Watchlist | None:
    for wl in matcher.watchlists:
        if wl.name == name:
            return wl
    return None


def held_back_reasons(
    session: Session, matcher: Matcher, alerts: Sequence[Alert]
) -> dict[int, str]:
    """Why each held-back alert was not pushed: its relevance against the threshold, and the
    feature that lowered it most (as ``explain`` would show it), for the digest's list."""
    out: dict[int, str] = {}
    models: dict[tuple[str, int], relevance.Model | None] = {}
    spaces: dict[str, relevance.FeatureSpace] = {}
    for alert in alerts:
        if alert.relevance is None or alert.model_version is None:
            out[alert.id] = "held back"
            continue
        key = (alert.watchlist, alert.model_version)
        if key not in models:
            row = store.model_version(session, *key)
            models[key] = relevance.Model.from_json(row.model) if row is not None else None
        model = models[key]
        wl = _watchlist(matcher, alert.watchlist)
        threshold = wl.relevance_threshold if wl is not None else relevance.DEFAULT_THRESHOLD
        reason = f"relevance {alert.relevance:.2f} < threshold {threshold:.2f}"
        if model is not None:
            art = alert.article
            ev = relevance.evidence_of_record(
                art.title if art else "",
                art.text if art else alert.summary,
                art.source_name if art else "",
                list(alert.hits or []),
            )
            if alert.watchlist not in spaces:
                spaces[alert.watchlist] = relevance.FeatureSpace(wl)
            features = spaces[alert.watchlist].features(ev)
            down = [p for p in model.contributions(features) if p[1] < 0]
            if down:
                name, weight = down[0]
                reason += f"; lowered most by {model.label(name)} ({weight:+.2f})"
        out[alert.id] = reason
    return out


def examples_for(session: Session, wl: Watchlist, matcher: Matcher) -> list[relevance.Example]:
    """The watchlist's feedback as training examples: alerts with a verdict, the items of
    labelled files (``alertbot learn``), missed stories."""
    space = relevance.FeatureSpace(wl)
    out = []
    for item in store.labelled_alerts(session, wl.name):
        ev = relevance.evidence_of_record(item.title, item.text, item.source, item.hits)
        out.append(relevance.Example(space.features(ev), item.relevant, relevance.example_words(ev)))
    for row in store.labelled_items(session, wl.name):
        article = Article(row.title, row.text, row.url, row.source)
        _, example = labelled_example(matcher, space, article, wl.name, row.relevant)
        if example is not None:
            out.append(example)
    for missed in store.missed_items(session, wl.name):
        article = Article(missed.title, missed.text, missed.url, missed.source)
        ev = missed_evidence(matcher, article, wl.name)
        out.append(relevance.Example(space.features(ev), True, relevance.example_words(ev)))
    return out


def retrain(factory: SessionFactory, matcher: Matcher) -> list[str]:
    """Train every watchlist whose feedback changed since its newest model; their names."""
    trained = []
    with session_scope(factory) as session:
        names = store.watchlists_with_feedback(session)
    for name in names:
        wl = _watchlist(matcher, name)
        if wl is not None and retrain_one(factory, matcher, wl) is not None:
            trained.append(name)
    return trained


def retrain_one(
    factory: SessionFactory, matcher: Matcher, wl: Watchlist, *, force: bool = False
) -> tuple[int, relevance.Model] | None:
    """Train ``wl`` on all its feedback (chat and labelled files) unless its newest model
    already saw exactly that (``force``: train anyway); the new version and model, or None
    (nothing new, too little of one kind, or another replica saved that version first)."""
    with session_scope(factory) as session:
        mark = store.feedback_mark(session, wl.name)
        latest = store.latest_model(session, wl.name)
        if not force and latest is not None and latest.feedback_mark == mark:
            return None
        examples = examples_for(session, wl, matcher)
    model = relevance.train(examples, wl.relevance_threshold)
    if model is None:
        return None  # too little feedback of one kind: the model stays as it was (or off)
    with session_scope(factory) as session:
        version = store.save_model(session, wl.name, model.to_json(), mark, model.examples)
    if version is None:
        return None
    log.info("relevance model %s v%d trained on %d feedback items", wl.name, version, model.examples)
    return version, model


@dataclass
class FileLearned:
    """``alertbot learn``: what the file gave, what was kept, and the model trained."""

    counts: FileLearning
    new: int  # items kept for the first time (the rest were kept already, or relabelled)
    changed: int
    version: int | None
    model: relevance.Model | None
    suggestions: list[Suggestion] = field(default_factory=list)  # for the file's misses


def learn_file(
    factory: SessionFactory,
    matcher: Matcher,
    items: Sequence[LabelledItem],
    watchlist: str,
    label_map: dict[str, list[str]],
) -> FileLearned:
    """Keep a labelled file's items for ``watchlist`` beside the chat's feedback, then train
    and store a new model version on all of it (now, not at the next scheduled run)."""
    names = {wl.name for wl in matcher.watchlists}
    wl = _watchlist(matcher, watchlist)
    if wl is None:
        raise EvalError(f"--watchlist {watchlist}: no such watchlist (known: {', '.join(sorted(names))})")
    accepted = accepted_watchlists(items, names, label_map)
    counts = learn_from_file(items, matcher, watchlist, accepted)
    said = {"new": 0, "changed": 0, "same": 0}
    with session_scope(factory) as session:
        for item in items:
            relevant = watchlist in accepted.get(item.label, [])
            said[store.record_labelled(session, watchlist, item.article, relevant)] += 1
    done = retrain_one(factory, matcher, wl, force=True)
    version, model = done if done is not None else (None, None)
    found = suggest(
        [f"{a.title}\n{a.text}" for a in counts.missed_articles],
        [f"{a.title}\n{a.text}" for a in counts.other_articles],
        wl,
    )
    return FileLearned(counts, said["new"], said["changed"], version, model, found)


async def learn(service: Service) -> list[str]:
    """The scheduler's job: retrain what has new feedback, then load the newest models."""
    trained = await asyncio.to_thread(retrain, service.factory, service.matcher)
    with session_scope(service.factory) as session:
        service.relevance.refresh(session)
    return trained


def schedule_learning(scheduler: AsyncIOScheduler, service: Service, inflight: InFlight) -> None:
    from datetime import UTC, datetime

    async def job() -> None:
        await learn(service)

    scheduler.add_job(
        inflight.wrap(job), "interval", seconds=LEARN_S, id="learn", next_run_time=datetime.now(UTC)
    )
