"""The alembic history: head matches the models, and upgrade/downgrade round-trips on an empty database."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bridge import db
from bridge.models import Base


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind this run uses."""
    requested = os.environ.get("BRIDGE_TEST_DATABASE_URL", "")
    if not requested.startswith("postgres"):
        path = tmp_path / "empty.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    base = make_url(requested)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bridge_mig_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables(async_url: str) -> set[str]:
    async def read() -> set[str]:
        engine = db.make_engine(async_url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _diff(async_url: str) -> list[object]:
    async def read() -> list[object]:
        engine = db.make_engine(async_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda c: compare_metadata(
                        MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_upgrade_head_matches_models_and_downgrade_base_empties(empty_database: str) -> None:
    url = empty_database
    db.upgrade_sync(url)
    assert set(Base.metadata.tables) <= _tables(url)
    assert _diff(url) == []
    db.downgrade_sync(url, "base")
    assert _tables(url) <= {"alembic_version"}
    db.upgrade_sync(url)
    assert set(Base.metadata.tables) <= _tables(url)


def test_upgrading_an_sqlite_database_gives_short_bulk_written_times_the_orms_form(empty_database: str) -> None:
    # Bulk imports before revision 0005 stored SQLite times without fractional seconds as "YYYY-MM-DD HH:MM:SS";
    # the ORM writes ".000000" too, and SQLite compares the two as text.
    if not empty_database.startswith("sqlite"):
        pytest.skip("PostgreSQL stores timestamps, not text")
    url = empty_database
    db.upgrade_sync(url, "0004")
    path = make_url(url).database
    assert path is not None
    rows = [
        (1, "2024-05-01 09:30:00", "2024-05-01 09:30:00.250000"),
        (2, "2024-05-01 09:30:00.000000", "2024-05-01 09:31:07"),
    ]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO accounts (id, name, locale, custom_attributes, status, conversation_seq, created_at, "
            "updated_at) VALUES (?, 'Acme', 'en', '{}', 'active', 0, ?, ?)",
            rows,
        )
    db.upgrade_sync(url)
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT id, created_at, updated_at FROM accounts ORDER BY id").fetchall()
    assert stored == [
        (1, "2024-05-01 09:30:00.000000", "2024-05-01 09:30:00.250000"),
        (2, "2024-05-01 09:30:00.000000", "2024-05-01 09:31:07.000000"),
    ]
