"""``alertbot eval``: precision and recall of watchlists on labelled articles.

A labelled file is JSON lines with ``title``, ``text`` and ``label`` (and
optionally ``id``, ``url``, ``why``). A label names the watchlist that should
fire, or ``none``; ``--map LABEL=WL[,WL…]`` ties other label sets to
watchlists, and any listed watchlist firing counts as caught. The first
watchlist of a mapping is the label's own: its recall is counted per
watchlist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.analyse import analyse
from bot.engine.matcher import Diagnosis, Matcher
from bot.engine.watchlist import Keyword, Watchlist
from bot.models import Article, Match

NONE_LABEL = "none"


class EvalError(ValueError):
    """A labelled file or option that cannot be used; one line for the user."""


@dataclass(frozen=True)
class LabelledItem:
    line: int
    id: str
    title: str
    text: str
    label: str
    url: str = ""
    why: str = ""

    @property
    def article(self) -> Article:
        return Article(title=self.title, text=self.text, url=self.url or self.id)


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


@dataclass
class Error:
    """A false positive or false negative, with what would change it."""

    kind: str  # "FP" or "FN"
    item: LabelledItem
    watchlist: str
    detail: list[str]


@dataclass
class Report:
    overall: Counts
    per_watchlist: dict[str, Counts]
    per_label: dict[str, Counts]
    errors: list[Error] = field(default_factory=list)
    baselines: dict[str, Counts] = field(default_factory=dict)
    items: int = 0


# --- input -----------------------------------------------------------------


def parse_map(specs: Iterable[str]) -> dict[str, list[str]]:
    """``["troop=a,b", "border=b"]`` → ``{"troop": ["a", "b"], "border": ["b"]}``."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        label, sep, names = spec.partition("=")
        wls = [n.strip() for n in names.split(",") if n.strip()]
        if not sep or not label.strip() or not wls:
            raise EvalError(f"--map {spec!r}: expected LABEL=WATCHLIST[,WATCHLIST…]")
        out[label.strip()] = wls
    return out


def load_labelled(path: Path) -> list[LabelledItem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvalError(f"{path}: cannot read: {err}") from None
    items = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        items.append(_parse_line(path, number, raw))
    if not items:
        raise EvalError(f"{path}: no labelled items")
    return items


def _parse_line(path: Path, number: int, raw: str) -> LabelledItem:
    where = f"{path}: line {number}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        raise EvalError(f"{where}: not JSON ({err.msg})") from None
    if not isinstance(obj, dict):
        raise EvalError(f"{where}: expected a JSON object")
    missing = [k for k in ("title", "label") if not isinstance(obj.get(k), str)]
    text = obj.get("text", obj.get("content"))
    if not isinstance(text, str):
        missing.append("text")
    if missing:
        raise EvalError(f"{where}: missing {', '.join(repr(m) for m in missing)}")
    return LabelledItem(
        line=number,
        id=str(obj.get("id") or f"line-{number}"),
        title=obj["title"],
        text=str(text),
        label=obj["label"].strip(),
        url=str(obj.get("url") or ""),
        why=str(obj.get("why") or ""),
    )


def accepted_watchlists(
    items: Sequence[LabelledItem], names: set[str], label_map: dict[str, list[str]]
) -> dict[str, list[str]]:
    """For each label in the file: the watchlists that count as catching it."""
    for label, wls in label_map.items():
        for wl in wls:
            if wl not in names:
                raise EvalError(f"--map {label}={','.join(wls)}: no watchlist named {wl!r}")
    out: dict[str, list[str]] = {NONE_LABEL: []}
    for item in items:
        if item.label in out:
            continue
        if item.label in label_map:
            out[item.label] = label_map[item.label]
        elif item.label in names:
            out[item.label] = [item.label]
        else:
            raise EvalError(
                f"line {item.line}: unknown label {item.label!r} "
                f"(use a watchlist name, 'none', or --map {item.label}=WATCHLIST)"
            )
    return out


# --- evaluation ------------------------------------------------------------


def evaluate(
    items: Sequence[LabelledItem],
    matcher: Matcher,
    label_map: dict[str, list[str]] | None = None,
    baselines: Sequence[str] = (),
) -> Report:
    names = {wl.name for wl in matcher.watchlists}
    accepted = accepted_watchlists(items, names, label_map or {})
    evaluated = sorted({wl for wls in accepted.values() for wl in wls})
    if not evaluated:
        raise EvalError("no label names a watchlist: nothing to evaluate (see --map)")
    report = Report(
        overall=Counts(),
        per_watchlist={wl: Counts() for wl in evaluated},
        per_label={label: Counts() for label in accepted if label != NONE_LABEL},
        items=len(items),
    )
    baseline_matchers = {term: _baseline(term) for term in baselines}
    report.baselines = {term: Counts() for term in baselines}
    for item in items:
        article = item.article
        fired = {m.watchlist: m for m in analyse(article, matcher) if m.watchlist in evaluated}
        wanted = accepted[item.label]
        positive = bool(wanted)
        caught = any(wl in fired for wl in wanted)
        report.overall.add(bool(fired), positive)
        if positive:
            report.per_label[item.label].add(caught, True)
        for wl, counts in report.per_watchlist.items():
            own = bool(wanted) and wanted[0] == wl
            if wl in fired:
                counts.add(True, wl in wanted)
            elif own:
                counts.add(False, True)
            else:
                counts.add(False, False)
        _note_errors(report, item, wanted, fired, caught, matcher)
        for term, bm in baseline_matchers.items():
            report.baselines[term].add(bool(bm.match(article)), positive)
    return report


def _baseline(term: str) -> Matcher:
    return Matcher([Watchlist(name="baseline", keywords=[Keyword(term)], min_score=0.0)])


def _note_errors(
    report: Report,
    item: LabelledItem,
    wanted: list[str],
    fired: dict[str, Match],
    caught: bool,
    matcher: Matcher,
) -> None:
    if wanted and not caught:
        detail = [_miss_line(matcher.diagnose(item.article, wl)) for wl in wanted]
        report.errors.append(Error("FN", item, ",".join(wanted), detail))
    for wl, match in fired.items():
        if wl not in wanted:
            report.errors.append(Error("FP", item, wl, _fired_lines(match)))


def _miss_line(diag: Diagnosis) -> str:
    found = ", ".join(diag.terms_found) or "no terms"
    return f"{diag.watchlist}: {diag.nearest_miss} [found: {found}]"


def _fired_lines(match: Match) -> list[str]:
    terms: dict[str, str] = {}
    for hit in match.hits:
        terms.setdefault(hit.term, hit.text)
    found = ", ".join(
        f"{t}={txt!r}" if t.casefold() != txt.casefold() else t for t, txt in terms.items()
    )
    return [f"score {match.score:.2f}; hits: {found}"]


# --- output ----------------------------------------------------------------


def render_text(report: Report, show_errors: bool = True) -> str:
    lines = [f"{report.items} labelled items", ""]
    header = f"{'':34} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>5} {'FP':>5} {'FN':>5}"
    lines.append(header)
    lines.append(_row("overall (any watchlist)", report.overall))
    for label, counts in report.per_label.items():
        lines.append(_row(f"  label {label} caught", counts, recall_only=True))
    for wl, counts in report.per_watchlist.items():
        lines.append(_row(f"  {wl}", counts))
    for term, counts in report.baselines.items():
        lines.append(_row(f"baseline: {term!r} anywhere", counts))
    if show_errors and report.errors:
        lines += ["", "Errors (FP = fired but should not; FN = missed):"]
        for err in report.errors:
            item = err.item
            lines.append(
                f"{err.kind} [{item.id}] label={item.label} {err.watchlist}: {item.title[:100]}"
            )
            lines += [f"     {d}" for d in err.detail]
    return "\n".join(lines)


def _row(name: str, c: Counts, recall_only: bool = False) -> str:
    precision = "" if recall_only else f"{c.precision:.3f}"
    f1 = "" if recall_only else f"{c.f1:.3f}"
    return f"{name:34} {precision:>9} {c.recall:>7.3f} {f1:>6} {c.tp:>5} {c.fp:>5} {c.fn:>5}"


def render_json(report: Report) -> str:
    return json.dumps(
        {
            "items": report.items,
            "overall": report.overall.as_dict(),
            "per_label": {k: v.as_dict() for k, v in report.per_label.items()},
            "per_watchlist": {k: v.as_dict() for k, v in report.per_watchlist.items()},
            "baselines": {k: v.as_dict() for k, v in report.baselines.items()},
            "errors": [
                {
                    "kind": e.kind,
                    "id": e.item.id,
                    "line": e.item.line,
                    "label": e.item.label,
                    "title": e.item.title,
                    "watchlist": e.watchlist,
                    "detail": e.detail,
                }
                for e in report.errors
            ],
        },
        ensure_ascii=False,
        indent=2,
    )
