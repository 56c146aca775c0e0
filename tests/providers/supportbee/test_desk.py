"""SupportBee labels, teams and forwarding addresses (spec "Fetching Labels", "Fetching Teams", "Fetching Emails",
"Create Email")."""

from __future__ import annotations

from typing import Any

from bridge.schemas import LabelData
from tests.providers.supportbee import desk_helpers as h
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error


# -- GET /labels -------------------------------------------------------------------------------------
async def test_labels_have_every_key_of_the_example(desk: SBDesk) -> None:
    example = h.spec("labels_list")
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.create_label(LabelData(title="label1", color="#ffffff"))
        imported = await w.create_label(LabelData(title="follow_up", color="#0e8a16"))
    await h.legacy_ref(desk, "label", "Follow Up", imported.id)
    _, agent_token = await desk.agent()
    _, data = await desk.call("GET", "/labels.json", token=agent_token, expect=200)
    assert h.keys(data) == h.keys(example)
    assert all(h.keys(label) == h.keys(example["labels"][0]) for label in data["labels"])
    assert data["labels"] == [{"name": "Follow Up", "color": "#0e8a16"}, {"name": "label1", "color": "#ffffff"}]


async def test_labels_of_another_company_are_not_listed(desk: SBDesk, other_desk: SBDesk) -> None:
    async with other_desk.tenant.store.writer(other_desk.tenant.account_id) as w:
        await w.create_label(LabelData(title="globex_only"))
    _, data = await desk.call("GET", "/labels", expect=200)
    assert data == {"labels": []}
    status, data = await desk.call("GET", "/labels", token="not-a-token")
    assert_sb_error(status, data, 401)


# -- GET /teams --------------------------------------------------------------------------------------
async def test_teams_have_every_key_of_the_example_and_filter(desk: SBDesk) -> None:
    example = h.spec("teams_list")
    agent_id, agent_token = await desk.agent()
    empty = await h.team(desk, "Empty")
    mine = await h.team(desk, "Mine", [agent_id])
    others = await h.team(desk, "Others", [desk.tenant.user_id])
    _, data = await desk.call("GET", "/teams", token=agent_token, host=True, expect=200)
    assert h.keys(data) == h.keys(example)
    assert [team["id"] for team in data["teams"]] == [empty, mine, others]
    team = data["teams"][1]
    assert h.keys(team) == h.keys(example["teams"][0])
    assert h.keys(team["picture"]) == h.keys(example["teams"][0]["picture"])
    assert team["name"] == "Mine"
    _, data = await desk.call("GET", "/teams", token=agent_token, params={"with_users": "true"}, expect=200)
    assert [team["id"] for team in data["teams"]] == [mine, others]
    _, data = await desk.call("GET", "/teams", token=agent_token, params={"user": "me"}, expect=200)
    assert [team["id"] for team in data["teams"]] == [mine]
    _, data = await desk.call("GET", "/teams", token=agent_token, params={"user": "someone"}, expect=200)
    assert len(data["teams"]) == 3


async def test_teams_show_imported_ids_and_no_other_company(desk: SBDesk, other_desk: SBDesk) -> None:
    team_id = await h.team(desk, "Billing")
    await h.legacy_ref(desk, "team", "7", team_id)
    await h.team(other_desk, "Globex Team")
    _, data = await desk.call("GET", "/teams/", expect=200)
    assert [(team["id"], team["name"]) for team in data["teams"]] == [(7, "Billing")]


# -- GET/POST /emails --------------------------------------------------------------------------------
async def test_create_email_from_the_spec_example_and_list_it(desk: SBDesk) -> None:
    request = h.spec("email_create_request")
    request["forwarding_address"]["email"] = "Support@Company.example"
    _, data = await desk.call("POST", "/emails", json=request, expect=201)
    example = h.spec("email_create")
    assert h.keys(data) == h.keys(example)
    address = data["forwarding_address"]
    assert h.keys(address) == h.keys(example["forwarding_address"])
    assert (address["name"], address["email"], address["company_id"]) == (
        "Company Inc",
        "Support@Company.example",
        desk.tenant.account_id,
    )
    assert (address["filter_spam"], address["use_agent_name"], address["global_bcc"]) == (True, True, None)
    assert len(address["forwarding_hash"]) == 17
    assert address["created_at"].endswith("Z")
    _, agent_token = await desk.agent()
    _, listed = await desk.call("GET", "/emails", token=agent_token, expect=200)
    assert h.keys(listed) == h.keys(h.spec("emails_list"))
    assert listed["forwarding_addresses"] == [
        {
            "id": address["id"],
            "forward_to": f"{desk.company}+{address['forwarding_hash']}@supportbee.localhost",
            "from": "support@company.example",
            "name": "Company Inc",
        }
    ]
    assert h.keys(listed["forwarding_addresses"][0]) == h.keys(h.spec("emails_list")["forwarding_addresses"][0])
    _, inboxes = await desk.tenant.call("GET", "/inboxes", expect=200)
    inbox = next(item for item in inboxes["payload"] if item["id"] == address["id"])
    assert (inbox["name"], inbox["channel_type"], inbox["email"]) == ("Company Inc", "email", "support@company.example")


async def test_create_email_by_form_with_the_token_in_the_body(desk: SBDesk) -> None:
    form = {
        "forwarding_address[email]": "help@company.example",
        "forwarding_address[filter_spam]": "false",
        "auth_token": desk.token,
    }
    _, data = await desk.call("POST", "/emails.json", token=None, data=form, expect=201)
    address = data["forwarding_address"]
    assert (address["name"], address["email"], address["filter_spam"], address["use_agent_name"]) == (
        "help@company.example",
        "help@company.example",
        False,
        False,
    )


async def test_create_email_bad_input_is_400(desk: SBDesk) -> None:
    for body, field in (
        ({"forwarding_address": {"name": "No address"}}, "forwarding_address.email"),
        ({"forwarding_address": {"email": "not an address"}}, "forwarding_address.email"),
        (
            {"forwarding_address": {"email": "a@company.example", "filter_spam": "maybe"}},
            "forwarding_address.filter_spam",
        ),
        ({"email": "a@company.example"}, "forwarding_address"),
    ):
        status, data = await desk.call("POST", "/emails", json=body)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (body, data)
    await desk.call("POST", "/emails", json={"forwarding_address": {"email": "dup@company.example"}}, expect=201)
    status, data = await desk.call("POST", "/emails", json={"forwarding_address": {"email": "DUP@company.example"}})
    assert_sb_error(status, data, 400)
    _, listed = await desk.call("GET", "/emails", expect=200)
    assert [item["from"] for item in listed["forwarding_addresses"]] == ["dup@company.example"]


async def test_emails_need_an_admin_to_create_and_stay_in_their_company(desk: SBDesk, other_desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    status, data = await desk.call(
        "POST", "/emails", token=agent_token, json={"forwarding_address": {"email": "x@company.example"}}
    )
    assert_sb_error(status, data, 403)
    await other_desk.call(
        "POST", "/emails", json={"forwarding_address": {"email": "globex@globex.example"}}, expect=201
    )
    _, listed = await desk.call("GET", "/emails", expect=200)
    assert listed == {"forwarding_addresses": []}


# -- hostile input never reaches the database as a 500 --------------------------------------------------
async def test_hostile_input_is_answered_never_500(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    huge = 10**30
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/users", {"params": {"with_roles": "agent\x00"}}),
        ("GET", "/users", {"params": {"type": "\x00"}}),
        ("GET", f"/users/{agent_id}", {"params": {"max_tickets": "²"}}),
        ("GET", "/users/99999999999999999999", {}),
        ("GET", "/users/١٢٣", {}),
        ("GET", "/users/١٢٣/members", {}),
        ("PUT", "/snippets/١٢٣", {"json": {"snippet": {"tags": "x"}}}),
        ("POST", "/users", {"json": {"user": {"name": "Nul\x00", "email": "n@example.com", "role": 10}}}),
        ("POST", "/users", {"json": {"user": {"name": "Huge", "email": "h@example.com", "role": huge}}}),
        (
            "POST",
            "/users",
            {"json": {"user": {"name": "Teams", "email": "t@example.com", "role": 10, "team_ids": [huge]}}},
        ),
        ("POST", "/users", {"json": {"user": {"name": "x" * 5000, "email": "long@example.com", "role": 10}}}),
        ("POST", f"/users/{agent_id}/members", {"json": {"member": {"id": huge}}}),
        ("POST", "/snippets", {"json": {"snippet": {"name": "y" * 5000, "content": {"text": "z"}}}}),
        ("POST", "/consequences", {"json": {"consequence": {"assign_user": huge}}}),
        ("POST", "/consequences", {"json": {"consequence": {"assign_team": "²"}}}),
        ("POST", "/filters", {"json": {"filter": {"rule_id": "\x00", "consequence_id": "x"}}}),
        ("POST", "/emails", {"json": {"forwarding_address": {"email": "e@example.com", "name": "n" * 5000}}}),
        ("GET", "/reports/tickets_count", {"params": {"since": "00010101"}}),
        ("GET", "/reports/tickets_count", {"params": {"until": "00010101"}}),
        ("GET", "/reports/tickets_count", {"params": {"since": "99991231"}}),
        ("GET", "/reports/tickets_count", {"params": {"since": "9" * 30}}),
        ("GET", "/reports/tickets_count", {"params": {"label": "vip\x00"}}),
        ("GET", "/reports/tickets_count", {"params": {"user": "١٢٣"}}),
        ("GET", "/reports/tickets_count", {"params": {"team": "9" * 30}}),
    ]
    for method, path, kwargs in calls:
        status, data = await desk.call(method, path, **kwargs)
        assert status < 500, (method, path, kwargs, status, data)
        if status >= 400:
            assert_sb_error(status, data, status)
