"""The answers (alerts, search, summary, trend, plain questions) through every face:
the Telegram and Slack stand-ins with the real libraries, and the terminal."""

from __future__ import annotations

import io
from pathlib import Path

from slack_stub import SlackStub, signed_headers, slash_command_body
from telegram_stub import TelegramStub
from test_scenario_chat import ARTICLE, start_bot

from handlers.console import repl


async def test_answers_in_telegram_slack_and_the_terminal(tmp_path: Path) -> None:
    async with TelegramStub() as tg, SlackStub() as sl:
        bot = await start_bot(tmp_path, tg, sl)
        try:
            assert (await bot.service.ingest_articles([ARTICLE], "wire")).alerts

            # Telegram: text answers, and the trend chart as a photo
            user = tg.user(777, "Analyst")
            chat = tg.private_chat(user)
            for command in ("/alerts troop-movements 7d", "/search tanks", "/summary"):
                tg.send_text(chat, user, command)
            tg.send_text(chat, user, "anything new on Belarus today?")
            await tg.wait_for("sendMessage", 4, where=lambda c: c.params.get("chat_id") == 777)
            texts = [m.get("text", "") for m in tg.sent(777)]
            assert any(ARTICLE.title in t for t in texts[:1])  # alerts lists it
            assert any("tanks" in t.lower() for t in texts)  # search found it
            assert sum(ARTICLE.title in t for t in texts) >= 3
            tg.send_text(chat, user, "/trend troop-movements 7d")
            (photo,) = await tg.wait_for("sendPhoto", 1, timeout=20)
            assert photo.ok

            # Slack: the same commands through the slash command
            for n, command in enumerate(
                ("alerts troop-movements 7d", "search tanks", "trend troop-movements 7d")
            ):
                body = slash_command_body(command, response_url=sl.response_url(f"r{n}"), user="U1")
                resp = await bot.http.post("/slack/events", data=body, headers=signed_headers(body))
                assert resp.status == 200
            answers = await sl.wait_for(
                "response", 2, where=lambda c: c.params["_key"] in ("r0", "r1")
            )
            assert all(ARTICLE.title in str(a.params) for a in answers)
            await sl.wait_for("files.completeUploadExternal", 1, timeout=20)

            # the terminal
            out = io.StringIO()
            await repl(
                bot.service, io.StringIO("alerts\nsearch tanks\ntrend troop-movements\nquit\n"), out
            )
            printed = out.getvalue()
            assert printed.count(ARTICLE.title) >= 2
            assert any(ch in printed for ch in "▁▂▃▄▅▆▇█")  # the sparkline
        finally:
            await bot.stop()
