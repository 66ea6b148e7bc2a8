"""Structured logs: JSON lines off a terminal, with the ids of what a line is about; no secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.logs import bind, configure_logging, log_scope, register_secrets, use_json
from bot.runtime.delivery import AlertView, DeliveryError
from bot.runtime.service import Service
from bot.store import session_scope
from bot.store.sources import upsert_source
from bot.store.subscriptions import subscribe, upsert_chat

ROOT = Path(__file__).resolve().parent.parent
TG_TOKEN = "7654321:AAE-logs-test-secret-value-0123456789"
SIGNING = "slack-signing-secret-for-the-log-test"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@contextmanager
def logging_into(buffer: io.StringIO, log_format: str) -> Iterator[None]:
    """The root logger as ``alertbot run`` sets it up, into ``buffer``; then as it was.

    The ``alertbot`` logger is put back to NOTSET for the test: in the whole suite an
    earlier test leaves it at WARNING, which is not what a fresh ``alertbot run`` has.
    """
    root, ours = logging.getLogger(), logging.getLogger("alertbot")
    saved = root.handlers[:], root.level, ours.level
    ours.setLevel(logging.NOTSET)
    configure_logging("INFO", log_format, stream=buffer)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        ours.setLevel(saved[2])


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """JSON logs (``auto``, off a terminal) into a buffer."""
    buffer = io.StringIO()
    with logging_into(buffer, "auto"):
        yield buffer


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]  # each line parses


def test_auto_is_json_off_a_terminal_and_text_on_one() -> None:
    assert use_json("auto", io.StringIO()) and not use_json("auto", Terminal())
    assert use_json("json", Terminal()) and not use_json("text", io.StringIO())


async def test_json_lines_carry_the_source_article_alert_delivery_and_chat(
    stream: io.StringIO, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text(
        "Russian troops arrive in Belarus for joint drills\n"
        "Several thousand soldiers and a column of tanks arrived by train in Brest region.\n",
        encoding="utf-8",
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        watchlist_dir=ROOT / "watchlists",
        max_match_chars=1_000,
    )

    class Flaky:
        platform = "console"
        min_interval = 0.0

        async def send_alert(self, chat_key: str, alert: AlertView) -> str | None:
            raise DeliveryError("HTTP 502 from the chat")

    service = Service(settings, {"console": Flaky()}, worker="logs")  # type: ignore[dict-item]
    try:
        service.load_watchlists()
        with session_scope(service.factory) as s:
            chat = upsert_chat(s, "console", "console:desk", title="desk")
            subscribe(s, chat.id, "troop-movements")
            src, _ = upsert_source(s, "inbox", str(inbox), "folder", 60, False, True)
            s.flush()
            source_id = src.id
        report = await service.poll_source(source_id)
        assert report.stored == 1 and report.alerts
        await service.drain_outbox()
    finally:
        await service.close()
    logged = lines(stream)
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in logged)
    summary = next(e for e in logged if e["msg"].startswith("source inbox: 1 articles"))
    assert summary["source"] == "inbox" and summary["source_id"] == source_id
    retried = next(e for e in logged if "retried in" in e["msg"])
    assert retried["chat"] == "console:desk"
    assert retried["alert_id"] == report.alerts[0]
    assert isinstance(retried["delivery_id"], int)
    assert "source" not in retried  # a scope's ids end with it
    assert logged[-1].get("source") is None


def test_an_article_line_carries_its_id(stream: io.StringIO, tmp_path: Path) -> None:
    from bot.models import Article

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        watchlist_dir=ROOT / "watchlists",
        max_match_chars=1_000,
    )
    service = Service(settings, {}, worker="logs")
    service.load_watchlists()
    long = Article(title="Troops", text="Soldiers arrived at the border. " * 100, url="https://x.example/1")
    result = service._ingest_one(long, None)
    service.engine.dispose()
    cut = next(e for e in lines(stream) if "MAX_MATCH_CHARS" in e["msg"])
    assert cut["article_id"] == result.article_id


async def test_log_scope_ends_what_it_bound(stream: io.StringIO) -> None:
    log = logging.getLogger("alertbot")

    @log_scope
    async def job(name: str) -> None:
        bind(source=name)
        log.info("inside %s", name)

    await job("a")
    await job("b")
    log.info("after")
    inside_a, inside_b, after = lines(stream)
    assert (inside_a["source"], inside_b["source"]) == ("a", "b")
    assert "source" not in after


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_token_in_a_message_or_an_exception_is_never_logged(log_format: str) -> None:
    register_secrets([TG_TOKEN, SIGNING])
    buffer = io.StringIO()
    with logging_into(buffer, log_format):
        log = logging.getLogger("alertbot")
        log.info("calling https://api.telegram.org/bot%s/getMe", TG_TOKEN)
        log.warning("signing secret is %s", SIGNING)
        try:
            raise RuntimeError(f"The token `{TG_TOKEN}` was rejected by the server")
        except RuntimeError:
            log.exception("telegram failed")
        bind(chat=f"x{SIGNING}")
        log.info("bound field")
    out = buffer.getvalue()
    assert "was rejected" in out and "Traceback" in out and "bound field" in out
    for secret in (TG_TOKEN, TG_TOKEN.split(":")[1], SIGNING):
        assert secret not in out
    if log_format == "json":
        assert len(lines(buffer)) == 4


def test_run_logs_json_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """The real ``alertbot run --once``, stderr a pipe and LOG_FORMAT unset: every line is
    JSON, and the source of a poll's lines is a field."""
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT" and "_TOKEN" not in k}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
        WATCHLIST_DIR=str(ROOT / "watchlists"),
        SOURCES=str(ROOT / "samples" / "sources.yaml"),
    )
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "run", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    logged = [json.loads(line) for line in done.stderr.splitlines()]
    assert any(e["msg"].startswith("run --once:") for e in logged)
    assert any(e.get("source") and e["msg"].startswith("source ") for e in logged)
