"""Helpers to run ``alertbot run`` replicas as processes on one PostgreSQL schema."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
INGEST_TOKEN = "replica-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self, timeout: float = 40) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode or 0


def replica_env(database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))}
    env.update(
        DATABASE_URL=database_url,
        WATCHLIST_DIR=str(tmp / "watchlists"),
        SOURCES=str(tmp / "sources.yaml"),
        INGEST_TOKEN=INGEST_TOKEN,
        LOG_LEVEL="INFO",
        LEADER_CHECK_S="0.3",
    )
    env.update(extra)
    return env


async def start_replica(
    name: str, env: dict[str, str], tmp: Path, *, stdout: bool = False
) -> Replica:
    """``alertbot run`` as ``name``; ``stdout``: piped (the console face's alerts), else dropped."""
    port = free_port()
    log = tmp / f"{name}.log"
    handle = log.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={**env, "HTTP_PORT": str(port), "WORKER_ID": name},
        stdout=asyncio.subprocess.PIPE if stdout else asyncio.subprocess.DEVNULL,
        stderr=handle,
        cwd=str(tmp),
    )
    handle.close()
    return Replica(name, port, proc, log)


async def wait_up(replica: Replica, timeout: float = 60) -> None:
    """Until ``GET /healthz`` answers 200 (the replica migrated, seeded and serves)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if replica.proc.returncode is not None:
                raise AssertionError(f"{replica.name} exited: {replica.stderr()[-3000:]}")
            try:
                if (await client.get(f"{replica.url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{replica.name} did not come up: {replica.stderr()[-3000:]}")


def write_config(tmp: Path, watchlists: dict[str, str], sources: str = "sources: []\n") -> None:
    folder = tmp / "watchlists"
    folder.mkdir(exist_ok=True)
    for name, keyword in watchlists.items():
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: {name}\nkeywords: [{keyword}]\nrule: {keyword}\n"
            "min_score: 0.1\n",
            encoding="utf-8",
        )
    (tmp / "sources.yaml").write_text(sources, encoding="utf-8")
