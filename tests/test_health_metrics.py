"""GET /healthz (database, scheduler, last successful poll) and GET /metrics (Prometheus)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from conftest import pg_schema
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.config import Settings
from bot.runtime.delivery import AlertView
from bot.runtime.service import Service
from bot.runtime.webapp import SCHEDULER_KEY, make_web_app
from bot.store import make_engine, make_session_factory, session_scope
from bot.store.sources import upsert_source
from bot.store.subscriptions import subscribe, upsert_chat
from bot.store.tables import utcnow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ingest-secret-token"
ARTICLE = {
    "title": "Russian troops arrive in Belarus for joint drills",
    "text": "Several thousand soldiers and a column of tanks arrived by train in Brest region.",
    "url": "https://wire.example/metrics-1",
    "source": "Wire",
}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as engine:
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture
async def service(pg_url: str) -> AsyncIterator[Service]:
    settings = Settings(
        database_url=pg_url, watchlist_dir=ROOT / "watchlists", ingest_token=SecretStr(TOKEN)
    )
    svc = Service(settings, {}, worker="health-test")
    svc.load_watchlists()
    yield svc
    await svc.close()


@pytest.fixture
async def scheduler() -> AsyncIterator[AsyncIOScheduler]:
    sched = AsyncIOScheduler()
    sched.start()
    yield sched
    if sched.running:
        sched.shutdown(wait=False)


@pytest.fixture
async def client(
    service: Service, scheduler: AsyncIOScheduler
) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = make_web_app(service)
    app[SCHEDULER_KEY] = scheduler
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_healthz_is_200_with_the_last_successful_poll(
    client: TestClient, service: Service  # type: ignore[type-arg]
) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body == {
        "ok": True,
        "database": "ok",
        "scheduler": "running",
        "last_successful_poll": None,
        "worker": "health-test",
    }
    with session_scope(service.factory) as s:  # another replica's poll counts too
        src, _ = upsert_source(s, "feed", "https://feed.example/rss", "feed", 900, False, True)
        src.last_success_at = utcnow()
    body = await (await client.get("/healthz")).json()
    assert body["last_successful_poll"] is not None
    assert body["last_successful_poll"].startswith("20")


async def test_healthz_is_503_when_the_database_is_gone(
    client: TestClient, service: Service, caplog: pytest.LogCaptureFixture  # type: ignore[type-arg]
) -> None:
    assert (await client.get("/healthz")).status == 200
    # the server stops answering (a port where nothing listens)
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2")
    service.engine, service.factory = dead, make_session_factory(dead)
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["ok"] is False and body["database"] == "unreachable"
    assert body["scheduler"] == "running"
    assert "does not answer" in caplog.text
    dead.dispose()


async def test_healthz_is_503_when_the_scheduler_stopped(
    client: TestClient, scheduler: AsyncIOScheduler  # type: ignore[type-arg]
) -> None:
    scheduler.pause()  # what `alertbot run` does first when it stops
    resp = await client.get("/healthz")
    assert resp.status == 503 and (await resp.json())["scheduler"] == "paused"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(client: TestClient) -> dict[Any, float]:  # type: ignore[type-arg]
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    return samples(await resp.text())


class Recorder:
    platform = "console"
    min_interval = 0.0

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
        self.sent.append(alert.id)
        return "m1"


async def test_metrics_count_an_ingested_and_alerted_article(
    client: TestClient, service: Service  # type: ignore[type-arg]
) -> None:
    with session_scope(service.factory) as s:
        chat = upsert_chat(s, "console", "console:metrics", title="t")
        subscribe(s, chat.id, "troop-movements")
    before = await scrape(client)
    resp = await client.post("/ingest", json=[ARTICLE, ARTICLE], headers={"Authorization": f"Bearer {TOKEN}"})
    body = await resp.json()
    assert body["stored"] == 1 and body["alerts"]
    recorder = Recorder()
    service.notifiers["console"] = recorder
    assert await service.drain_outbox() == 1
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("alertbot_articles_fetched_total") == 2
    assert delta("alertbot_articles_stored_total") == 1
    assert delta("alertbot_articles_matched_total") == 1
    assert delta("alertbot_alerts_total") == len(body["alerts"])
    assert delta("alertbot_deliveries_total", platform="console", result="sent") == 1
    assert delta("alertbot_alert_arrival_to_sent_seconds_count") == 1
    assert delta("alertbot_alert_arrival_to_sent_seconds_bucket", le="+Inf") == 1


async def test_metrics_count_failed_deliveries_and_source_failures(
    client: TestClient, service: Service, tmp_path: Path  # type: ignore[type-arg]
) -> None:
    from bot.runtime.delivery import DeliveryError

    class Blocked(Recorder):
        async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
            raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)

    with session_scope(service.factory) as s:
        chat = upsert_chat(s, "console", "console:blocked", title="t")
        subscribe(s, chat.id, "troop-movements")
        src, _ = upsert_source(s, "gone", str(tmp_path / "missing"), "folder", 60, False, True)
        s.flush()
        source_id = src.id
    before = await scrape(client)
    await client.post("/ingest", json=ARTICLE, headers={"Authorization": f"Bearer {TOKEN}"})
    service.notifiers["console"] = Blocked()
    await service.drain_outbox()
    report = await service.poll_source(source_id)
    assert report.error
    after = await scrape(client)
    failed = ("alertbot_deliveries_total", (("platform", "console"), ("result", "failed")))
    assert after[failed] - before.get(failed, 0.0) == 1
    key = ("alertbot_source_failures_total", (("kind", "folder"),))
    assert after[key] - before.get(key, 0.0) == 1
