"""Benchmark: replicas of ``alertbot run`` on one PostgreSQL (run by hand: `make bench-replicas`).

    python bench/replicas.py [--database-url URL] [--reports 700] [--reprints 300]

For 1 and then 3 replicas (real ``alertbot run`` processes on a fresh schema,
the same synthetic wire as the replica tests: reports and reprints by other
outlets, ``tests/newswire.py``), POSTs every article to ``/ingest`` in
batches of 10, the replicas taking turns, and measures:

* articles/s end to end: first request sent → last answered (an answer means
  the batch is stored, grouped into stories, matched, and its alerts' outbox
  rows written, in one transaction per article);
* seconds from an alerting article's request to its push arriving: the
  console face (no chat token: no platform rate limits) prints each alert on
  the replica's stdout, read here as it comes; p50 and p99.

The outbox is drained by each replica's scheduler every ``OUTBOX_S`` (2 s),
which sets the push latency floor. Nothing here runs in the unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from machine import cpu_model  # noqa: E402
from newswire import wire  # noqa: E402
from replicas import (  # noqa: E402
    INGEST_TOKEN,
    Replica,
    replica_env,
    start_replica,
    wait_up,
    write_config,
)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WATCHLISTS = {"convoys": "convoy", "drills": "drill"}


REPORT = re.compile(r"^(?:• )?(?:Report|Reprint \d+ of report) (\d+):")  # "• ": folded into a digest


async def _read_pushes(replica: Replica, seen: dict[int, float]) -> None:
    """The time each report's alert is printed (its title: the story's first article's)."""
    stream = replica.proc.stdout
    assert stream is not None
    while line := await stream.readline():
        found = REPORT.match(line.decode("utf-8", "replace").strip())
        if found:
            seen.setdefault(int(found.group(1)), time.time())


async def run(url: str, n_replicas: int, reports: int, reprints: int) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    items = wire(reports, reprints, alerting={"convoy": reports // 20, "drill": reports // 20})
    alerting = {i.report for i in items if i.watchlist}
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            write_config(tmp, WATCHLISTS)
            env = replica_env(db_url.render_as_string(hide_password=False), tmp)
            replicas = [
                await start_replica(f"b{n}", env, tmp, stdout=True) for n in range(n_replicas)
            ]
            pushed: dict[int, float] = {}
            readers = [asyncio.create_task(_read_pushes(r, pushed)) for r in replicas]
            try:
                await asyncio.gather(*(wait_up(r, 120) for r in replicas))
                sent: dict[int, float] = {}  # a report's first article sent
                batches = [[i.article for i in items[k : k + 10]] for k in range(0, len(items), 10)]
                queue: asyncio.Queue[list[dict[str, str]]] = asyncio.Queue()
                for b in batches:
                    queue.put_nowait(b)
                headers = {"Authorization": f"Bearer {INGEST_TOKEN}"}

                async def worker(replica: Replica, client: httpx.AsyncClient) -> None:
                    while not queue.empty():
                        batch = queue.get_nowait()
                        now = time.time()
                        for a in batch:
                            found = REPORT.match(a["title"])
                            assert found is not None
                            sent.setdefault(int(found.group(1)), now)
                        answer = await client.post(
                            f"{replica.url}/ingest", json=batch, headers=headers
                        )
                        answer.raise_for_status()

                started = time.time()
                async with httpx.AsyncClient(timeout=120) as client:
                    await asyncio.gather(*(worker(r, client) for r in replicas))
                ingest_s = time.time() - started
                deadline = time.monotonic() + 120
                while not alerting <= pushed.keys() and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
            finally:
                for r in replicas:
                    await r.stop()
                for t in readers:
                    t.cancel()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    latencies = sorted(pushed[r] - sent[r] for r in alerting if r in pushed)
    missing = len(alerting) - len(latencies)
    return {
        "articles": len(items),
        "articles_per_s": len(items) / ingest_s,
        "alerts": len(alerting),
        "missing": missing,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reports", type=int, default=700)
    parser.add_argument("--reprints", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"date: {date.today().isoformat()}; PostgreSQL at {make_url(args.database_url).host}")
    results = {}
    for n in (1, 3):
        results[n] = r = asyncio.run(run(args.database_url, n, args.reports, args.reprints))
        print(
            f"{n} replica(s): {r['articles']:.0f} articles ({args.reprints} reprints) at "
            f"{r['articles_per_s']:.0f} articles/s end to end; {r['alerts']:.0f} alerts pushed, "
            f"ingest → pushed p50 {r['p50']:.2f} s, p99 {r['p99']:.2f} s"
            + (f"; {r['missing']:.0f} not pushed" if r["missing"] else "")
        )
    print(f"3 replicas / 1: {results[3]['articles_per_s'] / results[1]['articles_per_s']:.2f}×")


if __name__ == "__main__":
    main()
