"""Several ``alertbot run`` processes on one PostgreSQL: the work shared, nothing doubled.

Each test runs real replica processes (a process boundary is the point: a
SIGKILL, a start at the same instant, a lock held by a dead session) on a
schema of its own, with the Telegram and Slack stand-ins on loopback.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import httpx
from conftest import pg_schema
from newswire import wire
from replicas import INGEST_TOKEN, Replica, replica_env, start_replica, wait_up, write_config
from slack_stub import BOT_TOKEN, SIGNING_SECRET, SlackStub
from sqlalchemy import Engine, func, select
from telegram_stub import TOKEN, TelegramStub

from bot.store.db import make_session_factory, migrate, session_scope
from bot.store.subscriptions import subscribe, upsert_chat
from bot.store.tables import Alert, ArticleRow, Delivery, Source, Story

REPORTS, REPRINTS = 700, 300  # 1,000 articles, 300 of them reprints by other outlets
ALERTING = {"convoy": 6, "drill": 6}  # reports that fire each watchlist (and their reprints)
WATCHLISTS = {"convoys": "convoy", "drills": "drill"}
CHATS = 25  # of each platform: 50 subscriptions
TITLE_REPORT = re.compile(r"[Rr]eport (\d+):")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _chat_env(tg: TelegramStub, slack: SlackStub) -> dict[str, str]:
    return {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }


def _subscribe_chats(engine: Engine, tg: TelegramStub) -> dict[str, str]:
    """25 Telegram private chats and 25 Slack channels, each following one watchlist."""
    names = sorted(WATCHLISTS)
    following: dict[str, str] = {}
    with session_scope(make_session_factory(engine)) as s:
        for n in range(CHATS):
            tg.private_chat(tg.user(1000 + n, f"U{n}"))
            for key in (f"telegram:{1000 + n}", f"slack:C{n:04d}"):
                chat = upsert_chat(s, key.split(":")[0], key)
                following[key] = names[n % 2]
                subscribe(s, chat.id, following[key])
    return following


def _received(tg: TelegramStub, slack: SlackStub) -> Counter[tuple[str, int]]:
    """(chat, report) of every alert message the stand-ins accepted."""
    got: Counter[tuple[str, int]] = Counter()
    for call in tg.calls_to("sendMessage", ok=True):
        found = TITLE_REPORT.search(str(call.params.get("text", "")))
        if found:
            got[(f"telegram:{call.params['chat_id']}", int(found.group(1)))] += 1
    for call in slack.called("chat.postMessage"):
        found = TITLE_REPORT.search(str(call.params.get("text", "")))
        if found and call.result and call.result.get("ok"):
            got[(f"slack:{call.params['channel']}", int(found.group(1)))] += 1
    return got


async def _feed(replicas: list[Replica], batches: list[list[dict[str, str]]]) -> None:
    """POST /ingest the batches, each replica taking the next; a batch sent to a replica
    that died is sent again to another (as any pushing system would)."""
    queue: asyncio.Queue[list[dict[str, str]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}

    async def worker(replica: Replica, client: httpx.AsyncClient) -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            try:
                answer = await client.post(f"{replica.url}/ingest", json=batch, headers=headers)
                answer.raise_for_status()
            except httpx.TransportError:
                queue.put_nowait(batch)  # that replica is gone: the others take it
                return

    async with httpx.AsyncClient(timeout=60) as client:
        while not queue.empty():
            alive = [r for r in replicas if r.proc.returncode is None]
            assert alive, "every replica died"
            await asyncio.gather(*(worker(r, client) for r in alive))


async def _until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_three_replicas_one_killed_share_the_work_and_double_nothing(
    tmp_path: Path,
) -> None:
    items = wire(REPORTS, REPRINTS, alerting=ALERTING)
    alerting = {i.report: i.watchlist for i in items if i.watchlist}
    write_config(tmp_path, WATCHLISTS)
    async with TelegramStub() as tg, SlackStub() as slack:
        with pg_schema() as engine:
            migrate(engine)
            following = _subscribe_chats(engine, tg)
            keyword_of = {kw: wl for wl, kw in WATCHLISTS.items()}
            expected = {
                (chat, report)
                for report, keyword in alerting.items()
                for chat, wl in following.items()
                if keyword_of[keyword] == wl
            }
            env = replica_env(_url(engine), tmp_path, OUTBOX_LEASE_S="3", **_chat_env(tg, slack))
            replicas = [await start_replica(f"r{n}", env, tmp_path) for n in range(3)]
            try:
                await asyncio.gather(*(wait_up(r) for r in replicas))
                batches = [[i.article for i in items[k : k + 10]] for k in range(0, len(items), 10)]
                feeding = asyncio.create_task(_feed(replicas, batches))
                # kill one replica once messages are going out
                await _until(lambda: sum(_received(tg, slack).values()) >= 40, 60, "first pushes")
                await replicas[0].kill()
                await feeding
                await _until(lambda: expected <= set(_received(tg, slack)), 60, "every message")
                factory = make_session_factory(engine)

                def outbox_done() -> bool:
                    with factory() as s:
                        return not s.scalar(select(func.count()).where(Delivery.status != "sent"))

                await _until(outbox_done, 30, "the outbox to empty")
                with factory() as s:
                    articles = s.scalar(select(func.count()).select_from(ArticleRow))
                    stories = s.scalar(select(func.count()).select_from(Story))
                    alerts = s.execute(select(Alert.story_id, Alert.watchlist)).all()
                    deliveries = s.scalar(select(func.count()).select_from(Delivery))
                    story_reports = {
                        story: int(TITLE_REPORT.search(title).group(1))  # type: ignore[union-attr]
                        for story, title in s.execute(
                            select(ArticleRow.story_id, ArticleRow.title)
                        ).all()
                    }
            finally:
                for r in replicas:
                    await r.stop()
        logs = "".join(r.stderr() for r in replicas)
    assert "Traceback" not in logs
    assert articles == REPORTS + REPRINTS  # nothing lost (the killed replica's batches too)
    assert stories == REPORTS  # one story per report, whichever replica saw which outlet
    # every story that fired has exactly one alert per watchlist
    assert sorted((story_reports[s], wl) for s, wl in alerts) == sorted(
        (r, keyword_of[kw]) for r, kw in alerting.items()
    )
    assert deliveries == len(expected)
    got = _received(tg, slack)
    assert set(got) == expected  # every expected message arrived, no other
    repeats = sum(n - 1 for n in got.values())
    assert repeats <= 1, f"{repeats} repeated messages (only the send in flight at the kill may be)"


async def test_two_replicas_started_at_once_on_an_empty_database_both_come_up(
    tmp_path: Path,
) -> None:
    folders = [tmp_path / f"inbox{n}" for n in range(40)]
    for folder in folders:
        folder.mkdir()
    sources = "sources:\n" + "".join(
        f"  - name: inbox-{n}\n    path: {f}\n    kind: folder\n" for n, f in enumerate(folders)
    )
    write_config(tmp_path, WATCHLISTS, sources)
    with pg_schema() as engine:  # empty: not migrated
        env = replica_env(_url(engine), tmp_path)
        replicas = await asyncio.gather(*(start_replica(f"s{n}", env, tmp_path) for n in range(2)))
        try:
            await asyncio.gather(*(wait_up(r) for r in replicas))
            with engine.connect() as conn:
                names = conn.execute(select(Source.name)).scalars().all()
        finally:
            codes = [await r.stop() for r in replicas]
    assert sorted(names) == sorted(f"inbox-{n}" for n in range(40))
    for r, code in zip(replicas, codes, strict=True):
        log = r.stderr()
        assert code == 0 and "Traceback" not in log and "IntegrityError" not in log, (code, log[-3000:])


def _pollers(replicas: list[Replica]) -> list[str]:
    return [r.name for r in replicas if "this replica polls for updates" in r.stderr()]


async def test_one_replica_polls_telegram_and_another_takes_over_when_it_dies(
    tmp_path: Path,
) -> None:
    write_config(tmp_path, WATCHLISTS)
    async with TelegramStub() as tg, SlackStub() as slack:
        with pg_schema() as engine:
            env = replica_env(_url(engine), tmp_path, **_chat_env(tg, slack))
            replicas = [await start_replica(f"t{n}", env, tmp_path) for n in range(2)]
            try:
                await asyncio.gather(*(wait_up(r) for r in replicas))
                await _until(lambda: _pollers(replicas), 30, "a poller")
                user = tg.user(77, "Ann")
                chat = tg.private_chat(user)
                tg.send_text(chat, user, "/watchlists")
                await tg.wait_for("sendMessage", where=lambda c: c.params.get("chat_id") == 77)
                # polling starts with deleteWebhook; a second poller would also end the
                # first's getUpdates with 409 Conflict
                assert len(tg.calls_to("deleteWebhook")) == 1
                assert not [c for c in tg.calls_to("getUpdates") if c.status == 409]
                (leader,) = _pollers(replicas)
                dead = next(r for r in replicas if r.name == leader)
                other = next(r for r in replicas if r.name != leader)
                await dead.kill()
                await _until(lambda: other.name in _pollers(replicas), 30, "the takeover")
                tg.send_text(chat, user, "/help")
                await tg.wait_for("sendMessage", 2, where=lambda c: c.params.get("chat_id") == 77)
                assert len(tg.calls_to("deleteWebhook")) == 2  # the new poller, once
            finally:
                for r in replicas:
                    await r.stop()
    answered = [c for c in tg.calls_to("sendMessage") if c.params.get("chat_id") == 77]
    assert len(answered) == 2  # each command answered once, before and after the takeover
