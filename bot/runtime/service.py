"""The long-running job's work: poll sources, ingest, push, reload, forget.

Each method is a plain async function that the scheduler calls (and tests
call directly). State shared between replicas lives in the database: a
source is polled by whoever holds its lease, an outbox row is sent by
whoever claimed it, a story is decided in the article's transaction (its
MinHash bands are rows). What lives in memory — the compiled watchlists — is
rebuilt from files and the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from bot import metrics
from bot.config import Settings
from bot.engine.matcher import CompileError, Matcher
from bot.engine.stories import StoryRules
from bot.engine.watchlist import (
    Lexicon,
    Watchlist,
    WatchlistError,
    from_document,
    is_lexicon,
    lexicon_from_document,
    load_lexicon_text,
    load_text,
    read_yaml,
    watchlist_files,
)
from bot.ingest.poll import (
    HostLimiter,
    PollOutcome,
    SourceState,
    next_poll_delay,
    next_state,
    poll,
)
from bot.ingest.safety import guarded_client
from bot.ingest.sources import SourceSpec, load_sources
from bot.ingest.stream import StreamConsumer
from bot.limits import MAX_MATCH_CHARS
from bot.logs import bind, log_scope
from bot.models import Article
from bot.runtime.delivery import ChatPacer, Notifier, Outbox, Sender, drain_outbox
from bot.runtime.learning import Relevance
from bot.runtime.pipeline import BATCH_SIZE, Ingested, ingest_chunk
from bot.store import (
    make_engine,
    make_session_factory,
    migrate,
    prune_story_bands,
    record_poll_failure,
    record_poll_success,
    session_scope,
    subscribe,
    upsert_chat,
    upsert_source,
)
from bot.store.outbox import claim_holders, release_claims_of
from bot.store.retention import purge_older_than
from bot.store.sources import FROM_FILE, claim_source, get_source, list_sources
from bot.store.tables import LexiconRow, WatchlistRow, utcnow
from bot.store.watchlists import (
    get_lexicon,
    get_watchlist,
    list_lexicons,
    list_watchlists,
    save_lexicon,
    save_watchlist,
)

log = logging.getLogger("alertbot")

PROGRESS_EVERY_S = 2.0
STREAM_RETRY_S = 5.0  # a stream whose Redis is away is tried again this often
CONSOLE_CHAT = "console:local"
FILE_EDITOR = "file"  # updated_by of a watchlist that came from WATCHLIST_DIR

__all__ = ["CONSOLE_CHAT", "FolderLoad", "PollReport", "Service"]


@dataclass
class PollReport:
    """What one poll of one source did (for logs, tests and the sources command)."""

    source: str
    polled: bool = False
    error: str | None = None
    articles: int = 0
    stored: int = 0
    processed: int = 0  # articles handled (stored or known already), in order
    alerts: list[int] = field(default_factory=list)


@dataclass
class FolderLoad:
    """What the last seeding from the watchlist folder found: watchlist files that
    loaded, and the errors (one line each) of those that did not."""

    exists: bool = True
    loaded: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        """Files were there and not one watchlist loaded from them."""
        return bool(self.errors) and self.loaded == 0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_local_workers(workers: list[str]) -> list[str]:
    """Of default worker ids (``host:pid``), those of this host whose process is gone."""
    prefix = f"{socket.gethostname()}:"
    dead = []
    for worker in workers:
        pid = worker.removeprefix(prefix)
        if not worker.startswith(prefix) or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(worker)
        except OSError:  # alive, someone else's
            continue
    return dead


def _file_may_update(row: WatchlistRow | LexiconRow | None, text: str) -> bool:
    """A file writes its row when there is none, or when the row is still the file's
    (nobody edited it in chat) and the text changed."""
    return row is None or (row.updated_by == FILE_EDITOR and row.yaml != text)


class Service:
    """Everything ``alertbot run`` does, minus the scheduler and the chat faces."""

    def __init__(
        self,
        settings: Settings,
        notifiers: dict[str, Notifier] | None = None,
        *,
        worker: str | None = None,
        on_alerts: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker or settings.worker_id or default_worker_id()
        self.engine = make_engine(settings.database_url)
        migrate(self.engine)
        self.factory = make_session_factory(self.engine)
        self.notifiers: dict[str, Notifier] = dict(notifiers or {})
        self.on_alerts = on_alerts
        self.matcher = Matcher([], max_chars=settings.max_match_chars)
        self.lexicons: dict[str, Lexicon] = {}  # what the matcher's watchlists were built with
        self._watchlist_stamp: tuple[tuple[str, float, int], ...] = ()
        self._db_stamp: tuple[int, str, int, str] = (0, "", 0, "")
        # (source, YAML text) → its watchlist, from the last load: an edit re-parses
        # only the watchlist it changed, not every stored one (the Watchlist objects are
        # only read once loaded). Valid for the lexicons whose texts are _lexicon_texts:
        # a changed lexicon empties it (its watchlists resolve their groups again).
        self._parsed: dict[tuple[str, str], Watchlist] = {}
        self._lexicon_texts: tuple[tuple[str, str], ...] = ()
        self._stored_lexicons: dict[str, Lexicon] = {}  # those texts, parsed (the ones that load)
        self._lexicon_files: dict[tuple[str, str], Lexicon] = {}  # same, for lexicon files
        self.folder_load = FolderLoad()  # what the last seeding from WATCHLIST_DIR found
        # watchlist name → (its file, the file's text), from the last seeding: a chat edit
        # of a watchlist that follows its file says that the file is ignored from then on
        self.watchlist_files: dict[str, tuple[Path, str]] = {}
        self.relevance = Relevance()  # the learned second stage (bot.runtime.learning)
        self.stories = StoryRules()  # decided in the database: nothing to load
        with session_scope(self.factory) as session:
            # a process of this host killed mid-send (SIGKILL) left its rows leased: free
            # them now rather than when the lease ends (a minute of a restart's pushes)
            freed = release_claims_of(session, dead_local_workers(claim_holders(session)))
            if freed:
                log.info("outbox: %d message(s) of a stopped process on this host freed", freed)
        # Chat-supplied URLs are fetched with this client: connections pinned to checked
        # public addresses (DNS rebinding), unless ALLOW_PRIVATE_SOURCES says otherwise.
        self.client = httpx.AsyncClient() if settings.allow_private_sources else guarded_client()
        # The sources of sources.yaml are the operator's own: fetched without the address
        # check (an intranet or loopback feed is theirs to name), whatever the setting.
        self.file_client = httpx.AsyncClient()
        self.limiter = HostLimiter()
        self.pacer = ChatPacer()
        # the outbox's sender: woken when an article's alerts commit (and, on PostgreSQL,
        # by any replica's NOTIFY); ``alertbot run`` runs it (run_sender)
        self.sender = Sender(
            Outbox(
                self.factory,
                self.notifiers,
                self.worker,
                self.pacer,
                settings.serves,
                settings.fold_threshold,
                settings.outbox_lease_s,
                sends_in_flight=settings.sends_in_flight,
            ),
            drain_s=settings.outbox_drain_s,
        )
        self._stopping = False
        self.streams: list[SourceSpec] = []  # the redis-stream sources (sync_sources)
        # True once a scheduler polls the sources (``alertbot run``): ``alertbot chat``
        # and ``run --once`` poll nothing after their start (addsource says so)
        self.polling = False
        self._db_lock = asyncio.Lock()  # one ingesting task at a time per process

    @property
    def stopping(self) -> bool:
        """Set on SIGINT/SIGTERM: jobs finish the article (and the message) in hand."""
        return self._stopping

    @stopping.setter
    def stopping(self, value: bool) -> None:
        self._stopping = value
        if value:
            self.sender.stop()

    # --- set-up --------------------------------------------------------------

    def load_watchlists(self) -> list[Watchlist]:
        """Seed the database from the watchlist files, then compile what the database holds.

        The database is the source of truth once a watchlist is in it (chat
        edits land there). A file updates its row only while nobody edited it
        in chat (``updated_by == "file"``). Lexicons (files with ``lexicon:``)
        are seeded the same way, into their own table, and loaded first: a
        changed lexicon recompiles every watchlist that uses it. A watchlist
        that no longer validates is skipped with an error; if none compiles,
        the previous index stays.
        """
        parsed: dict[tuple[str, str], Watchlist] = {}
        self._seed_from_files(parsed)
        watchlists: list[Watchlist] = []
        with session_scope(self.factory) as session:
            lexicons = self._current_lexicons(session, parsed)
            for row in list_watchlists(session):
                source = f"watchlist {row.name}"
                try:
                    watchlists.append(self._parse(row.yaml, source, parsed, lexicons))
                except WatchlistError as err:
                    if "needs entities, keywords or a rule" in str(err):
                        log.info("watchlist %s has no terms yet: nothing to match", row.name)
                    else:
                        log.error("watchlist not loaded: %s", err)
            self._db_stamp = self._db_signature(session)
        self._parsed = parsed
        if not watchlists and self.matcher.watchlists:
            log.error("no watchlist compiles: keeping the previous ones")
            return self.matcher.watchlists
        # one assignment: the swap is atomic for readers
        self.matcher = self._compile(watchlists, self.settings.max_match_chars)
        watchlists = self.matcher.watchlists
        self.lexicons = lexicons
        self._watchlist_stamp = self._stamp()
        log.info("watchlists: %s", ", ".join(wl.name for wl in watchlists) or "none")
        if lexicons:
            log.info("lexicons: %s", ", ".join(lexicons))
        return watchlists

    @staticmethod
    def _compile(watchlists: list[Watchlist], max_chars: int = MAX_MATCH_CHARS) -> Matcher:
        """One matcher for ``watchlists``; one the matcher cannot hold is a logged error
        for that watchlist only, and the others are compiled without it."""
        while True:
            try:
                return Matcher(watchlists, max_chars=max_chars)
            except CompileError as err:
                log.error("watchlist not loaded: %s", err)
                watchlists = [wl for wl in watchlists if wl.name != err.watchlist]

    def remember_parsed(self, row_name: str, text: str, wl: Watchlist) -> None:
        """``wl`` is stored watchlist ``row_name``'s ``text``, already parsed (by an
        edit): the next :meth:`load_watchlists` does not parse it again."""
        self._parsed[(f"watchlist {row_name}", text)] = wl

    def _parse(
        self,
        text: str,
        source: str,
        parsed: dict[tuple[str, str], Watchlist],
        lexicons: dict[str, Lexicon],
        data: object = None,
    ) -> Watchlist:
        """``load_text(text, source, lexicons)`` (or ``from_document`` of its ``data``, when
        parsed already), reusing the last load's result for the same text."""
        key = (source, text)
        wl = self._parsed.get(key)
        if wl is None:
            wl = (
                from_document(data, text, source, lexicons)
                if data is not None
                else load_text(text, source, lexicons)
            )
        parsed[key] = wl
        return wl

    def _current_lexicons(
        self, session: Session, parsed: dict[tuple[str, str], Watchlist]
    ) -> dict[str, Lexicon]:
        """The stored lexicons that load (one that does not is logged and left out).

        They are parsed once per change of their texts (a load asks twice: when
        seeding the watchlist files and when loading the stored watchlists); when
        the texts changed, the watchlists parsed with the old ones are forgotten:
        they are resolved again against these.
        """
        rows = list_lexicons(session)
        texts = tuple((row.name, row.yaml) for row in rows)
        if texts == self._lexicon_texts:
            return dict(self._stored_lexicons)
        self._parsed = {}
        parsed.clear()
        lexicons: dict[str, Lexicon] = {}
        for row in rows:
            try:
                lexicons[row.name] = load_lexicon_text(row.yaml, f"lexicon {row.name}")
            except WatchlistError as err:
                log.error("lexicon not loaded: %s", err)
        self._lexicon_texts, self._stored_lexicons = texts, lexicons
        return dict(lexicons)

    def _read_lexicon_files(
        self, directory: Path
    ) -> tuple[list[tuple[Path, str, object]], dict[str, str]]:
        """The folder's files: watchlist documents ``(path, text, parsed data or None)``,
        and the lexicons' texts by name (files already seen are not parsed again)."""
        documents: list[tuple[Path, str, object]] = []
        lexicon_texts: dict[str, str] = {}
        seen: dict[tuple[str, str], Lexicon] = {}
        for path in watchlist_files(directory):
            try:
                text = path.read_text(encoding="utf-8")
                key = (str(path), text)
                lexicon = self._lexicon_files.get(key)
                if lexicon is None:
                    if key in self._parsed:  # a watchlist, as last time
                        documents.append((path, text, None))
                        continue
                    data = read_yaml(text, str(path), cache=True)
                    if not is_lexicon(data):
                        documents.append((path, text, data))
                        continue
                    lexicon = lexicon_from_document(data, text, str(path))
            except (OSError, UnicodeDecodeError, WatchlistError) as err:
                log.error("watchlist file not loaded: %s", err)
                self.folder_load.errors.append(_one_line(err))
                continue
            seen[key] = lexicon
            if lexicon.name in lexicon_texts:
                log.error("lexicon file not loaded: %s: %r is used twice", path, lexicon.name)
                continue
            lexicon_texts[lexicon.name] = text
        self._lexicon_files = seen
        return documents, lexicon_texts

    def _seed_from_files(self, parsed: dict[tuple[str, str], Watchlist]) -> None:
        directory = self.settings.watchlist_dir
        self.folder_load = FolderLoad(exists=directory.is_dir())
        if not directory.is_dir():
            return
        documents, lexicon_texts = self._read_lexicon_files(directory)
        with session_scope(self.factory) as session:
            for name, text in lexicon_texts.items():
                if _file_may_update(get_lexicon(session, name), text):
                    save_lexicon(session, name, text, updated_by=FILE_EDITOR)
            lexicons = self._current_lexicons(session, parsed)
            for path, text, data in documents:
                try:
                    wl = self._parse(text, str(path), parsed, lexicons, data)
                except WatchlistError as err:
                    log.error("watchlist file not loaded: %s", err)
                    self.folder_load.errors.append(_one_line(err))
                    continue
                self.folder_load.loaded += 1
                self.watchlist_files[wl.name] = (path, text)
                if _file_may_update(get_watchlist(session, wl.name), text):
                    save_watchlist(session, wl.name, text, updated_by=FILE_EDITOR)

    @staticmethod
    def _db_signature(session: Session) -> tuple[int, str, int, str]:
        rows = list_watchlists(session)
        latest = max((r.updated_at for r in rows), default=None)
        lexicons = list_lexicons(session)
        lex_latest = max((r.updated_at for r in lexicons), default=None)
        return (
            len(rows),
            latest.isoformat() if latest else "",
            len(lexicons),
            lex_latest.isoformat() if lex_latest else "",
        )

    def _stamp(self) -> tuple[tuple[str, float, int], ...]:
        directory = self.settings.watchlist_dir
        if not directory.is_dir():
            return ()
        out = []
        for path in watchlist_files(directory):
            stat = path.stat()
            out.append((path.name, stat.st_mtime, stat.st_size))
        return tuple(out)

    def sync_sources(self, path: Path | None = None) -> list[SourceSpec]:
        """Declare the sources of ``sources.yaml`` in the database (idempotent).

        A ``redis-stream`` source is not polled: it is kept in :attr:`streams` for
        :meth:`run_streams` (each replica is one consumer of its group).
        """
        specs = load_sources(path or self.settings.sources)
        self.streams = [s for s in specs if s.is_stream and s.enabled]
        with session_scope(self.factory) as session:
            for spec in specs:
                if spec.is_stream:
                    continue
                upsert_source(
                    session,
                    spec.name,
                    spec.target,
                    spec.kind,
                    int(spec.interval_s),
                    spec.fetch_full,
                    spec.enabled,
                    origin=FROM_FILE,
                )
        return specs

    def subscribe_console(self) -> None:
        """With no chat configured, the terminal follows every watchlist."""
        with session_scope(self.factory) as session:
            chat = upsert_chat(session, "console", CONSOLE_CHAT, title="terminal")
            for wl in self.matcher.watchlists:
                subscribe(session, chat.id, wl.name)

    def source_ids(self) -> list[tuple[int, int]]:
        """(id, interval) of every enabled source."""
        with session_scope(self.factory) as session:
            return [(s.id, s.interval_s) for s in list_sources(session, enabled_only=True)]

    # --- jobs ------------------------------------------------------------------

    @log_scope
    async def poll_source(self, source_id: int, *, once: bool = False) -> PollReport:
        """Poll one source if it is due and nobody else holds it; ingest what is new.

        ``once`` (``run --once``): a failure is logged without the time of the next
        try, which a one-shot run never makes (the backoff is still recorded).
        """
        claimed = await asyncio.to_thread(self._claim, source_id)
        if claimed is None:
            return PollReport(source=str(source_id))
        name, state, interval, failures, origin = claimed
        bind(source=name, source_id=source_id)  # on every line of this poll
        report = PollReport(source=name, polled=True)
        client = self.file_client if origin == FROM_FILE else self.client
        # a file's own address is trusted; the entries' links of a fetch_full feed are
        # the feed's content, so they get the chat client (guarded unless allowed)
        outcome = await poll(state, client=client, limiter=self.limiter, links_client=self.client)
        if outcome.error:
            metrics.source_failed(state.kind)
            report.error = outcome.error
            delay = next_poll_delay(interval, failures + 1)
            if once:
                log.warning("source %s: %s", name, outcome.error)
            else:
                log.warning("source %s: %s (next try in %.0fs)", name, outcome.error, delay)
            await asyncio.to_thread(self._failed, source_id, outcome.error, delay)
            return report
        if outcome.problem and outcome.problem != state.last_problem:
            log.warning("source %s: %s", name, outcome.problem)
        report.articles = len(outcome.articles)
        finished = await self._ingest_many(source_id, name, outcome.articles, report)
        if finished:
            await asyncio.to_thread(self._succeeded, source_id, interval, state, outcome)
            metrics.source_polled()
        return report

    def next_poll_at(self, source_id: int) -> datetime | None:
        """When the source is due next (None: gone or disabled)."""
        with session_scope(self.factory) as session:
            src = get_source(session, source_id)
            return src.next_poll_at if src is not None and src.enabled else None

    def _claim(self, source_id: int) -> tuple[str, SourceState, int, int, str] | None:
        with session_scope(self.factory) as session:
            src = claim_source(session, source_id, self.worker)
            if src is None:
                return None
            is_url = src.url_or_path.startswith(("http://", "https://"))
            state = SourceState(
                kind=src.kind,
                name=src.name,
                url=src.url_or_path if is_url else None,
                path=None if is_url else src.url_or_path,
                fetch_full=src.fetch_full,
                etag=src.etag,
                last_modified=src.last_modified,
                seen_files=dict(src.seen_files or {}),
                seen_dirs=dict(src.seen_dirs or {}),
                last_problem=src.last_problem,
            )
            return src.name, state, src.interval_s, src.consecutive_failures, src.origin

    def _failed(self, source_id: int, error: str, delay: float) -> None:
        with session_scope(self.factory) as session:
            retry_at = utcnow() + timedelta(seconds=delay)
            record_poll_failure(session, source_id, self.worker, error, retry_at=retry_at)

    def _succeeded(
        self, source_id: int, interval: int, state: SourceState, outcome: PollOutcome
    ) -> None:
        new = next_state(state, outcome)
        with session_scope(self.factory) as session:
            record_poll_success(
                session,
                source_id,
                self.worker,
                etag=new.etag,
                last_modified=new.last_modified,
                next_poll_at=utcnow() + timedelta(seconds=next_poll_delay(interval, 0)),
                # unchanged (a folder with nothing new): not written again
                seen_files=None if new.seen_files == state.seen_files else dict(new.seen_files),
                seen_dirs=None if new.seen_dirs == state.seen_dirs else dict(new.seen_dirs),
                problem=new.last_problem,
                kind=new.kind,
            )

    async def _ingest_many(
        self, source_id: int | None, name: str, articles: list[Article], report: PollReport
    ) -> bool:
        """Ingest the articles in batches of ``BATCH_SIZE``, one transaction each
        (``ingest_chunk``); False when stopped half-way."""
        started = last = time.monotonic()
        metrics.fetched(len(articles))
        async with self._db_lock:
            for start in range(0, len(articles), BATCH_SIZE):
                if self.stopping:
                    log.info(
                        "source %s: stopping after %d of %d articles", name, start, len(articles)
                    )
                    return False
                chunk = articles[start : start + BATCH_SIZE]
                results = await asyncio.to_thread(self._ingest_chunk, chunk, source_id)
                for result in results:
                    report.processed += 1
                    report.stored += result.stored
                    report.alerts += result.alerts_created
                if any(result.alerts_created for result in results):
                    self.sender.wake()  # committed: the sender pushes them now
                done, now = start + len(chunk), time.monotonic()
                if len(articles) > 50 and now - last >= PROGRESS_EVERY_S:
                    last = now
                    rate = done / (now - started)
                    log.info("source %s: %d/%d articles (%.0f/s)", name, done, len(articles), rate)
        if report.alerts and self.on_alerts:
            self.on_alerts(report.alerts)
        if report.articles:
            log.info(
                "source %s: %d articles, %d new, %d alerts",
                name,
                report.articles,
                report.stored,
                len(report.alerts),
            )
        return True

    def stream_consumer(self, spec: SourceSpec) -> StreamConsumer:
        """This replica's consumer of a ``redis-stream`` source: articles stored like a
        poll's (one transaction each), entries acknowledged once stored."""

        async def store(articles: list[Article]) -> int:
            report = PollReport(source=spec.name, polled=True, articles=len(articles))
            await self._ingest_many(None, spec.name, articles, report)
            return report.processed

        return StreamConsumer(
            spec, self.worker, store, claim_idle_s=self.settings.stream_claim_idle_s
        )

    async def run_streams(self) -> None:
        """Read every redis-stream source until the service stops (a scheduler job)."""
        if self.streams:
            await asyncio.gather(*(self._consume(spec) for spec in self.streams))

    async def poll_streams_once(self) -> int:
        """``run --once``: what the streams hold now, without waiting; articles stored."""
        stored = 0
        for spec in self.streams:
            consumer = self.stream_consumer(spec)
            try:
                while not self.stopping:
                    report = await consumer.poll(block=False)
                    stored += report.stored
                    if report.error or not report.read:
                        break
            finally:
                await consumer.close()
        return stored

    async def _consume(self, spec: SourceSpec) -> None:
        consumer = self.stream_consumer(spec)
        try:
            while not self.stopping:
                try:
                    report = await consumer.poll()
                except Exception as exc:  # the database away: one line, the entries stay pending
                    log.error("source %s: %s: %s", spec.name, type(exc).__name__, _one_line(exc))
                    report = None
                if report is None or report.error:
                    await self._pause(STREAM_RETRY_S)
        finally:
            await consumer.close()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the service stops."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            await asyncio.sleep(min(0.5, deadline - time.monotonic()))

    async def ingest_articles(self, articles: list[Article], source_name: str) -> PollReport:
        """Articles pushed to us (the ingest endpoint, a stream): same path as a poll."""
        report = PollReport(source=source_name, polled=True, articles=len(articles))
        await self._ingest_many(None, source_name, articles, report)
        return report

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # any driver error: the database is not usable
            log.error("database check failed: %s", exc)
            return False
        return True

    def _ingest_one(self, article: Article, source_id: int | None) -> Ingested:
        (result,) = self._ingest_chunk([article], source_id)
        return result

    def _ingest_chunk(self, articles: list[Article], source_id: int | None) -> list[Ingested]:
        return ingest_chunk(
            self.factory, articles, self.matcher, self.stories, source_id, self.relevance
        )

    async def drain_outbox(self) -> int:
        """One pass over the outbox (``run --once``, tests); ``alertbot run`` keeps
        :meth:`run_sender` going instead."""
        if not self.notifiers:
            return 0
        return await drain_outbox(
            self.factory,
            self.notifiers,
            self.worker,
            pacer=self.pacer,
            serves=self.settings.serves,
            lease_s=self.settings.outbox_lease_s,
            fold_threshold=self.settings.fold_threshold,
        )

    async def run_sender(self) -> None:
        """The sender until the service stops (a scheduler job that runs once)."""
        if not self.notifiers:
            return
        await self.sender.run(self.engine)

    async def reload_watchlists(self) -> bool:
        """Recompile when a watchlist file or stored watchlist changed; True when it did."""
        with session_scope(self.factory) as session:
            db_stamp = self._db_signature(session)
        if self._stamp() == self._watchlist_stamp and db_stamp == self._db_stamp:
            return False
        await asyncio.to_thread(self.load_watchlists)
        return True

    async def retention(self) -> tuple[int, int]:
        days = self.settings.retention_days
        with session_scope(self.factory) as session:
            stories, articles = purge_older_than(session, days)
            prune_story_bands(session, self.stories)
        if stories or articles:
            log.info(
                "retention: forgot %d stories and %d articles older than %d days",
                stories,
                articles,
                days,
            )
        return stories, articles

    async def close(self) -> None:
        self.sender.outbox.close()
        await self.client.aclose()
        await self.file_client.aclose()
        self.engine.dispose()


def _one_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else err.__class__.__name__
