"""SupportBee compat fixtures: a desk bound to a fresh account, reached by path prefix or Host name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import Tenant, make_tenant


@dataclass
class SBDesk:
    """A SupportBee company bound to ``tenant``'s account; ``call`` speaks the SupportBee dialect."""

    tenant: Tenant
    company: str

    @property
    def client(self) -> TestClient[web.Request, web.Application]:
        return self.tenant.client

    @property
    def token(self) -> str:
        return self.tenant.token

    def path(self, path: str) -> str:
        return f"/supportbee/{self.company}{path}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "admin",
        expect: int | None = None,
        host: bool = False,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Call ``path`` (e.g. ``/tickets``) with ``auth_token`` in the query; ``token=None`` calls anonymously.

        ``host=True`` addresses the desk by Host name (``{company}.supportbee.localhost``) instead of the prefix.
        """
        params = dict(kwargs.pop("params", {}) or {})
        if token is not None:
            params["auth_token"] = self.token if token == "admin" else token
        headers = dict(kwargs.pop("headers", {}) or {})
        url = self.path(path)
        if host:
            headers["Host"] = f"{self.company}.supportbee.localhost"
            url = path
        async with self.client.request(method, url, params=params, headers=headers, **kwargs) as response:
            body = await response.read()
            data = None
            if body and response.content_type == "application/json":
                data = await response.json()
            if expect is not None:
                assert response.status == expect, (response.status, data)
            return response.status, data

    async def agent(self, name: str = "Agent Smith", role: str = "agent") -> tuple[int, str]:
        return await self.tenant.agent(name, role)


async def bind(tenant: Tenant, company: str | None = None) -> SBDesk:
    company = company or f"desk{uuid.uuid4().hex[:8]}"
    await tenant.call("POST", "/legacy_tenants", json={"provider": "supportbee", "name": company}, expect=201)
    return SBDesk(tenant, company)


@pytest.fixture
async def desk(tenant: Tenant) -> SBDesk:
    return await bind(tenant)


@pytest.fixture
async def other_desk(client: TestClient[web.Request, web.Application]) -> SBDesk:
    """A second company on a second account: its tickets must be invisible (404) to ``desk``."""
    return await bind(await make_tenant(client, "Globex"))


def assert_sb_error(status: int, data: Any, expected: int) -> None:
    """Assert SupportBee's error dialect: ``{"error": "<message>"}`` with the expected status."""
    assert status == expected, (status, data)
    assert isinstance(data, dict), data
    assert isinstance(data.get("error"), str), data
    assert data["error"], data
