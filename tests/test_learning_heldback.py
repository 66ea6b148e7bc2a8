"""Held-back alerts: not pushed, but listed in the next digest (with why) and by ``alerts … all``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_answers_support import DESK, add_alert, ask, belarus, freeze, hit
from test_digests import CHAT, MORNING, FakeNotifier, _subscribe

from bot.engine import relevance
from bot.runtime.service import Service
from bot.store import feedback as fb
from bot.store import session_scope
from bot.store.tables import Alert
from handlers.commands.answers import send_digests

__all__ = ["belarus"]  # fixture

COOKIE = f"word#{relevance.word_bucket('cookies')}"


def _model_and_alerts(service: Service) -> tuple[int, int]:
    """A stored model that dislikes 'cookies', a pushed alert and a held-back one."""
    model = relevance.Model(
        weights={COOKIE: -2.5, "zone:body": 0.4}, intercept=0.3, bucket_words={COOKIE: "cookies"}
    )
    with session_scope(service.factory) as s:
        assert fb.save_model(s, "belarus-watch", model.to_json(), "m", 4) == 1
        pushed = add_alert(
            s, at=MORNING - timedelta(hours=2), title="Minsk troops report", hits=[hit("Belarus")]
        )
        held = add_alert(
            s, at=MORNING - timedelta(hours=1), title="Minsk cookies fair", hits=[hit("Belarus")]
        )
        row = s.get_one(Alert, held)
        row.held_back, row.relevance, row.model_version = True, 0.12, 1
    return pushed, held


async def test_a_held_back_alert_is_in_the_digest_with_its_reason(belarus: Service) -> None:
    fake = FakeNotifier()
    belarus.notifiers["telegram"] = fake
    _subscribe(belarus)
    pushed, held = _model_and_alerts(belarus)
    assert await send_digests(belarus, MORNING) == 1
    ((chat, reply),) = fake.sent
    shown = reply.plain_text
    assert chat == CHAT
    summary, _, held_part = shown.partition("Held back")
    assert "1 alert on 1 story" in summary and f"#{pushed}" in summary
    assert f"#{held}" not in summary
    assert f"#{held}" in held_part and "Minsk cookies fair" in held_part
    assert "relevance 0.12 < threshold 0.50" in held_part
    assert "lowered most by word 'cookies' (-2.50)" in held_part


async def test_only_held_back_alerts_still_make_a_digest(belarus: Service) -> None:
    fake = FakeNotifier()
    belarus.notifiers["telegram"] = fake
    _subscribe(belarus)
    _, held = _model_and_alerts(belarus)
    with session_scope(belarus.factory) as s:
        s.query(Alert).filter(Alert.id != held).delete()
    assert await send_digests(belarus, MORNING) == 1
    shown = fake.sent[0][1].plain_text
    assert "No alerts pushed" in shown and f"#{held}" in shown.partition("Held back")[2]


async def test_alerts_leaves_held_back_out_and_all_lists_it(
    belarus: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, MORNING)
    pushed, held = _model_and_alerts(belarus)
    plain = (await ask(belarus, DESK, "alerts belarus-watch")).plain_text
    assert f"#{pushed}" in plain and f"#{held}" not in plain
    assert "1 alert held back by the learned stage (not pushed): /alerts belarus-watch all" in plain
    every = (await ask(belarus, DESK, "alerts belarus-watch all")).plain_text
    assert f"#{pushed}" in every and f"#{held} · held back (0.12)" in every
    assert "held back by the learned stage" not in every
    both = (await ask(belarus, DESK, "alerts all")).plain_text
    assert f"#{held}" in both and "1–2 of 2" in both
