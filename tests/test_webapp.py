"""POST /ingest: bearer token, JSON articles, one-line errors, same pipeline as polling."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import Settings
from bot.limits import MAX_INGEST_BODY
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


async def test_a_body_over_a_megabyte_is_read_whole(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """aiohttp's ``content.read(n)`` returns a partial read: a 1.5 MB body was cut, 400."""
    long = dict(ARTICLE, text=ARTICLE["text"] + " Lorem ipsum dolor sit amet." * 60_000)
    body = json.dumps([long]).encode()
    assert 1_500_000 < len(body) < MAX_INGEST_BODY
    resp = await client.post("/ingest", data=body, headers=_auth())
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["received"] == 1


async def test_a_body_over_the_cap_is_413_with_one_line(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: only reading tells
        for _ in range(MAX_INGEST_BODY // 100_000 + 2):
            yield b" " * 100_000

    for data in (b" " * (MAX_INGEST_BODY + 1), chunks()):
        resp = await client.post("/ingest", data=data, headers=_auth())
        assert resp.status == 413
        error = (await resp.json())["error"]
        assert f"{MAX_INGEST_BODY:,} bytes" in error and "\n" not in error


@pytest.mark.parametrize("given", ["été", "\u2603" * 40, "s3cret-tokén"])
async def test_a_non_ascii_token_is_401_not_500(
    client: TestClient,  # type: ignore[type-arg]
    given: str,
) -> None:
    headers = {"Authorization": f"Bearer {given}".encode().decode("latin-1")}
    resp = await client.post("/ingest", json=ARTICLE, headers=headers)
    assert resp.status == 401
    assert "bearer token" in (await resp.json())["error"]


async def test_a_body_that_is_not_utf8_is_400(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    resp = await client.post("/ingest", data=b'{"title": "\xff"}', headers=_auth())
    assert resp.status == 400
    assert "not UTF-8" in (await resp.json())["error"]
