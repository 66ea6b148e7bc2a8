"""Charts for ``trend``: a PNG of mentions and alerts per day, and a text sparkline.

The PNG is drawn with matplotlib's object-oriented API on the Agg canvas
(``Figure`` + ``FigureCanvasAgg``): no pyplot, so no GUI backend, no global
figure state, and it is safe in the worker threads commands run in.
matplotlib is imported on first use (it takes a moment), not at start.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.answers.queries import DayCount

__all__ = ["SPARKS", "sparkline", "trend_png"]

SPARKS = "▁▂▃▄▅▆▇█"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.6, 100  # 800 × 360 px
MAX_TICKS = 10
ALERT_COLOUR = "#9ecae1"
MENTION_COLOUR = "#d62728"


def sparkline(values: Sequence[int]) -> str:
    """``▁▃█▁``: one block per value, zero always the lowest, the peak the highest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    steps = len(SPARKS) - 2
    return "".join(SPARKS[0] if v <= 0 else SPARKS[1 + round(v / top * steps)] for v in values)


def trend_png(days: Sequence[DayCount], title: str) -> bytes:
    """A bar (alerts) and line (mentions) chart per day, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(len(days)))
    ax.bar(xs, [d.alerts for d in days], color=ALERT_COLOUR, label="alerts", width=0.8)
    ax.plot(
        xs,
        [d.mentions for d in days],
        color=MENTION_COLOUR,
        marker="o" if len(days) <= 45 else "",
        markersize=3,
        linewidth=1.6,
        label="mentions",
    )
    step = max(1, -(-len(days) // MAX_TICKS))
    ticks = xs[::step]
    ax.set_xticks(ticks)
    ax.set_xticklabels([days[i].day.strftime("%d %b") for i in ticks], fontsize=8)
    ax.set_xlim(-0.6, max(len(days) - 0.4, 0.6))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="upper left", frameon=False, fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
