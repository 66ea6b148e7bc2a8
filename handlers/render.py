"""Turn alerts into text for each face. One renderer per platform lives here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from bot.delivery import AlertView
from bot.models import Match

Segment = tuple[str, bool]  # (text, is a matched term)


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


def segments(text: str, hits: Iterable[_HasText]) -> list[Segment]:
    """Split ``text`` into plain and matched parts, for bold or colour.

    The summary is rebuilt from sentences, so the hits' offsets do not apply to
    it; the matched words are found again by their text (longest first,
    whole words only, case-insensitive).
    """
    return segments_of(text, [h.text for h in hits])


def segments_of(text: str, matched: Iterable[str]) -> list[Segment]:
    """:func:`segments` for the matched texts themselves."""
    words = sorted({" ".join(t.split()) for t in matched if t.strip()}, key=len, reverse=True)
    if not words or not text:
        return [(text, False)] if text else []
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in words) + r")(?!\w)",
        re.IGNORECASE,
    )
    out: list[Segment] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


BOLD = "\033[1;33m"
DIM = "\033[2m"
RESET = "\033[0m"


def plain_match(match: Match, color: bool = False) -> str:
    """A terminal block for one alert: title, watchlist and score, summary, terms."""
    art = match.article
    hi = (lambda s: f"{BOLD}{s}{RESET}") if color else (lambda s: f"*{s}*")
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    summary = "".join(hi(t) if is_hit else t for t, is_hit in segments(match.summary, match.hits))
    terms = sorted({h.term for h in match.hits})
    where = " · ".join(x for x in (art.source, art.published, art.url) if x)
    lines = [
        f"{hi(art.title) if color else art.title}",
        dim(f"[{match.watchlist}] score {match.score:.2f}" + (f" · {where}" if where else "")),
        f"  {summary}",
        dim(f"  matched: {', '.join(terms)}"),
    ]
    return "\n".join(lines)


def plain_alert(alert: AlertView, color: bool = False) -> str:
    """A terminal block for a stored alert (what the console face prints)."""
    hi = (lambda s: f"{BOLD}{s}{RESET}") if color else (lambda s: f"*{s}*")
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    summary = "".join(
        hi(t) if is_hit else t for t, is_hit in segments_of(alert.summary, alert.matched_texts)
    )
    outlets = f" · {len(alert.outlets)} outlets" if len(alert.outlets) > 1 else ""
    where = " · ".join(x for x in (alert.source, alert.published, alert.url) if x)
    terms = sorted({str(h.get("term", "")) for h in alert.hits if h.get("term")})
    return "\n".join(
        [
            hi(alert.title) if color else alert.title,
            dim(
                f"[{alert.watchlist}] #{alert.id} score {alert.score:.2f}{outlets}"
                + (f" · {where}" if where else "")
            ),
            f"  {summary}",
            dim(f"  matched: {', '.join(terms)}"),
        ]
    )
