"""Prometheus metrics (``GET /metrics``): what the watch fetched, stored, matched and sent.

The counters live in prometheus-client's default registry, one set per
process: every replica serves its own at ``/metrics`` and Prometheus sums
them (scrape each replica). The hooks in the pipeline, the outbox and the
poll are one call each to the functions below, so the modules that do the
work stay readable and the names are defined in one place.

Labels are bounded sets only (a platform, a delivery result, a source
kind): never a source name, chat or watchlist, which chat users can create
without limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

ARTICLES_FETCHED = Counter(
    "alertbot_articles_fetched",
    "Articles received from sources (polled or pushed), before de-duplication",
)
ARTICLES_STORED = Counter(
    "alertbot_articles_stored", "Articles stored (new: not a copy of one already stored)"
)
ARTICLES_MATCHED = Counter(
    "alertbot_articles_matched", "Stored articles that matched at least one watchlist"
)
ALERTS = Counter("alertbot_alerts", "Alerts raised (one per story and watchlist)")
DELIVERIES = Counter(
    "alertbot_deliveries",
    "Outbox rows handled, by platform and result (sent, retry, failed, skipped)",
    ["platform", "result"],
)
SOURCE_FAILURES = Counter(
    "alertbot_source_failures", "Source polls that failed, by source kind", ["kind"]
)
LAST_POLL_SUCCESS = Gauge(
    "alertbot_last_successful_poll_timestamp_seconds",
    "When this process last polled a source successfully (Unix time)",
)
# from the article's arrival (the alert is created in the article's transaction) to the
# platform's answer to the send; buckets from a fast push to a digest-like delay
ARRIVAL_TO_SENT = Histogram(
    "alertbot_alert_arrival_to_sent_seconds",
    "Seconds from an article's arrival to its alert message being sent",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)

SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"


class IngestResult(Protocol):
    """What :func:`ingested` reads of ``bot.runtime.pipeline.Ingested``."""

    stored: bool
    alerts_created: list[int]
    alerts_joined: list[int]


def fetched(count: int) -> None:
    if count:
        ARTICLES_FETCHED.inc(count)


def ingested(result: IngestResult) -> None:
    """One article through the pipeline (call once its transaction is committed)."""
    if not result.stored:
        return
    ARTICLES_STORED.inc()
    if result.alerts_created or result.alerts_joined:
        ARTICLES_MATCHED.inc()
    if result.alerts_created:
        ALERTS.inc(len(result.alerts_created))


def delivered(platform: str, result: str, arrived: datetime | None = None) -> None:
    """An outbox row handled; ``arrived`` (for ``sent``): when its article arrived."""
    DELIVERIES.labels(platform=platform, result=result).inc()
    if result == SENT and arrived is not None:
        if arrived.tzinfo is None:
            arrived = arrived.replace(tzinfo=UTC)
        ARRIVAL_TO_SENT.observe(max(0.0, (datetime.now(UTC) - arrived).total_seconds()))


def source_failed(kind: str) -> None:
    SOURCE_FAILURES.labels(kind=kind or "unknown").inc()


def source_polled() -> None:
    LAST_POLL_SUCCESS.set_to_current_time()


def exposition() -> tuple[bytes, str]:
    """The text format of every metric of the process, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
