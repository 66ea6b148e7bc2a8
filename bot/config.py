"""Configuration from the environment (and an optional ``.env`` file).

Every setting has a default that works on a fresh clone: SQLite under
``./data/``, the bundled watchlists and sample sources, no chat tokens (the
console face only). Tokens are ``SecretStr``: they never reach a log line or
a ``repr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.bundled import default_dir


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="sqlite:///data/alertbot.db")
    # the clone's watchlists/ and samples/, or in an installed package its copies (bot/bundled.py)
    watchlist_dir: Path = Field(default_factory=lambda: default_dir("watchlists"))
    sources: Path = Field(default_factory=lambda: default_dir("samples") / "sources.yaml")
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
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
    log_level: str = "INFO"
    retention_days: int = 90
    worker_id: str = ""

    @field_validator("allowed_chats", "admin_users", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @property
    def has_chat(self) -> bool:
        return bool(self.telegram_token or self.slack_bot_token)
