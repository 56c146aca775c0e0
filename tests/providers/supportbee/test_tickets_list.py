"""SupportBee "Fetch Tickets": the envelope, paging and every one of its 14 filters (run in SQL: the JSON-kept
trash, star and answered flags are filtered on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bridge.settings import Settings
from tests.providers.supportbee import tickets_support as t
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"supportbee_create_per_minute": 10_000})


async def test_envelope_has_integer_paging_and_every_key(desk: SBDesk) -> None:
    ids = [(await t.create(desk))["id"] for _ in range(5)]
    status, data = await desk.call("GET", "/tickets", params={"per_page": "2", "page": "2"})
    assert status == 200
    assert (data["total"], data["current_page"], data["per_page"], data["total_pages"]) == (5, 2, 2, 3)
    assert all(isinstance(data[key], int) for key in ("total", "current_page", "per_page", "total_pages"))
    assert t.missing_keys(data, t.example("tickets_list")) == []
    for item in data["tickets"]:
        t.assert_ticket_shape(item, t.example("tickets_list")["tickets"][0])
    # Newest activity first; page 2 of 2-per-page is the 3rd and 4th newest.
    assert [item["id"] for item in data["tickets"]] == ids[::-1][2:4]
    _, default = await desk.call("GET", "/tickets.json", expect=200)
    assert (default["per_page"], default["current_page"], len(default["tickets"])) == (15, 1, 5)
    _, beyond = await desk.call("GET", "/tickets", params={"page": "9"}, expect=200)
    assert (beyond["total"], beyond["tickets"]) == (5, [])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"per_page": "100"}, "per_page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"archived": "maybe"}, "archived"),
        ({"spam": "perhaps"}, "spam"),
        ({"replies": "x"}, "replies"),
        ({"max_replies": "-1"}, "max_replies"),
        ({"replies": "false", "max_replies": "2"}, "max_replies"),
        ({"assigned_user": "someone"}, "assigned_user"),
        ({"assigned_team": "yours"}, "assigned_team"),
        ({"starred": "2"}, "starred"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2001-13-45"}, "until"),
        ({"sort_by": "priority"}, "sort_by"),
    ],
)
async def test_bad_parameters_are_400(desk: SBDesk, params: dict[str, str], field: str) -> None:
    status, data = await desk.call("GET", "/tickets", params=params)
    assert_sb_error(status, data, 400)
    assert field in data["errors"], data


async def test_archived_spam_and_trash(desk: SBDesk) -> None:
    plain, archived, spam, trashed = [(await t.create(desk))["id"] for _ in range(4)]
    await desk.call("POST", f"/tickets/{archived}/archive", expect=204)
    await desk.call("POST", f"/tickets/{spam}/spam", expect=204)
    await desk.call("POST", f"/tickets/{trashed}/trash", expect=204)
    assert await t.listed(desk) == [plain]
    assert await t.listed(desk, archived="false") == [plain]
    assert await t.listed(desk, archived="true") == [archived]
    assert set(await t.listed(desk, archived="any")) == {plain, archived}
    # "If true, retrieved tickets contain tickets marked as spam" (trashed likewise): they are included.
    assert set(await t.listed(desk, spam="true")) == {plain, spam}
    assert set(await t.listed(desk, trash="true")) == {plain, trashed}
    assert set(await t.listed(desk, archived="ANY", spam="1", trash="yes")) == {plain, archived, spam, trashed}


async def test_replies_and_max_replies(desk: SBDesk) -> None:
    none, one, three = [(await t.create(desk))["id"] for _ in range(3)]
    await t.add_message(desk, one, by="agent")
    await t.add_message(desk, none, by="agent", private=True)  # a comment is not a reply
    for by in ("agent", "customer", "agent"):
        await t.add_message(desk, three, by=by)
    counts = {ticket_id: (await t.ticket(desk, ticket_id))["replies_count"] for ticket_id in (none, one, three)}
    assert counts == {none: 0, one: 1, three: 3}
    assert await t.listed(desk, replies="true") == [three, one]
    assert await t.listed(desk, replies="false") == [none]
    assert await t.listed(desk, max_replies="1") == [one, none]
    assert await t.listed(desk, replies="true", max_replies="2") == [one]


async def test_assigned_user_and_assigned_team(desk: SBDesk) -> None:
    agent_id, agent_token = await desk.agent()
    support = await t.team(desk, "Support", [desk.tenant.user_id])
    billing = await t.team(desk, "Billing", [agent_id])
    mine, theirs, team_only, free = [(await t.create(desk))["id"] for _ in range(4)]
    await desk.call("POST", f"/tickets/{mine}/team_assignment", json={"team_assignment": {"team_id": support}})
    await desk.call(
        "POST", f"/tickets/{mine}/user_assignment", json={"user_assignment": {"user_id": desk.tenant.user_id}}
    )
    await desk.call("POST", f"/tickets/{theirs}/user_assignment", json={"user_assignment": {"user_id": agent_id}})
    await desk.call("POST", f"/tickets/{team_only}/team_assignment", json={"team_assignment": {"team_id": billing}})
    assert await t.listed(desk, assigned_user="me") == [mine]
    assert await t.listed(desk, assigned_user="me", token=agent_token) == [theirs]
    assert await t.listed(desk, assigned_user=str(agent_id)) == [theirs]
    assert await t.listed(desk, assigned_user="999999") == []
    assert set(await t.listed(desk, assigned_user="any")) == {mine, theirs}
    assert set(await t.listed(desk, assigned_user="none")) == {team_only, free}
    assert await t.listed(desk, assigned_team="mine") == [mine]
    assert await t.listed(desk, assigned_team="mine", token=agent_token) == [team_only]
    assert await t.listed(desk, assigned_team=str(billing)) == [team_only]
    assert set(await t.listed(desk, assigned_team="none")) == {theirs, free}
    assert await t.listed(desk, assigned_user="none", assigned_team="none") == [free]


async def test_starred_is_the_calling_agent_star(desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    starred, assigned, other = [(await t.create(desk))["id"] for _ in range(3)]
    await desk.call("POST", f"/tickets/{starred}/star", expect=204)
    await desk.call("POST", f"/tickets/{other}/star", token=agent_token, expect=204)
    for ticket_id in (starred, assigned):
        await desk.call(
            "POST", f"/tickets/{ticket_id}/user_assignment", json={"user_assignment": {"user_id": desk.tenant.user_id}}
        )
    assert await t.listed(desk, starred="true") == [starred]
    assert await t.listed(desk, starred="true", token=agent_token) == [other]
    # "If false, retrieves only the non starred tickets assigned to the current user".
    assert await t.listed(desk, starred="false") == [assigned]
    assert await t.listed(desk, starred="false", token=agent_token) == []
    await desk.call("DELETE", f"/tickets/{starred}/star", expect=204)
    assert await t.listed(desk, starred="true") == []


async def test_label_filter_by_name_and_the_unanswered_label(desk: SBDesk) -> None:
    await t.label(desk, "billing")
    waiting, answered, labelled = [(await t.create(desk))["id"] for _ in range(3)]
    await t.add_message(desk, answered, by="agent")
    await desk.call("POST", f"/tickets/{labelled}/labels/Billing", expect=201)
    await desk.call("POST", f"/tickets/{labelled}/answered", expect=204)
    assert await t.listed(desk, label="billing") == [labelled]
    assert await t.listed(desk, label="Billing") == [labelled]
    assert await t.listed(desk, label="unknown") == []
    assert await t.listed(desk, label="unanswered") == [waiting]
    assert await t.listed(desk, label="unanswered", assigned_user="none", per_page="10") == [waiting]


async def test_unanswered_label_agrees_with_each_ticket_flag(desk: SBDesk) -> None:
    """The SQL filter and the rendered flag are the same rule (``derive_unanswered``), override included."""
    fresh, replied, reopened, marked, marked_then_written = [(await t.create(desk))["id"] for _ in range(5)]
    await t.add_message(desk, replied, by="agent")
    await t.add_message(desk, reopened, by="agent")
    await t.add_message(desk, reopened, by="customer")
    await t.add_message(desk, marked, by="agent")
    await desk.call("DELETE", f"/tickets/{marked}/answered", expect=204)
    await desk.call("POST", f"/tickets/{marked_then_written}/answered", expect=204)
    await asyncio.sleep(0.01)  # SQLite compares times to the millisecond: write clearly after the mark
    await t.add_message(desk, marked_then_written, by="customer")
    flags = {
        ticket_id: (await t.ticket(desk, ticket_id))["unanswered"]
        for ticket_id in (fresh, replied, reopened, marked, marked_then_written)
    }
    assert flags == {fresh: True, replied: False, reopened: True, marked: True, marked_then_written: True}
    assert set(await t.listed(desk, label="unanswered")) == {k for k, v in flags.items() if v}
    await desk.call("POST", f"/tickets/{reopened}/answered", expect=204)
    assert (await t.ticket(desk, reopened))["unanswered"] is False
    assert reopened not in await t.listed(desk, label="unanswered")


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2001-02-15T04:05:06+07:00", "2001-03-15T04:05:06+07:00"),
        ("20010214T210506+0000", "20010315T040506+0700"),
        ("15th Feb 2001 04:05:06 PM", "1st Mar 2001 04:05:06 PM"),
        ("2001-02-15", "2001-03-01"),
        ("20010215", "20010301"),
        ("2001-02-15T00:00:00Z", "2001-03-01T00:00:00Z"),
    ],
)
async def test_since_and_until_take_every_date_format(desk: SBDesk, since: str, until: str) -> None:
    before, inside, after = [(await t.create(desk))["id"] for _ in range(3)]
    for ticket_id, when in (
        (before, dt.datetime(2001, 2, 14, 12, tzinfo=dt.UTC)),
        (inside, dt.datetime(2001, 2, 20, tzinfo=dt.UTC)),
        (after, dt.datetime(2001, 3, 20, tzinfo=dt.UTC)),
    ):
        await t.update(desk, ticket_id, last_activity_at=when)
    assert await t.listed(desk, since=since, until=until) == [inside]
    assert await t.listed(desk, since=since) == [after, inside]
    assert await t.listed(desk, until=until) == [inside, before]
    assert (await t.ticket(desk, inside))["last_activity_at"] == "2001-02-20T00:00:00Z"


async def test_sort_by_creation_time(desk: SBDesk) -> None:
    first, second, third = [(await t.create(desk))["id"] for _ in range(3)]
    await t.update(desk, first, last_activity_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert await t.listed(desk) == [first, third, second]
    assert await t.listed(desk, sort_by="last_activity") == [first, third, second]
    assert await t.listed(desk, sort_by="creation_time") == [third, second, first]


async def test_requester_emails_and_total_only(desk: SBDesk, other_desk: SBDesk) -> None:
    ann = (await t.create(desk, requester_email="ann@customer.example"))["id"]
    bob = (await t.create(desk, requester_email="Bob@Customer.example"))["id"]
    await t.create(desk, requester_email="cat@customer.example")
    await t.create(other_desk, requester_email="ann@customer.example")
    assert await t.listed(desk, requester_emails="ann@customer.example, BOB@customer.example") == [bob, ann]
    status, data = await desk.call("GET", "/tickets", params={"total_only": "true"})
    assert (status, data) == (200, {"total": 3})
    _, data = await desk.call("GET", "/tickets", params={"total_only": "1", "requester_emails": "ann@customer.example"})
    assert data == {"total": 1}
    _, data = await desk.call("GET", "/tickets", params={"total_only": "false", "per_page": "1"})
    assert (data["total"], len(data["tickets"])) == (3, 1)


async def test_another_company_tickets_never_show(desk: SBDesk, other_desk: SBDesk) -> None:
    theirs = await t.create(other_desk)
    await other_desk.call("POST", f"/tickets/{theirs['id']}/star", expect=204)
    assert await t.listed(desk, archived="any", spam="true", trash="true") == []
    assert await t.listed(desk, starred="true") == []
    status, data = await desk.call("GET", "/tickets", token=other_desk.token)
    assert_sb_error(status, data, 401)


HOSTILE = ["9223372036854775808", "99999999999999999999", "-1", "", "\x00", "a\x00b", "%", "9999-12-31T23:59:59-01:00"]
LIST_PARAMS = [
    "per_page",
    "page",
    "archived",
    "spam",
    "trash",
    "replies",
    "max_replies",
    "assigned_user",
    "assigned_team",
    "starred",
    "label",
    "since",
    "until",
    "sort_by",
    "requester_emails",
    "total_only",
]


async def test_hostile_parameters_never_500(desk: SBDesk) -> None:
    await t.create(desk)
    failures: list[tuple[Any, ...]] = []
    for path, names in (("/tickets", LIST_PARAMS), ("/tickets/search", ["query", "per_page", "page", "spam"])):
        for name in names:
            for value in HOSTILE:
                params = {name: value} if name == "query" else {"query": "x", name: value}
                status, data = await desk.call("GET", path, params=params)
                if status >= 500 or not (status == 200 or (isinstance(data, dict) and data.get("error"))):
                    failures.append((path, name, value, status, data))
    for label in ("%00", "a%00b", "x" * 300):
        status, data = await desk.call("POST", f"/tickets/1/labels/{label}")
        if status != 404:
            failures.append(("label", label, status, data))
    assert failures == []
