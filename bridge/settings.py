"""Read the service's settings from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.loop import LoopChoice

Reader = Literal["inline", "process"]
"""Where a migration reads and maps its biggest phase: in the importing process, or in a reader process beside it."""

DEFAULT_DATA_DIR = Path(os.environ.get("BRIDGE_DATA_DIR", ".supportly-bridge"))


class Settings(BaseModel):
    """Service configuration; every field has an environment variable of the same name in upper case."""

    model_config = ConfigDict(frozen=True)

    database_url: str = Field(default=f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'bridge.db'}")
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    secret_key: str = "dev-insecure-secret-change-me"
    attachments_dir: Path = DEFAULT_DATA_DIR / "attachments"
    max_attachment_bytes: int = 40 * 1024 * 1024
    rate_limit: int = 300
    rate_limit_window_seconds: int = 60
    allow_private_urls: bool = False
    auto_migrate: bool = True
    webhook_max_attempts: int = 6
    webhook_backoff_seconds: float = 2.0
    webhook_timeout_seconds: float = 10.0
    public_url: str | None = None
    # Legacy clients that build the host from a subdomain reach the bridge at {company}.<suffix>.
    supportbee_host_suffix: str = "supportbee.localhost"
    supportbee_public_create_per_hour: int = 5
    supportbee_create_per_minute: int = 8
    # "process": a migration reads and maps tickets in a second process (a second core); "inline": in its own;
    # "auto": a second process when the machine has more than one CPU.
    migration_reader: Literal["auto", "inline", "process"] = "auto"
    # "auto": uvloop when it is installed (it is a dependency on Linux and macOS), else asyncio's loop.
    event_loop: LoopChoice = "auto"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain postgres:// and sqlite:// URLs and pick the async driver for them."""
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    def migration_reader_mode(self) -> Reader:
        """Where migrations read and map tickets (``migration_reader`` with "auto" resolved for this machine)."""
        if self.migration_reader == "auto":
            return "process" if (os.cpu_count() or 1) > 1 else "inline"
        return self.migration_reader

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def base_url(self) -> str:
        """Return the URL clients reach the service at."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from environment variables, then apply explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
