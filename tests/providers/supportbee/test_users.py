"""SupportBee users and customer groups: list, show, create, update, group members (spec "Fetching Users and
Customer Groups" … "Add a Member to a Customer Group")."""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from mappings.supportbee import CUSTOMER_GROUP_ID_OFFSET, CUSTOMER_ID_OFFSET
from tests.providers.supportbee import desk_helpers as h
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error

USER_KEYS = h.keys(h.spec("users_with_roles")["users"][0])
GROUP_KEYS = h.keys(h.spec("users_customer_groups")["users"][0])
PICTURE_KEYS = h.keys(h.spec("user_show")["user"]["picture"])
TEAM_KEYS = h.keys(h.spec("teams_list")["teams"][0])


def by_email(users: list[dict[str, Any]], email: str) -> dict[str, Any]:
    return next(user for user in users if user["email"] == email)


async def native_agent(desk: SBDesk, user_id: int) -> dict[str, Any]:
    _, agents = await desk.tenant.call("GET", "/agents", expect=200)
    return next(agent for agent in agents if agent["id"] == user_id)


# -- GET /users --------------------------------------------------------------------------------------
async def test_list_agents_has_every_key_of_the_example(desk: SBDesk) -> None:
    assert h.keys(h.spec("users_with_roles")) == {"users"}
    agent_id, _ = await desk.agent("Agent One")
    team_id = await h.team(desk, "Billing", [agent_id])
    customer = await h.contact(desk, "Casey Customer")
    await h.ticket(desk, customer, assignee_id=agent_id)
    await h.ticket(desk, customer, assignee_id=agent_id, status="resolved")
    await h.ticket(desk, customer, assignee_id=agent_id, spam=True)
    await h.ticket(desk, customer, assignee_id=agent_id, additional_attributes={"supportbee": {"trash": True}})
    _, data = await desk.call("GET", "/users", params={"with_roles": "agent"}, expect=200)
    assert h.keys(data) == {"users"}
    assert [user["id"] for user in data["users"]] == [agent_id]
    user = data["users"][0]
    assert h.keys(user) == USER_KEYS
    assert h.keys(user["picture"]) == PICTURE_KEYS
    assert (user["type"], user["role"], user["agent"], user["name"]) == ("user", "agent", True, "Agent One")
    assert (user["first_name"], user["last_name"]) == ("Agent", "One")
    assert user["active_tickets_count"] == 1
    assert [team["id"] for team in user["teams"]] == [team_id]
    assert h.keys(user["teams"][0]) == TEAM_KEYS


async def test_default_roles_are_agents_and_customers_come_on_request(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Agent One")
    contact_id = await h.contact(desk, "Casey Customer", email="casey@customer.example")
    _, data = await desk.call("GET", "/users", expect=200)
    assert {user["id"] for user in data["users"]} == {desk.tenant.user_id, agent_id}
    assert {user["role"] for user in data["users"]} == {"admin", "agent"}
    _, data = await desk.call("GET", "/users", params={"with_roles": "customer"}, expect=200)
    assert [user["id"] for user in data["users"]] == [CUSTOMER_ID_OFFSET + contact_id]
    customer = data["users"][0]
    assert h.keys(customer) == USER_KEYS
    assert (customer["role"], customer["agent"], customer["email"]) == ("customer", False, "casey@customer.example")
    _, data = await desk.call("GET", "/users", params={"with_roles": "admin,customer"}, expect=200)
    assert [user["role"] for user in data["users"]] == ["admin", "customer"]
    _, data = await desk.call("GET", "/users?with_roles[]=agent&with_roles[]=customer", expect=200)
    assert [user["role"] for user in data["users"]] == ["agent", "customer"]


async def test_ids_of_agents_customers_and_groups_never_collide(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    contact_id = await h.contact(desk)
    company_id = await h.company(desk, "Acme")
    _, people = await desk.call("GET", "/users", params={"with_roles": "admin,agent,customer"}, expect=200)
    _, groups = await desk.call("GET", "/users", params={"type": "customer_group"}, expect=200)
    ids = [user["id"] for user in people["users"] + groups["users"]]
    assert len(ids) == len(set(ids)) == 4
    assert set(ids) == {
        desk.tenant.user_id,
        agent_id,
        CUSTOMER_ID_OFFSET + contact_id,
        CUSTOMER_GROUP_ID_OFFSET + company_id,
    }
    for user_id in ids:
        _, shown = await desk.call("GET", f"/users/{user_id}", expect=200)
        assert shown["user"]["id"] == user_id


async def test_a_tickets_requester_and_assignee_ids_are_user_ids(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Assigned Agent")
    body = {
        "ticket": {
            "subject": "Where is my order?",
            "requester_name": "Rita Requester",
            "requester_email": "rita@customer.example",
            "content": {"text": "It has not arrived."},
        }
    }
    _, created = await desk.call("POST", "/tickets", json=body, expect=201)
    ticket_id = created["ticket"]["id"]
    await desk.call("POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": agent_id}})
    _, shown = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
    requester_id = shown["ticket"]["requester"]["id"]
    assert requester_id > CUSTOMER_ID_OFFSET
    _, requester = await desk.call("GET", f"/users/{requester_id}", expect=200)
    assert (requester["user"]["email"], requester["user"]["role"]) == ("rita@customer.example", "customer")
    assert [ticket["id"] for ticket in requester["user"]["tickets"]] == [ticket_id]
    assignee_id = shown["ticket"]["current_user_assignee"]["user"]["id"]
    _, assignee = await desk.call("GET", f"/users/{assignee_id}", expect=200)
    assert (assignee["user"]["name"], assignee["user"]["active_tickets_count"]) == ("Assigned Agent", 1)


async def test_an_imported_id_is_shown_and_resolved_first(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Imported Agent")
    contact_id = await h.contact(desk, "Imported Customer")
    await h.legacy_ref(desk, "agent", "22102", agent_id)
    await h.legacy_ref(desk, "contact", str(agent_id), contact_id)
    _, data = await desk.call("GET", "/users", params={"with_roles": "agent,customer"}, expect=200)
    assert [(user["id"], user["name"]) for user in data["users"]] == [
        (22102, "Imported Agent"),
        (agent_id, "Imported Customer"),
    ]
    _, shown = await desk.call("GET", "/users/22102", expect=200)
    assert shown["user"]["name"] == "Imported Agent"
    _, shown = await desk.call("GET", f"/users/{agent_id}", expect=200)
    assert (shown["user"]["name"], shown["user"]["role"]) == ("Imported Customer", "customer")


async def test_invited_agents_only_with_with_invited(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Not Yet Confirmed")
    await h.unconfirm(desk, agent_id)
    _, data = await desk.call("GET", "/users", expect=200)
    assert agent_id not in [user["id"] for user in data["users"]]
    _, data = await desk.call("GET", "/users", params={"with_invited": "true"}, expect=200)
    assert agent_id in [user["id"] for user in data["users"]]


async def test_list_customer_groups_has_every_key_of_the_example(desk: SBDesk) -> None:
    company_id = await h.company(desk, "Test Group", "group.example")
    member = await h.contact(desk, email="one@group.example", company_id=company_id)
    await h.contact(desk, email="two@group.example", company_id=company_id)
    await h.ticket(desk, member)
    await h.contact(desk, email="outsider@else.example")
    _, data = await desk.call("GET", "/users", params={"type": "customer_group"}, expect=200)
    assert h.keys(data) == {"users"}
    group = data["users"][0]
    assert h.keys(group) == GROUP_KEYS
    assert group["id"] == CUSTOMER_GROUP_ID_OFFSET + company_id
    assert (group["type"], group["role"], group["agent"], group["name"]) == (
        "customer_group",
        "customer",
        False,
        "Test Group",
    )
    assert (group["members_count"], group["requested_tickets_count"], group["email_domains"]) == (
        2,
        1,
        ["group.example"],
    )


async def test_list_users_bad_parameters_are_400(desk: SBDesk) -> None:
    status, data = await desk.call("GET", "/users", params={"with_roles": "agent,boss"})
    assert_sb_error(status, data, 400)
    assert "with_roles" in data["errors"]
    status, data = await desk.call("GET", "/users", params={"type": "robot"})
    assert_sb_error(status, data, 400)
    assert "type" in data["errors"]


async def test_list_users_shows_no_other_company(desk: SBDesk, other_desk: SBDesk) -> None:
    await other_desk.agent("Globex Agent")
    await h.contact(other_desk, email="globex@customer.example")
    _, data = await desk.call("GET", "/users", params={"with_roles": "admin,agent,collaborator,customer"})
    assert [user["id"] for user in data["users"]] == [desk.tenant.user_id]
    status, data = await desk.call("GET", "/users", token=other_desk.token)
    assert_sb_error(status, data, 401)


# -- GET /users/{id} ---------------------------------------------------------------------------------
async def test_show_agent_has_every_key_of_the_example(desk: SBDesk) -> None:
    example = h.spec("user_show")
    agent_id, agent_token = await desk.agent("Agent One")
    _, data = await desk.call("GET", f"/users/{agent_id}.json", token=agent_token, expect=200)
    assert h.keys(data) == h.keys(example)
    assert h.keys(data["user"]) == h.keys(example["user"])
    assert (data["user"]["id"], data["user"]["role"]) == (agent_id, "agent")


async def test_show_customer_carries_their_recent_tickets(desk: SBDesk) -> None:
    contact_id = await h.contact(desk, "Casey Customer")
    for _ in range(7):
        await h.ticket(desk, contact_id)
    customer_id = CUSTOMER_ID_OFFSET + contact_id
    _, data = await desk.call("GET", f"/users/{customer_id}", expect=200)
    assert h.keys(data["user"]) == USER_KEYS | {"tickets"}
    assert data["user"]["active_tickets_count"] == 7
    assert len(data["user"]["tickets"]) == 5
    assert {ticket["requester"]["id"] for ticket in data["user"]["tickets"]} == {customer_id}
    _, data = await desk.call("GET", f"/users/{customer_id}", params={"max_tickets": "2"}, expect=200)
    assert len(data["user"]["tickets"]) == 2
    _, data = await desk.call("GET", f"/users/{customer_id}", params={"max_tickets": "false"}, expect=200)
    assert len(data["user"]["tickets"]) == 7


async def test_show_user_bad_input_and_unknown_ids(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    status, data = await desk.call("GET", f"/users/{agent_id}", params={"max_tickets": "many"})
    assert_sb_error(status, data, 400)
    assert "max_tickets" in data["errors"]
    for missing in ("999999", str(CUSTOMER_ID_OFFSET + 999999), str(CUSTOMER_GROUP_ID_OFFSET + 999999), "9" * 18):
        status, data = await desk.call("GET", f"/users/{missing}")
        assert_sb_error(status, data, 404)


async def test_show_user_of_another_company_is_404(desk: SBDesk, other_desk: SBDesk) -> None:
    agent_id, _ = await other_desk.agent()
    contact_id = await h.contact(other_desk)
    company_id = await h.company(other_desk, "Globex Group")
    for user_id in (agent_id, CUSTOMER_ID_OFFSET + contact_id, CUSTOMER_GROUP_ID_OFFSET + company_id):
        status, data = await desk.call("GET", f"/users/{user_id}")
        assert_sb_error(status, data, 404)
        await other_desk.call("GET", f"/users/{user_id}", expect=200)


# -- POST /users -------------------------------------------------------------------------------------
async def test_create_agent_from_the_spec_example(desk: SBDesk) -> None:
    request = h.spec("user_create_request")
    request["user"]["email"] = "test.name@example.com"
    _, data = await desk.call("POST", "/users", json=request, expect=201)
    assert h.keys(data) == {"user"}
    assert h.keys(data["user"]) == h.keys(h.spec("user_show")["user"])
    user = data["user"]
    assert (user["email"], user["name"], user["first_name"], user["last_name"]) == (
        "test.name@example.com",
        "Test Name",
        "Test",
        "Name",
    )
    assert (user["role"], user["agent"], user["type"], user["teams"]) == ("agent", True, "user", [])
    assert (await native_agent(desk, user["id"]))["role"] == "agent"
    _, shown = await desk.call("GET", f"/users/{user['id']}", expect=200)
    assert shown == data


async def test_create_admin_and_collaborator_keep_their_roles(desk: SBDesk) -> None:
    team_id = await h.team(desk, "Support")
    _, admin = await desk.call(
        "POST", "/users", json={"user": {"email": "boss@example.com", "name": "Big Boss", "role": 20}}, expect=201
    )
    assert admin["user"]["role"] == "admin"
    assert (await native_agent(desk, admin["user"]["id"]))["role"] == "administrator"
    with capture_logs() as logs:
        _, collaborator = await desk.call(
            "POST",
            "/users",
            json={"user": {"email": "helper@example.com", "name": "Helpful Hand", "role": 9, "team_ids": [team_id]}},
            expect=201,
        )
    assert [(log["kind"], log["field"]) for log in logs if log["event"] == "supportbee_mapping_lossy"] == [
        ("agent", "role")
    ]
    user = collaborator["user"]
    assert (user["role"], user["agent"], [team["id"] for team in user["teams"]]) == ("collaborator", True, [team_id])
    assert (await native_agent(desk, user["id"]))["role"] == "agent"
    _, listed = await desk.call("GET", "/users", params={"with_roles": "collaborator"}, expect=200)
    assert [item["id"] for item in listed["users"]] == [user["id"]]


async def test_create_customer_without_role(desk: SBDesk) -> None:
    _, data = await desk.call(
        "POST", "/users", json={"user": {"email": "Casey@Customer.example", "name": "Casey Customer"}}, expect=201
    )
    user = data["user"]
    assert h.keys(user) == USER_KEYS
    assert (user["role"], user["agent"], user["email"]) == ("customer", False, "Casey@Customer.example")
    assert user["id"] > CUSTOMER_ID_OFFSET
    _, contact = await desk.tenant.call("GET", f"/contacts/{user['id'] - CUSTOMER_ID_OFFSET}", expect=200)
    assert contact["payload"]["email"] == "casey@customer.example"


async def test_create_customer_group_from_a_form_with_the_spec_pages_spelling(desk: SBDesk) -> None:
    joining = await h.contact(desk, email="someone@examplecorp.com")
    already_grouped = await h.company(desk, "Elsewhere")
    staying = await h.contact(desk, email="other@othercorp.com", company_id=already_grouped)
    form = {
        "user[name]": "Test Group",
        "user[type]": "customergroup",
        "user[canmembersaccessgroup_tickets]": "true",
        "user[email_domains][]": ["examplecorp.com", "othercorp.com"],
        "auth_token": desk.token,
    }
    body = [(key, item) for key, value in form.items() for item in (value if isinstance(value, list) else [value])]
    _, data = await desk.call("POST", "/users", token=None, data=body, expect=201)
    group = data["user"]
    assert h.keys(group) == GROUP_KEYS
    assert (group["type"], group["name"], group["email"]) == ("customer_group", "Test Group", None)
    assert group["can_members_access_group_tickets"] is True
    assert group["email_domains"] == ["examplecorp.com", "othercorp.com"]
    assert (group["members_count"], group["requested_tickets_count"]) == (1, 0)
    _, members = await desk.call("GET", f"/users/{group['id']}/members", expect=200)
    assert [member["id"] for member in members["users"]] == [CUSTOMER_ID_OFFSET + joining]
    assert staying


async def test_create_user_bad_input_is_400(desk: SBDesk) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "a@example.com", "role": 10}, "user.name"),
        ({"name": "No Email", "role": 10}, "user.email"),
        ({"name": "Bad Email", "email": "not an address", "role": 10}, "user.email"),
        ({"name": "Bad Role", "email": "b@example.com", "role": 15}, "user.role"),
        ({"name": "Group", "type": "customer_group", "email": "g@example.com"}, "user.email"),
        ({"name": "Group", "type": "customer_group", "email_domains": ["not a domain"]}, "user.email_domains"),
        ({"name": "Agent", "email": "c@example.com", "role": 10, "team_ids": [999999]}, "user.team_ids"),
        ({"name": "Agent", "email": "d@example.com", "role": 10, "email_domains": ["x.com"]}, "user.email_domains"),
        ({"name": "Robot", "type": "robot"}, "user.type"),
    ]
    for fields, field in cases:
        status, data = await desk.call("POST", "/users", json={"user": fields})
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (fields, data)
    status, data = await desk.call("POST", "/users", json={"name": "Not wrapped"})
    assert_sb_error(status, data, 400)
    assert "user" in data["errors"]
    status, data = await desk.call("POST", "/users", data="{not json", headers={"Content-Type": "application/json"})
    assert_sb_error(status, data, 400)
    _, listed = await desk.call("GET", "/users", params={"with_roles": "admin,agent,collaborator,customer"})
    assert [user["id"] for user in listed["users"]] == [desk.tenant.user_id]


async def test_create_user_twice_is_400(desk: SBDesk) -> None:
    body = {"user": {"email": "twice@example.com", "name": "Twice", "role": 10}}
    await desk.call("POST", "/users", json=body, expect=201)
    status, data = await desk.call("POST", "/users", json=body)
    assert_sb_error(status, data, 400)


async def test_create_user_needs_an_admin(desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    status, data = await desk.call(
        "POST", "/users", token=agent_token, json={"user": {"email": "x@example.com", "name": "X Y", "role": 10}}
    )
    assert_sb_error(status, data, 403)


# -- PUT /users/{id} ---------------------------------------------------------------------------------
async def test_update_agent_from_the_spec_example(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Old Name")
    request = h.spec("user_update_request")
    request["user"]["email"] = "renamed@example.com"
    _, data = await desk.call("PUT", f"/users/{agent_id}", json=request, host=True, expect=200)
    assert h.keys(data["user"]) == h.keys(h.spec("user_show")["user"])
    user = data["user"]
    assert (user["id"], user["email"], user["name"], user["first_name"], user["last_name"], user["role"]) == (
        agent_id,
        "renamed@example.com",
        "Test Name",
        "Test",
        "Name",
        "agent",
    )
    native = await native_agent(desk, agent_id)
    assert (native["name"], native["email"]) == ("Test Name", "renamed@example.com")


async def test_update_role_codes_and_teams(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Role Changer")
    first = await h.team(desk, "First")
    second = await h.team(desk, "Second", [agent_id])
    _, data = await desk.call("PUT", f"/users/{agent_id}", json={"user": {"role": 9, "team_ids": [first]}}, expect=200)
    assert (data["user"]["role"], [team["id"] for team in data["user"]["teams"]]) == ("collaborator", [first])
    _, data = await desk.call("GET", f"/users/{agent_id}", expect=200)
    assert data["user"]["role"] == "collaborator"
    _, data = await desk.call("PUT", f"/users/{agent_id}", json={"user": {"role": "10"}}, expect=200)
    assert (data["user"]["role"], [team["id"] for team in data["user"]["teams"]]) == ("agent", [first])
    _, data = await desk.call("PUT", f"/users/{agent_id}", json={"user": {"role": 20, "team_ids": []}}, expect=200)
    assert (data["user"]["role"], data["user"]["teams"]) == ("admin", [])
    assert (await native_agent(desk, agent_id))["role"] == "administrator"
    assert second


async def test_update_customer_and_customer_group(desk: SBDesk) -> None:
    contact_id = await h.contact(desk, "Casey Customer", email="casey@customer.example")
    customer_id = CUSTOMER_ID_OFFSET + contact_id
    _, data = await desk.call(
        "PUT", f"/users/{customer_id}", json={"user": {"first_name": "Cassandra", "email": "cass@customer.example"}}
    )
    assert (data["user"]["name"], data["user"]["email"], data["user"]["role"]) == (
        "Cassandra Customer",
        "cass@customer.example",
        "customer",
    )
    company_id = await h.company(desk, "Acme")
    group_id = CUSTOMER_GROUP_ID_OFFSET + company_id
    joining = await h.contact(desk, email="someone@acme.example")
    _, data = await desk.call(
        "PUT",
        f"/users/{group_id}",
        json={"user": {"email_domains": ["acme.example"], "can_members_access_group_tickets": False}},
        expect=200,
    )
    assert h.keys(data["user"]) == GROUP_KEYS
    assert (data["user"]["email_domains"], data["user"]["can_members_access_group_tickets"]) == (
        ["acme.example"],
        False,
    )
    assert data["user"]["members_count"] == 1
    _, data = await desk.call(
        "PUT", f"/users/{group_id}", json={"user": {"can_members_access_group_tickets": None}}, expect=200
    )
    assert data["user"]["can_members_access_group_tickets"] is None
    assert data["user"]["email_domains"] == ["acme.example"]
    assert joining


async def test_update_user_bad_input_is_400(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    contact_id = await h.contact(desk)
    company_id = await h.company(desk, "Acme")
    cases: list[tuple[int, dict[str, Any], str]] = [
        (agent_id, {"role": 11}, "user.role"),
        (agent_id, {"email": "nope"}, "user.email"),
        (agent_id, {"type": "customer_group"}, "user.type"),
        (agent_id, {"team_ids": [999999]}, "user.team_ids"),
        (CUSTOMER_ID_OFFSET + contact_id, {"role": 10}, "user.role"),
        (CUSTOMER_GROUP_ID_OFFSET + company_id, {"email": "group@example.com"}, "user.email"),
        (CUSTOMER_GROUP_ID_OFFSET + company_id, {"first_name": "", "last_name": ""}, "user.first_name"),
    ]
    for user_id, fields, field in cases:
        status, data = await desk.call("PUT", f"/users/{user_id}", json={"user": fields})
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (fields, data)


async def test_update_user_access_rules(desk: SBDesk, other_desk: SBDesk) -> None:
    agent_id, agent_token = await desk.agent()
    status, data = await desk.call("PUT", f"/users/{desk.tenant.user_id}", json={"user": {"first_name": "Me"}})
    assert_sb_error(status, data, 403)
    status, data = await desk.call("PUT", f"/users/{agent_id}", token=agent_token, json={"user": {"role": 20}})
    assert_sb_error(status, data, 403)
    foreign_id, _ = await other_desk.agent()
    status, data = await desk.call("PUT", f"/users/{foreign_id}", json={"user": {"first_name": "Stolen"}})
    assert_sb_error(status, data, 404)


# -- customer group members --------------------------------------------------------------------------
async def test_members_list_and_add_have_every_key_of_the_examples(desk: SBDesk) -> None:
    company_id = await h.company(desk, "Test Group")
    group_id = CUSTOMER_GROUP_ID_OFFSET + company_id
    member = await h.contact(desk, "Early Member", company_id=company_id)
    joining = await h.contact(desk, "New Member")
    _, data = await desk.call("GET", f"/users/{group_id}/members", expect=200)
    assert h.keys(data) == h.keys(h.spec("customer_group_members_list"))
    assert [user["id"] for user in data["users"]] == [CUSTOMER_ID_OFFSET + member]
    assert h.keys(data["users"][0]) == h.keys(h.spec("customer_group_members_list")["users"][0])
    request = h.spec("customer_group_member_add_request")
    request["member"]["id"] = CUSTOMER_ID_OFFSET + joining
    _, added = await desk.call("POST", f"/users/{group_id}/members.json", json=request, expect=201)
    assert h.keys(added) == h.keys(h.spec("customer_group_member_add"))
    assert h.keys(added["member"]) == h.keys(h.spec("customer_group_member_add")["member"])
    assert added["member"]["id"] == CUSTOMER_ID_OFFSET + joining
    _, data = await desk.call("GET", f"/users/{group_id}/members", expect=200)
    assert [user["id"] for user in data["users"]] == [CUSTOMER_ID_OFFSET + member, CUSTOMER_ID_OFFSET + joining]


async def test_members_bad_input(desk: SBDesk, other_desk: SBDesk) -> None:
    company_id = await h.company(desk, "Test Group")
    group_id = CUSTOMER_GROUP_ID_OFFSET + company_id
    agent_id, agent_token = await desk.agent()
    status, data = await desk.call("POST", f"/users/{group_id}/members", json={"member": {"id": agent_id}})
    assert_sb_error(status, data, 400)
    assert "member.id" in data["errors"]
    status, data = await desk.call("POST", f"/users/{group_id}/members", json={"member": {}})
    assert_sb_error(status, data, 400)
    assert "member.id" in data["errors"]
    status, data = await desk.call("POST", f"/users/{group_id}/members", json={"member": {"id": 999999}})
    assert_sb_error(status, data, 404)
    contact_id = await h.contact(desk)
    status, data = await desk.call(
        "POST",
        f"/users/{group_id}/members",
        token=agent_token,
        json={"member": {"id": CUSTOMER_ID_OFFSET + contact_id}},
    )
    assert_sb_error(status, data, 403)
    status, data = await desk.call("GET", f"/users/{agent_id}/members")
    assert_sb_error(status, data, 404)
    foreign_group = CUSTOMER_GROUP_ID_OFFSET + await h.company(other_desk, "Globex Group")
    foreign_contact = CUSTOMER_ID_OFFSET + await h.contact(other_desk)
    status, data = await desk.call("GET", f"/users/{foreign_group}/members")
    assert_sb_error(status, data, 404)
    status, data = await desk.call("POST", f"/users/{group_id}/members", json={"member": {"id": foreign_contact}})
    assert_sb_error(status, data, 404)
