"""The composition root: the ``alertbot`` command. The only bot/ module that imports handlers/."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from bot.bundled import default_data_dir, default_database_url, default_dir
from bot.engine.matcher import Matcher
from bot.engine.watchlist import Watchlist, load_dir
from bot.limits import MAX_MATCH_CHARS

if TYPE_CHECKING:  # the runtime is imported late: scan must start fast
    from bot.runtime.service import Service

EXIT_INPUT_ERROR = 2
MAX_BAD_LINES_SHOWN = 20  # alertbot learn: bad lines named one by one, then a count
EXIT_ALL_SOURCES_FAILED = 1  # run --once: every source polled failed (cron and CI notice)
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def _readable(params: list[Any]) -> list[Any]:
    """``params`` shown without typer's Python-type placeholders (see :class:`ReadableCommand`)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no "<bool>"
        elif isinstance(param, TyperArgument) and param.metavar:
            # the metavar (FILE, INPUT...) says it all; typer would add "<path>" beside it
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


def _no_type(ctx: Any) -> None:
    return None


class ReadableCommand(TyperCommand):
    """Help without typer's Python-type placeholders.

    typer shows a flag as ``<bool>``, a repeatable option as ``<list[str]>`` and
    a required argument as ``{inputs}...`` in the usage line: a flag gets no
    placeholder here, and arguments are written the classic way (``INPUT...``,
    ``[NAME]``). Options and arguments give their own ``metavar``.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        return _readable(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 and param.metavar is None else ""))
        return pieces


class ReadableGroup(TyperGroup):
    """The top-level ``alertbot`` with the same readable options (``--version``, ``-h``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _readable(super().get_params(ctx))


app = typer.Typer(
    name="alertbot",
    help="News-watch alert bot: match articles against watchlists and push alerts to chats.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
    cls=ReadableGroup,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"alertbot {version('alertbot')}")
        except PackageNotFoundError:  # run from a folder that was never installed
            typer.echo("alertbot (version unknown: not installed)")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """News-watch alert bot: match articles against watchlists and push alerts to chats."""


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def default_watchlist_dir() -> Path:
    """``WATCHLIST_DIR``, else the clone's ``watchlists/``, else the package's copy."""
    env = os.environ.get("WATCHLIST_DIR")
    return Path(env) if env else default_dir("watchlists")


def error(message: str) -> None:
    """One line on stderr: what went wrong, for a person; secrets masked (:func:`redact`)."""
    from bot.logs import redact

    typer.echo(f"alertbot: {redact(message)}", err=True)


def settings_or_exit() -> Any:
    """The settings from the environment, its secrets registered for masking; a bad
    value is one line per variable and exit 2 (never pydantic's report)."""
    from bot.config import SettingsError, load_settings
    from bot.logs import register_secrets

    try:
        settings = load_settings()
    except SettingsError as err:
        for line in err.lines:
            error(f"bad setting {line}")
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    register_secrets(settings.secret_values())
    return settings


def load_watchlists_or_exit(directory: Path, min_score: float | None = None) -> list[Watchlist]:
    watchlists, errors = load_dir(directory)
    for err in errors:
        error(str(err))
    if errors:
        raise typer.Exit(EXIT_INPUT_ERROR)
    if not watchlists:
        error(f"{directory}: no watchlists (*.yaml) found")
        raise typer.Exit(EXIT_INPUT_ERROR)
    if min_score is not None:
        watchlists = [replace(wl, min_score=min_score) for wl in watchlists]
    return watchlists


def where_line(settings: Any) -> str:
    """The database (absolute, password hidden) and the watchlist folder, in one line:
    which data a command works on is never a guess (a relative SQLite path is
    relative to the folder the command runs in)."""
    from bot.store.db import describe_database

    folder = Path(settings.watchlist_dir).expanduser().resolve()
    return f"database {describe_database(settings.database_url)}; watchlists {folder}"


def inform(line: str) -> None:
    """``line`` once on stderr: an INFO log line, or printed when INFO lines are not shown."""
    import logging

    log = logging.getLogger("alertbot")
    if log.isEnabledFor(logging.INFO):
        log.info("%s", line)
    else:
        from bot.logs import redact

        typer.echo(redact(line), err=True)


def announce_where(settings: Any) -> None:
    """Log :func:`where_line` at INFO, and print it when INFO lines are not shown."""
    import logging

    log = logging.getLogger("alertbot")
    inform(where_line(settings))
    stray = Path("data", "alertbot.db")
    if settings.database_url == default_database_url() and stray.is_file():
        here = stray.resolve()
        if here != Path(describe_default()).resolve():
            log.warning(
                "%s is not the default database any more (%s); to use it, set "
                "DATABASE_URL=sqlite:///%s",
                here,
                describe_default(),
                here,
            )


def describe_default() -> str:
    """The path of the default SQLite file."""
    return str(default_data_dir() / "alertbot.db")


# the environment variables bot.config.Settings reads (tests/test_cli_settings.py checks)
SETTING_NAMES = frozenset(
    ["DATABASE_URL", "WATCHLIST_DIR", "SOURCES", "TELEGRAM_TOKEN", "TELEGRAM_API_URL", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "ALLOWED_CHATS", "ADMIN_USERS", "ALLOW_PRIVATE_SOURCES", "INGEST_TOKEN", "HTTP_HOST", "HTTP_PORT", "HTTP_ENABLED", "LOG_LEVEL", "LOG_FORMAT", "RETENTION_DAYS", "WORKER_ID", "LEADER_CHECK_S", "OUTBOX_LEASE_S", "MAX_MATCH_CHARS", "FOLD_THRESHOLD", "OUTBOX_DRAIN_S", "SENDS_IN_FLIGHT", "STREAM_CLAIM_IDLE_S", "EXPORT_DIR"]
)


def max_match_chars() -> int:
    """``MAX_MATCH_CHARS`` from the settings (environment or ``.env``).

    With no ``.env`` in the working directory and no setting in the environment the
    settings are all defaults, so the default is returned without loading
    pydantic-settings (~0.06 s of each ``alertbot scan``); else as ``Settings()`` reads it.
    """
    if not os.path.lexists(".env") and SETTING_NAMES.isdisjoint(k.upper() for k in os.environ):
        return MAX_MATCH_CHARS
    from bot.config import Settings

    return Settings().max_match_chars


class Progress:
    """A periodic line on stderr for long runs (every ``every`` seconds)."""

    def __init__(self, label: str, every: float = 2.0):
        self.label = label
        self.every = every
        self.count = 0
        self.started = time.monotonic()
        self._last = self.started

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            rate = self.count / max(now - self.started, 1e-9)
            typer.echo(f"… {self.count} {self.label} ({rate:.0f}/s)", err=True)


@app.command(cls=ReadableCommand)
def scan(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="INPUT...",
            help="Files, folders, URLs, or - for stdin (.txt .html .xml/.rss/.atom .json .jsonl)."
        ),
    ],
    watchlists: Annotated[
        Path | None, typer.Option("--watchlists", "-w", metavar="DIR", help="Folder of watchlist YAML files.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", metavar="text|json", help="text or json")] = (
        OutputFormat.text
    ),
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", min=0.0, max=1.0, metavar="0..1", help="Override every watchlist's min_score."),
    ] = None,
) -> None:
    """Match articles against the watchlists once and print the alerts."""
    from bot.engine.analyse import analyse
    from bot.ingest import iter_inputs
    from bot.models import match_record
    from handlers.render import plain_match

    matcher = Matcher(
        load_watchlists_or_exit(watchlists or default_watchlist_dir(), min_score),
        max_chars=max_match_chars(),
    )
    color = output is OutputFormat.text and sys.stdout.isatty()
    failed = False
    alerts = 0
    progress = Progress("articles scanned")
    for _spec, result in iter_inputs(inputs):
        if isinstance(result, Exception):
            error(str(result))
            failed = True
            continue
        for article in result:
            progress.tick()
            for match in analyse(article, matcher):
                alerts += 1
                if output is OutputFormat.json:
                    typer.echo(json.dumps(match_record(match), ensure_ascii=False))
                else:
                    typer.echo(plain_match(match, color) + "\n")
    if output is OutputFormat.text:
        typer.echo(f"{alerts} alert(s) from {progress.count} article(s).", err=True)
    if failed:
        raise typer.Exit(EXIT_INPUT_ERROR)


@app.command("eval", cls=ReadableCommand)
def eval_command(
    labelled: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSON lines with title, text, label (and id, url, why).")
    ],
    watchlists: Annotated[
        Path | None, typer.Option("--watchlists", "-w", metavar="DIR", help="Folder of watchlist YAML files.")
    ] = None,
    label_map: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="LABEL=WL", help="LABEL=WL[,WL...]: watchlists that catch a label (repeatable)."),
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            "--baseline",
            metavar="RULE",
            help="Also score 'TERM anywhere', or a rule such as '(troops OR soldiers) AND (deploy* OR moved)', as a baseline (repeatable)."
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", metavar="text|json", help="text or json")] = (
        OutputFormat.text
    ),
    errors: Annotated[
        bool, typer.Option("--errors/--no-errors", help="List every FP and FN.")
    ] = True,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="FILTER",
            help="FIELD=V1[,V2...] or FIELD~REGEX: evaluate only these items (repeatable).",
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option("--skip", metavar="FILTER", help="FIELD=V1[,V2...] or FIELD~REGEX: leave these items out."),
    ] = None,
    learn_first: Annotated[
        int | None,
        typer.Option(
            "--learn-first",
            metavar="N",
            help="Learn from the feedback on the first N alerts of the stream (per source, in time order), evaluate the rest with and without the learned stage.",
        ),
    ] = None,
) -> None:
    """Precision and recall of the watchlists on a labelled file, with every miss explained."""
    from bot.engine import evaluation

    matcher = Matcher(
        load_watchlists_or_exit(watchlists or default_watchlist_dir()), max_chars=max_match_chars()
    )
    try:
        keep = [evaluation.parse_filter(spec, "--only") for spec in only or []]
        drop = [evaluation.parse_filter(spec, "--skip") for spec in skip or []]
        items = evaluation.select(evaluation.load_labelled(labelled), keep, drop)
        if learn_first is not None:
            from bot.engine import learneval

            learned = learneval.learn_and_evaluate(
                items, matcher, learn_first, evaluation.parse_map(label_map or [])
            )
            if output is OutputFormat.json:
                typer.echo(learneval.render_json(learned))
            else:
                typer.echo(learneval.render_text(learned))
            return
        report = evaluation.evaluate(
            items, matcher, evaluation.parse_map(label_map or []), baseline or []
        )
        report.selection = [f"--only {f.spec}" for f in keep] + [f"--skip {f.spec}" for f in drop]
    except evaluation.EvalError as err:
        error(str(err))
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    if output is OutputFormat.json:
        typer.echo(evaluation.render_json(report))
    else:
        typer.echo(evaluation.render_text(report, show_errors=errors))


@app.command("learn", cls=ReadableCommand)
def learn_command(
    labelled: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSON lines with title, text, label (as for eval).")
    ],
    watchlist: Annotated[
        str, typer.Option("--watchlist", metavar="WL", help="The watchlist whose model learns.")
    ],
    label_map: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="LABEL=WL", help="LABEL=WL[,WL...]: watchlists that catch a label (repeatable)."),
    ] = None,
) -> None:
    """Learn a watchlist's relevance model from a labelled file: stored, used by alertbot run."""
    from bot.engine import evaluation, learneval
    from bot.runtime.learning import learn_file

    settings = settings_or_exit()
    announce_where(settings)
    try:
        items, problems = evaluation.load_labelled_lenient(labelled)
        label_map_parsed = evaluation.parse_map(label_map or [])
    except evaluation.EvalError as err:
        error(str(err))
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    for line in problems[:MAX_BAD_LINES_SHOWN]:
        error(f"{line} (skipped)")
    if len(problems) > MAX_BAD_LINES_SHOWN:
        error(f"… and {len(problems) - MAX_BAD_LINES_SHOWN} more bad lines (skipped)")
    if not items:
        error(f"{labelled}: no labelled items to learn from")
        raise typer.Exit(EXIT_INPUT_ERROR)
    service = _open_service(settings)
    try:
        service.load_watchlists()
        learned = learn_file(service.factory, service.matcher, items, watchlist, label_map_parsed)
    except evaluation.EvalError as err:
        error(str(err))
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    finally:
        import asyncio

        asyncio.run(service.close())
    typer.echo(learneval.render_file_learning(watchlist, len(items), len(problems), learned))


@app.command(cls=ReadableCommand)
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Poll every source once, push what is new, and exit.")
    ] = False,
    sources: Annotated[
        Path | None,
        typer.Option("--sources", metavar="FILE", help="sources.yaml (default: SOURCES or the samples)."),
    ] = None,
    watchlists: Annotated[
        Path | None, typer.Option("--watchlists", "-w", metavar="DIR", help="Folder of watchlist YAML files.")
    ] = None,
) -> None:
    """Run the watch: poll sources on a schedule, store, match, and push alerts."""
    import asyncio
    import contextlib

    from bot.logs import configure_logging

    settings = settings_or_exit()
    if sources is not None:
        settings.sources = sources
    if watchlists is not None:
        settings.watchlist_dir = watchlists
    configure_logging(settings.log_level, settings.log_format)
    announce_where(settings)
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while shutting down
        asyncio.run(_run(settings, once))


async def _run(settings: object, once: bool) -> None:
    import asyncio
    import logging
    import signal

    from bot.config import Settings
    from bot.engine import wordscan
    from bot.ingest.sources import SourceError
    from bot.runtime.scheduler import InFlight, make_scheduler, schedule_all
    from bot.runtime.service import Service
    from bot.store.db import session_scope
    from bot.store.sources import make_all_due
    from handlers.console import ConsoleNotifier

    assert isinstance(settings, Settings)
    log = logging.getLogger("alertbot")
    notifiers = {} if settings.has_chat else {"console": ConsoleNotifier()}
    try:
        service = Service(settings, notifiers)  # type: ignore[arg-type]
    except Exception as exc:  # the database is the one thing we cannot run without
        error(f"cannot open the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    try:
        watchlists = service.load_watchlists()
        refusal = watchlist_folder_refusal(settings.watchlist_dir, service.folder_load)
        if refusal or not watchlists:
            error(refusal or f"{settings.watchlist_dir}: no usable watchlists")
            raise typer.Exit(EXIT_INPUT_ERROR)
        try:
            specs = service.sync_sources()
        except SourceError as err:
            error(str(err))
            raise typer.Exit(EXIT_INPUT_ERROR) from None
        if not settings.has_chat:
            service.subscribe_console()
            log.info("no chat token set: alerts are printed here")
        if not wordscan.NATIVE:
            log.warning(
                "matcher: bot.engine._wordscan was not compiled (no C compiler at install): "
                "same alerts, several times slower; reinstall with gcc to fix"
            )
        log.info("sources: %s", ", ".join(s.name for s in specs) or "none")
        if once:
            with session_scope(service.factory) as session:
                make_all_due(session)
            reports = [await service.poll_source(sid, once=True) for sid, _ in service.source_ids()]
            await service.poll_streams_once()
            while await service.drain_outbox():
                pass
            line, all_failed = once_summary(reports)
            inform(line)
            if all_failed:
                raise typer.Exit(EXIT_ALL_SOURCES_FAILED)
            return
        from bot.runtime.webapp import SCHEDULER_KEY, make_web_app

        web_app = make_web_app(service)
        scheduler = make_scheduler()
        web_app[SCHEDULER_KEY] = scheduler  # /healthz: 503 until it runs, and once it stops
        faces = await _start_faces(service, settings, web_app)
        runner = None
        try:
            if settings.needs_http:
                runner = await _start_http(web_app, settings)
            await _register_webhooks(faces)  # once the server listens: Telegram posts at once
        except BaseException:
            for face in faces:
                await face.stop()
            if runner is not None:
                await runner.cleanup()
            raise
        inflight = InFlight()
        from handlers.commands.answers import send_digests

        schedule_all(scheduler, service, inflight, digests=send_digests)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler.start()
        log.info("alertbot is running (Ctrl-C to stop)")
        await stop.wait()
        log.info("stopping: finishing the work in hand")
        service.stopping = True
        scheduler.pause()  # no new runs; running jobs finish what they hold
        await inflight.wait(timeout=30)
        scheduler.shutdown(wait=False)
        for face in faces:
            await face.stop()
        if runner is not None:
            await runner.cleanup()
    finally:
        await service.close()


async def _start_http(web_app: Any, settings: Any) -> Any:
    """The HTTP server on HTTP_HOST:HTTP_PORT; a port in use is one line and exit 2."""
    from bot.runtime.webapp import start_web

    try:
        return await start_web(web_app, settings.http_host, settings.http_port)
    except OSError as exc:
        error(
            f"cannot listen on {settings.http_host}:{settings.http_port} (HTTP_HOST, HTTP_PORT): "
            f"{exc.strerror or exc}"
        )
        raise typer.Exit(EXIT_INPUT_ERROR) from None


async def _register_webhooks(faces: list[Any]) -> None:
    """``setWebhook`` for a Telegram face in webhook mode; a refusal is one line and exit 2
    (no fallback to polling: the operator asked for a webhook, and a silent fall-back
    would hide a broken URL)."""
    for face in faces:
        webhook = getattr(face, "webhook", None)
        if webhook is None:
            continue
        try:
            await webhook.register()
        except RuntimeError as exc:
            error(str(exc))
            raise typer.Exit(EXIT_INPUT_ERROR) from None


def watchlist_folder_refusal(directory: Path, load: Any) -> str | None:
    """Why ``run`` refuses to start on the watchlist folder, or None.

    A folder that is missing, or whose every watchlist file fails to load, is
    refused (exit 2) whether or not the database holds watchlists from an
    earlier run: running on those would hide the mistake behind a normal start,
    and a fresh database already had to refuse. Files that partly load start
    the watch (the bad ones are logged); so does a folder with no files at all
    (the watchlists then come from chat).
    """
    if not load.exists:
        return f"{directory}: no such watchlist folder"
    if load.all_failed:
        return f"{directory}: no watchlist file loads; the first error: {load.errors[0]}"
    return None


def once_summary(reports: list[Any]) -> tuple[str, bool]:
    """The last line of ``run --once`` (sources ok/failed, new articles, alerts), and
    whether every source that was polled failed (then the run exits 1)."""
    polled = [r for r in reports if r.polled]
    failed = sum(1 for r in polled if r.error)
    new = sum(r.stored for r in polled)
    alerts = sum(len(r.alerts) for r in polled)
    line = (
        f"run --once: {len(polled) - failed} source(s) ok, {failed} failed; "
        f"{new} new article(s), {alerts} alert(s)"
    )
    skipped = len(reports) - len(polled)
    if skipped:
        line += f"; {skipped} source(s) skipped (being polled by another worker)"
    return line, bool(polled) and failed == len(polled)


async def _start_faces(service: Any, settings: Any, web_app: Any) -> list[Any]:
    """Start the Telegram and/or Slack faces whose tokens are set; their notifiers push."""
    import logging

    log = logging.getLogger("alertbot")
    faces: list[Any] = []
    try:
        if settings.telegram_token is not None:
            from bot.runtime.leader import Leadership
            from handlers.telegram import TelegramFace

            telegram = TelegramFace(service, settings)
            service.notifiers["telegram"] = telegram.notifier
            if settings.telegram_webhook_url:  # updates come to any replica's HTTP server
                from handlers.telegram_webhook import TelegramWebhook

                telegram.webhook = TelegramWebhook(telegram, settings)
                telegram.webhook.mount(web_app)
            await telegram.start(polling=False)
            faces.append(telegram)
            if telegram.webhook is not None:
                log.info("Telegram: webhook at %s for commands, pushing alerts", settings.webhook_path)
            else:
                # one replica polls getUpdates at a time; another takes over when it dies
                polling = Leadership(
                    service.engine,
                    f"telegram-polling:{telegram.bot_id}",
                    telegram.start_polling,
                    telegram.stop_polling,
                    check_s=settings.leader_check_s,
                )
                polling.begin()
                faces.insert(0, polling)  # stopped first: the lock is freed for another replica
                log.info("Telegram: polling for commands (one replica at a time), pushing alerts")
        if settings.slack_bot_token is not None:
            from handlers.slack import SlackFace

            slack = SlackFace(service, settings)
            service.notifiers["slack"] = slack.notifier()
            if settings.slack_app_token is None:
                slack.mount(web_app)
            await slack.start()
            faces.append(slack)
            mode = "Socket Mode" if settings.slack_app_token else "HTTP (POST /slack/events)"
            log.info("Slack: %s, pushing alerts", mode)
    except Exception as exc:  # a bad token or an unreachable API: say which, in one line
        for face in faces:
            await face.stop()
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        error(f"cannot start the chat faces: {first}")
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    return faces


@app.command(cls=ReadableCommand)
def healthcheck(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Default: http://HTTP_HOST:HTTP_PORT/healthz (127.0.0.1 when HTTP_HOST is 0.0.0.0).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1)] = 5.0,
) -> None:
    """Ask a running `alertbot run` for /healthz: exit 0 when healthy, 1 when not (Docker's HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    if url is None:
        try:
            settings = settings_or_exit()
        except typer.Exit:  # Docker reserves exit 2: a bad setting is "unhealthy" (1)
            raise typer.Exit(1) from None
        host = settings.http_host
        host = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
        host = f"[{host}]" if ":" in host else host
        url = f"http://{host}:{settings.http_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own URL)
            status, body = response.status, response.read(10_000)
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read(10_000)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        error(f"unhealthy: {url}: {reason}")
        raise typer.Exit(1) from None
    text = body.decode("utf-8", "replace").strip()
    if status == 200:
        typer.echo(f"healthy: {text}")
        return
    error(f"unhealthy (HTTP {status}): {text}")
    raise typer.Exit(1)


@app.command(cls=ReadableCommand)
def chat(
    watchlists: Annotated[
        Path | None, typer.Option("--watchlists", "-w", metavar="DIR", help="Folder of watchlist YAML files.")
    ] = None,
) -> None:
    """The chat commands in a terminal (help, watchlists, add, subscribe, …)."""
    import asyncio
    import contextlib

    from bot.logs import configure_logging

    settings = settings_or_exit()
    if watchlists is not None:
        settings.watchlist_dir = watchlists
    configure_logging("WARNING")
    announce_where(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_chat(settings))


def _open_service(settings: Any) -> Service:
    """A Service without chat faces (``learn``, ``chat``), or one line and exit 2 when the
    database cannot be opened."""
    from bot.runtime.service import Service  # noqa: F811 - the late import (see the top)

    try:
        return Service(settings, {})
    except Exception as exc:  # the database is the one thing we cannot run without
        error(f"cannot open the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        raise typer.Exit(EXIT_INPUT_ERROR) from None


async def _chat(settings: object) -> None:
    from bot.config import Settings
    from handlers.console import repl

    assert isinstance(settings, Settings)
    service = _open_service(settings)
    try:
        service.load_watchlists()
        if sys.stdin.isatty():
            typer.echo("alertbot chat — type help for the commands, quit to leave.")
        await repl(service, sys.stdin, sys.stdout)
    finally:
        await service.close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
