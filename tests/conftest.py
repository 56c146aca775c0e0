"""Test harness: one migrated database per run (SQLite file, or a fresh PostgreSQL database), fresh accounts per test.

Set ``BRIDGE_TEST_DATABASE_URL`` to a PostgreSQL URL (any database on the server) to run the suite on
PostgreSQL; a new database is created for the run and dropped after it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy.engine import make_url

from bridge import appkeys, db
from bridge.app import create_app
from bridge.schemas import ContactData
from bridge.settings import Settings
from bridge.store import Store

# Hypothesis keeps caches under ./.hypothesis by default; pyproject's ``norecursedirs`` replaces pytest's default
# ignores, so such a folder in the work tree makes every later collection warn (an error under filterwarnings).
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "supportly-bridge-hypothesis")


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    base = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    return base.render_as_string(hide_password=False), parsed.set(drivername="postgresql+asyncpg").render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run."""
    requested = os.environ.get("BRIDGE_TEST_DATABASE_URL", "")
    if not requested.startswith("postgres"):
        path = tmp_path_factory.mktemp("db") / "bridge.db"
        url = f"sqlite+aiosqlite:///{path}"
        db.upgrade_sync(url)
        yield url
        return
    admin_dsn, _ = _pg_admin_dsn(requested)
    name = f"bridge_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = make_url(requested).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    try:
        db.upgrade_sync(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    # Tests read tickets inline (fixture hooks in this process see every request); a test marked
    # ``migration_reader("process")`` runs its migrations with the reader process.
    reader = request.node.get_closest_marker("migration_reader")
    return Settings(
        database_url=database_url,
        auto_migrate=False,
        allow_private_urls=True,
        attachments_dir=tmp_path / "attachments",
        rate_limit=100_000,
        webhook_backoff_seconds=0.05,
        webhook_timeout_seconds=2.0,
        secret_key="test-secret",
        migration_reader=reader.args[0] if reader is not None else "inline",
    )


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(app: web.Application, aiohttp_client: Any) -> TestClient[web.Request, web.Application]:
    made: TestClient[web.Request, web.Application] = await aiohttp_client(app)
    return made


@dataclass
class Tenant:
    """A fresh account with an administrator, seen through the test client."""

    client: TestClient[web.Request, web.Application]
    account_id: int
    user_id: int
    token: str
    created: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"api_access_token": self.token}

    @property
    def store(self) -> Store:
        return self.client.app[appkeys.STORE]

    def url(self, path: str = "") -> str:
        return f"/api/v1/accounts/{self.account_id}{path}"

    async def call(
        self, method: str, path: str, *, token: str | None = None, expect: int | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        """Call the native API as this tenant's admin (or ``token``); return status and parsed JSON."""
        headers = {"api_access_token": token or self.token, **kwargs.pop("headers", {})}
        async with self.client.request(method, self.url(path), headers=headers, **kwargs) as response:
            body = await response.read()
            data = None
            if body and response.content_type == "application/json":
                data = await response.json()
            if expect is not None:
                assert response.status == expect, (response.status, data)
            return response.status, data

    async def agent(self, name: str = "Agent Smith", role: str = "agent") -> tuple[int, str]:
        """Create an agent with their own token; return (user id, token)."""
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        _, data = await self.call("POST", "/agents", json={"name": name, "email": email, "role": role}, expect=200)
        async with self.store.writer(self.account_id) as w:
            token = await w.create_token(owner_type="user", owner_id=data["id"])
        return data["id"], token

    async def inbox(self, name: str = "Website") -> int:
        _, data = await self.call("POST", "/inboxes", json={"name": name, "channel": {"type": "api"}}, expect=200)
        return int(data["id"])

    async def contact(self, **fields: Any) -> int:
        """Create a contact through the store (the contacts API has its own tests)."""
        fields.setdefault("name", "Jane Smith")
        async with self.store.writer(self.account_id) as w:
            row = await w.create_contact(ContactData.model_validate(fields))
        return row.id

    async def conversation(self, **fields: Any) -> int:
        if "inbox_id" not in fields:
            fields["inbox_id"] = await self.inbox()
        if "contact_id" not in fields:
            fields["contact_id"] = await self.contact(email=f"{uuid.uuid4().hex[:8]}@example.com")
        _, data = await self.call("POST", "/conversations", json=fields, expect=200)
        return int(data["id"])


async def make_tenant(client: TestClient[web.Request, web.Application], name: str = "Acme") -> Tenant:
    store = client.app[appkeys.STORE]
    account = await store.create_account(name)
    user_id, token = await store.create_admin(
        account.id, name="Admin", email=f"admin-{uuid.uuid4().hex[:10]}@example.com"
    )
    return Tenant(client, account.id, user_id, token)


@pytest.fixture
async def tenant(client: TestClient[web.Request, web.Application]) -> Tenant:
    return await make_tenant(client, "Acme")


@pytest.fixture
async def other(client: TestClient[web.Request, web.Application]) -> Tenant:
    """A second account: its objects must be invisible (404) to ``tenant``."""
    return await make_tenant(client, "Globex")


def assert_error(status: int, data: Any, expected_status: int, field: str | None = None) -> None:
    """Assert the native error envelope ``{"errors": [{field, message, code}]}``."""
    assert status == expected_status, (status, data)
    assert isinstance(data, dict), data
    assert isinstance(data.get("errors"), list), data
    assert data["errors"], data
    first = data["errors"][0]
    assert set(first) >= {"field", "message", "code"}, first
    assert first["message"], first
    if field is not None:
        assert field in [e["field"] for e in data["errors"]], data
