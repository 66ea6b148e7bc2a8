"""Benchmark: one chat edit of a big watchlist (run by hand: ``.venv/bin/python bench/edits.py``).

    python bench/edits.py [--keywords 50000] [--aliases 50000] [--repeat 3]

Measures, in one run, on a temporary SQLite database, through the chat command
path (``/add <wl> keyword <term>``, :func:`handlers.commands.handle_text`):

* baseline: one ``add`` on a 10-keyword watchlist;
* big: one ``add`` on a watchlist of ``--keywords`` keywords;
* entity: one ``add`` on a watchlist with an entity of ``--aliases`` aliases;

and prints the best of ``--repeat`` adds for each, the ratios to the baseline
and the process's peak memory. An edit parses the stored YAML, dumps it back
over the old text, validates and saves it, and recompiles the matcher: all of
it linear in the watchlist, so the ratio is about the size ratio divided by
the fixed cost of a command. Nothing here runs in the unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_model  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.engine.watchlist import Entity, Keyword, Watchlist, dump  # noqa: E402
from bot.runtime.service import Service  # noqa: E402
from bot.store import session_scope  # noqa: E402
from bot.store.watchlists import save_watchlist  # noqa: E402
from handlers.commands import handle_text  # noqa: E402
from handlers.reply import CommandContext, Reply  # noqa: E402

ADMIN = CommandContext("telegram", "telegram:-100", "telegram:1", "ann", "Desk", is_admin=True)


def _word(i: int) -> str:
    """A distinct pronounceable pseudo-word per ``i``."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bu"]
    out = []
    while True:
        out.append(syllables[i % 10])
        i //= 10
        if not i:
            return "q" + "".join(out)


def _watchlist(case: str, keywords: int, aliases: int) -> Watchlist:
    if case == "small":
        return Watchlist(name="small", keywords=[Keyword(_word(i)) for i in range(10)])
    if case == "big":
        return Watchlist(name="big", keywords=[Keyword(_word(i)) for i in range(keywords)])
    return Watchlist(
        name="entity",
        entities=[Entity("Somebody", aliases=[_word(i) for i in range(aliases)])],
        keywords=[Keyword("troops")],
    )


async def _add(service: Service, name: str, term: str) -> float:
    start = time.perf_counter()
    reply = await handle_text(service, ADMIN, f"/add {name} keyword {term}")
    elapsed = time.perf_counter() - start
    assert isinstance(reply, Reply) and not reply.error, reply.plain_text
    return elapsed


async def _case(case: str, keywords: int, aliases: int, repeat: int) -> float:
    """Best of ``repeat`` adds to a service that holds only this case's watchlist."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "watchlists"
        empty.mkdir()
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            watchlist_dir=empty,
            sources=ROOT / "samples" / "sources.yaml",
        )
        service = Service(settings)
        wl = _watchlist(case, keywords, aliases)
        with session_scope(service.factory) as session:
            save_watchlist(session, wl.name, dump(wl), updated_by="bench")
        service.load_watchlists()
        times = [await _add(service, wl.name, f"zzextra{k}") for k in range(repeat)]
        await service.close()
    print(f"{case}: {', '.join(f'{t:.3f}' for t in times)} s", file=sys.stderr)
    return min(times)


async def run(keywords: int, aliases: int, repeat: int) -> None:
    best = {
        case: await _case(case, keywords, aliases, repeat) for case in ("small", "big", "entity")
    }
    base = best["small"]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"## bench/edits.py — {date.today()}, {cpu_model()}, Python {platform.python_version()}\n"
    )
    print(f"| watchlist | one `add` (best of {repeat}) | ratio to baseline |")
    print("|---|---:|---:|")
    print(f"| 10 keywords (baseline) | {base * 1000:.0f} ms | 1.0 |")
    print(f"| {keywords:,} keywords | {best['big'] * 1000:.0f} ms | {best['big'] / base:.0f} |")
    print(
        f"| entity with {aliases:,} aliases | {best['entity'] * 1000:.0f} ms"
        f" | {best['entity'] / base:.0f} |"
    )
    print(f"\npeak RSS {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=50_000)
    parser.add_argument("--aliases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.keywords, args.aliases, args.repeat))


if __name__ == "__main__":
    main()
