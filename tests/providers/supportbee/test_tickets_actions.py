"""SupportBee "Actions On Tickets" (archive, answered, star, spam, trash), user and team assignment, and labels
added to and removed from a ticket."""

from __future__ import annotations

import pytest

from bridge.settings import Settings
from mappings import supportbee as sb
from tests.providers.supportbee import tickets_support as t
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"supportbee_create_per_minute": 10_000})


ACTIONS = ("archive", "answered", "star", "spam", "trash")


@pytest.mark.parametrize(
    ("action", "flag", "on"),
    [
        ("archive", "archived", True),
        ("answered", "unanswered", False),
        ("star", "starred", True),
        ("spam", "spam", True),
        ("trash", "trash", True),
    ],
)
async def test_action_sets_and_clears_its_flag_with_204(desk: SBDesk, action: str, flag: str, on: bool) -> None:
    ticket_id = (await t.create(desk))["id"]
    assert (await t.ticket(desk, ticket_id))[flag] is not on
    status, body = await desk.call("POST", f"/tickets/{ticket_id}/{action}")
    assert (status, body) == (204, None)
    assert (await t.ticket(desk, ticket_id))[flag] is on
    status, body = await desk.call("POST", f"/tickets/{ticket_id}/{action}.json")
    assert (status, body) == (204, None)  # doing it twice is fine
    status, body = await desk.call("DELETE", f"/tickets/{ticket_id}/{action}/")
    assert (status, body) == (204, None)
    assert (await t.ticket(desk, ticket_id))[flag] is not on


async def test_actions_land_in_supportly_terms(desk: SBDesk) -> None:
    ticket_id = (await t.create(desk))["id"]
    for action in ("archive", "spam"):
        await desk.call("POST", f"/tickets/{ticket_id}/{action}", expect=204)
    _, native = await desk.tenant.call("GET", f"/conversations/{ticket_id}", expect=200)
    assert (native["status"], native["spam"]) == ("resolved", True)
    await desk.call("DELETE", f"/tickets/{ticket_id}/archive", expect=204)
    _, native = await desk.tenant.call("GET", f"/conversations/{ticket_id}", expect=200)
    assert native["status"] == "open"


async def test_star_is_per_agent(desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    ticket_id = (await t.create(desk))["id"]
    await desk.call("POST", f"/tickets/{ticket_id}/star", token=agent_token, expect=204)
    assert (await t.ticket(desk, ticket_id, token=agent_token))["starred"] is True
    assert (await t.ticket(desk, ticket_id))["starred"] is False
    await desk.call("POST", f"/tickets/{ticket_id}/star", expect=204)
    await desk.call("DELETE", f"/tickets/{ticket_id}/star", token=agent_token, expect=204)
    assert (await t.ticket(desk, ticket_id, token=agent_token))["starred"] is False
    assert (await t.ticket(desk, ticket_id))["starred"] is True


async def test_answered_mark_holds_until_the_customer_writes_again(desk: SBDesk) -> None:
    ticket_id = (await t.create(desk))["id"]
    await desk.call("POST", f"/tickets/{ticket_id}/answered", expect=204)
    assert (await t.ticket(desk, ticket_id))["unanswered"] is False
    await t.add_message(desk, ticket_id, by="customer")
    assert (await t.ticket(desk, ticket_id))["unanswered"] is True


@pytest.mark.parametrize("action", ACTIONS)
async def test_action_on_another_company_ticket_is_404(desk: SBDesk, other_desk: SBDesk, action: str) -> None:
    await t.create(desk)
    for _ in range(2):
        await t.create(other_desk)
    for method in ("POST", "DELETE"):
        assert_sb_error(*(await desk.call(method, f"/tickets/2/{action}")), 404)
        assert_sb_error(*(await desk.call(method, f"/tickets/1/{action}", token=other_desk.token)), 401)
        assert_sb_error(*(await desk.call(method, f"/tickets/1/{action}", token=None)), 401)
    assert_sb_error(*(await desk.call("POST", f"/tickets/abc/{action}")), 404)
    assert (await t.ticket(other_desk, 2))["archived"] is False


# -- user assignment -----------------------------------------------------------------------------------
async def test_user_assignment_answers_the_spec_shape(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Agent Two")
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call(
        "POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": agent_id}}
    )
    assert status == 201, data
    assert t.missing_keys(data, t.example("user_assignment_create")) == []
    assignment = data["user_assignment"]
    assert assignment["ticket"] == {"id": ticket_id}
    assert (assignment["assignee"]["user"]["id"], assignment["assignee"]["user"]["name"]) == (agent_id, "Agent Two")
    assert isinstance(assignment["id"], int)
    assert assignment["created_at"].endswith("Z")
    shown = await t.ticket(desk, ticket_id)
    assert shown["current_user_assignee"]["user"]["id"] == agent_id
    assert t.missing_keys(shown, t.example("ticket_fragment_user_assignee")) == []
    _, native = await desk.tenant.call("GET", f"/conversations/{ticket_id}", expect=200)
    assert native["meta"]["assignee"]["id"] == agent_id
    status, body = await desk.call("DELETE", f"/tickets/{ticket_id}/user_assignment")
    assert (status, body) == (204, None)
    assert (await t.ticket(desk, ticket_id))["current_user_assignee"] is None
    assert (await desk.call("DELETE", f"/tickets/{ticket_id}/user_assignment"))[0] == 204


async def test_user_assignment_from_a_form(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call(
        "POST", f"/tickets/{ticket_id}/user_assignment.json", data={"user_assignment[user_id]": str(agent_id)}
    )
    assert status == 201, data
    assert (await t.ticket(desk, ticket_id))["current_user_assignee"]["user"]["id"] == agent_id


async def test_user_assignment_outside_the_ticket_team_is_409(desk: SBDesk) -> None:
    member_id, _ = await desk.agent("Member")
    outsider_id, _ = await desk.agent("Outsider")
    team_id = await t.team(desk, "Support", [member_id])
    ticket_id = (await t.create(desk))["id"]
    await desk.call("POST", f"/tickets/{ticket_id}/team_assignment", json={"team_assignment": {"team_id": team_id}})
    status, data = await desk.call(
        "POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": outsider_id}}
    )
    assert_sb_error(status, data, 409)
    assert (await t.ticket(desk, ticket_id))["current_user_assignee"] is None
    await desk.call(
        "POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": member_id}}, expect=201
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_assignment": {}},
        {"user_assignment": {"user_id": "someone"}},
        {"user_assignment": {"user_id": 999999}},
        {"user_assignment": {"user_id": 99999999999999}},
    ],
)
async def test_user_assignment_bad_input_is_400(desk: SBDesk, body: dict[str, object]) -> None:
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/user_assignment", json=body)
    assert_sb_error(status, data, 400)
    assert (await t.ticket(desk, ticket_id))["current_user_assignee"] is None


async def test_user_assignment_across_companies(desk: SBDesk, other_desk: SBDesk) -> None:
    their_agent, _ = await other_desk.agent()
    await t.create(desk)
    for _ in range(2):
        await t.create(other_desk)
    status, data = await desk.call(
        "POST", "/tickets/1/user_assignment", json={"user_assignment": {"user_id": their_agent}}
    )
    assert_sb_error(status, data, 400)
    assert "user_id" in data["errors"]
    status, data = await desk.call(
        "POST", "/tickets/2/user_assignment", json={"user_assignment": {"user_id": desk.tenant.user_id}}
    )
    assert_sb_error(status, data, 404)
    assert_sb_error(*(await desk.call("DELETE", "/tickets/2/user_assignment")), 404)


# -- team assignment -----------------------------------------------------------------------------------
async def test_team_assignment_answers_the_spec_shape(desk: SBDesk) -> None:
    team_id = await t.team(desk, "Team 1", [desk.tenant.user_id])
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call(
        "POST", f"/tickets/{ticket_id}/team_assignment", json={"team_assignment": {"team_id": team_id}}
    )
    assert status == 201, data
    expected = t.example("team_assignment_create")
    assert t.missing_keys(data, expected) == []
    assignment = data["team_assignment"]
    assert assignment["ticket"] == {"id": ticket_id}
    assert assignment["assignee"] == {
        "team": {"id": team_id, "name": "Team 1", "picture": expected["team_assignment"]["assignee"]["team"]["picture"]}
    }
    shown = await t.ticket(desk, ticket_id)
    assert shown["current_team_assignee"] == assignment["assignee"]
    assert t.missing_keys(shown, t.example("ticket_fragment_team_assignee")) == []
    status, body = await desk.call("DELETE", f"/tickets/{ticket_id}/team_assignment")
    assert (status, body) == (204, None)
    assert (await t.ticket(desk, ticket_id))["current_team_assignee"] is None


async def test_moving_to_another_team_drops_the_agent(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    first = await t.team(desk, "First", [agent_id])
    second = await t.team(desk, "Second", [agent_id])
    ticket_id = (await t.create(desk))["id"]
    await desk.call("POST", f"/tickets/{ticket_id}/team_assignment", json={"team_assignment": {"team_id": first}})
    await desk.call("POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": agent_id}})
    await desk.call("POST", f"/tickets/{ticket_id}/team_assignment", json={"team_assignment": {"team_id": first}})
    assert (await t.ticket(desk, ticket_id))["current_user_assignee"]["user"]["id"] == agent_id
    await desk.call("POST", f"/tickets/{ticket_id}/team_assignment", json={"team_assignment": {"team_id": second}})
    shown = await t.ticket(desk, ticket_id)
    assert (shown["current_user_assignee"], shown["current_team_assignee"]["team"]["id"]) == (None, second)
    await desk.call("POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": agent_id}})
    await desk.call("DELETE", f"/tickets/{ticket_id}/team_assignment", expect=204)
    shown = await t.ticket(desk, ticket_id)
    assert (shown["current_user_assignee"]["user"]["id"], shown["current_team_assignee"]) == (agent_id, None)


@pytest.mark.parametrize(
    "body", [{}, {"team_assignment": {"team_id": "x"}}, {"team_assignment": {"team_id": 4242}}, {"team_assignment": []}]
)
async def test_team_assignment_bad_input_is_400(desk: SBDesk, body: dict[str, object]) -> None:
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/team_assignment", json=body)
    assert_sb_error(status, data, 400)
    assert (await t.ticket(desk, ticket_id))["current_team_assignee"] is None


async def test_team_assignment_across_companies(desk: SBDesk, other_desk: SBDesk) -> None:
    their_team = await t.team(other_desk, "Theirs", [])
    await t.create(desk)
    for _ in range(2):
        await t.create(other_desk)
    status, data = await desk.call(
        "POST", "/tickets/1/team_assignment", json={"team_assignment": {"team_id": their_team}}
    )
    assert_sb_error(status, data, 400)
    assert "team_id" in data["errors"]
    assert_sb_error(*(await desk.call("DELETE", "/tickets/2/team_assignment")), 404)


# -- labels on a ticket --------------------------------------------------------------------------------
async def test_add_and_remove_a_label(desk: SBDesk) -> None:
    label_id = await t.label(desk, "imp", "#00ff00")
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/labels/imp")
    assert status == 201
    assert data == {"label": {"id": label_id, "label": "imp", "ticket": ticket_id}}
    assert set(data["label"]) == set(t.example("label_add")["label"])
    assert (await t.ticket(desk, ticket_id))["labels"] == [{"name": "imp", "color": "#00ff00"}]
    assert (await desk.call("POST", f"/tickets/{ticket_id}/labels/imp"))[0] == 201  # already there: same answer
    status, body = await desk.call("DELETE", f"/tickets/{ticket_id}/labels/imp")
    assert (status, body) == (204, None)
    assert (await t.ticket(desk, ticket_id))["labels"] == []


async def test_label_paths_with_a_json_suffix_and_an_imported_name(desk: SBDesk) -> None:
    label_id = await t.label(desk, "needs_review")
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.record_external_ref(sb.PROVIDER, "label", "Needs Review", label_id)
    ticket_id = (await t.create(desk))["id"]
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/labels/Needs%20Review.json")
    assert status == 201, data
    assert data["label"]["label"] == "Needs Review"
    assert [item["name"] for item in (await t.ticket(desk, ticket_id))["labels"]] == ["Needs Review"]
    assert await t.listed(desk, label="Needs Review") == [ticket_id]
    assert (await desk.call("DELETE", f"/tickets/{ticket_id}/labels/needs_review.json"))[0] == 204
    assert (await t.ticket(desk, ticket_id))["labels"] == []


async def test_unknown_label_is_404(desk: SBDesk, other_desk: SBDesk) -> None:
    await t.label(other_desk, "theirs")
    ticket_id = (await t.create(desk))["id"]
    for method in ("POST", "DELETE"):
        status, data = await desk.call(method, f"/tickets/{ticket_id}/labels/theirs")
        assert_sb_error(status, data, 404)
    assert (await t.ticket(desk, ticket_id))["labels"] == []
    _, labels = await desk.tenant.call("GET", "/labels", expect=200)
    assert labels["payload"] == []


async def test_label_on_another_company_ticket_is_404(desk: SBDesk, other_desk: SBDesk) -> None:
    await t.label(desk, "imp")
    await t.create(desk)
    for _ in range(2):
        await t.create(other_desk)
    assert_sb_error(*(await desk.call("POST", "/tickets/2/labels/imp")), 404)
    assert_sb_error(*(await desk.call("DELETE", "/tickets/2/labels/imp")), 404)
    assert (await t.ticket(other_desk, 2))["labels"] == []


async def test_an_imported_ticket_answers_at_its_supportbee_id(desk: SBDesk) -> None:
    """A ticket an import recorded with SupportBee id 5001 is addressed and shown with that id everywhere."""
    created = await t.create(desk)
    row = await t.conversation(desk, created["id"])
    team_id = await t.team(desk, "Support", [desk.tenant.user_id])
    await t.label(desk, "imp")
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.record_external_ref(sb.PROVIDER, "conversation", "5001", row.id)
    assert (await t.ticket(desk, 5001))["id"] == 5001
    await desk.call("POST", "/tickets/5001/archive", expect=204)
    assert await t.listed(desk, archived="true") == [5001]
    _, data = await desk.call("POST", "/tickets/5001/team_assignment", json={"team_assignment": {"team_id": team_id}})
    assert data["team_assignment"]["ticket"] == {"id": 5001}
    _, data = await desk.call(
        "POST", "/tickets/5001/user_assignment", json={"user_assignment": {"user_id": desk.tenant.user_id}}
    )
    assert data["user_assignment"]["ticket"] == {"id": 5001}
    _, data = await desk.call("POST", "/tickets/5001/labels/imp", expect=201)
    assert data["label"]["ticket"] == 5001
