"""Native API "Teams": teams and their members (Chatwoot ``team`` and ``agent`` shapes)."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant, assert_error

TEAM_KEYS = {"id", "name", "description", "allow_auto_assign", "account_id", "is_member"}


async def _team(tenant: Tenant, name: str = "Support", **fields: object) -> dict[str, object]:
    _, data = await tenant.call("POST", "/teams", json={"name": name, **fields}, expect=200)
    assert isinstance(data, dict)
    return data


async def test_create_team_returns_the_team(tenant: Tenant) -> None:
    status, data = await tenant.call(
        "POST",
        "/teams",
        json={"name": "Sales Team", "description": "Handles all sales inquiries", "allow_auto_assign": False},
    )
    assert status == 200
    assert set(data) == TEAM_KEYS
    assert data["name"] == "Sales Team"
    assert data["description"] == "Handles all sales inquiries"
    assert data["allow_auto_assign"] is False
    assert data["account_id"] == tenant.account_id
    assert data["is_member"] is False


async def test_create_team_defaults(tenant: Tenant) -> None:
    data = await _team(tenant, "Defaults")
    assert (data["description"], data["allow_auto_assign"]) == (None, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "Ok", "allow_auto_assign": "maybe"}, "allow_auto_assign"),
        ({"name": "Ok", "allow_auto_assign": None}, "allow_auto_assign"),
        ({"name": "Ok", "description": ["list"]}, "description"),
        ({"name": "Nul\x00byte"}, "name"),
        ({"name": "Ok", "description": "\x00"}, "description"),
    ],
)
async def test_create_team_rejects_bad_input(tenant: Tenant, body: dict[str, object], field: str) -> None:
    status, data = await tenant.call("POST", "/teams", json=body)
    assert_error(status, data, 422, field)


async def test_team_names_are_unique_per_account(tenant: Tenant, other: Tenant) -> None:
    await _team(tenant, "Billing")
    status, data = await tenant.call("POST", "/teams", json={"name": "Billing"})
    assert_error(status, data, 422, "name")
    assert data["errors"][0]["code"] == "taken"
    # Another account may use the same name.
    await _team(other, "Billing")


async def test_list_and_get_teams_show_membership(tenant: Tenant) -> None:
    _, empty = await tenant.call("GET", "/teams", expect=200)
    assert empty == []
    first = await _team(tenant, "First")
    second = await _team(tenant, "Second", description="2nd")
    await tenant.call("POST", f"/teams/{second['id']}/team_members", json={"user_ids": [tenant.user_id]}, expect=200)

    status, listed = await tenant.call("GET", "/teams")
    assert status == 200
    assert [(t["id"], t["is_member"]) for t in listed] == [(first["id"], False), (second["id"], True)]
    assert all(set(t) == TEAM_KEYS for t in listed)

    status, data = await tenant.call("GET", f"/teams/{second['id']}")
    assert status == 200
    assert data == {**second, "is_member": True}


async def test_agents_can_read_teams(tenant: Tenant) -> None:
    team = await _team(tenant)
    _, agent_token = await tenant.agent()
    _, listed = await tenant.call("GET", "/teams", token=agent_token, expect=200)
    assert [t["id"] for t in listed] == [team["id"]]
    await tenant.call("GET", f"/teams/{team['id']}", token=agent_token, expect=200)
    await tenant.call("GET", f"/teams/{team['id']}/team_members", token=agent_token, expect=200)


async def test_update_team_changes_only_what_is_sent(tenant: Tenant) -> None:
    team = await _team(tenant, "Old", description="keep me")
    status, data = await tenant.call("PATCH", f"/teams/{team['id']}", json={"name": "New", "allow_auto_assign": False})
    assert status == 200
    assert data == {**team, "name": "New", "allow_auto_assign": False}
    _, read = await tenant.call("GET", f"/teams/{team['id']}", expect=200)
    assert read == data
    _, cleared = await tenant.call("PATCH", f"/teams/{team['id']}", json={"description": None}, expect=200)
    assert cleared["description"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"allow_auto_assign": None}, "allow_auto_assign"),
        ({"allow_auto_assign": "x"}, "allow_auto_assign"),
    ],
)
async def test_update_team_rejects_bad_input(tenant: Tenant, body: dict[str, object], field: str) -> None:
    team = await _team(tenant)
    status, data = await tenant.call("PATCH", f"/teams/{team['id']}", json=body)
    assert_error(status, data, 422, field)


async def test_update_team_to_a_taken_name_is_422(tenant: Tenant) -> None:
    await _team(tenant, "Taken")
    team = await _team(tenant, "Mine")
    status, data = await tenant.call("PATCH", f"/teams/{team['id']}", json={"name": "Taken"})
    assert_error(status, data, 422, "name")
    _, read = await tenant.call("GET", f"/teams/{team['id']}", expect=200)
    assert read["name"] == "Mine"


async def test_delete_team_unsets_it_on_conversations(tenant: Tenant) -> None:
    team = await _team(tenant)
    conversation = await tenant.conversation(team_id=team["id"])
    status, data = await tenant.call("DELETE", f"/teams/{team['id']}")
    assert (status, data) == (204, None)
    status, data = await tenant.call("GET", f"/teams/{team['id']}")
    assert_error(status, data, 404)
    _, listed = await tenant.call("GET", "/teams", expect=200)
    assert listed == []
    _, read = await tenant.call("GET", f"/conversations/{conversation}", expect=200)
    assert read["team_id"] is None


async def test_another_accounts_team_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _team(other, "Theirs")
    team_id = theirs["id"]
    for method, path, body in [
        ("GET", f"/teams/{team_id}", None),
        ("PATCH", f"/teams/{team_id}", {"name": "Mine now"}),
        ("DELETE", f"/teams/{team_id}", None),
        ("GET", f"/teams/{team_id}/team_members", None),
        ("POST", f"/teams/{team_id}/team_members", {"user_ids": [tenant.user_id]}),
        ("PATCH", f"/teams/{team_id}/team_members", {"user_ids": [tenant.user_id]}),
        ("DELETE", f"/teams/{team_id}/team_members", {"user_ids": [other.user_id]}),
    ]:
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    _, read = await other.call("GET", f"/teams/{team_id}", expect=200)
    assert read == theirs
    _, members = await other.call("GET", f"/teams/{team_id}/team_members", expect=200)
    assert members == []


@pytest.mark.parametrize("team_id", ["999999999", "abc", "1.5", "-1", str(2**31), "99999999999999999999"])
async def test_unknown_team_ids_are_not_found(tenant: Tenant, team_id: str) -> None:
    for method, path in [("GET", f"/teams/{team_id}"), ("GET", f"/teams/{team_id}/team_members")]:
        status, data = await tenant.call(method, path)
        assert_error(status, data, 404)


async def test_team_writes_need_an_administrator(tenant: Tenant) -> None:
    team = await _team(tenant)
    agent_id, agent_token = await tenant.agent()
    for method, path, body in [
        ("POST", "/teams", {"name": "Agents' own"}),
        ("PATCH", f"/teams/{team['id']}", {"name": "Renamed"}),
        ("DELETE", f"/teams/{team['id']}", None),
        ("POST", f"/teams/{team['id']}/team_members", {"user_ids": [agent_id]}),
        ("PATCH", f"/teams/{team['id']}/team_members", {"user_ids": [agent_id]}),
        ("DELETE", f"/teams/{team['id']}/team_members", {"user_ids": [agent_id]}),
    ]:
        status, data = await tenant.call(method, path, json=body, token=agent_token)
        assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/teams", expect=200)
    assert [t["name"] for t in listed] == ["Support"]
    _, members = await tenant.call("GET", f"/teams/{team['id']}/team_members", expect=200)
    assert members == []


async def test_team_members_add_replace_remove(tenant: Tenant) -> None:
    team = await _team(tenant)
    members_path = f"/teams/{team['id']}/team_members"
    first, _ = await tenant.agent("First")
    second, _ = await tenant.agent("Second")

    status, data = await tenant.call("POST", members_path, json={"user_ids": [first]})
    assert status == 200
    assert [(a["id"], a["name"], a["role"]) for a in data] == [(first, "First", "agent")]
    assert set(data[0]) >= {"id", "name", "email", "availability_status", "role", "thumbnail", "available_name"}

    _, data = await tenant.call("POST", members_path, json={"user_ids": [second, first]}, expect=200)
    assert [a["id"] for a in data] == [first, second]
    _, listed = await tenant.call("GET", members_path, expect=200)
    assert listed == data

    _, data = await tenant.call("PATCH", members_path, json={"user_ids": [second, tenant.user_id]}, expect=200)
    assert [a["id"] for a in data] == [tenant.user_id, second]

    _, data = await tenant.call("DELETE", members_path, json={"user_ids": [second]}, expect=200)
    assert [a["id"] for a in data] == [tenant.user_id]
    _, listed = await tenant.call("GET", members_path, expect=200)
    assert [a["id"] for a in listed] == [tenant.user_id]

    _, data = await tenant.call("PATCH", members_path, json={"user_ids": []}, expect=200)
    assert data == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user_ids"),
        ({"user_ids": "1"}, "user_ids"),
        ({"user_ids": ["one"]}, "user_ids.0"),
        ({"user_ids": [None]}, "user_ids.0"),
        ({"user_ids": [99999999999999999999]}, "user_ids.0"),
        ({"user_ids": [2**31]}, "user_ids.0"),
        ({"user_ids": [999999999]}, "user_ids"),
    ],
)
async def test_team_members_reject_bad_input(tenant: Tenant, body: dict[str, object], field: str) -> None:
    team = await _team(tenant)
    for method in ("POST", "PATCH", "DELETE"):
        status, data = await tenant.call(method, f"/teams/{team['id']}/team_members", json=body)
        assert_error(status, data, 422, field)


async def test_team_members_must_be_agents_of_this_account(tenant: Tenant, other: Tenant) -> None:
    team = await _team(tenant)
    outsider, _ = await other.agent()
    status, data = await tenant.call("POST", f"/teams/{team['id']}/team_members", json={"user_ids": [outsider]})
    assert_error(status, data, 422, "user_ids")
    assert data["errors"][0]["code"] == "not_found"
    _, members = await tenant.call("GET", f"/teams/{team['id']}/team_members", expect=200)
    assert members == []
