"""``alertbot eval FILE --learn-first N``: does feedback make the alerts better?

The labelled file is read as the desk would see it: each source is a stream
in time order (``published``; undated items keep their place in the file),
and the streams are interleaved by their progress (an item 30 % into its
source comes before one 40 % into its own), so every source is in both
parts and no source is learned from only because its dates are older.
Walking that stream, the first ``N`` alerts get the verdict their labels
give (a click on Relevant or Not relevant), and a positive item that raised
no alert of its label's watchlist before the N-th alert is a ``missed``
report. One model per watchlist is trained on that feedback exactly as the
running bot trains it (:mod:`bot.engine.relevance`), and the rest of the
stream is evaluated twice in one run: the rules alone, and the rules with
the model holding back what it scores below its threshold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine import relevance
from bot.engine.analyse import analyse
from bot.engine.evaluation import (
    Counts,
    EvalError,
    LabelledItem,
    Report,
    accepted_watchlists,
    evaluate,
)
from bot.engine.matcher import Matcher
from bot.engine.watchlist import Watchlist
from bot.models import Article, Match


@dataclass
class Feedback:
    """What the learning part of the stream gave one watchlist."""

    relevant: int = 0
    not_relevant: int = 0
    missed: int = 0
    model: relevance.Model | None = None


@dataclass
class LearnReport:
    learn_items: int
    learn_alerts: int
    rules: Report  # the rest of the stream, rules alone
    learned: Report  # the rest, rules + the learned second stage
    feedback: dict[str, Feedback] = field(default_factory=dict)
    held_back: int = 0


def stream_order(items: Sequence[LabelledItem]) -> list[LabelledItem]:
    """Per source time-ordered, sources interleaved by progress (see the module's doc)."""
    by_source: dict[str, list[LabelledItem]] = defaultdict(list)
    for item in items:
        by_source[item.fields.get("source", "")].append(item)
    keyed: list[tuple[float, int, LabelledItem]] = []
    for rank, stream in enumerate(by_source.values()):
        dated = [i for i in stream if i.fields.get("published")]
        ordered = sorted(dated, key=lambda i: i.fields["published"])
        # undated items keep their file position among the dated ones' slots
        undated = iter(i for i in stream if not i.fields.get("published"))
        dated_iter = iter(ordered)
        merged = [next(undated) if not i.fields.get("published") else next(dated_iter) for i in stream]
        for pos, item in enumerate(merged):
            keyed.append(((pos + 0.5) / len(merged), rank, item))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [item for _, _, item in keyed]


class WatchlistModels:
    """The feature space of each watchlist, and the models trained on them."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self.spaces = {wl.name: relevance.FeatureSpace(wl) for wl in watchlists}
        self.thresholds = {wl.name: wl.relevance_threshold for wl in watchlists}
        self.models: dict[str, relevance.Model] = {}

    def keep(self, match: Match) -> bool:
        model = self.models.get(match.watchlist)
        if model is None:
            return True
        features = self.spaces[match.watchlist].features(relevance.evidence_of_match(match))
        return model.probability(features) >= self.thresholds[match.watchlist]


def missed_evidence(matcher: Matcher, article: Article, watchlist: str) -> relevance.Evidence:
    """A story the rules did not alert on, as evidence: the terms found, headline and lead."""
    diag = matcher.diagnose(article, watchlist)
    top = set(diag.terms_in_top)
    hits = tuple(
        relevance.EvidenceHit(t, "keyword", "lead" if t in top else "body") for t in diag.terms_found
    )
    base = relevance.evidence_of_record(article.title, article.text, article.source, [])
    return relevance.Evidence(base.title, base.lead, base.source, hits)


@dataclass
class FileLearning:
    """What a labelled file gave one watchlist (``alertbot learn``)."""

    examples: list[relevance.Example] = field(default_factory=list)
    relevant: int = 0  # alerts of the watchlist the file says are relevant
    not_relevant: int = 0  # … are not
    missed: int = 0  # relevant items that raised no alert of it
    ignored: int = 0  # not relevant and no alert: nothing for the second stage to learn
    missed_articles: list[Article] = field(default_factory=list)  # for the suggestions
    other_articles: list[Article] = field(default_factory=list)


def labelled_example(
    matcher: Matcher, space: relevance.FeatureSpace, article: Article, watchlist: str, relevant: bool
) -> tuple[str, relevance.Example | None]:
    """One labelled item as a training example, as if the desk had seen it: an alert of the
    watchlist with its verdict, a relevant item it did not alert on as ``missed``, and a not
    relevant item without an alert as nothing (the model only ever scores alerts)."""
    fired = [m for m in analyse(article, matcher) if m.watchlist == watchlist]
    if fired:
        ev = relevance.evidence_of_match(fired[0])
        kind = "relevant" if relevant else "not_relevant"
    elif relevant:
        ev = missed_evidence(matcher, article, watchlist)
        kind = "missed"
    else:
        return "ignored", None
    return kind, relevance.Example(space.features(ev), relevant, relevance.example_words(ev))


def learn_from_file(
    items: Sequence[LabelledItem], matcher: Matcher, watchlist: str, accepted: dict[str, list[str]]
) -> FileLearning:
    """The training examples a labelled file gives ``watchlist`` (labels read through
    ``accepted``: an item is relevant when its label's watchlists include it)."""
    wl = next((w for w in matcher.watchlists if w.name == watchlist), None)
    if wl is None:
        raise EvalError(f"--watchlist {watchlist}: no such watchlist")
    space = relevance.FeatureSpace(wl)
    out = FileLearning()
    for item in items:
        relevant = watchlist in accepted.get(item.label, [])
        kind, example = labelled_example(matcher, space, item.article, watchlist, relevant)
        setattr(out, kind, getattr(out, kind) + 1)
        if example is not None:
            out.examples.append(example)
        (out.missed_articles if kind == "missed" else out.other_articles).append(item.article)
    return out


def learn_and_evaluate(
    items: Sequence[LabelledItem],
    matcher: Matcher,
    learn_first: int,
    label_map: dict[str, list[str]] | None = None,
) -> LearnReport:
    if learn_first < 1:
        raise EvalError("--learn-first: expected a number of alerts ≥ 1")
    names = {wl.name for wl in matcher.watchlists}
    accepted = accepted_watchlists(items, names, label_map or {})
    evaluated = sorted({wl for wls in accepted.values() for wl in wls})
    ordered = stream_order(items)
    models = WatchlistModels(matcher.watchlists)
    examples: dict[str, list[relevance.Example]] = defaultdict(list)
    feedback = {wl: Feedback() for wl in evaluated}
    alerts = 0
    cut = 0
    for cut, item in enumerate(ordered, 1):  # noqa: B007 - the cut is used after the loop
        wanted = accepted[item.label]
        fired = [m for m in analyse(item.article, matcher) if m.watchlist in evaluated]
        for m in fired:
            ev = relevance.evidence_of_match(m)
            relevant = m.watchlist in wanted
            examples[m.watchlist].append(
                relevance.Example(
                    models.spaces[m.watchlist].features(ev), relevant, relevance.example_words(ev)
                )
            )
            fb = feedback[m.watchlist]
            if relevant:
                fb.relevant += 1
            else:
                fb.not_relevant += 1
        if wanted and not any(m.watchlist in wanted for m in fired):
            ev = missed_evidence(matcher, item.article, wanted[0])
            examples[wanted[0]].append(
                relevance.Example(
                    models.spaces[wanted[0]].features(ev), True, relevance.example_words(ev)
                )
            )
            feedback[wanted[0]].missed += 1
        alerts += len(fired)
        if alerts >= learn_first:
            break
    rest = ordered[cut:]
    if not rest:
        raise EvalError(f"--learn-first {learn_first}: the file has no items left to evaluate")
    for wl, exs in examples.items():
        model = relevance.train(exs, models.thresholds[wl])
        if model is not None:
            models.models[wl] = model
            feedback[wl].model = model
    rules_report = evaluate(rest, matcher, label_map)
    learned_report = evaluate(rest, matcher, label_map, keep=models.keep)
    return LearnReport(
        learn_items=cut,
        learn_alerts=alerts,
        rules=rules_report,
        learned=learned_report,
        feedback=feedback,
        held_back=_fired(rules_report.overall) - _fired(learned_report.overall),
    )


def _fired(c: Counts) -> int:
    return c.tp + c.fp + c.other


def render_text(report: LearnReport) -> str:
    lines = [
        f"learned from the first {report.learn_items} items of the stream "
        f"({report.learn_alerts} alerts as clicks, misses as 'missed'); "
        f"evaluated on the other {report.rules.items}",
        "",
        f"{'feedback':34} {'relevant':>8} {'not':>5} {'missed':>6}  model",
    ]
    for wl, fb in report.feedback.items():
        state = (
            f"trained on {fb.model.examples}"
            if fb.model is not None
            else f"off (needs {relevance.MIN_PER_CLASS} of each verdict)"
        )
        lines.append(f"  {wl:32} {fb.relevant:>8} {fb.not_relevant:>5} {fb.missed:>6}  {state}")
    lines += [
        "",
        f"{'on the rest':34} {'rules alone':>20} {'rules + learned':>20} {'change':>16}",
        f"{'':34} {'precision':>10}{'recall':>10} {'precision':>10}{'recall':>10} "
        f"{'precision':>8}{'recall':>8}",
    ]
    rows = [("overall (any watchlist)", report.rules.overall, report.learned.overall)]
    rows += [
        (f"  {wl}", report.rules.per_watchlist[wl], report.learned.per_watchlist[wl])
        for wl in report.rules.per_watchlist
    ]
    for name, before, after in rows:
        lines.append(
            f"{name:34} {before.precision:>10.3f}{before.recall:>10.3f} "
            f"{after.precision:>10.3f}{after.recall:>10.3f} "
            f"{after.precision - before.precision:>+8.3f}{after.recall - before.recall:>+8.3f}"
        )
    lines += ["", f"held back by the learned stage: {report.held_back} alert(s) of the rest"]
    return "\n".join(lines)


def render_file_learning(watchlist: str, items: int, bad: int, learned: Any) -> str:
    """``alertbot learn``'s report: counts, the model version and its held-out figures."""
    c: FileLearning = learned.counts
    lines = [
        f"{watchlist}: learned from {items} labelled items"
        + (f" ({bad} bad lines skipped)" if bad else "")
        + f"; {learned.new} new, {learned.changed} relabelled, the rest already known",
        f"  alerts of {watchlist}: {c.relevant} relevant, {c.not_relevant} not relevant; "
        f"{c.missed} relevant items it did not alert on (missed); "
        f"{c.ignored} not relevant without an alert (nothing to learn)",
    ]
    model = learned.model
    if model is None:
        lines.append(
            f"  no model trained: it needs {relevance.MIN_PER_CLASS} relevant and "
            f"{relevance.MIN_PER_CLASS} not relevant items (with the chat's feedback); "
            "alerts are pushed as the rules say"
        )
    else:
        m = model.metrics
        lines.append(
            f"  model v{learned.version} trained on {model.examples} items "
            f"(with the chat's feedback): held-out precision {m.precision:.3f}, "
            f"recall {m.recall:.3f} at threshold {model.threshold:.2f}"
        )
    if learned.suggestions:
        lines.append(
            f"suggestions for the {c.missed} missed (common in them, rare in the other "
            f"{items - c.missed}; run one in chat as an admin):"
        )
        for s in learned.suggestions:
            lines.append(
                f"  add {watchlist} keyword {s.term}    "
                f"# in {s.missed} of {s.of_missed} missed, {s.rest} of {s.of_rest} others"
            )
    return "\n".join(lines)


def render_json(report: LearnReport) -> str:
    """``eval --learn-first N --format json``: the feedback per watchlist, and the rest of the
    stream before (rules alone) and after (rules + learned), overall and per watchlist."""

    def model_of(fb: Feedback) -> dict[str, Any] | None:
        if fb.model is None:
            return None
        m = fb.model.metrics
        return {
            "examples": fb.model.examples,
            "threshold": fb.model.threshold,
            "held_out_precision": m.precision,
            "held_out_recall": m.recall,
        }

    def change(before: Counts, after: Counts) -> dict[str, float]:
        return {
            "precision": round(after.precision - before.precision, 3),
            "recall": round(after.recall - before.recall, 3),
        }

    return json.dumps(
        {
            "learn_items": report.learn_items,
            "learn_alerts": report.learn_alerts,
            "evaluated_items": report.rules.items,
            "held_back": report.held_back,
            "overall": {
                "before": report.rules.overall.as_dict(),
                "after": report.learned.overall.as_dict(),
                "change": change(report.rules.overall, report.learned.overall),
            },
            "per_watchlist": {
                wl: {
                    "feedback": {
                        "relevant": report.feedback[wl].relevant if wl in report.feedback else 0,
                        "not_relevant": (
                            report.feedback[wl].not_relevant if wl in report.feedback else 0
                        ),
                        "missed": report.feedback[wl].missed if wl in report.feedback else 0,
                    },
                    "model": model_of(report.feedback[wl]) if wl in report.feedback else None,
                    "before": before.as_dict(),
                    "after": report.learned.per_watchlist[wl].as_dict(),
                    "change": change(before, report.learned.per_watchlist[wl]),
                }
                for wl, before in report.rules.per_watchlist.items()
            },
        },
        ensure_ascii=False,
        indent=2,
    )
