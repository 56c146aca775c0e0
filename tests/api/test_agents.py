"""Native API "Agents": list, add, update, remove (Chatwoot ``agent`` shape)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Tenant, assert_error

AGENT_KEYS = {
    "id",
    "account_id",
    "availability_status",
    "auto_offline",
    "confirmed",
    "email",
    "available_name",
    "name",
    "role",
    "thumbnail",
    "custom_role_id",
}


def _email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def test_list_agents_returns_every_member_with_the_agent_shape(tenant: Tenant) -> None:
    agent_id, agent_token = await tenant.agent("Jane Doe")
    status, data = await tenant.call("GET", "/agents", token=agent_token)
    assert status == 200
    assert [a["id"] for a in data] == [tenant.user_id, agent_id]
    admin, agent = data
    assert set(agent) >= AGENT_KEYS
    assert (admin["role"], agent["role"]) == ("administrator", "agent")
    assert agent["name"] == agent["available_name"] == "Jane Doe"
    assert agent["account_id"] == tenant.account_id
    assert agent["availability_status"] == "available"
    assert agent["auto_offline"] is True
    assert agent["confirmed"] is True


async def test_create_agent_returns_the_agent(tenant: Tenant) -> None:
    email = _email()
    status, data = await tenant.call(
        "POST",
        "/agents",
        json={
            "name": "  Ada Lovelace ",
            "email": email.upper(),
            "role": "administrator",
            "availability_status": "busy",
            "auto_offline": False,
        },
    )
    assert status == 200
    assert set(data) >= AGENT_KEYS
    assert data["name"] == "Ada Lovelace"
    assert data["email"] == email
    assert data["role"] == "administrator"
    assert data["availability_status"] == "busy"
    assert data["auto_offline"] is False
    assert data["thumbnail"] == ""
    _, listed = await tenant.call("GET", "/agents", expect=200)
    assert data in listed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@example.com", "role": "agent"}, "name"),
        ({"name": "", "email": "x@example.com", "role": "agent"}, "name"),
        ({"name": "X", "role": "agent"}, "email"),
        ({"name": "X", "email": "not-an-email", "role": "agent"}, "email"),
        ({"name": "X", "email": "x@example.com"}, "role"),
        ({"name": "X", "email": "x@example.com", "role": "owner"}, "role"),
        (
            {"name": "X", "email": "x@example.com", "role": "agent", "availability_status": "away"},
            "availability_status",
        ),
        ({"name": "X", "email": "x@example.com", "role": "agent", "auto_offline": "sometimes"}, "auto_offline"),
    ],
)
async def test_create_agent_rejects_bad_input(tenant: Tenant, body: dict[str, object], field: str) -> None:
    status, data = await tenant.call("POST", "/agents", json=body)
    assert_error(status, data, 422, field)


async def test_create_agent_with_a_taken_email_is_422(tenant: Tenant) -> None:
    email = _email()
    await tenant.call("POST", "/agents", json={"name": "A", "email": email, "role": "agent"}, expect=200)
    status, data = await tenant.call("POST", "/agents", json={"name": "B", "email": email.upper(), "role": "agent"})
    assert_error(status, data, 422, "email")
    assert data["errors"][0]["code"] == "taken"


async def test_an_agent_of_another_account_can_join_this_one(tenant: Tenant, other: Tenant) -> None:
    email = _email()
    body = {"name": "Shared", "email": email, "role": "agent"}
    _, theirs = await other.call("POST", "/agents", json=body, expect=200)
    _, mine = await tenant.call("POST", "/agents", json=body, expect=200)
    assert mine["id"] == theirs["id"]
    assert mine["account_id"] == tenant.account_id
    _, listed = await other.call("GET", "/agents", expect=200)
    assert theirs["id"] in [a["id"] for a in listed]


async def test_update_agent_changes_name_role_and_availability(tenant: Tenant) -> None:
    agent_id, agent_token = await tenant.agent("Old Name")
    status, data = await tenant.call(
        "PATCH",
        f"/agents/{agent_id}",
        json={"name": "New Name", "role": "administrator", "availability_status": "offline", "auto_offline": False},
    )
    assert status == 200
    assert set(data) >= AGENT_KEYS
    assert (data["id"], data["name"], data["role"]) == (agent_id, "New Name", "administrator")
    assert (data["availability_status"], data["auto_offline"]) == ("offline", False)
    _, listed = await tenant.call("GET", "/agents", expect=200)
    assert data in listed
    # The promoted agent can now do what only administrators may.
    await tenant.call("POST", "/teams", json={"name": "Promoted"}, token=agent_token, expect=200)


async def test_update_agent_keeps_unsent_fields_and_ignores_email(tenant: Tenant) -> None:
    agent_id, _ = await tenant.agent("Keep Me")
    _, before = await tenant.call("PATCH", f"/agents/{agent_id}", json={"availability_status": "busy"}, expect=200)
    _, after = await tenant.call("PATCH", f"/agents/{agent_id}", json={"email": "hijack@example.com"}, expect=200)
    assert after == before
    assert (after["name"], after["role"], after["availability_status"]) == ("Keep Me", "agent", "busy")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": None}, "role"),
        ({"availability_status": "away"}, "availability_status"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"auto_offline": []}, "auto_offline"),
        ({"name": "Nul\x00byte"}, "name"),
    ],
)
async def test_update_agent_rejects_bad_input(tenant: Tenant, body: dict[str, object], field: str) -> None:
    agent_id, _ = await tenant.agent()
    status, data = await tenant.call("PATCH", f"/agents/{agent_id}", json=body)
    assert_error(status, data, 422, field)


async def test_update_or_delete_an_unknown_agent_is_404(tenant: Tenant, other: Tenant) -> None:
    for path in (f"/agents/{other.user_id}", "/agents/999999999", "/agents/abc"):
        status, data = await tenant.call("PATCH", path, json={"role": "agent"})
        assert_error(status, data, 404)
        status, data = await tenant.call("DELETE", path)
        assert_error(status, data, 404)
    # The other account's administrator is untouched.
    _, listed = await other.call("GET", "/agents", expect=200)
    assert [(a["id"], a["role"]) for a in listed] == [(other.user_id, "administrator")]


async def test_agent_writes_need_an_administrator(tenant: Tenant) -> None:
    agent_id, agent_token = await tenant.agent()
    status, data = await tenant.call(
        "POST", "/agents", json={"name": "X", "email": _email(), "role": "agent"}, token=agent_token
    )
    assert_error(status, data, 403)
    status, data = await tenant.call("PATCH", f"/agents/{agent_id}", json={"role": "administrator"}, token=agent_token)
    assert_error(status, data, 403)
    status, data = await tenant.call("DELETE", f"/agents/{tenant.user_id}", token=agent_token)
    assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/agents", expect=200)
    assert [(a["id"], a["role"]) for a in listed] == [(tenant.user_id, "administrator"), (agent_id, "agent")]


async def test_delete_agent_removes_them_from_the_account(tenant: Tenant) -> None:
    agent_id, agent_token = await tenant.agent()
    _, team = await tenant.call("POST", "/teams", json={"name": "Support"}, expect=200)
    await tenant.call("POST", f"/teams/{team['id']}/team_members", json={"user_ids": [agent_id]}, expect=200)
    inbox_id = await tenant.inbox()
    await tenant.call("POST", "/inbox_members", json={"inbox_id": inbox_id, "user_ids": [agent_id]}, expect=200)

    status, data = await tenant.call("DELETE", f"/agents/{agent_id}")
    assert (status, data) == (204, None)

    _, listed = await tenant.call("GET", "/agents", expect=200)
    assert agent_id not in [a["id"] for a in listed]
    _, members = await tenant.call("GET", f"/teams/{team['id']}/team_members", expect=200)
    assert members == []
    _, members = await tenant.call("GET", f"/inbox_members/{inbox_id}", expect=200)
    assert members == {"payload": []}
    # Their token no longer opens this account, and a second delete finds nothing.
    status, data = await tenant.call("GET", "/agents", token=agent_token)
    assert_error(status, data, 404)
    status, data = await tenant.call("DELETE", f"/agents/{agent_id}")
    assert_error(status, data, 404)


async def test_delete_agent_unassigns_their_conversations_in_this_account_only(tenant: Tenant, other: Tenant) -> None:
    email = _email()
    _, mine = await tenant.call("POST", "/agents", json={"name": "Both", "email": email, "role": "agent"}, expect=200)
    _, theirs = await other.call("POST", "/agents", json={"name": "Both", "email": email, "role": "agent"}, expect=200)
    assert mine["id"] == theirs["id"]
    here = await tenant.conversation(assignee_id=mine["id"])
    there = await other.conversation(assignee_id=theirs["id"])
    _, before = await tenant.call("GET", f"/conversations/{here}", expect=200)
    assert before["assignee_id"] == mine["id"]

    await tenant.call("DELETE", f"/agents/{mine['id']}", expect=204)

    _, after = await tenant.call("GET", f"/conversations/{here}", expect=200)
    assert after["assignee_id"] is None
    _, elsewhere = await other.call("GET", f"/conversations/{there}", expect=200)
    assert elsewhere["assignee_id"] == theirs["id"]
