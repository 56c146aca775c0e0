"""Per-token sliding-window rate limit (spec "Rate Limits"): the limiter itself, then over HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bridge.app import create_app
from bridge.models import Team
from bridge.ratelimit import SlidingWindowLimiter
from bridge.schemas import AgentData
from bridge.settings import Settings
from tests.conftest import Tenant, assert_error, make_tenant


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_allows_limit_hits_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    verdicts = [limiter.hit("a") for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, True]
    assert [v.remaining for v in verdicts] == [2, 1, 0]
    assert {v.reset_at for v in verdicts} == {1_060}
    assert verdicts[0].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": "1060",
    }

    clock.now = 1_010.0
    refused = limiter.hit("a")
    assert (refused.allowed, refused.remaining, refused.reset_at, refused.retry_after) == (False, 0, 1_060, 50)
    assert refused.headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1060",
        "Retry-After": "50",
    }


def test_window_slides_one_hit_at_a_time() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    for at in (1_000.0, 1_020.0, 1_040.0):
        clock.now = at
        assert limiter.hit("a").allowed
    clock.now = 1_059.0
    assert limiter.hit("a").retry_after == 1
    # At 1060 the first hit leaves the window: exactly one more request fits.
    clock.now = 1_060.0
    verdict = limiter.hit("a")
    assert (verdict.allowed, verdict.remaining, verdict.reset_at) == (True, 0, 1_080)
    refused = limiter.hit("a")
    assert (refused.allowed, refused.retry_after, refused.reset_at) == (False, 20, 1_080)
    clock.now = 1_101.0  # 1020 and 1040 have left; 1060 remains
    verdict = limiter.hit("a")
    assert (verdict.allowed, verdict.remaining, verdict.reset_at) == (True, 1, 1_120)


def test_refused_requests_do_not_extend_the_block() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10, clock=clock)
    assert limiter.hit("a").allowed
    for step in range(1, 10):
        clock.now = 1_000.0 + step
        assert not limiter.hit("a").allowed
    clock.now = 1_010.0
    assert limiter.hit("a").allowed


def test_retry_after_rounds_up_and_is_at_least_one_second() -> None:
    clock = FakeClock(1_000.5)
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    assert limiter.hit("a").reset_at == 1_061
    clock.now = 1_060.4
    refused = limiter.hit("a")
    assert (refused.retry_after, refused.reset_at) == (1, 1_061)
    clock.now = 1_030.0
    assert limiter.hit("a").retry_after == 31


def test_keys_are_counted_separately() -> None:
    limiter = SlidingWindowLimiter(2, 60, clock=FakeClock())
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, False]
    b = limiter.hit("b")
    assert (b.allowed, b.remaining) == (True, 1)


def test_idle_keys_are_forgotten() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 60, clock=clock)
    for key in ("a", "b", "c"):
        limiter.hit(key)
    assert limiter.tracked_keys == 3
    clock.now = 1_061.0
    limiter.hit("d")
    assert limiter.tracked_keys == 1
    verdict = limiter.hit("a")
    assert verdict.remaining == 4


# -- over HTTP -----------------------------------------------------------------------------------
async def _tiny_limit_client(settings: Settings, aiohttp_client: Any, limit: int = 3) -> Any:
    app: web.Application = create_app(settings.model_copy(update={"rate_limit": limit}))
    return await aiohttp_client(app)


async def _agent_token(tenant: Tenant) -> str:
    """An agent token made through the store, so creating it spends none of the admin's requests."""
    async with tenant.store.writer(tenant.account_id) as w:
        user, _ = await w.create_agent(
            AgentData(name="Agent", email=f"{uuid.uuid4().hex[:10]}@example.com", role="agent")
        )
        return await w.create_token(owner_type="user", owner_id=user.id)


async def test_responses_count_down_then_429(settings: Settings, aiohttp_client: Any) -> None:
    client = await _tiny_limit_client(settings, aiohttp_client)
    tenant = await make_tenant(client)
    remaining = []
    for path in ("/agents", "/teams", "/teams/999999999"):  # an error response counts and carries headers too
        async with client.get(tenant.url(path), headers=tenant.headers) as response:
            assert response.status in {200, 404}
            assert response.headers["X-RateLimit-Limit"] == "3"
            reset = int(response.headers["X-RateLimit-Reset"])
            assert time.time() < reset <= time.time() + 61
            assert "Retry-After" not in response.headers
            remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]

    async with client.get(tenant.url("/agents"), headers=tenant.headers) as response:
        data = await response.json()
        assert_error(response.status, data, 429)
        assert data["errors"][0]["code"] == "rate_limited"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert int(response.headers["X-RateLimit-Reset"]) == reset
        assert f"retry after {response.headers['Retry-After']} seconds" in data["errors"][0]["message"]


async def test_limits_are_per_token(settings: Settings, aiohttp_client: Any) -> None:
    client = await _tiny_limit_client(settings, aiohttp_client, limit=1)
    tenant = await make_tenant(client)
    agent_token = await _agent_token(tenant)
    await tenant.call("GET", "/agents", expect=200)
    status, data = await tenant.call("GET", "/agents")
    assert_error(status, data, 429)
    # Same account, another token: its own budget.
    async with client.get(tenant.url("/agents"), headers={"api_access_token": agent_token}) as response:
        assert response.status == 200
        assert response.headers["X-RateLimit-Remaining"] == "0"
    # The same token sent as a bearer token shares the budget it already spent.
    async with client.get(tenant.url("/agents"), headers={"Authorization": f"Bearer {agent_token}"}) as response:
        assert_error(response.status, await response.json(), 429)


async def test_writes_refused_by_the_limit_change_nothing(settings: Settings, aiohttp_client: Any) -> None:
    client = await _tiny_limit_client(settings, aiohttp_client, limit=1)
    tenant = await make_tenant(client)
    await tenant.call("POST", "/teams", json={"name": "First"}, expect=200)
    status, data = await tenant.call("POST", "/teams", json={"name": "Second"})
    assert_error(status, data, 429)
    async with tenant.store.reader() as session:
        names = (await session.execute(select(Team.name).where(Team.account_id == tenant.account_id))).scalars()
        assert list(names) == ["First"]


async def test_public_and_unauthenticated_requests_are_not_counted(settings: Settings, aiohttp_client: Any) -> None:
    client = await _tiny_limit_client(settings, aiohttp_client, limit=1)
    tenant = await make_tenant(client)
    for _ in range(3):
        async with client.get("/healthz") as response:
            assert response.status == 200
            assert "X-RateLimit-Limit" not in response.headers
        async with client.get(tenant.url("/agents"), headers={"api_access_token": "wrong"}) as response:
            assert_error(response.status, await response.json(), 401)
    async with client.get(tenant.url("/agents"), headers=tenant.headers) as response:
        assert response.status == 200
        assert response.headers["X-RateLimit-Remaining"] == "0"


async def test_forbidden_and_foreign_account_responses_carry_the_headers(
    settings: Settings, aiohttp_client: Any
) -> None:
    client = await _tiny_limit_client(settings, aiohttp_client, limit=5)
    tenant = await make_tenant(client)
    other = await make_tenant(client, "Globex")
    agent_token = await _agent_token(tenant)
    status, _ = await tenant.call("POST", "/teams", json={"name": "X"}, token=agent_token)
    assert status == 403
    async with client.post(
        tenant.url("/teams"), json={"name": "X"}, headers={"api_access_token": agent_token}
    ) as response:
        assert response.status == 403
        assert response.headers["X-RateLimit-Remaining"] == "3"
    async with client.get(other.url("/agents"), headers=tenant.headers) as response:
        assert_error(response.status, await response.json(), 404)
        assert response.headers["X-RateLimit-Remaining"] == "4"
