"""Benchmark: answers in chat (summary, search, alerts) over 100k stored alerts.

Run by hand (not by pytest)::

    .venv/bin/python bench/answers.py                       # SQLite, 100k alerts
    .venv/bin/python bench/answers.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

Fills a fresh, migrated database — a SQLite file in a temporary folder, and a
schema of its own in PostgreSQL when ``--database-url`` is given (dropped
afterwards unless ``--keep``) — with ``--alerts`` synthetic but realistic
alerts (bulk INSERTs of stories, articles, alerts and their outlets over the
last 90 days: five watchlists, entities with Zipf-like popularity, one in ten
articles in Russian, one story in ten alerted by two watchlists; the
full-text index is filled by the migration's triggers / generated column as
the rows go in). Then it times, as the median of ``--runs`` runs after one
warm-up, each query beside a baseline from the same run:

* ``summary`` (counts, entity counts from the hits JSON against the previous
  period, top stories) for 24 h, 7 d of one watchlist and 30 d, against a plain
  ``SELECT count(*)`` of the same period and of all alerts;
* ``search`` (FTS5 / tsvector, ranked) for a common word, a phrase, a
  Cyrillic word, an exclusion and a prefix, against ``LIKE '%word%'`` on the
  title and text (unranked: the newest ten);
* the ``alerts`` page (count + ten newest of 7 d; also for one entity, which
  reads the hits JSON, as plain questions do), and the ``summary`` and
  ``search`` commands end to end (``handle_text``: parse, query, render).

Times are wall-clock milliseconds (the database may work in another process).
Progress goes to stderr; the markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(ROOT))

from machine import cpu_model, say  # noqa: E402
from sqlalchemy import Engine, create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.answers.periods import parse_period  # noqa: E402
from bot.answers.queries import AlertFilter, count_alerts, list_alerts, summary_data  # noqa: E402
from bot.answers.search import (  # noqa: E402
    SearchQuery,
    SearchResult,
    parse_query,
    search_alerts,
)
from bot.config import Settings  # noqa: E402
from bot.runtime.service import Service  # noqa: E402
from bot.store._sql import table_of  # noqa: E402
from bot.store.db import make_engine, make_session_factory, migrate, session_scope  # noqa: E402
from bot.store.tables import Alert, AlertOutlet, ArticleRow, Story  # noqa: E402
from handlers.commands import handle_text  # noqa: E402
from handlers.reply import CommandContext  # noqa: E402

DAYS = 90
BATCH = 2000
WATCHLISTS = {
    "troop-movements": (["Belarus", "Alexander Lukashenko", "Wagner Group", "Brest", "Grodno",
                         "Russian Armed Forces", "Minsk", "Gomel", "Zapad", "Viktor Khrenin"],
                        ["troops", "convoy", "deployment", "border", "joint force"]),
    "port-strikes": (["Port of Antwerp", "Rotterdam", "Hamburg", "ILWU", "Maersk", "Gdansk",
                      "Piraeus", "Le Havre", "Felixstowe", "Valencia"],
                     ["strike", "blockade", "walkout", "dockers", "picket"]),
    "energy-grid": (["Ukrenergo", "Gazprom", "Nord Stream", "ENTSO-E", "Zaporizhzhia NPP",
                     "Naftogaz", "Rosatom", "Belenergo", "Litgrid", "PSE"],
                    ["blackout", "outage", "substation", "pipeline", "shelling"]),
    "cyber-incidents": (["Sandworm", "APT28", "Killnet", "NoName057", "CERT-UA", "Kyivstar",
                         "GhostWriter", "Microsoft", "Cloudflare", "Europol"],
                        ["ransomware", "DDoS", "breach", "malware", "phishing"]),
    "belarus-politics": (["Alexander Lukashenko", "Sviatlana Tsikhanouskaya", "Belarus", "Minsk",
                          "KGB", "Viasna", "Ales Bialiatski", "Maria Kalesnikava", "OMON", "CEC"],
                         ["arrest", "election", "protest", "sanctions", "political prisoner"]),
}  # fmt: skip
FILLER = [
    "officials",
    "said",
    "on",
    "monday",
    "that",
    "the",
    "situation",
    "remained",
    "tense",
    "as",
    "reports",
    "came",
    "in",
    "from",
    "the",
    "region",
    "where",
    "residents",
    "described",
    "columns",
    "of",
    "vehicles",
    "moving",
    "along",
    "the",
    "highway",
    "overnight",
    "while",
    "analysts",
    "warned",
    "that",
    "the",
    "pattern",
    "matched",
    "earlier",
    "exercises",
    "and",
    "the",
    "ministry",
    "declined",
    "to",
    "comment",
    "on",
    "the",
    "numbers",
    "involved",
    "or",
    "on",
    "the",
    "timing",
    "of",
    "the",
    "next",
    "phase",
    "according",
    "to",
    "local",
    "media",
    "and",
    "satellite",
    "images",
    "reviewed",
    "by",
    "independent",
    "researchers",
    "who",
    "track",
    "such",
    "movements",
]
RUSSIAN = [
    "по",
    "словам",
    "очевидцев",
    "колонна",
    "военной",
    "техники",
    "двигалась",
    "в",
    "сторону",
    "границы",
    "ночью",
    "а",
    "власти",
    "заявили",
    "что",
    "это",
    "плановые",
    "учения",
    "Лукашенко",
    "провёл",
    "совещание",
    "с",
    "силовиками",
    "в",
    "Минске",
    "и",
    "пообещал",
    "усилить",
    "охрану",
    "границы",
    "на",
    "фоне",
    "сообщений",
    "о",
    "переброске",
    "войск",
]
OUTLETS = [f"outlet-{i:02d}" for i in range(40)]


# --- data --------------------------------------------------------------------


@dataclass
class Data:
    stories: list[dict[str, Any]]
    articles: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    outlets: list[dict[str, Any]]


def zipf_pick(rng: random.Random, items: list[str]) -> str:
    weights = [1 / (i + 1) for i in range(len(items))]
    return rng.choices(items, weights)[0]


def sentence(rng: random.Random, words: list[str], names: list[str], size: int) -> str:
    out = [rng.choice(words) for _ in range(size)]
    for name in names:
        out.insert(rng.randrange(len(out) + 1), name)
    return " ".join(out).capitalize() + "."


def generate(count: int, now: datetime, seed: int) -> Data:
    rng = random.Random(seed)
    names = list(WATCHLISTS)
    stories: list[dict[str, Any]] = []
    articles: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    outlets: list[dict[str, Any]] = []
    outlet_id = 0
    while len(alerts) < count:
        story_id = len(stories) + 1
        at = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        wl = rng.choice(names)
        entities, keywords = WATCHLISTS[wl]
        named = list(dict.fromkeys(zipf_pick(rng, entities) for _ in range(rng.randint(1, 3))))
        kws = rng.sample(keywords, rng.randint(1, 2))
        russian = rng.random() < 0.1
        words = RUSSIAN if russian else FILLER
        title = sentence(rng, words, [named[0], kws[0]], rng.randint(5, 9)).rstrip(".")
        body = " ".join(
            sentence(rng, words, rng.sample(named + kws, rng.randint(0, 2)), rng.randint(10, 22))
            for _ in range(rng.randint(4, 8))
        )
        stories.append({"id": story_id, "title": title, "article_count": 1,
                        "created_at": at, "updated_at": at})  # fmt: skip
        articles.append({
            "id": story_id, "canonical_url": f"https://news.example/{story_id}",
            "url_hash": f"{story_id:064x}", "content_hash": f"{story_id:064x}",
            "url": f"https://news.example/{story_id}", "title": title, "text": body,
            "source_name": rng.choice(OUTLETS), "published_at": at, "fetched_at": at,
            "story_id": story_id,
        })  # fmt: skip
        lists = [wl] if rng.random() > 0.1 else [wl, rng.choice([n for n in names if n != wl])]
        for listed in lists:
            alert_id = len(alerts) + 1
            hits = [{"term": n, "kind": "entity", "text": n, "start": 0, "end": len(n),
                     "sentence": title, "field": "text"} for n in named]  # fmt: skip
            hits += [{"term": k, "kind": "keyword", "text": k, "start": 0, "end": len(k),
                      "sentence": title, "field": "text"} for k in kws]  # fmt: skip
            alerts.append({
                "id": alert_id, "story_id": story_id, "watchlist": listed, "article_id": story_id,
                "score": round(min(0.99, max(0.3, rng.betavariate(4, 3))), 3),
                "summary": body[:300], "hits": hits, "score_parts": [], "rule": "",
                "created_at": at + timedelta(seconds=rng.uniform(0, 120)),
            })  # fmt: skip
            for outlet in rng.sample(OUTLETS, min(len(OUTLETS), 1 + int(rng.expovariate(0.6)))):
                outlet_id += 1
                outlets.append({"id": outlet_id, "alert_id": alert_id, "outlet": outlet,
                                "url": "", "created_at": at})  # fmt: skip
            if len(alerts) == count:
                break
    return Data(stories, articles, alerts, outlets)


def fill(engine: Engine, data: Data) -> float:
    started = time.perf_counter()
    for model, rows in (
        (Story, data.stories),
        (ArticleRow, data.articles),
        (Alert, data.alerts),
        (AlertOutlet, data.outlets),
    ):
        table = table_of(model)
        for i in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                conn.execute(insert(table), rows[i : i + BATCH])
        say(f"  {table.name}: {len(rows):,} rows")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for name in ("stories", "articles", "alerts", "alert_outlets"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )  # fmt: skip
                )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# --- timing ------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    ms: float
    result: str


def timed(name: str, runs: int, fn: Callable[[], Any], show: Callable[[Any], str]) -> Timing:
    value = fn()  # warm-up (and the result shown)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return Timing(name, statistics.median(samples), show(value))


def measure(engine: Engine, now: datetime, runs: int, url: str) -> list[Timing]:
    factory = make_session_factory(engine)
    pg = engine.dialect.name == "postgresql"
    day, week, month = (parse_period(p, "UTC", now) for p in ("24h", "7d", "30d"))

    def session_call(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope(factory) as s:
                return fn(s)

        return run

    def scalar(sql: str, **params: Any) -> Callable[[], Any]:
        return session_call(lambda s: s.execute(text(sql), params).scalar())

    def since(p: Any) -> Any:
        return p.start if pg else p.start.replace(tzinfo=None).isoformat(sep=" ")

    out = [
        timed("baseline: `SELECT count(*)` of all alerts", runs,
              scalar("SELECT count(*) FROM alerts"), str),
        timed("baseline: `count(*)` of the last 24 h", runs,
              scalar("SELECT count(*) FROM alerts WHERE created_at >= :s", s=since(day)), str),
        timed("summary, all watchlists, 24 h", runs,
              session_call(lambda s: summary_data(s, AlertFilter(), day)),
              lambda d: f"{d.alerts} alerts, {len(d.entities)} entities, {len(d.top)} stories"),
        timed("baseline: `count(*)` of the last 7 d", runs,
              scalar("SELECT count(*) FROM alerts WHERE created_at >= :s", s=since(week)), str),
        timed("summary, one watchlist, 7 d", runs,
              session_call(lambda s: summary_data(s, AlertFilter("troop-movements"), week)),
              lambda d: f"{d.alerts} alerts"),
        timed("baseline: `count(*)` of the last 30 d", runs,
              scalar("SELECT count(*) FROM alerts WHERE created_at >= :s", s=since(month)), str),
        timed("summary, all watchlists, 30 d", runs,
              session_call(lambda s: summary_data(s, AlertFilter(), month)),
              lambda d: f"{d.alerts} alerts"),
        timed("alerts about an entity (hits JSON; count + 10 newest of 7 d)", runs,
              session_call(lambda s: (count_alerts(s, AlertFilter(entities=("Belarus",)), week),
                                      list_alerts(s, AlertFilter(entities=("Belarus",)), week))),
              lambda r: f"{r[0]} alerts"),
        timed("alerts page (count + 10 newest of 7 d)", runs,
              session_call(lambda s: (count_alerts(s, AlertFilter(), week),
                                      list_alerts(s, AlertFilter(), week))),
              lambda r: f"{r[0]} alerts"),
    ]  # fmt: skip
    like = (
        "SELECT alerts.id FROM alerts JOIN articles ON articles.id = alerts.article_id "
        "WHERE lower(articles.title) LIKE :w OR lower(articles.text) LIKE :w "
        "ORDER BY alerts.created_at DESC LIMIT 10"
    )
    like_count = (
        "SELECT count(*) FROM alerts JOIN articles ON articles.id = alerts.article_id "
        "WHERE lower(articles.title) LIKE :w OR lower(articles.text) LIKE :w"
    )
    out.append(
        timed(
            "baseline: `LIKE '%border%'` (count + newest 10)",
            runs,
            session_call(
                lambda s: (
                    s.execute(text(like_count), {"w": "%border%"}).scalar(),
                    s.execute(text(like), {"w": "%border%"}).all(),
                )
            ),
            lambda r: f"{r[0]} alerts",
        )  # fmt: skip
    )
    for query in ("border", '"joint force"', "лукашенко", "troops -exercises", "deploy*"):
        out.append(timed(f"search `{query}` (ranked, count + best 10)", runs,
                         session_call(searching(parse_query(query), now)),
                         lambda r: f"{r.total} alerts"))  # fmt: skip
    out += commands(url, runs)
    return out


def searching(query: SearchQuery, now: datetime) -> Callable[[Session], SearchResult]:
    def run(session: Session) -> SearchResult:
        return search_alerts(session, query, now)

    return run


def commands(url: str, runs: int) -> list[Timing]:
    folder = Path(tempfile.mkdtemp(prefix="alertbot-bench-"))
    (folder / "watchlists").mkdir()
    settings = Settings(
        database_url=url,
        watchlist_dir=folder / "watchlists",
        sources=ROOT / "samples" / "sources.yaml",
        allowed_chats=[],
        admin_users=[],
    )
    service = Service(settings, worker="bench")
    ctx = CommandContext("console", "console:local", "console", is_admin=True, is_private=True)
    loop = asyncio.new_event_loop()

    def say_text(line: str) -> Callable[[], Any]:
        return lambda: loop.run_until_complete(handle_text(service, ctx, line))

    try:
        return [
            timed("`summary` command end to end (24 h)", runs, say_text("summary"),
                  lambda r: f"{len(r.plain_text)} chars"),
            timed("`search border` command end to end", runs, say_text("search border"),
                  lambda r: f"{len(r.plain_text)} chars"),
        ]  # fmt: skip
    finally:
        loop.run_until_complete(service.close())
        loop.close()


# --- databases ---------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    try:
        yield engine, url
    finally:
        engine.dispose()


@contextmanager
def pg_database(url: str, keep: bool) -> Iterator[tuple[Engine, str]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    scoped_url = scoped.render_as_string(hide_password=False)
    engine = make_engine(scoped_url)
    try:
        yield engine, scoped_url
    finally:
        engine.dispose()
        if keep:
            say(f"kept schema {schema}")
        else:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_backend(
    name: str, engine: Engine, url: str, data: Data, now: datetime, runs: int
) -> tuple[list[Timing], float]:
    say(f"[{name}] migrating")
    migrate(engine)
    say(f"[{name}] inserting {len(data.alerts):,} alerts")
    seconds = fill(engine, data)
    say(f"[{name}] filled in {seconds:.1f}s; timing (median of {runs})")
    return measure(engine, now, runs, url), seconds


# --- report ------------------------------------------------------------------


def report(
    results: dict[str, tuple[list[Timing], float]],
    data: Data,
    args: argparse.Namespace,
    pg_version: str,
) -> str:
    names = list(results)
    header = ["operation", *(f"{n} ms" for n in names), "result"]
    rows = []
    first = results[names[0]][0]
    for i, timing in enumerate(first):
        cells = [f"{results[n][0][i].ms:,.1f}" for n in names]
        shown = " / ".join(dict.fromkeys(results[n][0][i].result for n in names))
        rows.append([timing.name, *cells, shown])
    size = sum(len(a["title"]) + len(a["text"]) for a in data.articles) / 1e6
    lines = [
        "## Answers: summary and search over stored alerts",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"- machine: {cpu_model()} ({os.cpu_count()} logical cores), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- SQLite {sqlite3.sqlite_version} (file, WAL)"
        + (f"; {pg_version}" if pg_version else ""),
        f"- data: {len(data.alerts):,} alerts on {len(data.stories):,} stories/articles "
        f"({size:.0f} MB of title + text), {len(data.outlets):,} outlets, over {DAYS} days; "
        f"seed {args.seed}",
        "- fill (bulk INSERT incl. the full-text index): "
        + ", ".join(f"{n} {results[n][1]:.0f} s" for n in names),
        f"- times: wall-clock ms, median of {args.runs} runs after one warm-up",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "|".join("---:" for _ in names) + "|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=100_000, help="how many alerts (100000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (7)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="also PostgreSQL (a schema of its own)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    say(f"generating {args.alerts:,} alerts")
    data = generate(args.alerts, now, args.seed)
    results: dict[str, tuple[list[Timing], float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="alertbot-bench-") as folder,
        sqlite_database(Path(folder)) as (engine, url),
    ):
        results["SQLite"] = run_backend("SQLite", engine, url, data, now, args.runs)
    pg_version = ""
    if args.database_url:
        with pg_database(args.database_url, args.keep) as (engine, url):
            with engine.connect() as conn:
                pg_version = "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())
            results["PostgreSQL"] = run_backend("PostgreSQL", engine, url, data, now, args.runs)
    print(report(results, data, args, pg_version))


if __name__ == "__main__":
    main()
