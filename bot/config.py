"""Configuration from the environment (and an optional ``.env`` file).

Every setting has a default that works on a fresh clone: SQLite in the
clone's ``data/`` (installed: the per-user data folder; ``bot/bundled.py``), the bundled watchlists and sample sources, no chat tokens (the
console face only). Tokens are ``SecretStr``: they never reach a log line or
a ``repr``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.bundled import default_data_dir, default_database_url, default_dir
from bot.limits import MAX_MATCH_CHARS

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "text")
# the Bot API's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# paths of the HTTP server that a webhook URL may not take over
RESERVED_PATHS = ("/ingest", "/healthz", "/metrics", "/slack/events")
MAX_SHOWN = 60  # characters of a bad value quoted back


class SettingsError(ValueError):
    """Settings that do not validate; ``lines`` has one line per bad variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # data/alertbot.db of the clone, or of the per-user data folder (bot/bundled.py)
    database_url: str = Field(default_factory=default_database_url)
    # the clone's watchlists/ and samples/, or in an installed package its copies (bot/bundled.py)
    watchlist_dir: Path = Field(default_factory=lambda: default_dir("watchlists"))
    sources: Path = Field(default_factory=lambda: default_dir("samples") / "sources.yaml")
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    # webhook mode (instead of long polling): the public HTTPS URL Telegram posts updates
    # to; it must reach HTTP_HOST:HTTP_PORT with the same path (a reverse proxy)
    telegram_webhook_url: str | None = None
    # the secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token; default: derived
    # from TELEGRAM_TOKEN, so that every replica checks the same one
    telegram_webhook_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    allowed_chats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allow_private_sources: bool = False
    ingest_token: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # start the HTTP server (for /healthz and /metrics) even when nothing else needs it
    http_enabled: bool = False
    log_level: str = "INFO"
    log_format: str = "auto"  # auto: JSON lines when stderr is not a terminal; json; text
    retention_days: int = 90
    worker_id: str = ""
    # replicas on PostgreSQL: how often one that does not poll Telegram tries to take over
    leader_check_s: float = Field(default=5.0, gt=0)
    # seconds a replica holds the outbox rows it claimed; a replica that dies mid-send
    # leaves them to the others after this (a longer send than this may be repeated)
    outbox_lease_s: float = Field(default=60.0, ge=1)
    # characters of an article's text that are matched; the rest is not read, and the
    # alert says so (a page of 17 MB costs what its first megabyte costs)
    max_match_chars: int = Field(default=MAX_MATCH_CHARS, ge=1_000)
    # a chat's backlog past this many alerts is a flood: the rest go out as one message
    # listing them (0: never fold)
    fold_threshold: int = Field(default=10, ge=0)
    # seconds between two looks at the outbox when nothing woke the sender (retries that
    # came due; a wake that was missed)
    outbox_drain_s: float = Field(default=5.0, gt=0)
    # messages one process sends at once; a crash may repeat this many (sent, not marked)
    sends_in_flight: int = Field(default=1, ge=1, le=100)
    # a redis-stream entry read by a consumer that then went silent this long is taken
    # over by another replica's consumer (XAUTOCLAIM)
    stream_claim_idle_s: float = Field(default=60.0, ge=0)
    # where the terminal (``alertbot chat``) writes attachments: exports, trend charts
    export_dir: Path | None = None

    @field_validator("allowed_chats", "admin_users", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        if isinstance(value, str):
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in LOG_FORMATS:
            return value.strip().lower()
        if isinstance(value, str):
            raise ValueError(f"expected one of {', '.join(LOG_FORMATS)}")
        return value

    @field_validator("telegram_webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if not isinstance(value, str):
            return value
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("expected an https:// URL")
        if (parts.path or "/").rstrip("/") in RESERVED_PATHS:
            raise ValueError(f"the path {parts.path} is taken; use e.g. /telegram/webhook")
        return value.strip()

    @field_validator("telegram_webhook_secret", mode="after")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def webhook_path(self) -> str:
        """The path of TELEGRAM_WEBHOOK_URL, where the HTTP server takes Telegram's posts."""
        return urlsplit(self.telegram_webhook_url or "").path or "/"

    @property
    def needs_http(self) -> bool:
        """Whether ``alertbot run`` starts the HTTP server."""
        slack_http = self.slack_bot_token is not None and self.slack_app_token is None
        return bool(
            self.http_enabled
            or self.ingest_token is not None
            or slack_http
            or (self.telegram_token is not None and self.telegram_webhook_url)
        )

    def secret_values(self) -> list[str]:
        """Every configured secret, for :func:`bot.logs.register_secrets`."""
        secrets = (
            self.telegram_token,
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.ingest_token,
            self.telegram_webhook_secret,
        )
        return [s.get_secret_value() for s in secrets if s is not None]

    def serves(self, chat_key: str) -> bool:
        """ALLOWED_CHATS, when set, lists every chat the bot serves: commands, buttons,
        pushes and digests alike (the terminal is always served)."""
        return not self.allowed_chats or chat_key in self.allowed_chats or (
            chat_key.startswith("console:")
        )

    def exports_folder(self) -> Path:
        """EXPORT_DIR, else ``exports`` in the SQLite database's folder (for the default
        database, and for a server one: ``exports`` of :func:`default_data_dir`, never
        of the working directory)."""
        if self.export_dir is not None:
            return self.export_dir.expanduser()
        from sqlalchemy.engine import make_url  # here: SQLAlchemy is not loaded for a scan
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(self.database_url)
        except ArgumentError:
            url = None
        database = url.database if url is not None and url.get_backend_name() == "sqlite" else None
        if not database or database == ":memory:" or database.startswith("file:"):
            return default_data_dir() / "exports"
        return Path(database).expanduser().parent / "exports"

    @property
    def has_chat(self) -> bool:
        return bool(self.telegram_token or self.slack_bot_token)


def load_settings(**overrides: Any) -> Settings:
    """:class:`Settings` from the environment; :class:`SettingsError` names each bad variable.

    pydantic's own error is a multi-line report with links; a person who set
    ``RETENTION_DAYS=abc`` needs one line: the variable, the value, what is expected.
    """
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise SettingsError([_describe(e) for e in err.errors()]) from None


def _describe(error: Any) -> str:
    field = str(error["loc"][0]) if error.get("loc") else "a setting"
    name = field.upper()
    value = error.get("input")
    shown = repr(value) if isinstance(value, str | int | float) else ""
    if "token" in field or "secret" in field:
        shown = "(hidden)"
    if len(shown) > MAX_SHOWN:
        shown = shown[: MAX_SHOWN - 1] + "…"
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if message.startswith("Input should be "):
        message = "expected " + message.removeprefix("Input should be ").split(",")[0]
    return f"{name}={shown}: {message}" if shown else f"{name}: {message}"
