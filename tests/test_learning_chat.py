"""Feedback in chat: bad input gets one line; missed and stats answer."""

from __future__ import annotations

from pathlib import Path

from test_commands_support import ADMIN, make_alert, make_service, say, service

from bot.runtime.service import Service

__all__ = ["service"]  # the fixture


def _one_line(text: str) -> bool:
    return "\n" not in text.strip() and "Traceback" not in text


async def test_bad_feedback_input_gets_one_line(service: Service) -> None:
    ident = make_alert(service)
    unknown = await say(service, ADMIN, "feedback 99999 relevant")
    assert unknown.error and "99999" in unknown.plain_text
    first = await say(service, ADMIN, f"feedback {ident} relevant")
    again = await say(service, ADMIN, f"feedback {ident} relevant")
    assert first.plain_text == "Thanks — noted as relevant."
    assert again.plain_text == "Already noted as relevant (counted once)."
    # a URL that cannot be fetched (nothing listens on port 9 of loopback; private: refused)
    bad = await say(service, ADMIN, "missed demo http://127.0.0.1:9/story")
    assert bad.error and _one_line(bad.plain_text.splitlines()[0])
    assert "127.0.0.1:9" in bad.plain_text


async def test_missed_is_counted_once_and_shown_by_stats(service: Service) -> None:
    story = "missed demo Wagner fighters moved to the border\nThe Wagner Group convoy moved."
    first = await say(service, ADMIN, story)
    again = await say(service, ADMIN, story)
    assert first.plain_text.startswith("Thanks — noted as missed by demo")
    assert again.plain_text == "Already noted as missed by demo."
    stats = await say(service, ADMIN, "stats demo")
    assert "0 relevant, 0 not relevant, 1 missed" in stats.plain_text
    assert "No learned model yet" in stats.plain_text


async def test_stats_shows_the_watchlists_relevance_threshold(tmp_path: Path) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    (folder / "strict.yaml").write_text(
        "name: strict\nkeywords: [troops]\nrelevance_threshold: 0.7\n", encoding="utf-8"
    )
    svc = make_service(tmp_path, folder)
    try:
        stats = await say(svc, ADMIN, "stats strict")
    finally:
        await svc.close()
    assert "Relevance threshold 0.70 (relevance_threshold in the watchlist; default 0.5)" in (
        stats.plain_text
    )
