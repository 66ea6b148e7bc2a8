"""``alertbot eval``: precision and recall of watchlists on labelled articles.

A labelled file is JSON lines with ``title``, ``text`` and ``label`` (and
optionally ``id``, ``url``, ``why``, ``kind``, ``source`` or any other string
field). A label names the watchlist that should fire, or ``none``; ``--map
LABEL=WL[,WL…]`` ties other label sets to watchlists, and any listed
watchlist firing counts as caught. The first watchlist of a mapping is the
label's own: a watchlist's recall is counted on its own label's items only,
and its firing on an item of another label that lists it is correct (it
counts for precision, as ``other``) but not part of its recall.

With a ``kind`` field (e.g. ``full``/``short``) every figure is also given
per kind. ``--only FIELD=V1,V2`` / ``--only FIELD~REGEX`` (and ``--skip``)
evaluate a part of the file, e.g. the sources one tunes on or checks on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.analyse import analyse, language_note
from bot.engine.matcher import Diagnosis, Matcher
from bot.engine.watchlist import Keyword, Watchlist, WatchlistError, from_mapping
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
    kind: str = ""
    fields: Mapping[str, str] = field(default_factory=dict, compare=False)  # every string field

    @property
    def article(self) -> Article:
        return Article(
            title=self.title,
            text=self.text,
            url=self.url or self.id,
            source=self.fields.get("source", ""),
            published=self.fields.get("published", ""),
        )


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    other: int = 0  # fired on another label's item that accepts it: right, but not its recall

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
        right = self.tp + self.other
        return right / (right + self.fp) if right + self.fp else 0.0

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
            **({"other": self.other} if self.other else {}),
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
    per_kind: dict[str, Report] = field(default_factory=dict)  # the same figures, per ``kind``
    selection: list[str] = field(default_factory=list)  # the --only/--skip filters applied


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


def load_labelled_lenient(path: Path) -> tuple[list[LabelledItem], list[str]]:
    """Like :func:`load_labelled`, but a bad line is one problem (its line) and is skipped:
    ``alertbot learn`` learns from the good lines and names each bad one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EvalError(f"{path}: cannot read: {err}") from None
    items: list[LabelledItem] = []
    problems: list[str] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            items.append(_parse_line(path, number, raw))
        except EvalError as err:
            problems.append(str(err))
    return items, problems


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
    fields = {k: v for k, v in obj.items() if isinstance(v, str)}
    return LabelledItem(
        line=number,
        id=str(obj.get("id") or f"line-{number}"),
        title=obj["title"],
        text=str(text),
        label=obj["label"].strip(),
        url=str(obj.get("url") or ""),
        why=str(obj.get("why") or ""),
        kind=str(obj.get("kind") or "").strip(),
        fields=fields,
    )


# --- selecting a part of a file ----------------------------------------------


@dataclass(frozen=True)
class ItemFilter:
    """``FIELD=V1,V2`` (the field is one of the values) or ``FIELD~REGEX`` (it matches)."""

    spec: str
    name: str
    values: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None

    def accepts(self, item: LabelledItem) -> bool:
        value = item.fields.get(self.name)
        if value is None:
            return False
        if self.pattern is not None:
            return self.pattern.search(value) is not None
        return value.strip() in self.values


def parse_filter(spec: str, option: str = "--only") -> ItemFilter:
    """``source=A,B`` or ``source~(?i)reuters`` → an :class:`ItemFilter`."""
    match = re.match(r"\s*([A-Za-z_][\w-]*)\s*([=~])(.*)\Z", spec, re.DOTALL)
    if match is None:
        raise EvalError(f"{option} {spec!r}: expected FIELD=VALUE[,VALUE…] or FIELD~REGEX")
    name, op, rest = match.groups()
    if op == "~":
        try:
            return ItemFilter(spec, name, pattern=re.compile(rest))
        except re.error as err:
            raise EvalError(f"{option} {spec!r}: bad regular expression: {err}") from None
    values = frozenset(v.strip() for v in rest.split(",") if v.strip())
    if not values:
        raise EvalError(f"{option} {spec!r}: no value after '='")
    return ItemFilter(spec, name, values)


def select(
    items: Sequence[LabelledItem],
    only: Sequence[ItemFilter] = (),
    skip: Sequence[ItemFilter] = (),
) -> list[LabelledItem]:
    """The items every ``only`` filter accepts and no ``skip`` filter does."""
    for f in [*only, *skip]:
        if not any(f.name in item.fields for item in items):
            raise EvalError(f"{f.spec!r}: no item has a field {f.name!r}")
    kept = [
        item
        for item in items
        if all(f.accepts(item) for f in only) and not any(f.accepts(item) for f in skip)
    ]
    if not kept:
        shown = " ".join([*(f"--only {f.spec}" for f in only), *(f"--skip {f.spec}" for f in skip)])
        raise EvalError(f"{shown}: no item left to evaluate")
    return kept


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
    keep: Callable[[Match], bool] | None = None,
) -> Report:
    """Count every item; ``keep`` (the learned second stage) may hold alerts back."""
    names = {wl.name for wl in matcher.watchlists}
    accepted = accepted_watchlists(items, names, label_map or {})
    evaluated = sorted({wl for wls in accepted.values() for wl in wls})
    if not evaluated:
        raise EvalError("no label names a watchlist: nothing to evaluate (see --map)")

    def empty(count: int) -> Report:
        return Report(
            overall=Counts(),
            per_watchlist={wl: Counts() for wl in evaluated},
            per_label={label: Counts() for label in accepted if label != NONE_LABEL},
            baselines={term: Counts() for term in baselines},
            items=count,
        )

    report = empty(len(items))
    kinds = sorted({item.kind for item in items if item.kind})
    report.per_kind = {k: empty(sum(item.kind == k for item in items)) for k in kinds}
    baseline_matchers = {term: _baseline(term) for term in baselines}
    for item in items:
        article = item.article
        fired = {
            m.watchlist: m
            for m in analyse(article, matcher)
            if m.watchlist in evaluated and (keep is None or keep(m))
        }
        wanted = accepted[item.label]
        base = {term: bool(bm.match(article)) for term, bm in baseline_matchers.items()}
        for part in (report, report.per_kind.get(item.kind)):
            if part is not None:
                _tally(part, item, wanted, fired, base)
        _note_errors(report, item, wanted, fired, any(wl in fired for wl in wanted), matcher)
    return report


def _tally(
    report: Report,
    item: LabelledItem,
    wanted: list[str],
    fired: dict[str, Match],
    baselines: dict[str, bool],
) -> None:
    """Count one item: overall, for its label, for each watchlist, for each baseline."""
    positive = bool(wanted)
    report.overall.add(bool(fired), positive)
    if positive:
        report.per_label[item.label].add(any(wl in fired for wl in wanted), True)
    for wl, counts in report.per_watchlist.items():
        own = positive and wanted[0] == wl
        if wl in fired and not own and wl in wanted:
            counts.other += 1  # right to fire, but the item is another watchlist's to catch
        else:
            counts.add(wl in fired, own)
    for term, hit in baselines.items():
        report.baselines[term].add(hit, positive)


_RULE_OPERATOR = re.compile(r"\b(?:AND|OR|NOT|SENT|CLAUSE|NEAR/\d+)\b")


def _baseline(term: str) -> Matcher:
    """'TERM anywhere', or a whole rule when the baseline uses an operator.

    A rule baseline (``(troops OR soldiers) AND (deploy* OR moved)``) is the
    plain keyword approach a tuned watchlist has to beat, measured in the
    same run.
    """
    if _RULE_OPERATOR.search(term):
        try:
            wl = from_mapping({"name": "baseline", "rule": term, "min_score": 0.0}, "--baseline")
        except WatchlistError as err:
            raise EvalError(str(err)) from None
        return Matcher([wl])
    return Matcher([Watchlist(name="baseline", keywords=[Keyword(term)], min_score=0.0)])


def baseline_label(term: str, number: int) -> str:
    """How a baseline is named in a table row (a rule is spelled out under the tables)."""
    if _RULE_OPERATOR.search(term):
        return f"baseline {number}: a rule (below)"
    return f"baseline: {term!r} anywhere"


def _note_errors(
    report: Report,
    item: LabelledItem,
    wanted: list[str],
    fired: dict[str, Match],
    caught: bool,
    matcher: Matcher,
) -> None:
    if wanted and not caught:
        languages = {w.name: w.languages for w in matcher.watchlists}
        detail = []
        for wl in wanted:
            refused = language_note(item.article, languages.get(wl, []))
            if refused:  # the rule may hold: the article's language keeps it out
                detail.append(_cut(f"{wl}: {refused}"))
            else:
                detail += _miss_lines(matcher.diagnose(item.article, wl))
        report.errors.append(Error("FN", item, ",".join(wanted), detail))
    for wl, match in fired.items():
        if wl not in wanted:
            report.errors.append(Error("FP", item, wl, _fired_lines(match)))


MISS_CHARS = 160  # a line of a miss explanation is cut to this length
FOUND_SHOWN = 8  # terms listed after "found"


def _cut(text: str, limit: int = MISS_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _terms(terms: Sequence[str]) -> str:
    shown = ", ".join(terms[:FOUND_SHOWN])
    return shown + (f" (+{len(terms) - FOUND_SHOWN} more)" if len(terms) > FOUND_SHOWN else "")


_MISS_FILLER = re.compile(r"OR: no alternative matched; |(?<=: )neither side matched: ")


def _brief_miss(watchlist: str, miss: str, limit: int = MISS_CHARS) -> str:
    """The closest branch's miss in one line, its deepest part kept.

    A miss reads from the top of the rule down to the part that failed; the
    wording of the levels between ("no alternative matched", "neither side
    matched") is dropped, and a line still too long loses its middle, not the
    end that says what was missing.
    """
    text = f"{watchlist}: {_MISS_FILLER.sub('', miss)}"
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]} … {text[len(text) - (limit - head - 3) :]}"


def _miss_lines(diag: Diagnosis) -> list[str]:
    """A miss in a few short lines: why (the closest branch), then what was found where."""
    lines = [_brief_miss(diag.watchlist, diag.nearest_miss)]
    if not diag.terms_found:
        return [*lines, "  found: no terms"]
    top = [t for t in diag.terms_found if t in diag.terms_in_top]
    rest = [t for t in diag.terms_found if t not in diag.terms_in_top]
    if top:
        lines.append(_cut(f"  found in title/lead: {_terms(top)}"))
    if rest:
        lines.append(_cut(f"  found {'further down' if top else 'in the body'}: {_terms(rest)}"))
    return lines


def _fired_lines(match: Match) -> list[str]:
    terms: dict[str, str] = {}
    for hit in match.hits:
        terms.setdefault(hit.term, hit.text)
    found = [f"{t}={txt!r}" if t.casefold() != txt.casefold() else t for t, txt in terms.items()]
    zones = sorted({hit.zone for hit in match.hits}, key=["title", "lead", "body"].index)
    return [_cut(f"score {match.score:.2f} ({'/'.join(zones)}); hits: {_terms(found)}")]


# --- output ----------------------------------------------------------------


def render_text(report: Report, show_errors: bool = True) -> str:
    lines = [f"{report.items} labelled items"]
    if report.selection:
        lines.append("selected: " + " ".join(report.selection))
    lines += ["", *_table(report)]
    for kind, part in report.per_kind.items():
        lines += ["", f"kind {kind}: {part.items} items", *_table(part)]
    rule_baselines = [
        f"baseline {n}: {term}"
        for n, term in enumerate(report.baselines, 1)
        if _RULE_OPERATOR.search(term)
    ]
    if rule_baselines:
        lines += ["", *rule_baselines]
    if any(c.other for c in report.per_watchlist.values()):
        lines += [
            "",
            "A watchlist's recall counts its own label only; 'other' = it fired on an item of",
            "another label that accepts it (right, so counted in its precision).",
        ]
    if show_errors and report.errors:
        lines += ["", "Errors (FP = fired but should not; FN = missed):"]
        for err in report.errors:
            item = err.item
            kind = f" ({item.kind})" if item.kind else ""
            lines.append(
                f"{err.kind} [{item.id}]{kind} label={item.label} {err.watchlist}: "
                f"{_cut(item.title, 100)}"
            )
            lines += [f"     {d}" for d in err.detail]
    return "\n".join(lines)


def _table(report: Report) -> list[str]:
    other = any(c.other for c in report.per_watchlist.values())
    header = f"{'':34} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>5} {'FP':>5} {'FN':>5}"
    lines = [header + (f" {'other':>5}" if other else "")]
    lines.append(_row("overall (any watchlist)", report.overall))
    for label, counts in report.per_label.items():
        lines.append(_row(f"  label {label} caught", counts, recall_only=True))
    for wl, counts in report.per_watchlist.items():
        lines.append(_row(f"  {wl}", counts) + (f" {counts.other:>5}" if other else ""))
    for number, (term, counts) in enumerate(report.baselines.items(), 1):
        lines.append(_row(baseline_label(term, number), counts))
    return lines


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
            "selection": report.selection,
            "per_kind": {
                kind: {
                    "items": part.items,
                    "overall": part.overall.as_dict(),
                    "per_label": {k: v.as_dict() for k, v in part.per_label.items()},
                    "per_watchlist": {k: v.as_dict() for k, v in part.per_watchlist.items()},
                    "baselines": {k: v.as_dict() for k, v in part.baselines.items()},
                }
                for kind, part in report.per_kind.items()
            },
            "errors": [
                {
                    "kind": e.kind,
                    "id": e.item.id,
                    "line": e.item.line,
                    "label": e.item.label,
                    "item_kind": e.item.kind,
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
