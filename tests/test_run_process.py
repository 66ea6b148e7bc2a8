"""`alertbot run` as a process: console alerts, SIGTERM, and SIGKILL mid-poll."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
N_ARTICLES = 300


def _env(tmp_path: Path, sources: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        SOURCES=str(sources),
        WATCHLIST_DIR=str(ROOT / "watchlists"),
        LOG_LEVEL="INFO",
    )
    for token in ("TELEGRAM_TOKEN", "SLACK_BOT_TOKEN"):
        env.pop(token, None)
    return env


def _alertbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def _inbox(tmp_path: Path) -> Path:
    """A folder source of distinct articles; every tenth one is a troop movement."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(N_ARTICLES):
        if n % 10 == 0:
            title = f"Convoy number {n} of Russian tanks moving towards the border"
            body = f"Residents of village {n} filmed {n + 3} tanks heading west at dawn."
        else:
            title = f"Local council meeting {n} discusses the budget"
            body = f"The council of district {n} approved {n * 7} new school places."
        (inbox / f"{n:04d}.txt").write_text(f"{title}\n{body}\n", encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: inbox\n    path: {inbox}\n    kind: folder\n")
    return sources


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_run_once_prints_alerts_for_the_bundled_samples(tmp_path: Path) -> None:
    env = _env(tmp_path, ROOT / "samples" / "sources.yaml")
    done = subprocess.run(
        _alertbot("run", "--once"), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Russian Troops Arrive in Belarus for Joint Force" in done.stdout
    assert "[troop-movements]" in done.stdout
    assert "Remind me later" not in done.stdout
    assert "Traceback" not in done.stderr


def test_sigkill_mid_poll_then_restart_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    sources = _inbox(tmp_path)
    env = _env(tmp_path, sources)
    db = tmp_path / "run.db"
    proc = subprocess.Popen(
        _alertbot("run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        started = _wait_for(lambda: _count(db, "select count(*) from articles") >= 20, 60)
        assert started, "the first poll did not start"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored_before = _count(db, "select count(*) from articles")
    assert 0 < stored_before < N_ARTICLES, "killed too late to test a half-done poll"

    again = subprocess.run(
        _alertbot("run", "--once"), env=env, capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0, again.stderr
    assert _count(db, "select count(*) from articles") == N_ARTICLES  # nothing lost
    troop_alerts = _count(db, "select count(*) from alerts where watchlist = 'troop-movements'")
    movement_stories = _count(
        db, "select count(distinct story_id) from articles where title like 'Convoy number%'"
    )
    assert troop_alerts == movement_stories > N_ARTICLES // 20  # one per story, none twice
    assert (
        _count(
            db,
            "select count(*) from (select story_id, watchlist from alerts group by 1, 2 having count(*) > 1)",
        )
        == 0
    )
    pushes = _count(db, "select count(*) from deliveries")
    assert pushes == _count(db, "select count(*) from alerts")  # one push per alert
    assert _count(db, "select count(*) from deliveries where status != 'sent'") == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_finishes_the_article_in_hand_and_exits_cleanly(tmp_path: Path) -> None:
    sources = _inbox(tmp_path)
    env = _env(tmp_path, sources)
    db = tmp_path / "run.db"
    proc = subprocess.Popen(
        _alertbot("run"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert _wait_for(lambda: _count(db, "select count(*) from articles") >= 10, 60)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping" in err
    assert "Traceback" not in err
    stored = _count(db, "select count(*) from articles")
    # every stored article was processed whole: a movement story has its alert (two of the
    # convoys are near-duplicates, one story: a poll's batch of 100 holds both)
    movement_stories = _count(
        db, "select count(distinct story_id) from articles where title like 'Convoy number%'"
    )
    assert (
        _count(db, "select count(*) from alerts where watchlist = 'troop-movements'")
        == movement_stories
    )
    assert stored < N_ARTICLES or stored == N_ARTICLES


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_once_ends_with_a_summary_line(tmp_path: Path) -> None:
    env = _env(tmp_path, ROOT / "samples" / "sources.yaml")
    done = subprocess.run(
        _alertbot("run", "--once"), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    summaries = [line for line in done.stderr.splitlines() if "run --once:" in line]
    assert summaries == [done.stderr.strip().splitlines()[-1]], done.stderr  # once, at the end
    last = summaries[0]
    assert "run --once: 2 source(s) ok, 0 failed; " in last
    assert "new article(s)" in last and "alert(s)" in last
    assert " 0 new article(s)" not in last and " 0 alert(s)" not in last


def test_run_once_exits_1_when_every_source_failed_and_says_no_next_try(tmp_path: Path) -> None:
    port = _closed_port()
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: dead-one\n    url: http://127.0.0.1:{port}/one.xml\n"
        f"  - name: dead-two\n    url: http://127.0.0.1:{port}/two.xml\n",
        encoding="utf-8",
    )
    env = _env(tmp_path, sources)
    env["ALLOW_PRIVATE_SOURCES"] = "1"  # the failure is the closed port, not the guard
    done = subprocess.run(
        _alertbot("run", "--once"), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "next try" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith("run --once: 0 source(s) ok, 2 failed; 0 new article(s), 0 alert(s)")
    assert "Traceback" not in done.stderr


def _bad_watchlists(tmp_path: Path) -> Path:
    folder = tmp_path / "bad-lists"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: a\nkeywords: [\n", encoding="utf-8")
    (folder / "b.yaml").write_text("name: b\nmin_score: lots\nkeywords: [x]\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("database", ["fresh", "seeded"])
def test_run_on_a_folder_of_invalid_watchlists_exits_2_either_way(
    tmp_path: Path, database: str
) -> None:
    env = _env(tmp_path, ROOT / "samples" / "sources.yaml")
    if database == "seeded":  # an earlier run stored the bundled watchlists
        first = subprocess.run(
            _alertbot("run", "--once"), env=env, capture_output=True, text=True, timeout=120
        )
        assert first.returncode == 0, first.stderr
    bad = _bad_watchlists(tmp_path)
    done = subprocess.run(
        _alertbot("run", "--once", "-w", str(bad)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    refusals = [line for line in done.stderr.splitlines() if line.startswith("alertbot: ")]
    assert len(refusals) == 1, done.stderr
    assert refusals[0].startswith(f"alertbot: {bad}: no watchlist file loads; the first error: ")
    assert "a.yaml" in refusals[0]
    assert "run --once:" not in done.stderr  # nothing was polled
    assert "Traceback" not in done.stderr
