"""Ingest → chat latency through the Bot API stand-in, and a burst folded at Telegram's limits.

Two measurements, in one process, against ``tests/telegram_stub.py`` (a loopback
Bot API server speaking Telegram's wire format) through python-telegram-bot:

1. **One article at a time**, rate limits off: each article is ingested
   (``Service.ingest_articles``, what ``POST /ingest`` calls), and the time until
   the stand-in received its ``sendMessage`` is recorded; p50/p99 over ``--n``
   articles. The sender runs as in ``alertbot run`` (woken when the alert
   commits). Baseline in the same run: the same with the wake switched off and
   the outbox drained every 2 s, which is what main did before (``OUTBOX_S = 2``).
2. **A burst**, Telegram's limits on (1 message/s per chat, 30/s per bot): ``--burst``
   alerting articles in one ingest call, ``--chats`` private chats subscribed;
   the time until every outbox row is sent, and how many messages that took
   (the backlog of each chat past FOLD_THRESHOLD goes out as one digest). No
   baseline is run: before, 10,000 rows at ~10 msg/s were ~17 minutes.

    .venv/bin/python bench/latency.py [--n 50] [--burst 200] [--chats 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from machine import cpu_model, say  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram_stub import TOKEN, TelegramStub  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.runtime.service import Service  # noqa: E402
from bot.store import Delivery, session_scope, subscribe, upsert_chat  # noqa: E402
from handlers.telegram import TelegramNotifier  # noqa: E402

WATCHLIST = "name: zebras\ndescription: zebra sightings\nkeywords:\n  - zebra\nmin_score: 0\n"
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "su", "ti") for b in "aeiou"]
OLD_DRAIN_S = 2.0


def article(n: int) -> Article:
    rng = random.Random(n)
    words = " ".join(rng.choice(WORDS) + str(rng.randrange(100_000)) for _ in range(60))
    return Article(
        title=f"Zebra report {n}",
        text=f"A zebra was seen near site {n}. {words}.",
        url=f"http://wire.test/zebra/{n}",
        source="wire",
    )


def make_service(folder: Path, url: str, notifier: TelegramNotifier, **extra: object) -> Service:
    watchlists = folder / "watchlists"
    watchlists.mkdir(exist_ok=True)
    (watchlists / "zebras.yaml").write_text(WATCHLIST, encoding="utf-8")
    settings = Settings(database_url=url, watchlist_dir=watchlists, **extra)  # type: ignore[arg-type]
    service = Service(settings, {"telegram": notifier}, worker=f"bench{random.randrange(10**9)}")
    service.load_watchlists()
    return service


def subscribe_chats(service: Service, tg: TelegramStub, first_id: int, count: int) -> None:
    with session_scope(service.factory) as s:
        for n in range(count):
            chat = tg.private_chat(tg.user(first_id + n, f"U{n}"))
            row = upsert_chat(s, "telegram", f"telegram:{chat['id']}", title="bench")
            subscribe(s, row.id, "zebras")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_at_a_time(
    folder: Path, url: str, tg: TelegramStub, bot: Bot, n: int, start: int, *, wake: bool
) -> list[float]:
    service = make_service(folder, url, TelegramNotifier(bot, limits=False),
                           outbox_drain_s=OLD_DRAIN_S)
    if not wake:  # main before: no wake, no NOTIFY listener, a drain every 2 s
        service.sender.wake = lambda: None  # type: ignore[method-assign]
        engine = None
    else:
        engine = service.engine
    chat_id = 900_000 + start
    subscribe_chats(service, tg, chat_id, 1)

    def to_chat(call: object) -> bool:
        return call.ok and call.params["chat_id"] == chat_id  # type: ignore[attr-defined]

    sender = asyncio.create_task(service.sender.run(engine))
    if wake and engine.dialect.name == "postgresql":
        await asyncio.wait_for(service.sender.listening.wait(), 10)
    latencies = []
    try:
        for i in range(n):
            await asyncio.sleep(random.uniform(0.05, 0.3))  # articles arrive at random times
            t0 = time.perf_counter()
            await service.ingest_articles([article(start + i)], "wire")
            await tg.wait_for("sendMessage", i + 1, timeout=30, where=to_chat)
            latencies.append(time.perf_counter() - t0)
    finally:
        service.stopping = True
        await sender
        await service.close()
    return latencies


async def burst(
    folder: Path, url: str, tg: TelegramStub, bot: Bot, articles: int, chats: int
) -> tuple[float, float, int, int, int]:
    service = make_service(folder, url, TelegramNotifier(bot))  # Telegram's limits on
    subscribe_chats(service, tg, 800_000, chats)
    before = len(tg.calls_to("sendMessage", ok=True))
    sender = asyncio.create_task(service.sender.run(service.engine))
    if service.engine.dialect.name == "postgresql":
        await asyncio.wait_for(service.sender.listening.wait(), 10)
    try:
        t0 = time.perf_counter()
        await service.ingest_articles([article(10_000 + i) for i in range(articles)], "wire")
        ingest_s = time.perf_counter() - t0
        while True:
            with session_scope(service.factory) as s:
                rows = dict(
                    s.execute(
                        select(Delivery.status, func.count()).group_by(Delivery.status)
                    ).all()
                )
            if rows and set(rows) == {"sent"}:
                break
            await asyncio.sleep(0.2)
        total_s = time.perf_counter() - t0
    finally:
        service.stopping = True
        await sender
        await service.close()
    messages = len(tg.calls_to("sendMessage", ok=True)) - before
    return ingest_s, total_s, rows["sent"], messages, chats


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="articles one at a time (each way)")
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--database-url", default="", help="default: a SQLite file")
    args = parser.parse_args()
    random.seed(1)
    async with TelegramStub() as tg, Bot(TOKEN, base_url=tg.api_url) as bot:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/old.db"
            say("one at a time, drained every 2 s (main before)")
            old = await one_at_a_time(Path(tmp), url, tg, bot, args.n, 0, wake=False)
            url = args.database_url or f"sqlite:///{tmp}/new.db"
            say("one at a time, woken at commit")
            new = await one_at_a_time(Path(tmp), url, tg, bot, args.n, 5_000, wake=True)
            backend = url.split(":", 1)[0]
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            say(f"burst: {args.burst} articles to {args.chats} chats, limits on")
            ingest_s, total_s, sent, messages, chats = await burst(
                Path(tmp), url, tg, bot, args.burst, args.chats
            )
    print(f"machine: {cpu_model()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"date: {date.today().isoformat()}; database: {backend}")
    print()
    print("| ingest → sendMessage, one at a time, limits off | p50 s | p99 s | max s |")
    print("|---|---|---|---|")
    for name, values in (("drained every 2 s (baseline: main before)", old), ("woken at commit", new)):
        rows.append(
            f"| {name} | {statistics.median(values):.3f} | {percentile(values, 0.99):.3f} "
            f"| {max(values):.3f} |"
        )
    print("\n".join(rows))
    print()
    print(
        f"burst: {args.burst} alerting articles in one ingest, {chats} chats, Telegram's limits: "
        f"{sent:,} deliveries sent in {total_s:.1f} s ({ingest_s:.1f} s of it ingesting) "
        f"as {messages:,} messages ({messages / chats:.1f} per chat)"
    )


if __name__ == "__main__":
    asyncio.run(main())
