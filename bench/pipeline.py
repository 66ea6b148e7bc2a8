"""Benchmark: the stored pipeline over real feed items (run by hand: `make bench-pipeline`).

    python bench/pipeline.py ITEMS.jsonl [--limit 5000] [--database-url URL]

ITEMS is JSON lines (or a JSON list) of objects with ``title``, ``text`` (or
``content``/``description``), and optionally ``url``/``link``, ``source``,
``published``. Measures, in one run on the same items:

* match only: clean + match + summarise (``analyse``), no database — the baseline;
* stored pipeline: ``ingest`` — store once, story (MinHash LSH), match,
  alerts and outbox rows, one transaction per article;

and reports articles/s for both, their ratio, alerts and stories, and the
process's peak memory. Nothing here runs in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_model  # noqa: E402

from bot.engine.analyse import analyse  # noqa: E402
from bot.engine.matcher import Matcher  # noqa: E402
from bot.engine.stories import StoryRules  # noqa: E402
from bot.engine.watchlist import load_dir  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.runtime.pipeline import ingest  # noqa: E402
from bot.store import make_engine, make_session_factory, migrate, session_scope  # noqa: E402


def load_items(path: Path, limit: int) -> list[Article]:
    raw = path.read_text(encoding="utf-8")
    rows = json.loads(raw) if raw.lstrip().startswith("[") else [
        json.loads(line) for line in raw.splitlines() if line.strip()
    ]
    out = []
    for row in rows[:limit]:
        text = row.get("text") or row.get("content") or row.get("description") or ""
        out.append(
            Article(
                title=str(row.get("title") or ""),
                text=str(text),
                url=str(row.get("url") or row.get("link") or ""),
                source=str(row.get("source") or row.get("feed") or ""),
                published=str(row.get("published") or ""),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", type=Path)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    articles = load_items(args.items, args.limit)
    watchlists, errors = load_dir(ROOT / "watchlists")
    assert not errors, errors
    matcher = Matcher(watchlists)
    mb = sum(len(a.title) + len(a.text) for a in articles) / 1e6

    t0 = time.perf_counter()
    matched = sum(bool(analyse(a, matcher)) for a in articles)
    match_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrate(engine)
        factory = make_session_factory(engine)
        stories = StoryRules()
        stored = alerts = new_stories = 0
        t0 = time.perf_counter()
        for article in articles:
            with session_scope(factory) as s:
                result = ingest(s, article, matcher, stories)
            stored += result.stored
            alerts += len(result.alerts_created)
            new_stories += result.new_story
        ingest_s = time.perf_counter() - t0
        backend = engine.dialect.name
        engine.dispose()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(articles)
    print(f"machine: {cpu_model()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"date: {date.today().isoformat()}; items: {n} ({mb:.1f} MB of text) from {args.items.name}")
    print()
    print("| stage | articles/s | total s | result |")
    print("|---|---|---|---|")
    print(f"| match only (baseline) | {n / match_s:,.0f} | {match_s:.1f} | {matched} articles alerted |")
    print(
        f"| stored pipeline ({backend}) | {n / ingest_s:,.0f} | {ingest_s:.1f} | "
        f"{stored} stored, {new_stories} stories, {alerts} alerts |"
    )
    print()
    print(f"stored pipeline / match only: {match_s / ingest_s:.2f}× the baseline's speed")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
