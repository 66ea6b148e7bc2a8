"""A synthetic news wire: distinct reports and their reprints by other outlets.

Deterministic (seeded). A report is a headline and eight paragraphs of words
drawn from a large made-up vocabulary, so two reports share almost no word
3-shingles; a reprint keeps seven of the eight paragraphs, under a new headline
and a byline, at another outlet's URL: a near-duplicate the story index must
join (estimated Jaccard ~0.75), never a byte copy. Used by the replica tests
and ``bench/replicas.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYLLABLES = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "po", "da", "fe", "gu", "hi",
    "ja", "be", "co", "du", "ex", "fo", "ga", "ho", "il", "jo", "ku", "la", "mo", "nu",
]  # fmt: skip
OUTLETS = ["Wire", "Daily Herald", "Regional Times", "East Watch", "Morning Post", "Ledger"]


@dataclass(frozen=True)
class Item:
    """One article to ingest, and what it is."""

    report: int  # the report it tells (reprints share their original's)
    outlet: str
    article: dict[str, str]  # the JSON of POST /ingest
    watchlist: str | None  # the watchlist the report fires, or None


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, vocab: list[str], n: int = 12) -> str:
    words = [rng.choice(vocab) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def wire(
    reports: int, reprints: int, *, alerting: dict[str, int] | None = None, seed: int = 7
) -> list[Item]:
    """``reports`` originals and ``reprints`` reprints of them (spread over the reports,
    at most one per outlet and report), in a shuffled order.

    ``alerting`` maps a watchlist's keyword to how many reports carry it (in
    their first paragraph, which every reprint keeps): ``{"convoy": 6}``.
    """
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    keywords = [kw for kw, n in (alerting or {}).items() for _ in range(n)]
    bodies: list[list[str]] = []
    items: list[Item] = []
    for r in range(reports):
        paragraphs = [" ".join(_sentence(rng, vocab) for _ in range(2)) for _ in range(8)]
        keyword = keywords[r] if r < len(keywords) else None
        if keyword:
            paragraphs[0] = f"Officials reported a {keyword} today. " + paragraphs[0]
        bodies.append(paragraphs)
        title = f"Report {r}: " + _sentence(rng, vocab, 6)
        items.append(Item(r, OUTLETS[0], _json(title, paragraphs, OUTLETS[0], f"r{r}"), keyword))
    # reprints: report r gets a reprint by outlets 1, 2, … in turn
    for n in range(reprints):
        r = (n * 7919) % reports  # a spread that is not in report order
        outlet_no = 1 + n // reports
        outlet = OUTLETS[outlet_no % len(OUTLETS)] + (
            "" if outlet_no < len(OUTLETS) else f" {outlet_no}"
        )
        paragraphs = list(bodies[r])
        del paragraphs[1 + rng.randrange(7)]
        paragraphs.insert(
            0, f"By {rng.choice(vocab).capitalize()} {rng.choice(vocab).capitalize()}, staff"
        )
        title = f"Reprint {n} of report {r}: " + _sentence(rng, vocab, 6)
        item = Item(r, outlet, _json(title, paragraphs, outlet, f"p{n}"), items[r].watchlist)
        items.append(item)
    rng.shuffle(items)
    return items


def _json(title: str, paragraphs: list[str], outlet: str, slug: str) -> dict[str, str]:
    host = outlet.lower().replace(" ", "-") + ".example"
    return {
        "title": title,
        "text": "\n".join(paragraphs),
        "url": f"https://{host}/news/{slug}",
        "source": outlet,
    }
