"""Webhook delivery: subscribed events reach a local receiver; failures retry with backoff and never block writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bridge.models import WebhookDelivery
from bridge.schemas import ConversationData, WebhookData
from tests.conftest import Tenant


class Receiver:
    """A local HTTP receiver that records JSON posts and answers as told."""

    def __init__(self, answer: Callable[[int], Awaitable[int]] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.attempts = 0
        self.answer = answer
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        status = await self.answer(self.attempts) if self.answer else 200
        if status == 200:
            self.calls.append(await request.json())
            self.arrived.set()
        return web.Response(status=status)

    async def wait_for(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while len(self.calls) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(self.calls)} of {count} deliveries arrived: {self.calls}"
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout=remaining)
            except TimeoutError:
                continue
        return self.calls


@pytest.fixture
async def receiver_factory() -> Any:
    servers: list[TestServer] = []

    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/hook"))

    yield start
    for server in servers:
        await server.close()


async def subscribe(tenant: Tenant, url: str, events: list[str]) -> None:
    async with tenant.store.writer(tenant.account_id) as w:
        await w.create_webhook(WebhookData(url=url, subscriptions=events))


async def deliveries_when(tenant: Tenant, done: Callable[[list[WebhookDelivery]], Any]) -> list[WebhookDelivery]:
    """Poll this tenant's outbox rows until ``done`` holds (or fail after 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        async with tenant.store.reader() as session:
            rows = list(
                (
                    await session.execute(
                        select(WebhookDelivery).where(WebhookDelivery.account_id == tenant.account_id)
                    )
                ).scalars()
            )
        if done(rows):
            return rows
        assert time.monotonic() < deadline, [(r.status, r.attempts) for r in rows]
        await asyncio.sleep(0.05)


async def test_subscribed_events_are_delivered(tenant: Tenant, receiver_factory: Any) -> None:
    receiver = Receiver()
    await subscribe(
        tenant,
        await receiver_factory(receiver),
        ["conversation_created", "conversation_status_changed", "message_created", "contact_created"],
    )
    display_id = await tenant.conversation()
    await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "Hello!"}, expect=200)
    await tenant.call("PATCH", f"/conversations/{display_id}", json={"priority": "high"}, expect=200)
    await tenant.call("POST", f"/conversations/{display_id}/toggle_status", json={"status": "resolved"}, expect=200)
    calls = await receiver.wait_for(4)
    by_event = {call["event"]: call for call in calls}
    assert set(by_event) == {
        "contact_created",
        "conversation_created",
        "message_created",
        "conversation_status_changed",
    }
    assert by_event["conversation_created"]["id"] == display_id
    message = by_event["message_created"]
    assert (message["content"], message["message_type"]) == ("Hello!", "outgoing")
    assert message["conversation"] == {"id": display_id, "status": "open"}
    assert by_event["conversation_status_changed"]["status"] == "resolved"


async def test_unsubscribed_events_and_other_accounts_are_not_delivered(
    tenant: Tenant, other: Tenant, receiver_factory: Any
) -> None:
    receiver = Receiver()
    await subscribe(tenant, await receiver_factory(receiver), ["message_created"])
    await other.call("POST", f"/conversations/{await other.conversation()}/messages", json={"content": "x"})
    display_id = await tenant.conversation()
    await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "mine"}, expect=200)
    calls = await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert [c["event"] for c in calls] == ["message_created"]
    assert calls[0]["content"] == "mine"


async def test_failing_receiver_is_retried_until_it_accepts(tenant: Tenant, receiver_factory: Any) -> None:
    async def flaky(attempt: int) -> int:
        return 500 if attempt <= 2 else 200

    receiver = Receiver(flaky)
    await subscribe(tenant, await receiver_factory(receiver), ["conversation_created"])
    await tenant.conversation()
    calls = await receiver.wait_for(1)
    assert receiver.attempts == 3
    assert calls[0]["event"] == "conversation_created"
    rows = await deliveries_when(tenant, lambda rows: rows and rows[0].status == "delivered")
    assert [(d.status, d.attempts, d.response_status) for d in rows] == [("delivered", 3, 200)]


async def test_receiver_that_always_fails_ends_failed_after_max_attempts(tenant: Tenant, receiver_factory: Any) -> None:
    async def broken(_attempt: int) -> int:
        return 503

    receiver = Receiver(broken)
    await subscribe(tenant, await receiver_factory(receiver), ["conversation_created"])
    await tenant.conversation()
    rows = await deliveries_when(tenant, lambda rows: rows and rows[0].status == "failed")
    assert rows[0].attempts == 6
    assert rows[0].last_error == "receiver answered 503"
    assert receiver.attempts == 6


async def test_slow_receiver_never_delays_the_write(tenant: Tenant, receiver_factory: Any) -> None:
    """A receiver that holds a delivery open does not hold up writes: the message is created (and answered) while
    the receiver still sits on the earlier event. No clock involved, so a busy machine cannot fail it."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def stuck(_attempt: int) -> int:
        arrived.set()
        await release.wait()
        return 200

    receiver = Receiver(stuck)
    await subscribe(tenant, await receiver_factory(receiver), ["conversation_created", "message_created"])
    display_id = await tenant.conversation()
    await asyncio.wait_for(arrived.wait(), 30)
    await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "fast"}, expect=200)
    _, messages = await tenant.call("GET", f"/conversations/{display_id}/messages", expect=200)
    assert "fast" in [m["content"] for m in messages["payload"]]
    assert not release.is_set()
    release.set()


async def test_import_mode_emits_nothing(tenant: Tenant, receiver_factory: Any) -> None:
    receiver = Receiver()
    await subscribe(tenant, await receiver_factory(receiver), ["conversation_created", "contact_created"])
    inbox_id = await tenant.inbox()
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        from bridge.schemas import ContactData

        contact = await w.create_contact(ContactData(name="Imported"))
        await w.create_conversation(ConversationData(inbox_id=inbox_id, contact_id=contact.id))
    async with tenant.store.reader() as session:
        rows = (
            (await session.execute(select(WebhookDelivery).where(WebhookDelivery.account_id == tenant.account_id)))
            .scalars()
            .all()
        )
    assert rows == []
