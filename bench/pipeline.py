"""Benchmark: the stored pipeline over real feed items (run by hand: `make bench-pipeline`).

    python bench/pipeline.py ITEMS.jsonl [--limit 5000] [--database-url URL]

ITEMS is JSON lines (or a JSON list) of objects with ``title``, ``text`` (or
``content``/``description``), and optionally ``url``/``link``, ``source``,
``published``. Measures, in one run on the same items:

* match only: clean + match + summarise (``analyse``), no database — the baseline;
* stored pipeline: ``ingest_all`` — store once, story (MinHash LSH), match,
  alerts and outbox rows, ``--batch`` articles to a transaction (``--batch 1``: one
  transaction per article, the per-article path);

and reports articles/s for both, their ratio, alerts and stories, and the
process's peak memory. Nothing here runs in the unit tests.

Growth mode (``--fill 1000,20000,100000``): on a fresh SQLite file and a fresh
PostgreSQL schema (``--pg URL``, default the local ``test`` database), the articles
table is filled to each size with other articles (bulk inserts: the texts of the
items, each made unique, fetched a year ago so no story window holds them), then
``--measure`` new items go through ``ingest_all`` in batches of ``--batch``: articles/s
stored at each size, and the ratio of the first to the last. ``--baseline CHECKOUT``
(e.g. a worktree of main, with its own ``.venv``) runs that checkout's
``bench/pipeline.py`` with the same items, sizes and databases first, in the same run,
and its rows are printed as "base".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_model, say  # noqa: E402

from bot.engine.analyse import analyse  # noqa: E402
from bot.engine.language import detect_language  # noqa: E402
from bot.engine.matcher import Matcher  # noqa: E402
from bot.engine.stories import StoryRules  # noqa: E402
from bot.engine.watchlist import load_dir  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.runtime.pipeline import BATCH_SIZE, ingest_all  # noqa: E402
from bot.store import make_engine, make_session_factory, migrate, session_scope  # noqa: E402


def load_items(path: Path, limit: int) -> list[Article]:
    raw = path.read_text(encoding="utf-8")
    rows = (
        json.loads(raw)
        if raw.lstrip().startswith("[")
        else [json.loads(line) for line in raw.splitlines() if line.strip()]
    )
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


def fill(factory: object, articles: list[Article], upto: int, have: int) -> int:
    """Bulk-insert other articles until the table holds ``upto``; returns ``upto``."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from bot.store.articles import content_hash, url_hash
    from bot.store.tables import ArticleRow

    old = datetime.now(UTC) - timedelta(days=365)
    batch: list[dict[str, object]] = []
    for i in range(have, upto):
        base = articles[i % len(articles)]
        text = f"{base.text} [filler {i}]"
        url = f"https://filler.example/{i}"
        batch.append(
            {
                "canonical_url": url,
                "url_hash": url_hash(url),
                "content_hash": content_hash(Article(title=base.title, text=text)),
                "url": url,
                "title": base.title,
                "text": text,
                "source_name": "filler",
                "fetched_at": old,
            }
        )
        if len(batch) == 5000 or i == upto - 1:
            with session_scope(factory) as s:  # type: ignore[arg-type]
                s.execute(insert(ArticleRow), batch)
            batch = []
    return upto


def growth(args: argparse.Namespace, articles: list[Article], matcher: Matcher) -> None:
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    sizes = [int(x) for x in args.fill.split(",")]
    measured = articles[: args.measure * len(sizes)]
    fillers = articles[len(measured) :] or articles
    print(f"machine: {cpu_model()}, {platform.python_implementation()} {platform.python_version()}")
    print(
        f"date: {date.today().isoformat()}; measured items: {args.measure} per size, from {args.items.name}"
    )
    print()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print()
    print(f"batch: {args.batch} articles per transaction")
    print()
    print(
        "| code | backend | stored articles | articles/s | ms/article | bot CPU ms/article | alerts |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for checkout in args.baseline:
        for row in baseline_rows(checkout, args):
            print(f"| base |{row}")
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        backends = [("sqlite", f"sqlite:///{tmp}/grow.db")]
        if args.pg:
            pg = make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
            admin = make_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            backends.append(("postgresql", pg.render_as_string(hide_password=False)))
        try:
            for name, url in backends:
                engine = make_engine(url)
                migrate(engine)
                factory = make_session_factory(engine)
                stories = StoryRules()
                have, rates = 0, []
                for k, size in enumerate(sizes):
                    say(f"{name}: filling to {size:,} articles")
                    have = fill(factory, fillers, size, have)
                    batch = measured[k * args.measure : (k + 1) * args.measure]
                    alerts = 0
                    t0, c0 = time.perf_counter(), time.process_time()
                    for result in ingest_all(
                        factory, batch, matcher, stories, batch_size=args.batch
                    ):
                        alerts += len(result.alerts_created)
                        have += result.stored
                    took, cpu = time.perf_counter() - t0, time.process_time() - c0
                    rates.append(len(batch) / took)
                    print(
                        f"| this | {name} | {size:,} | {rates[-1]:,.0f} | {took * 1000 / len(batch):.2f} | {cpu * 1000 / len(batch):.2f} | {alerts} |"
                    )
                say(f"{name}: first / last size: {rates[0] / rates[-1]:.2f}×")
                print(
                    f"| this | {name} | slowdown {sizes[0]:,} → {sizes[-1]:,} | {rates[0] / rates[-1]:.2f}× | | | |"
                )
                engine.dispose()
        finally:
            if args.pg:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def baseline_rows(checkout: Path, args: argparse.Namespace) -> list[str]:
    """The growth table's rows of ``checkout``'s own bench, run now on the same items."""
    say(f"baseline: {checkout}")
    python = checkout / ".venv" / "bin" / "python"  # its own, else this one (same lock)
    command = [
        str(python if python.exists() else sys.executable),
        str(checkout / "bench" / "pipeline.py"),
        str(args.items.resolve()),
        "--fill",
        args.fill,
        "--measure",
        str(args.measure),
        "--pg",
        args.pg,
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=True)
    rows = [
        line for line in out.stdout.splitlines() if line.startswith(("| sqlite", "| postgresql"))
    ]
    return [line[1:] for line in rows]


def warm_up() -> None:
    """Load langdetect's profiles (once per process, ~0.4 s) before anything is timed."""
    detect_language(Article(title="warm up", text="The language detector loads its profiles."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", type=Path)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--fill", help="growth mode: stored-article counts, e.g. 1000,20000,100000")
    parser.add_argument(
        "--measure", type=int, default=500, help="growth mode: items ingested per size"
    )
    parser.add_argument(
        "--batch", type=int, default=BATCH_SIZE, help="articles per transaction (1: one each)"
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        type=Path,
        action="append",
        default=[],
        help="growth mode: also run this checkout's bench first (e.g. a worktree of main)",
    )
    parser.add_argument(
        "--pg",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="growth mode: PostgreSQL database (a schema of its own is made and dropped; '' skips)",
    )
    args = parser.parse_args()
    if args.fill:
        articles = load_items(args.items, 10**9)
        watchlists, errors = load_dir(ROOT / "watchlists")
        assert not errors, errors
        warm_up()
        growth(args, articles, Matcher(watchlists))
        return

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
        warm_up()
        t0 = time.perf_counter()
        for result in ingest_all(factory, articles, matcher, stories, batch_size=args.batch):
            stored += result.stored
            alerts += len(result.alerts_created)
            new_stories += result.new_story
        ingest_s = time.perf_counter() - t0
        backend = engine.dialect.name
        engine.dispose()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(articles)
    print(f"machine: {cpu_model()}, {platform.python_implementation()} {platform.python_version()}")
    print(
        f"date: {date.today().isoformat()}; items: {n} ({mb:.1f} MB of text) from {args.items.name}"
    )
    print()
    print("| stage | articles/s | total s | result |")
    print("|---|---|---|---|")
    print(
        f"| match only (baseline) | {n / match_s:,.0f} | {match_s:.1f} | {matched} articles alerted |"
    )
    print(
        f"| stored pipeline ({backend}) | {n / ingest_s:,.0f} | {ingest_s:.1f} | "
        f"{stored} stored, {new_stories} stories, {alerts} alerts |"
    )
    print()
    print(f"stored pipeline / match only: {match_s / ingest_s:.2f}× the baseline's speed")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
