"""`alertbot run` with a Telegram token: the process starts the face and pushes alerts."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest
from telegram_stub import TOKEN, TelegramStub

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, tg: TelegramStub, port: int, token: str = TOKEN) -> dict[str, str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        SOURCES=str(sources),
        WATCHLIST_DIR=str(ROOT / "watchlists"),
        TELEGRAM_TOKEN=token,
        TELEGRAM_API_URL=tg.api_url,
        INGEST_TOKEN="ingest-secret",
        HTTP_PORT=str(port),
    )
    return env


async def test_run_starts_telegram_and_pushes_an_ingested_alert(tmp_path: Path) -> None:
    async with TelegramStub() as tg:
        port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            env=_env(tmp_path, tg, port), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await tg.wait_for("getUpdates", 1, timeout=60)
            user = tg.user(555, "Desk")
            chat = tg.private_chat(user)
            tg.send_text(chat, user, "/subscribe troop-movements")
            await tg.wait_for("sendMessage", 1, where=lambda c: c.params.get("chat_id") == 555)
            article = {
                "title": "Russian troops arrive in Belarus for joint drills",
                "text": "Several thousand soldiers and a column of tanks arrived by train.",
                "url": "https://wire.test/a1",
            }
            async with httpx.AsyncClient() as client:
                resp = await client.post(
                    f"http://127.0.0.1:{port}/ingest",
                    json=article,
                    headers={"Authorization": "Bearer ingest-secret"},
                )
            assert resp.status_code == 200 and resp.json()["alerts"]
            await tg.wait_for(
                "sendMessage",
                1,
                where=lambda c: c.params.get("chat_id") == 555 and "Belarus" in str(c.params),
                timeout=30,
            )
        finally:
            proc.terminate()
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert TOKEN not in err.decode()  # the token never reaches the log
        assert "Traceback" not in err.decode()


@pytest.mark.parametrize(
    "token", ["123:wrong-token", "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"]
)
async def test_a_token_telegram_refuses_is_one_line_and_exit_2(tmp_path: Path, token: str) -> None:
    """Issue 12, item 10: the refused token is never printed, even in the one-line error."""
    async with TelegramStub() as tg:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            env=_env(tmp_path, tg, _free_port(), token=token),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    lines = [line for line in err.decode().splitlines() if line.startswith("alertbot:")]
    assert len(lines) == 1 and "cannot start the chat faces" in lines[0]
    assert "rejected" in lines[0]  # still says what went wrong
    assert "Traceback" not in err.decode()
    for secret in (token, token.split(":", 1)[1]):
        assert secret not in out.decode() and secret not in err.decode()
