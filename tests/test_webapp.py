"""POST /ingest: bearer token, JSON articles, one-line errors, same pipeline as polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from bot.runtime.service import Service
from bot.runtime.webapp import SERVICE_KEY, make_web_app
from bot.store import Alert, ArticleRow, session_scope

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token"
ARTICLE = {
    "title": "Russian troops arrive in Belarus for joint drills",
    "text": "Several thousand soldiers and a column of tanks arrived by train in Brest region.",
    "url": "https://wire.example/a1",
    "source": "Wire",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        watchlist_dir=ROOT / "watchlists",
        ingest_token=SecretStr(TOKEN),
    )
    service = Service(settings, {}, worker="test")
    service.load_watchlists()
    async with TestClient(TestServer(make_web_app(service))) as c:
        yield c
    await service.close()


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_ingest_stores_and_alerts(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.post("/ingest", json=[ARTICLE, ARTICLE], headers=_auth())
    assert resp.status == 200
    body = await resp.json()
    assert body["ok"] and body["received"] == 2 and body["stored"] == 1
    assert body["alerts"]
    service = client.app[SERVICE_KEY]
    with session_scope(service.factory) as s:
        assert s.scalar(select(func.count()).select_from(ArticleRow)) == 1
        assert "troop-movements" in s.scalars(select(Alert.watchlist)).all()


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, ARTICLE, 401, "bearer token"),
        ({"Authorization": "Bearer wrong"}, ARTICLE, 401, "bearer token"),
        (_auth(), {"title": "x"}, 400, 'item 0: needs "title" and "text"'),
        (_auth(), [ARTICLE, 5], 400, "item 1: expected a JSON object"),
        (_auth(), [], 400, "no articles"),
    ],
)
async def test_bad_requests_get_one_line_errors(
    client: TestClient,  # type: ignore[type-arg]
    headers: dict[str, str],
    body: object,
    status: int,
    message: str,
) -> None:
    resp = await client.post("/ingest", json=body, headers=headers)
    assert resp.status == status
    error = (await resp.json())["error"]
    assert message in error and "\n" not in error


async def test_not_json_names_the_position(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.post("/ingest", data=b'{"title": ', headers=_auth())
    assert resp.status == 400
    assert "not JSON" in (await resp.json())["error"]


async def test_health(client: TestClient) -> None:  # type: ignore[type-arg]
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["ok"] is True
