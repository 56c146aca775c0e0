"""Native API: webhook CRUD (spec "Webhooks"); administrators only. Delivery is tested in tests/test_webhooks.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.app import create_app
from bridge.schemas import WEBHOOK_EVENTS
from bridge.settings import Settings
from tests.conftest import Tenant, assert_error, make_tenant

WEBHOOK_KEYS = {"id", "account_id", "url", "name", "subscriptions"}


async def _webhook(tenant: Tenant, **body: Any) -> dict[str, Any]:
    body.setdefault("url", "https://hooks.example.com/supportly")
    _, data = await tenant.call("POST", "/webhooks", json=body, expect=200)
    webhook: dict[str, Any] = data["payload"]["webhook"]
    return webhook


async def test_create_webhook_and_list_it(tenant: Tenant) -> None:
    body = {
        "url": "https://hooks.example.com/supportly",
        "name": "CRM sync",
        "subscriptions": ["conversation_created", "message_created", "conversation_created"],
    }
    _, data = await tenant.call("POST", "/webhooks", json=body, expect=200)
    created = data["payload"]["webhook"]
    assert set(created) == WEBHOOK_KEYS
    assert created["account_id"] == tenant.account_id
    assert (created["url"], created["name"]) == ("https://hooks.example.com/supportly", "CRM sync")
    assert created["subscriptions"] == ["conversation_created", "message_created"]

    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed == {"payload": {"webhooks": [created]}}


async def test_webhook_without_subscriptions_receives_every_event(tenant: Tenant) -> None:
    created = await _webhook(tenant)
    assert created["subscriptions"] == list(WEBHOOK_EVENTS)
    assert created["name"] is None


async def test_create_webhook_rejects_bad_input(tenant: Tenant) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subscriptions": ["message_created"]}, "url"),
        ({"url": ""}, "url"),
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://example.com/h", "subscriptions": ["message_deleted"]}, "subscriptions.0"),
        ({"url": "https://example.com/h", "subscriptions": []}, "subscriptions"),
        ({"url": "https://example.com/h", "subscriptions": "message_created"}, "subscriptions"),
    ]
    for body, field in cases:
        status, data = await tenant.call("POST", "/webhooks", json=body)
        assert_error(status, data, 422, field)
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed == {"payload": {"webhooks": []}}


async def test_webhook_url_is_unique_per_account(tenant: Tenant, other: Tenant) -> None:
    await _webhook(tenant, url="https://hooks.example.com/a")
    status, data = await tenant.call("POST", "/webhooks", json={"url": "https://hooks.example.com/a"})
    assert_error(status, data, 422, "url")
    assert data["errors"][0]["code"] == "taken"
    await _webhook(other, url="https://hooks.example.com/a")


async def test_update_webhook(tenant: Tenant) -> None:
    created = await _webhook(tenant, subscriptions=["message_created"])
    _, data = await tenant.call(
        "PATCH",
        f"/webhooks/{created['id']}",
        json={"name": "Renamed", "subscriptions": ["contact_created", "contact_updated"]},
        expect=200,
    )
    updated = data["payload"]["webhook"]
    assert set(updated) == WEBHOOK_KEYS
    assert (updated["name"], updated["subscriptions"], updated["url"]) == (
        "Renamed",
        ["contact_created", "contact_updated"],
        created["url"],
    )
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed["payload"]["webhooks"] == [updated]


async def test_update_webhook_rejects_bad_input(tenant: Tenant) -> None:
    first = await _webhook(tenant, url="https://hooks.example.com/a")
    await _webhook(tenant, url="https://hooks.example.com/b")
    path = f"/webhooks/{first['id']}"
    for body, field in (
        ({"url": None}, "url"),
        ({"url": "mailto:ops@example.com"}, "url"),
        ({"url": "https://hooks.example.com/b"}, "url"),
        ({"subscriptions": ["everything"]}, "subscriptions.0"),
        ({"subscriptions": None}, "subscriptions"),
    ):
        status, data = await tenant.call("PATCH", path, json=body)
        assert_error(status, data, 422, field)
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed["payload"]["webhooks"][0] == first


async def test_delete_webhook(tenant: Tenant) -> None:
    created = await _webhook(tenant)
    status, data = await tenant.call("DELETE", f"/webhooks/{created['id']}")
    assert (status, data) == (204, None)
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed == {"payload": {"webhooks": []}}
    status, data = await tenant.call("DELETE", f"/webhooks/{created['id']}")
    assert_error(status, data, 404, "id")


async def test_another_accounts_webhook_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _webhook(other)
    path = f"/webhooks/{theirs['id']}"
    for method, body in (("PATCH", {"name": "mine"}), ("DELETE", None)):
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed == {"payload": {"webhooks": []}}
    _, listed = await other.call("GET", "/webhooks", expect=200)
    assert listed["payload"]["webhooks"] == [theirs]


async def test_webhooks_need_an_administrator(tenant: Tenant) -> None:
    created = await _webhook(tenant)
    _, agent_token = await tenant.agent()
    for method, target, body in (
        ("GET", "/webhooks", None),
        ("POST", "/webhooks", {"url": "https://example.com/mine"}),
        ("PATCH", f"/webhooks/{created['id']}", {"name": "mine"}),
        ("DELETE", f"/webhooks/{created['id']}", None),
    ):
        status, data = await tenant.call(method, target, json=body, token=agent_token)
        assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert listed["payload"]["webhooks"] == [created]


async def test_private_webhook_urls_are_refused_unless_allowed(settings: Settings, aiohttp_client: Any) -> None:
    strict: web.Application = create_app(settings.model_copy(update={"allow_private_urls": False}))
    tenant = await make_tenant(await aiohttp_client(strict))
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.5/x", "http://[::1]/hook", "javascript:alert(1)"):
        status, data = await tenant.call("POST", "/webhooks", json={"url": url})
        assert_error(status, data, 422, "url")
    # An address literal needs no DNS lookup, so the public case is checked without network access.
    created = await _webhook(tenant, url="http://93.184.216.34/hook")
    status, data = await tenant.call("PATCH", f"/webhooks/{created['id']}", json={"url": "http://192.168.1.10/hook"})
    assert_error(status, data, 422, "url")
    _, listed = await tenant.call("GET", "/webhooks", expect=200)
    assert [hook["url"] for hook in listed["payload"]["webhooks"]] == ["http://93.184.216.34/hook"]


async def test_private_webhook_urls_are_accepted_when_allowed(tenant: Tenant) -> None:
    created = await _webhook(tenant, url="http://127.0.0.1:9/hook")
    assert created["url"] == "http://127.0.0.1:9/hook"
