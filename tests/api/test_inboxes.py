"""Native API "Inboxes": inboxes and inbox members (Chatwoot ``inbox`` shape, both inbox member forms)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant, assert_error

INBOX_KEYS = {
    "id",
    "name",
    "channel_type",
    "channel_id",
    "website_url",
    "website_token",
    "avatar_url",
    "widget_color",
    "welcome_title",
    "welcome_tagline",
    "greeting_enabled",
    "greeting_message",
    "working_hours_enabled",
    "working_hours",
    "timezone",
    "out_of_office_message",
    "enable_auto_assignment",
    "enable_email_collect",
    "csat_survey_enabled",
    "allow_messages_after_resolved",
    "lock_to_single_conversation",
    "sender_name_type",
    "business_name",
    "callback_webhook_url",
}


async def _inbox(tenant: Tenant, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Support")
    body.setdefault("channel", {"type": "api"})
    _, data = await tenant.call("POST", "/inboxes", json=body, expect=200)
    assert isinstance(data, dict)
    return data


async def test_create_web_widget_inbox(tenant: Tenant) -> None:
    status, data = await tenant.call(
        "POST",
        "/inboxes",
        json={
            "name": "Website",
            "greeting_enabled": True,
            "greeting_message": "Hello, how can I help you?",
            "timezone": "America/New_York",
            "csat_survey_enabled": True,
            "channel": {
                "type": "web_widget",
                "website_url": "https://example.com",
                "widget_color": "#FF5733",
                "welcome_title": "Welcome to our support",
            },
        },
    )
    assert status == 200
    assert set(data) >= INBOX_KEYS
    assert (data["name"], data["channel_type"]) == ("Website", "web_widget")
    assert data["website_url"] == "https://example.com"
    assert isinstance(data["website_token"], str)
    assert len(data["website_token"]) >= 16
    assert (data["widget_color"], data["welcome_title"], data["welcome_tagline"]) == (
        "#FF5733",
        "Welcome to our support",
        None,
    )
    assert (data["greeting_enabled"], data["greeting_message"]) == (True, "Hello, how can I help you?")
    assert data["timezone"] == "America/New_York"
    assert (data["csat_survey_enabled"], data["enable_email_collect"]) == (True, True)
    assert data["enable_auto_assignment"] is True
    assert data["working_hours_enabled"] is False


async def test_create_api_and_email_inboxes(tenant: Tenant) -> None:
    api = await _inbox(tenant, name="API", channel={"type": "api", "webhook_url": "https://hooks.example.com/in"})
    assert (api["channel_type"], api["website_token"]) == ("api", None)
    assert api["callback_webhook_url"] == "https://hooks.example.com/in"
    assert api["timezone"] == "UTC"
    email = await _inbox(tenant, name="Mail", channel={"type": "email", "email": "Support@Example.com"})
    assert email["channel_type"] == "email"
    assert email["email"].lower() == "support@example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": {"type": "api"}}, "name"),
        ({"name": "", "channel": {"type": "api"}}, "name"),
        ({"name": "X"}, "channel"),
        ({"name": "X", "channel": "api"}, "channel"),
        ({"name": "X", "channel": {}}, "channel.type"),
        ({"name": "X", "channel": {"type": "fax"}}, "channel.type"),
        ({"name": "X", "channel": {"type": "email"}}, "channel"),
        ({"name": "X", "channel": {"type": "email", "email": "nope"}}, "channel.email"),
        ({"name": "X", "channel": {"type": "web_widget"}}, "channel"),
        ({"name": "X", "channel": {"type": "api"}, "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "channel": {"type": "api"}, "greeting_enabled": "yes please"}, "greeting_enabled"),
        ({"name": "X", "channel": {"type": "api"}, "working_hours": "always"}, "working_hours"),
        ({"name": "X", "channel": {"type": "api"}, "sender_name_type": "robot"}, "sender_name_type"),
    ],
)
async def test_create_inbox_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    status, data = await tenant.call("POST", "/inboxes", json=body)
    assert_error(status, data, 422, field)
    _, listed = await tenant.call("GET", "/inboxes", expect=200)
    assert listed == {"payload": []}


async def test_list_and_get_inboxes(tenant: Tenant, other: Tenant) -> None:
    first = await _inbox(tenant, name="First")
    second = await _inbox(tenant, name="Second")
    await _inbox(other, name="Theirs")
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("GET", "/inboxes", token=agent_token)
    assert status == 200
    assert data == {"payload": [first, second]}
    status, data = await tenant.call("GET", f"/inboxes/{second['id']}", token=agent_token)
    assert status == 200
    assert data == second


async def test_update_inbox_changes_only_what_is_sent(tenant: Tenant) -> None:
    inbox = await _inbox(
        tenant,
        name="Website",
        channel={"type": "web_widget", "website_url": "https://old.example.com", "welcome_title": "Hi"},
    )
    status, data = await tenant.call(
        "PATCH",
        f"/inboxes/{inbox['id']}",
        json={
            "name": "Storefront",
            "greeting_enabled": True,
            "timezone": "Europe/Berlin",
            "working_hours_enabled": True,
            "working_hours": [{"day_of_week": 1, "open_hour": 9, "open_minutes": 0, "close_hour": 17}],
            "lock_to_single_conversation": True,
            "channel": {"website_url": "https://new.example.com", "widget_color": "#000000", "type": "email"},
        },
    )
    assert status == 200
    assert data["name"] == "Storefront"
    assert data["channel_type"] == "web_widget"  # the channel type never changes
    assert data["website_url"] == "https://new.example.com"
    assert (data["welcome_title"], data["widget_color"]) == ("Hi", "#000000")
    assert (data["greeting_enabled"], data["timezone"], data["working_hours_enabled"]) == (True, "Europe/Berlin", True)
    assert data["working_hours"][0]["open_hour"] == 9
    assert data["lock_to_single_conversation"] is True
    assert data["website_token"] == inbox["website_token"]
    _, read = await tenant.call("GET", f"/inboxes/{inbox['id']}", expect=200)
    assert read == data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"timezone": "Nowhere/Special"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"greeting_enabled": None}, "greeting_enabled"),
        ({"enable_auto_assignment": "often"}, "enable_auto_assignment"),
        ({"channel": {"email": "not-an-email"}}, "channel.email"),
        ({"channel": []}, "channel"),
        ({"greeting_message": "hi\x00"}, "greeting_message"),
        ({"channel": {"welcome_title": "\x00"}}, "channel.welcome_title"),
        ({"working_hours": [{"note": "\x00"}]}, "working_hours.0.note"),
    ],
)
async def test_update_inbox_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    inbox = await _inbox(tenant)
    status, data = await tenant.call("PATCH", f"/inboxes/{inbox['id']}", json=body)
    assert_error(status, data, 422, field)
    _, read = await tenant.call("GET", f"/inboxes/{inbox['id']}", expect=200)
    assert read == inbox


async def test_another_accounts_inbox_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _inbox(other, name="Theirs")
    inbox_id = theirs["id"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/inboxes/{inbox_id}", None),
        ("PATCH", f"/inboxes/{inbox_id}", {"name": "Mine now"}),
        ("GET", f"/inbox_members/{inbox_id}", None),
        ("POST", f"/inbox_members/{inbox_id}", {"user_ids": [tenant.user_id]}),
        ("PATCH", f"/inbox_members/{inbox_id}", {"user_ids": [tenant.user_id]}),
        ("DELETE", f"/inbox_members/{inbox_id}", {"user_ids": []}),
    ]
    for method, path, body in calls:
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    for method in ("POST", "PATCH", "DELETE"):
        status, data = await tenant.call(method, "/inbox_members", json={"inbox_id": inbox_id, "user_ids": []})
        assert_error(status, data, 404, "inbox_id")
    _, read = await other.call("GET", f"/inboxes/{inbox_id}", expect=200)
    assert read == theirs


@pytest.mark.parametrize("inbox_id", ["999999999", "abc", "-3", "99999999999999999999"])
async def test_unknown_inbox_ids_are_not_found(tenant: Tenant, inbox_id: str) -> None:
    for path in (f"/inboxes/{inbox_id}", f"/inbox_members/{inbox_id}"):
        status, data = await tenant.call("GET", path)
        assert_error(status, data, 404)


async def test_inbox_writes_need_an_administrator(tenant: Tenant) -> None:
    inbox = await _inbox(tenant)
    agent_id, agent_token = await tenant.agent()
    for method, path, body in [
        ("POST", "/inboxes", {"name": "Mine", "channel": {"type": "api"}}),
        ("PATCH", f"/inboxes/{inbox['id']}", {"name": "Renamed"}),
        ("POST", "/inbox_members", {"inbox_id": inbox["id"], "user_ids": [agent_id]}),
        ("PATCH", "/inbox_members", {"inbox_id": inbox["id"], "user_ids": [agent_id]}),
        ("DELETE", "/inbox_members", {"inbox_id": inbox["id"], "user_ids": [agent_id]}),
        ("POST", f"/inbox_members/{inbox['id']}", {"user_ids": [agent_id]}),
        ("PATCH", f"/inbox_members/{inbox['id']}", {"user_ids": [agent_id]}),
        ("DELETE", f"/inbox_members/{inbox['id']}", {"user_ids": [agent_id]}),
    ]:
        status, data = await tenant.call(method, path, json=body, token=agent_token)
        assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/inboxes", expect=200)
    assert listed == {"payload": [inbox]}
    _, members = await tenant.call("GET", f"/inbox_members/{inbox['id']}", token=agent_token, expect=200)
    assert members == {"payload": []}


async def test_inbox_members_in_chatwoots_form(tenant: Tenant) -> None:
    inbox = await _inbox(tenant)
    first, _ = await tenant.agent("First")
    second, _ = await tenant.agent("Second")

    status, data = await tenant.call("POST", "/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [first]})
    assert status == 200
    assert [(a["id"], a["name"]) for a in data["payload"]] == [(first, "First")]
    assert set(data["payload"][0]) >= {"id", "email", "role", "availability_status", "available_name", "thumbnail"}

    # Chatwoot's PATCH/DELETE payloads type inbox_id as a string.
    _, data = await tenant.call(
        "PATCH", "/inbox_members", json={"inbox_id": str(inbox["id"]), "user_ids": [second, first]}, expect=200
    )
    assert [a["id"] for a in data["payload"]] == [first, second]
    status, listed = await tenant.call("GET", f"/inbox_members/{inbox['id']}")
    assert status == 200
    assert listed == data

    _, data = await tenant.call(
        "DELETE", "/inbox_members", json={"inbox_id": str(inbox["id"]), "user_ids": [first]}, expect=200
    )
    assert [a["id"] for a in data["payload"]] == [second]
    _, listed = await tenant.call("GET", f"/inbox_members/{inbox['id']}", expect=200)
    assert [a["id"] for a in listed["payload"]] == [second]


async def test_inbox_members_by_path(tenant: Tenant) -> None:
    inbox = await _inbox(tenant)
    path = f"/inbox_members/{inbox['id']}"
    first, _ = await tenant.agent("First")
    second, _ = await tenant.agent("Second")
    _, data = await tenant.call("POST", path, json={"user_ids": [first]}, expect=200)
    assert [a["id"] for a in data["payload"]] == [first]
    _, data = await tenant.call("PATCH", path, json={"user_ids": [second], "inbox_id": inbox["id"]}, expect=200)
    assert [a["id"] for a in data["payload"]] == [second]
    _, data = await tenant.call("DELETE", path, json={"user_ids": [second]}, expect=200)
    assert data == {"payload": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_ids": []}, "inbox_id"),
        ({"inbox_id": "first", "user_ids": []}, "inbox_id"),
        ({"inbox_id": 99999999999999999999, "user_ids": []}, "inbox_id"),
        ({"inbox_id": 2**31, "user_ids": []}, "inbox_id"),
        ({"inbox_id": None}, "user_ids"),
        ({"inbox_id": None, "user_ids": ["x"]}, "user_ids.0"),
        ({"inbox_id": None, "user_ids": [999999999]}, "user_ids"),
    ],
)
async def test_inbox_members_reject_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    inbox = await _inbox(tenant)
    if body.get("inbox_id", 0) is None:
        body = {**body, "inbox_id": inbox["id"]}
    for method in ("POST", "PATCH", "DELETE"):
        status, data = await tenant.call(method, "/inbox_members", json=body)
        assert_error(status, data, 422, field)
    _, members = await tenant.call("GET", f"/inbox_members/{inbox['id']}", expect=200)
    assert members == {"payload": []}


async def test_inbox_members_by_path_reject_bad_input(tenant: Tenant) -> None:
    inbox = await _inbox(tenant)
    other_inbox = await _inbox(tenant, name="Other")
    path = f"/inbox_members/{inbox['id']}"
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "user_ids"),
        ({"user_ids": [999999999]}, "user_ids"),
        ({"user_ids": [], "inbox_id": other_inbox["id"]}, "inbox_id"),
    ]
    for body, field in cases:
        status, data = await tenant.call("POST", path, json=body)
        assert_error(status, data, 422, field)


async def test_inbox_members_must_be_agents_of_this_account(tenant: Tenant, other: Tenant) -> None:
    inbox = await _inbox(tenant)
    outsider, _ = await other.agent()
    status, data = await tenant.call("POST", "/inbox_members", json={"inbox_id": inbox["id"], "user_ids": [outsider]})
    assert_error(status, data, 422, "user_ids")
    _, members = await tenant.call("GET", f"/inbox_members/{inbox['id']}", expect=200)
    assert members == {"payload": []}
