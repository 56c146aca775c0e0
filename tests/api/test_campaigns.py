"""Native API: campaigns (spec "Campaigns"); writes are for administrators."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import Tenant, assert_error

CAMPAIGN_KEYS = {
    "id",
    "account_id",
    "title",
    "description",
    "message",
    "inbox_id",
    "inbox",
    "sender_id",
    "sender",
    "enabled",
    "campaign_type",
    "campaign_status",
    "audience",
    "scheduled_at",
    "trigger_rules",
    "trigger_only_during_business_hours",
    "created_at",
    "updated_at",
}


async def _campaign(tenant: Tenant, **body: Any) -> dict[str, Any]:
    if "inbox_id" not in body:
        body["inbox_id"] = await tenant.inbox()
    body.setdefault("title", "Welcome Campaign")
    body.setdefault("message", "Hi there! How can we assist you?")
    _, data = await tenant.call("POST", "/campaigns", json=body, expect=200)
    assert isinstance(data, dict)
    return data


async def test_create_campaign_and_read_it_back(tenant: Tenant) -> None:
    inbox_id = await tenant.inbox("Website")
    created = await _campaign(
        tenant,
        inbox_id=inbox_id,
        sender_id=tenant.user_id,
        description="Greets visitors",
        trigger_rules={"url": "https://example.com/pricing", "time_on_page": 10},
        trigger_only_during_business_hours=True,
    )
    assert set(created) == CAMPAIGN_KEYS
    assert created["account_id"] == tenant.account_id
    assert (created["title"], created["message"], created["description"]) == (
        "Welcome Campaign",
        "Hi there! How can we assist you?",
        "Greets visitors",
    )
    assert (created["inbox_id"], created["inbox"]["id"], created["inbox"]["name"]) == (inbox_id, inbox_id, "Website")
    assert (created["sender_id"], created["sender"]["id"], created["sender"]["name"]) == (
        tenant.user_id,
        tenant.user_id,
        "Admin",
    )
    assert created["trigger_rules"] == {"url": "https://example.com/pricing", "time_on_page": 10}
    assert created["trigger_only_during_business_hours"] is True
    # Defaults.
    assert (created["enabled"], created["campaign_type"], created["campaign_status"]) == (True, "ongoing", "active")
    assert (created["audience"], created["scheduled_at"]) == ([], None)

    _, shown = await tenant.call("GET", f"/campaigns/{created['id']}", expect=200)
    assert shown == created
    _, listed = await tenant.call("GET", "/campaigns", expect=200)
    assert listed == [created]


async def test_one_off_campaign_keeps_schedule_and_audience(tenant: Tenant) -> None:
    at = int(dt.datetime(2030, 1, 2, 9, 30, tzinfo=dt.UTC).timestamp())
    created = await _campaign(
        tenant, campaign_type="one_off", scheduled_at=at, audience=[{"type": "Label", "id": 1}], enabled=False
    )
    assert (created["campaign_type"], created["scheduled_at"], created["enabled"]) == ("one_off", at, False)
    assert created["audience"] == [{"type": "Label", "id": 1}]
    assert created["sender"] is None
    # A time without a zone is UTC.
    naive = await _campaign(tenant, scheduled_at="2030-01-02T09:30:00")
    assert naive["scheduled_at"] == at


async def test_create_campaign_rejects_bad_input(tenant: Tenant, other: Tenant) -> None:
    inbox_id = await tenant.inbox()
    base = {"title": "Hello", "message": "Hi", "inbox_id": inbox_id}
    their_inbox = await other.inbox()
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in base.items() if k != "title"}, "title"),
        ({k: v for k, v in base.items() if k != "message"}, "message"),
        ({k: v for k, v in base.items() if k != "inbox_id"}, "inbox_id"),
        ({**base, "message": ""}, "message"),
        ({**base, "inbox_id": their_inbox}, "inbox_id"),
        ({**base, "inbox_id": 999_999_999}, "inbox_id"),
        ({**base, "inbox_id": "first"}, "inbox_id"),
        ({**base, "sender_id": other.user_id}, "sender_id"),
        ({**base, "campaign_type": "blast"}, "campaign_type"),
        ({**base, "scheduled_at": "next tuesday"}, "scheduled_at"),
        ({**base, "audience": {"type": "Label"}}, "audience"),
    ]
    for body, field in cases:
        status, data = await tenant.call("POST", "/campaigns", json=body)
        assert_error(status, data, 422, field)
    _, listed = await tenant.call("GET", "/campaigns", expect=200)
    assert listed == []


async def test_update_campaign(tenant: Tenant) -> None:
    created = await _campaign(tenant)
    agent_id, _ = await tenant.agent("Sally Sender")
    _, updated = await tenant.call(
        "PATCH",
        f"/campaigns/{created['id']}",
        json={"title": "Spring offer", "enabled": False, "sender_id": agent_id},
        expect=200,
    )
    assert set(updated) == CAMPAIGN_KEYS
    assert (updated["title"], updated["enabled"], updated["message"]) == ("Spring offer", False, created["message"])
    assert (updated["sender_id"], updated["sender"]["name"]) == (agent_id, "Sally Sender")
    _, shown = await tenant.call("GET", f"/campaigns/{created['id']}", expect=200)
    assert shown == updated


async def test_update_campaign_rejects_bad_input(tenant: Tenant, other: Tenant) -> None:
    created = await _campaign(tenant)
    path = f"/campaigns/{created['id']}"
    their_inbox = await other.inbox()
    for body, field in (
        ({"title": None}, "title"),
        ({"inbox_id": None}, "inbox_id"),
        ({"enabled": None}, "enabled"),
        ({"inbox_id": their_inbox}, "inbox_id"),
        ({"sender_id": other.user_id}, "sender_id"),
        ({"campaign_type": "weekly"}, "campaign_type"),
    ):
        status, data = await tenant.call("PATCH", path, json=body)
        assert_error(status, data, 422, field)
    _, shown = await tenant.call("GET", path, expect=200)
    assert shown == created


async def test_delete_campaign(tenant: Tenant) -> None:
    created = await _campaign(tenant)
    status, data = await tenant.call("DELETE", f"/campaigns/{created['id']}")
    assert (status, data) == (204, None)
    status, data = await tenant.call("GET", f"/campaigns/{created['id']}")
    assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/campaigns", expect=200)
    assert listed == []


async def test_another_accounts_campaign_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _campaign(other)
    path = f"/campaigns/{theirs['id']}"
    for method, body in (("GET", None), ("PATCH", {"title": "Mine"}), ("DELETE", None)):
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/campaigns", expect=200)
    assert listed == []
    _, shown = await other.call("GET", path, expect=200)
    assert shown == theirs


async def test_campaign_writes_need_an_administrator(tenant: Tenant) -> None:
    created = await _campaign(tenant)
    path = f"/campaigns/{created['id']}"
    _, agent_token = await tenant.agent()
    for method, target, body in (
        ("POST", "/campaigns", {"title": "Mine", "message": "x", "inbox_id": created["inbox_id"]}),
        ("PATCH", path, {"title": "Mine"}),
        ("DELETE", path, None),
    ):
        status, data = await tenant.call(method, target, json=body, token=agent_token)
        assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/campaigns", token=agent_token, expect=200)
    assert listed == [created]
    _, shown = await tenant.call("GET", path, token=agent_token, expect=200)
    assert shown == created
