"""Benchmark: dense articles (run by hand: ``.venv/bin/python bench/dense.py``).

    python bench/dense.py [--mb 17] [--repeat 1]

One article of ``--mb`` megabytes of "troops moved towards the border " repeated
(every five words a hit for the bundled watchlists: ~10⁵ hits per megabyte),
the same with full stops (one sentence each), and, as the same-run baseline,
the same size of text that matches nothing; then the same at 1 MB (under the
``MAX_MATCH_CHARS`` cap, so all of it is read). Each case runs
``analyse(article, matcher)`` with the bundled watchlists, in a process of its
own so its peak RSS is its own, and reports seconds (best of ``--repeat``),
peak RSS, alerts and hits, and the ratio to the baseline of its size.
Nothing here runs in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_model, say  # noqa: E402

TEXTS = {
    "dense": "troops moved towards the border ",
    "dense, with full stops": "troops moved towards the border. ",
    "baseline (matches nothing)": "quiet meadows rolled toward distant hills ",
}


def one(kind: str, mb: float, repeat: int) -> dict[str, object]:
    """One case, in this process: build the matcher, then time ``analyse``."""
    from bot.engine.analyse import analyse
    from bot.engine.matcher import Matcher
    from bot.engine.watchlist import load_dir
    from bot.models import Article

    watchlists, _ = load_dir(ROOT / "watchlists")
    matcher = Matcher(watchlists)
    unit = TEXTS[kind]
    article = Article(title="Dense page", text=unit * int(mb * 1_000_000 / len(unit)))
    best = float("inf")
    matches = []
    for _ in range(repeat):
        start = time.perf_counter()
        matches = analyse(article, matcher)
        best = min(best, time.perf_counter() - start)
    return {
        "seconds": best,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": len(matches),
        "hits": sum(len(m.hits) for m in matches),
        "counted": sum(p.occurrences for m in matches for p in m.score_parts),
        "truncated": any(m.truncated for m in matches),
    }


def run_case(kind: str, mb: float, repeat: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, "--mb", str(mb), "--repeat", str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    say(f"{kind}, {mb:g} MB: {result['seconds']:.2f} s, {result['rss_mb']:.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=17.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--one", choices=list(TEXTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.mb, args.repeat)))
        return
    print(
        f"## bench/dense.py — {date.today()}, {cpu_model()}, Python {platform.python_version()}\n"
    )
    print(
        "| article | MB | seconds | peak RSS MB | alerts | hits kept (occurrences counted) | read | × baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for mb in (args.mb, 1.0):
        results = {kind: run_case(kind, mb, args.repeat) for kind in TEXTS}
        base = results["baseline (matches nothing)"]
        for kind, r in results.items():
            ratio = float(r["seconds"]) / float(base["seconds"])  # type: ignore[arg-type]
            read = "first 1,000,000 chars" if r["truncated"] else "all"
            print(
                f"| {kind} | {mb:g} | {r['seconds']:.2f} | {r['rss_mb']:.0f} | {r['alerts']} "
                f"| {r['hits']} ({r['counted']:,}) | {read if r['alerts'] else '—'} | {ratio:.1f} |"
            )


if __name__ == "__main__":
    main()
