"""SlackNotifier: alerts pushed with chat.postMessage to the stand-in; Slack's errors mapped
onto DeliveryError; and the whole way from an article through the outbox to a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient
from slack_stub import BOT_TOKEN, SlackStub
from sqlalchemy import select

from bot.config import Settings
from bot.models import Article
from bot.runtime.delivery import AlertView, DeliveryError
from bot.runtime.service import Service
from bot.store import session_scope, subscribe, upsert_chat
from bot.store.tables import Delivery, Subscription
from handlers.slack import SlackNotifier

ROOT = Path(__file__).resolve().parent.parent


def alert(**overrides: Any) -> AlertView:
    values: dict[str, Any] = {
        "id": 12,
        "watchlist": "troop-movements",
        "title": "Troops <script>alert(1)</script> & tanks arrive",
        "url": "https://wire.test/a?id=1&lang=en",
        "source": "Wire & Co",
        "published": "2026-03-10T14:30:00+00:00",
        "score": 0.82,
        "summary": "Several thousand soldiers arrived by train in Brest <region> & beyond.",
        "hits": [{"term": "troops", "text": "soldiers", "kind": "keyword"}],
        "outlets": ["wire", "other"],
    }
    values.update(overrides)
    return AlertView(**values)


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub() as running:
        yield running


@pytest.fixture
def notifier(stub: SlackStub) -> SlackNotifier:
    settings = Settings(slack_bot_token=SecretStr(BOT_TOKEN), slack_api_url=stub.api_url)
    return SlackNotifier.from_settings(settings)


def sections(params: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in params["blocks"] if b["type"] == "section"]


async def test_an_alert_is_posted_escaped_with_buttons(
    stub: SlackStub, notifier: SlackNotifier
) -> None:
    ts = await notifier.send_alert("slack:C1", alert())
    (call,) = stub.called("chat.postMessage")
    assert call.result and ts == call.result["ts"]
    assert call.token == BOT_TOKEN
    assert call.params["channel"] == "C1"
    assert call.params["unfurl_links"] is False
    body = "\n".join(sections(call.params))
    assert "<script>" not in body and "<region>" not in body
    assert "&lt;script&gt;" in body and "&amp; tanks" in body and "&lt;region&gt; &amp;" in body
    assert "<https://wire.test/a?id=1&amp;lang=en|" in body
    assert "<script>" not in call.params["text"] and "&lt;script&gt;" in call.params["text"]
    actions = [b for b in call.params["blocks"] if b["type"] == "actions"]
    values = [e["value"] for b in actions for e in b["elements"]]
    assert "ex:12" in values
    assert all(e["action_id"] == "alertbot:" + e["value"] for b in actions for e in b["elements"])


async def test_a_huge_alert_stays_within_slack_limits(
    stub: SlackStub, notifier: SlackNotifier
) -> None:
    summary = "Convoys & troops were seen moving towards the border. " * 400  # ~22 000 chars
    assert await notifier.send_alert("slack:C1", alert(summary=summary))
    calls = stub.called("chat.postMessage")
    assert calls  # the stub refuses what Slack refuses (invalid_blocks), so all were accepted
    for call in calls:
        assert len(call.params["blocks"]) <= 50
        assert all(len(s) <= 3000 for s in sections(call.params))
    assert sum(s.count("Convoys &amp; troops") for c in calls for s in sections(c.params)) == 400


async def test_a_rate_limit_becomes_retry_after(stub: SlackStub, notifier: SlackNotifier) -> None:
    stub.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send_alert("slack:C1", alert())
    assert caught.value.retry_after == 7.0 and not caught.value.permanent
    assert len(stub.called("chat.postMessage")) == 1  # no in-place retry: the outbox reschedules
    assert await notifier.send_alert("slack:C1", alert())


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "is_archived", "not_in_channel", "account_inactive", "invalid_auth"],
)
async def test_errors_retrying_cannot_fix_are_permanent(
    stub: SlackStub, notifier: SlackNotifier, error: str
) -> None:
    stub.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send_alert("slack:C404", alert())
    assert caught.value.permanent and error in str(caught.value)


async def test_server_and_network_errors_are_transient(
    stub: SlackStub, notifier: SlackNotifier
) -> None:
    stub.fail("chat.postMessage", "internal_error", status=503)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send_alert("slack:C1", alert())
    assert not caught.value.permanent and caught.value.retry_after is None
    assert "503" in str(caught.value)

    gone = SlackStub()
    await gone.start()
    url = gone.api_url
    await gone.stop()  # nothing listens there any more
    offline = SlackNotifier(
        AsyncWebClient(token=BOT_TOKEN, base_url=url, timeout=5, retry_handlers=[])
    )
    with pytest.raises(DeliveryError) as caught:
        await offline.send_alert("slack:C1", alert())
    assert not caught.value.permanent and "unreachable" in str(caught.value)


async def test_rejected_blocks_fall_back_to_text(stub: SlackStub, notifier: SlackNotifier) -> None:
    stub.fail("chat.postMessage", "invalid_blocks")
    assert await notifier.send_alert("slack:C1", alert())
    first, second = stub.called("chat.postMessage")
    assert first.params.get("blocks") and not second.params.get("blocks")
    assert "&lt;script&gt;" in second.params["text"]


async def test_a_chat_that_is_not_slack_is_refused(notifier: SlackNotifier) -> None:
    with pytest.raises(DeliveryError) as caught:
        await notifier.send_alert("telegram:42", alert())
    assert caught.value.permanent


# --- article → outbox → Slack ---------------------------------------------------------


@pytest.fixture
async def pushing(tmp_path: Path, stub: SlackStub) -> AsyncIterator[Service]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        watchlist_dir=ROOT / "watchlists",
        slack_bot_token=SecretStr(BOT_TOKEN),
        slack_api_url=stub.api_url,
    )
    service = Service(settings, {"slack": SlackNotifier.from_settings(settings)}, worker="test")
    service.load_watchlists()
    with session_scope(service.factory) as s:
        chat = upsert_chat(s, "slack", "slack:C1", title="newsdesk")
        subscribe(s, chat.id, "troop-movements")
    yield service
    await service.close()


ARTICLE = Article(
    "Russian troops arrive in Belarus for joint drills",
    "Several thousand soldiers and a column of tanks arrived by train in Brest region "
    "near the Polish border, the defence ministry in Minsk said.",
    "https://wire.test/a1",
    "wire",
)


async def test_an_article_reaches_the_channel_through_the_outbox(
    stub: SlackStub, pushing: Service
) -> None:
    report = await pushing.ingest_articles([ARTICLE], "wire")
    assert report.alerts
    assert await pushing.drain_outbox() == 1
    (call,) = stub.called("chat.postMessage")
    assert call.params["channel"] == "C1"
    assert "Russian troops arrive in Belarus" in "\n".join(sections(call.params))
    with session_scope(pushing.factory) as s:
        (delivery,) = s.scalars(select(Delivery)).all()
        assert delivery.sent_at is not None
        assert call.result and delivery.message_ref == call.result["ts"]


async def test_a_missing_channel_pauses_the_subscription(stub: SlackStub, pushing: Service) -> None:
    stub.fail("chat.postMessage", "channel_not_found")
    await pushing.ingest_articles([ARTICLE], "wire")
    assert await pushing.drain_outbox() == 0
    with session_scope(pushing.factory) as s:
        (sub,) = s.scalars(select(Subscription)).all()
        assert sub.paused_reason and "channel_not_found" in sub.paused_reason


async def test_a_rate_limited_push_is_rescheduled(stub: SlackStub, pushing: Service) -> None:
    stub.rate_limit("chat.postMessage", retry_after=30)
    await pushing.ingest_articles([ARTICLE], "wire")
    assert await pushing.drain_outbox() == 0
    with session_scope(pushing.factory) as s:
        (delivery,) = s.scalars(select(Delivery)).all()
        (sub,) = s.scalars(select(Subscription)).all()
        assert delivery.sent_at is None and sub.paused_reason is None
        assert delivery.last_error and "rate limit" in delivery.last_error
        wait = (delivery.next_attempt_at - delivery.created_at).total_seconds()
        assert 25 < wait < 40  # Retry-After: 30 honoured
