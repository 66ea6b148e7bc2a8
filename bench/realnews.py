"""Real-news mode of ``bench/matcher.py``: ``alertbot scan`` end to end on real short items.

    python bench/matcher.py --real ITEMS.jsonl [--sizes 10000] [--limit 20000]

ITEMS is JSON lines of real feed items (``title`` and ``text``, or ``description``
or ``content``), the format ``alertbot scan`` reads. Where to get some: the public
repository ``rumca-js/RSS-Link-Database-2023`` keeps every day's RSS entries of a few
hundred feeds as ``YYYY/MM/YYYY-MM-DD/*_entries.json`` in its git history (the latest
commit zips them): ``python bench/rss_items.py CLONE REV 2023/12 20000 > items.jsonl``
turns them into JSON lines (title, description as text, link, source, date).

Terms are drawn from the items' own words and phrases (weighted by how often they
occur, so hits are dense), 10 % of them fuzzy entities (capitalised name pairs of
the items), in watchlists of 1,000 terms: half with the default rule (an entity and
a keyword), half with a rule over three groups (AND, NEAR, NOT, title:), so rule
evaluation is exercised as in the bundled watchlists.

Measured in one run, CPU seconds (a busy machine slows the wall clock, not these):

* ``scan`` — the real command, ``alertbot scan --format json``, in a subprocess
  (start-up, reading JSON, cleaning, normalising, matching, summaries, JSON out);
* ``plumbing`` — the same command with one watchlist of one term that never occurs:
  ``matching`` is scan minus plumbing;
* ``alternation`` — one compiled ``\\b(?:t1|t2|…)`` regex (``re.IGNORECASE``), over the
  first items until 20 CPU seconds are spent;
* ``hyperscan`` — the same patterns compiled into one hyperscan database (when the
  ``hyperscan`` package is installed: ``pip install hyperscan``; not a dependency).

The baselines match exact terms only, no normalising, rules or evidence.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from machine import say

from bot.engine.watchlist import Entity, Keyword, Watchlist, to_document

TERMS_PER_WATCHLIST = 1_000
COMMON_WORDS = 1_000  # the most frequent words of the items are not drawn as single-word terms
COMMON_NAMES = 30  # nor the most frequent names as entities
FUZZY_SHARE = 0.1
WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]")
STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "had", "has", "have", "he", "her", "his", "i", "in", "into", "is", "it", "its", "more", "most", "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "they", "this", "to", "was", "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your"]
)


@dataclass
class Items:
    path: Path
    titles: list[str]
    texts: list[str]

    @property
    def megabytes(self) -> float:
        return sum(len(t.encode()) for t in self.titles + self.texts) / 1e6


def load(path: Path, limit: int) -> Items:
    titles, texts = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            titles.append(str(row.get("title") or ""))
            texts.append(str(row.get("text") or row.get("description") or row.get("content") or ""))
            if len(titles) >= limit:
                break
    return Items(path, titles, texts)


def draw_terms(items: Items, size: int, seed: int) -> list[Watchlist]:
    """``size`` terms from the items' own words, phrases and names, in watchlists of 1,000."""
    rng = random.Random(seed * 7919 + size)
    docs = [f"{t}\n{x}" for t, x in zip(items.titles, items.texts, strict=True)]
    names: Counter[str] = Counter()
    for doc in docs[:5000]:
        for m in re.finditer(r"\b([A-Z][a-z]{2,}) ([A-Z][a-z]{3,})\b", doc):
            names[m.group(0)] += 1
    counts: Counter[str] = Counter(w.lower() for doc in docs[:5000] for w in WORD.findall(doc))
    common = {w for w, _ in counts.most_common(COMMON_WORDS)}
    people = [  # "The Year", "Couples That" (title case) are not names
        n for n, _ in names.most_common() if not any(w.lower() in common for w in n.split())
    ][COMMON_NAMES : COMMON_NAMES + size]
    n_entities = round(size * FUZZY_SHARE)
    seen: set[str] = set()
    keywords: list[str] = []
    tries = 0
    while len(keywords) < size - n_entities and tries < size * 200:
        tries += 1
        toks = WORD.findall(rng.choice(docs))
        if not toks:
            continue
        n = rng.choice((1, 1, 1, 2, 2, 3))
        at = rng.randrange(len(toks))
        gram = [t.lower() for t in toks[at : at + n]]
        if len(gram) < n or gram[0] in STOP or gram[-1] in STOP or len(gram[0]) < 3:
            continue
        if n == 1 and gram[0] in common:  # "said", "new": every item would alert
            continue
        term = " ".join(gram)
        if rng.random() < 0.08 and n == 1 and len(term) >= 6 and term.isalpha():
            term = term[: rng.randint(4, 5)] + "*"
        if term not in seen:
            seen.add(term)
            keywords.append(term)
    entities: list[Entity] = []
    for name in people:
        if len(entities) >= n_entities:
            break
        if name.casefold() not in seen:
            seen.add(name.casefold())
            entities.append(Entity(name, [name.split()[1]], fuzzy=90))
    count = max(1, size // TERMS_PER_WATCHLIST)
    out = []
    for i in range(count):
        kws = [Keyword(k) for k in keywords[i::count]]
        ents = entities[i::count]
        if i % 2 == 0:
            out.append(Watchlist(name=f"real-{i:03d}", entities=ents, keywords=kws))
            continue
        third = len(kws) // 4
        groups = {"a": kws[:third], "b": kws[third : 2 * third], "c": kws[2 * third : 3 * third]}
        rule = "(@a AND @b AND NOT @c) OR (@a NEAR/6 @c) OR title:(@b) OR (@b SENT @c)"
        out.append(
            Watchlist(
                name=f"real-{i:03d}",
                entities=ents,
                keywords=kws[3 * third :],
                groups=groups,
                rule=rule,
            )
        )
    return out


def write_folder(watchlists: Sequence[Watchlist], folder: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    for wl in watchlists:
        doc = to_document(wl)
        if wl.groups:
            doc["groups"] = {k: [kw.term for kw in v] for k, v in wl.groups.items()}
            doc["rule"] = wl.rule
        with (folder / f"{wl.name}.yaml").open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh)


def patterns_of(watchlists: Sequence[Watchlist]) -> list[str]:
    out: dict[str, None] = {}
    for wl in watchlists:
        for ent in wl.entities:
            for name in ent.all_names:
                out.setdefault(name.casefold(), None)
        for kw in wl.keywords + [k for g in wl.groups.values() for k in g]:
            out.setdefault(kw.term.casefold(), None)
    return list(out)


def term_regex(term: str) -> str:
    prefix = term.endswith("*")
    body = r"\s+".join(re.escape(w) for w in term.rstrip("*").split())
    return body + (r"\w*" if prefix else r"\b")


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_scan(items_path: Path, folder: Path, tree: Path | None = None) -> tuple[float, float, int]:
    """CPU and wall seconds of ``alertbot scan --format json``, and the alerts it printed.

    ``tree``: run the ``bot`` package of that checkout instead (a baseline in the same run).
    """
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    before, wall = child_cpu(), time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "scan",
            "--format",
            "json",
            "-w",
            str(folder),
            str(items_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed: {done.stderr[-500:]}")
    return child_cpu() - before, time.perf_counter() - wall, done.stdout.count("\n")


def alternation(items: Items, patterns: list[str], budget: float = 20.0) -> float:
    """MB/s of one alternation regex, over the first items until ``budget`` CPU seconds."""
    rx = re.compile(r"\b(?:" + "|".join(term_regex(t) for t in patterns) + ")", re.IGNORECASE)
    start = time.process_time()
    done = 0
    for title, text in zip(items.titles, items.texts, strict=True):
        sum(1 for _ in rx.finditer(title)) + sum(1 for _ in rx.finditer(text))
        done += len(title.encode()) + len(text.encode())
        if time.process_time() - start > budget:  # the first items, as a sample: MB/s
            break
    return done / 1e6 / (time.process_time() - start)


def hyperscan_seconds(items: Items, patterns: list[str]) -> tuple[float, float] | None:
    """Compile and scan CPU seconds of one hyperscan database of ``patterns`` (None: not installed)."""
    try:
        import hyperscan  # type: ignore[import-not-found]
    except ImportError:
        return None
    start = time.process_time()
    db = hyperscan.Database()
    flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8  # \b: ASCII word boundaries
    exprs = [(r"\b" + term_regex(t)).encode() for t in patterns]
    db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[flags] * len(exprs))
    compiled = time.process_time() - start
    scratch = hyperscan.Scratch(db)
    count = [0]

    def on_match(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
        count[0] += 1

    blobs = [(t.encode(), x.encode()) for t, x in zip(items.titles, items.texts, strict=True)]
    start = time.process_time()
    for title, text in blobs:
        db.scan(title, match_event_handler=on_match, scratch=scratch)
        db.scan(text, match_event_handler=on_match, scratch=scratch)
    return compiled, time.process_time() - start


def run(path: Path, sizes: Sequence[int], limit: int, seed: int, trees: Sequence[Path] = ()) -> str:
    """The table; one row per size for this checkout, and one per size for each of ``trees``."""
    items = load(path, limit)
    mb = items.megabytes
    say(f"{len(items.titles)} items, {mb:.2f} MB (title + text) from {path}")
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "items.jsonl"
        with sample.open("w", encoding="utf-8") as fh:
            for title, text in zip(items.titles, items.texts, strict=True):
                fh.write(json.dumps({"title": title, "text": text}, ensure_ascii=False) + "\n")
        one = Path(tmp) / "one"
        one.mkdir()
        write_folder([Watchlist(name="one", keywords=[Keyword("zzqxv")], entities=[])], one)
        rows = []
        plumbings = []
        for tree in [None, *trees]:
            say(f"scan with one term (plumbing), {tree or 'this checkout'}")
            plumbings.append((tree, *run_scan(sample, one, tree)[:2]))
        for size in sizes:
            folder = Path(tmp) / f"w{size}"
            folder.mkdir()
            watchlists = draw_terms(items, size, seed)
            write_folder(watchlists, folder)
            patterns = patterns_of(watchlists)
            say("alternation")
            alt = alternation(items, patterns)
            say("hyperscan")
            hs = hyperscan_seconds(items, patterns)
            hs_rate = mb / hs[1] if hs else None
            for tree, tree_plumbing, _ in plumbings:
                say(f"{size} terms ({len(patterns)} patterns): scan, {tree or 'this checkout'}")
                cpu, wall, alerts = run_scan(sample, folder, tree)
                matching = max(cpu - tree_plumbing, 1e-9)
                rows.append(
                    [
                        "this" if tree is None else f"`{tree.name}`",
                        f"{size:,}",
                        f"{alerts:,}",
                        f"{mb / cpu:.2f}",
                        f"{mb / matching:.2f}",
                        f"{alt:.2f}",
                        f"{hs_rate:.1f}" if hs_rate else "n/a",
                        f"{hs_rate / (mb / cpu):.1f}×" if hs_rate else "n/a",
                        f"{hs_rate / (mb / matching):.1f}×" if hs_rate else "n/a",
                        f"{wall:.1f}",
                    ]
                )
    header = [
        "code",
        "terms",
        "alerts",
        "scan MB/s",
        "matching MB/s",
        "alternation MB/s",
        "hyperscan MB/s",
        "hs ÷ scan",
        "hs ÷ matching",
        "scan wall s",
    ]
    lines = [f"Real items: {len(items.titles):,} from `{path.name}`, {mb:.2f} MB.", ""]
    for tree, cpu, wall in plumbings:
        lines.append(
            f"- plumbing (scan, one term), {'this checkout' if tree is None else tree.name}: "
            f"{mb / cpu:.2f} MB/s ({cpu * 1000 / len(items.titles):.3f} ms/item, {cpu:.1f} s CPU, "
            f"{wall:.1f} s wall)"
        )
    lines += [
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
