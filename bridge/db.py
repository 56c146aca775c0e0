"""Database engine, session factory and schema migration."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported where it is used: it is a fifth of the command line's start-up, and a command that does not
# migrate (``migrate`` with AUTO_MIGRATE=false, say) should not pay for it.

MIGRATIONS_DIR = Path(migrations.__file__).parent


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite database file so a fresh machine needs no set-up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    ensure_sqlite_dir(url)
    json_codec: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **json_codec)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **json_codec)


def _json_dumps(value: Any) -> str:
    """JSON columns through orjson (several times the standard library's speed on imports' attribute blobs)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class SchemaMigrationError(Exception):
    """alembic could not migrate the schema (its message says why)."""


def alembic_config(url: str) -> Config:
    """Return an alembic config for the project's migrations pointed at ``url``."""
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Migrate the schema to ``revision``; :class:`SchemaMigrationError` if alembic cannot."""
    from alembic import command
    from alembic.util import CommandError

    ensure_sqlite_dir(url)
    try:
        command.upgrade(alembic_config(url), revision)
    except CommandError as err:
        raise SchemaMigrationError(str(err)) from err


def downgrade_sync(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    """The newest revision of the project's migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the schema to ``revision``; alembic's env runs its own loop, so use a thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)
