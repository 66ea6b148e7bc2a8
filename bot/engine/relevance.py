"""The learned second stage: a small linear relevance model per watchlist.

The rules decide *whether* a watchlist fires; this model, trained on the
desk's own feedback (Relevant / Not relevant, ``missed``), says how likely
an alert is to be one the desk wants. It is a logistic regression over
features the engine already has, so every weight can be shown and read:

- ``term:<t>`` / ``term@<zone>:<t>``: each distinct evidence term, and in
  which zone (title, lead, body) it was found;
- ``group:<g>`` / ``group@<zone>:<g>``: the rule's groups (``@forces``,
  entities) those terms belong to, which stand for the branch that fired;
- ``zone:<z>``, ``only:body``: where the evidence is;
- ``near:<g>``: a term of a group the rule uses only under NOT (hedges,
  retrospectives, false friends) in a sentence that carries evidence, or in
  the headline: the exclusion did not drop the alert, but it is nearby;
- ``source:<s>``: the outlet;
- ``word#<n>``: the words of headline and lead, hashed into
  :data:`HASH_BUCKETS` buckets (so the model's size does not grow with the
  vocabulary); a bucket is shown by the word that filled it in training.

Scoring is plain Python over a ``dict`` of weights (no scikit-learn import,
well under a millisecond); only :func:`train` imports scikit-learn, lazily,
so neither start-up nor the push path pays for it. The probability is
calibrated by Platt scaling on cross-validated decision values, so a
threshold of 0.5 means "more likely unwanted than wanted".
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine import rules
from bot.engine.matcher import positive_terms
from bot.engine.text import lead_end, normalise_str, split_tokens
from bot.engine.watchlist import DEFAULT_RELEVANCE_THRESHOLD, Watchlist
from bot.models import Match

HASH_BUCKETS = 1 << 18  # hashed headline/lead words
DEFAULT_THRESHOLD = DEFAULT_RELEVANCE_THRESHOLD  # a watchlist's relevance_threshold: 0.5
MIN_PER_CLASS = 2  # feedback items of each kind (relevant, not) before a model is trained
L2_C = 1.0  # inverse regularisation strength of the logistic regression (sklearn's default)
MAX_CV_FOLDS = 5
MODEL_FORMAT = 1  # the stored JSON's layout


@dataclass(frozen=True)
class EvidenceHit:
    term: str
    kind: str
    zone: str
    sentence: str = ""


@dataclass(frozen=True)
class Evidence:
    """What the model looks at for one alert (or one missed item): plain, storable data."""

    title: str
    lead: str
    source: str
    hits: tuple[EvidenceHit, ...]


def evidence_of_match(match: Match) -> Evidence:
    art = match.article
    return Evidence(
        title=art.title,
        lead=art.text[: lead_end(art.text)],
        source=art.source,
        hits=tuple(EvidenceHit(h.term, h.kind, h.zone, h.sentence) for h in match.hits),
    )


def evidence_of_record(
    title: str, text: str, source: str, hits: Iterable[Mapping[str, Any]]
) -> Evidence:
    """The evidence of a stored alert (its ``hits`` JSON and its article)."""
    return Evidence(
        title=title,
        lead=text[: lead_end(text)],
        source=source,
        hits=tuple(
            EvidenceHit(
                str(h.get("term", "")),
                str(h.get("kind", "")),
                str(h.get("zone") or ("title" if h.get("field") == "title" else "body")),
                str(h.get("sentence", "")),
            )
            for h in hits
        ),
    )


def word_bucket(word: str) -> int:
    return zlib.crc32(word.encode("utf-8")) % HASH_BUCKETS


def _words(text: str) -> list[str]:
    return split_tokens(normalise_str(text))


@dataclass
class _NearTerms:
    """Terms of one NOT-only group, ready for a lookup in a token list."""

    words: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # " a b " (padded, normalised)


class FeatureSpace:
    """How one watchlist's evidence becomes features (built once per watchlist version)."""

    def __init__(self, wl: Watchlist | None) -> None:
        self.term_groups: dict[str, list[str]] = {}
        self.near: dict[str, _NearTerms] = {}
        if wl is None:
            return
        for ent in wl.entities:
            self.term_groups.setdefault(ent.name.casefold(), []).append(ent.name)
        if wl.rule_ast is None:
            return
        named: list[str] = []
        positive: set[str] = set()
        for term in rules.terms(wl.rule_ast):
            if term.kind == "entity" and wl.entity(term.value) is None:
                named.append(term.value)
        for term in positive_terms(wl.rule_ast):
            if term.kind == "entity":
                positive.add(term.value.casefold())
        for name in dict.fromkeys(named):
            terms = wl.group(name) or []
            if name.casefold() in positive:
                for kw in terms:
                    self.term_groups.setdefault(kw.term.casefold(), []).append(name)
            else:
                self.near[name] = _near_terms(kw.term for kw in terms)

    def features(self, ev: Evidence) -> dict[str, float]:
        out: dict[str, float] = {}
        zones: set[str] = set()
        for hit in ev.hits:
            term = hit.term.casefold()
            zones.add(hit.zone)
            out[f"term:{term}"] = 1.0
            out[f"term@{hit.zone}:{term}"] = 1.0
            for group in self.term_groups.get(term, ()):
                out[f"group:{group}"] = 1.0
                out[f"group@{hit.zone}:{group}"] = 1.0
        for zone in zones:
            out[f"zone:{zone}"] = 1.0
        if zones == {"body"}:
            out["only:body"] = 1.0
        if self.near:
            nearby = " ".join([ev.title, *dict.fromkeys(h.sentence for h in ev.hits)])
            tokens = _words(nearby)
            padded = " " + " ".join(tokens) + " "
            present = set(tokens)
            for name, near in self.near.items():
                if _found(near, present, tokens, padded):
                    out[f"near:{name}"] = 1.0
        if ev.source:
            out[f"source:{ev.source.casefold()}"] = 1.0
        for word in _words(ev.title + " " + ev.lead):
            out[f"word#{word_bucket(word)}"] = 1.0
        return out


def _near_terms(terms: Iterable[str]) -> _NearTerms:
    near = _NearTerms()
    for raw in terms:
        star = raw.endswith("*")
        words = _words(raw.rstrip("*"))
        if not words:
            continue
        if len(words) > 1:
            near.phrases.append(" " + " ".join(words) + ("" if star else " "))
        elif star:
            near.prefixes.append(words[0])
        else:
            near.words.add(words[0])
    return near


def _found(near: _NearTerms, present: set[str], tokens: Sequence[str], padded: str) -> bool:
    if near.words & present:
        return True
    if near.prefixes and any(t.startswith(p) for t in present for p in near.prefixes):
        return True
    return any(p in padded for p in near.phrases)


# --- the model ---------------------------------------------------------------


@dataclass
class Metrics:
    """Held-out figures on the feedback (cross-validated): what ``stats`` shows."""

    precision: float = 0.0
    recall: float = 0.0
    examples: int = 0
    relevant: int = 0


@dataclass
class Model:
    """A trained model: weights by feature name, and the calibration of its score."""

    weights: dict[str, float]
    intercept: float
    platt_a: float = 1.0
    platt_b: float = 0.0
    threshold: float = DEFAULT_THRESHOLD
    examples: int = 0  # feedback items it was trained on
    relevant: int = 0  # of which relevant
    metrics: Metrics = field(default_factory=Metrics)
    bucket_words: dict[str, str] = field(default_factory=dict)  # "word#12" → a word in it

    def decision(self, features: Mapping[str, float]) -> float:
        w = self.weights
        return self.intercept + sum(w.get(name, 0.0) * v for name, v in features.items())

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.platt_a * self.decision(features) + self.platt_b
        return _sigmoid(z)

    def contributions(self, features: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each present feature's part of the decision, largest effect first."""
        parts = [(name, self.weights[name] * v) for name, v in features.items() if name in self.weights]
        parts = [(n, c) for n, c in parts if c]
        parts.sort(key=lambda p: (-abs(p[1]), p[0]))
        return parts

    def label(self, name: str) -> str:
        """A feature's name for people (a hashed word shown by its word)."""
        if name.startswith("word#"):
            return f"word '{self.bucket_words.get(name, '?')}'"
        return name

    def top_weights(self, n: int = 5) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        ranked = sorted(self.weights.items(), key=lambda kv: kv[1])
        lowering = [kv for kv in ranked[:n] if kv[1] < 0]
        raising = [kv for kv in reversed(ranked[-n:]) if kv[1] > 0]
        return raising, lowering

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "weights": self.weights,
            "intercept": self.intercept,
            "platt": [self.platt_a, self.platt_b],
            "threshold": self.threshold,
            "examples": self.examples,
            "relevant": self.relevant,
            "metrics": vars(self.metrics),
            "bucket_words": self.bucket_words,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        a, b = data.get("platt", [1.0, 0.0])
        return cls(
            weights={str(k): float(v) for k, v in dict(data["weights"]).items()},
            intercept=float(data["intercept"]),
            platt_a=float(a),
            platt_b=float(b),
            threshold=float(data.get("threshold", DEFAULT_THRESHOLD)),
            examples=int(data.get("examples", 0)),
            relevant=int(data.get("relevant", 0)),
            metrics=Metrics(**dict(data.get("metrics") or {})),
            bucket_words={str(k): str(v) for k, v in dict(data.get("bucket_words") or {}).items()},
        )


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Example:
    """One feedback item: the features of an alert (or a missed story) and the verdict."""

    features: Mapping[str, float]
    relevant: bool
    words: tuple[str, ...] = ()  # headline/lead words, to name the hashed buckets


def can_train(examples: Sequence[Example]) -> bool:
    """Enough of both verdicts to learn anything; with less the model stays off."""
    pos = sum(e.relevant for e in examples)
    return pos >= MIN_PER_CLASS and len(examples) - pos >= MIN_PER_CLASS


def train(examples: Sequence[Example], threshold: float = DEFAULT_THRESHOLD) -> Model | None:
    """A model of ``examples``, or None when :func:`can_train` says there is too little.

    Logistic regression (L2, balanced classes: the feedback is usually
    lopsided), then Platt scaling fitted on decision values the model made
    for items it was not trained on (stratified k-fold), which also give the
    held-out precision and recall in :class:`Metrics`.
    """
    if not can_train(examples):
        return None
    import numpy as np  # lazy: only training needs them
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    vec = DictVectorizer()
    x = vec.fit_transform([dict(e.features) for e in examples])
    y = np.array([1 if e.relevant else 0 for e in examples])

    def fresh() -> LogisticRegression:
        return LogisticRegression(C=L2_C, class_weight="balanced", max_iter=1000)

    clf = fresh().fit(x, y)
    pos = int(y.sum())
    folds = min(MAX_CV_FOLDS, pos, len(y) - pos)
    a, b = 1.0, 0.0
    metrics = Metrics(examples=len(y), relevant=pos)
    if folds >= 2:
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        held_out = cross_val_predict(fresh(), x, y, cv=cv, method="decision_function")
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(held_out.reshape(-1, 1), y)
        a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
        kept = _sigmoid_array(a * held_out + b) >= threshold
        tp = int((kept & (y == 1)).sum())
        metrics.precision = tp / int(kept.sum()) if kept.sum() else 0.0
        metrics.recall = tp / pos
    names = vec.get_feature_names_out()
    weights = {str(n): float(w) for n, w in zip(names, clf.coef_[0], strict=True) if abs(w) > 1e-9}
    buckets: dict[str, str] = {}
    for e in examples:
        for word in e.words:
            buckets.setdefault(f"word#{word_bucket(word)}", word)
    return Model(
        weights=weights,
        intercept=float(clf.intercept_[0]),
        platt_a=a,
        platt_b=b,
        threshold=threshold,
        examples=len(y),
        relevant=pos,
        metrics=metrics,
        bucket_words={k: v for k, v in buckets.items() if k in weights},
    )


def _sigmoid_array(z: Any) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-z))


def example_words(ev: Evidence) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_words(ev.title + " " + ev.lead)))
