"""What the learned second stage costs per alert (goal: under 1 ms), beside matching itself.

    .venv/bin/python bench/learn.py [--repeat 2000]

The bundled watchlists alert on the demo articles (samples/); a model is
trained on those alerts (alternate verdicts, many hashed words), then the
push-path work is timed: features of the alert + the calibrated probability
(:meth:`bot.runtime.learning.Relevance.score`). The ratio to the time the
matcher took on the same article is printed too, so a slower machine moves
both. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.engine import relevance
from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.watchlist import load_dir
from bot.ingest.inputs import read_input
from bot.runtime.learning import Relevance, _Loaded

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    watchlists, _ = load_dir(ROOT / "watchlists")
    matcher = Matcher(watchlists)
    articles = read_input(str(ROOT / "samples" / "world-desk.rss")) + read_input(
        str(ROOT / "samples" / "seed-article.txt")
    )
    matches = [m for a in articles for m in analyse(a, matcher)]
    if len(matches) < 2:
        raise SystemExit("the demo articles raised fewer than 2 alerts: nothing to train on")
    spaces = {wl.name: relevance.FeatureSpace(wl) for wl in watchlists}
    stage = Relevance()
    stage.loaded = True
    for name in {m.watchlist for m in matches}:
        mine = [m for m in matches if m.watchlist == name]
        examples = []
        for i, m in enumerate(mine * 3):  # enough of both verdicts for a calibrated model
            ev = relevance.evidence_of_match(m)
            examples.append(
                relevance.Example(spaces[name].features(ev), i % 2 == 0, relevance.example_words(ev))
            )
        model = relevance.train(examples)
        if model is not None:
            stage.models[name] = _Loaded(1, model)
    scored = [m for m in matches if m.watchlist in stage.models]
    start = time.perf_counter()
    for _ in range(args.repeat):
        for m in scored:
            stage.score(m, matcher)
    per_alert = (time.perf_counter() - start) / (args.repeat * len(scored))
    start = time.perf_counter()
    for a in articles:
        matcher.match(a)
    per_article = (time.perf_counter() - start) / len(articles)
    print(f"{len(scored)} alerts scored {args.repeat} times each")
    print(f"scoring: {per_alert * 1e6:.1f} µs per alert (goal < {GOAL_MS * 1000:.0f} µs)")
    print(f"matching: {per_article * 1e6:.1f} µs per article; scoring/matching = {per_alert / per_article:.3f}")
    if per_alert * 1000 >= GOAL_MS:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
