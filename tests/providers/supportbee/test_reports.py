"""SupportBee reports, admins only (spec "Reports", with the "Date Format" section for since/until)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bridge.models import Conversation
from bridge.schemas import MessageData
from mappings.supportbee import CUSTOMER_ID_OFFSET
from tests.providers.supportbee import desk_helpers as h
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error

UTC = dt.UTC
FEB_12 = dt.datetime(2013, 2, 12, tzinfo=UTC)
FEB_13 = dt.datetime(2013, 2, 13, tzinfo=UTC)
WINDOW = {"since": "2013-02-12", "until": "2013-02-14"}


async def story(desk: SBDesk) -> dict[str, int]:
    """The spec's example: two tickets on Feb 12 answered after 36000 s and 36401 s, one on Feb 13 after 27300 s."""
    agent_id, _ = await desk.agent("Agent One")
    other_agent, _ = await desk.agent("Agent Two")
    team_id = await h.team(desk, "Billing")
    customer = await h.contact(desk, "Casey Customer")
    first_created = FEB_12 + dt.timedelta(hours=1)
    second_created = FEB_12 + dt.timedelta(hours=2)
    third_created = FEB_13 + dt.timedelta(hours=3)
    first = await h.ticket(
        desk,
        customer,
        created_at=first_created,
        replies=[
            (first_created + dt.timedelta(seconds=36000), agent_id),
            (first_created + dt.timedelta(seconds=40000), other_agent),
        ],
        assignee_id=agent_id,
        team_id=team_id,
        labels=["vip"],
    )
    await h.ticket(
        desk,
        customer,
        created_at=second_created,
        replies=[(second_created + dt.timedelta(seconds=36401), other_agent)],
        assignee_id=other_agent,
    )
    await h.ticket(
        desk,
        customer,
        created_at=third_created,
        replies=[(third_created + dt.timedelta(seconds=27300), agent_id)],
        assignee_id=agent_id,
    )
    async with desk.tenant.store.writer(desk.tenant.account_id, import_mode=True) as w:
        row = await w.session.get(Conversation, first)
        assert row is not None
        note = MessageData(
            content="internal",
            message_type="outgoing",
            private=True,
            sender_type="agent",
            sender_id=agent_id,
            created_at=first_created + dt.timedelta(seconds=50),
        )
        await w.create_message(row, note)
    # Neither spam nor trash is counted.
    await h.ticket(desk, customer, created_at=FEB_12 + dt.timedelta(hours=5), spam=True)
    await h.ticket(
        desk,
        customer,
        created_at=FEB_12 + dt.timedelta(hours=6),
        additional_attributes={"supportbee": {"trash": True}},
    )
    return {"agent": agent_id, "other_agent": other_agent, "team": team_id, "customer": customer}


async def report(desk: SBDesk, kind: str, **params: str) -> Any:
    _, data = await desk.call("GET", f"/reports/{kind}", params=params, expect=200)
    return data


def points(data: Any) -> list[tuple[str, str]]:
    return [(point["timestamp"], point["value"]) for point in data["data_points"]]


async def test_avg_first_response_time_reproduces_the_spec_example(desk: SBDesk) -> None:
    await story(desk)
    data = await report(desk, "avg_first_response_time", **WINDOW)
    assert data == h.spec("report_avg_first_response_time")


async def test_tickets_and_replies_count_per_day(desk: SBDesk) -> None:
    ids = await story(desk)
    data = await report(desk, "tickets_count", **WINDOW)
    assert h.keys(data) == {"data_points"}
    assert all(h.keys(point) == {"value", "timestamp"} for point in data["data_points"])
    assert points(data) == [("1360627200", "2"), ("1360713600", "1"), ("1360800000", "0")]
    data = await report(desk, "replies_count", **WINDOW)
    assert points(data) == [("1360627200", "3"), ("1360713600", "1"), ("1360800000", "0")]
    data = await report(desk, "replies_count", user=str(ids["agent"]), **WINDOW)
    assert points(data) == [("1360627200", "1"), ("1360713600", "1"), ("1360800000", "0")]


async def test_user_team_and_label_filters(desk: SBDesk) -> None:
    ids = await story(desk)
    await h.legacy_ref(desk, "agent", "22102", ids["agent"])
    data = await report(desk, "tickets_count", user="22102", **WINDOW)
    assert points(data) == [("1360627200", "1"), ("1360713600", "1"), ("1360800000", "0")]
    data = await report(desk, "avg_first_response_time", team=str(ids["team"]), **WINDOW)
    assert points(data) == [("1360627200", "36000.0")]
    data = await report(desk, "replies_count", label="VIP", **WINDOW)
    assert points(data) == [("1360627200", "2"), ("1360713600", "0"), ("1360800000", "0")]


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2013-02-12T00:00:00+00:00", "2013-02-14T00:00:00+00:00"),
        ("20130212T000000+0000", "20130214T000000+0000"),
        ("12th Feb 2013 12:00:00 AM", "14th Feb 2013 12:00:00 AM"),
        ("20130212", "20130214"),
        ("2013-02-12T00:00:00Z", "2013-02-14T00:00:00Z"),
        ("1360627200", "1360800000"),
        ("2013-02-12T07:00:00+07:00", "20130214T070000+0700"),
    ],
)
async def test_every_date_format_of_the_spec(desk: SBDesk, since: str, until: str) -> None:
    await story(desk)
    data = await report(desk, "tickets_count", since=since, until=until)
    assert points(data) == [("1360627200", "2"), ("1360713600", "1"), ("1360800000", "0")]


async def test_the_window_defaults_to_the_last_30_days(desk: SBDesk) -> None:
    customer = await h.contact(desk)
    await h.ticket(desk, customer)
    data = await report(desk, "tickets_count")
    assert len(data["data_points"]) == 31
    assert data["data_points"][-1]["value"] == "1"
    assert sum(int(point["value"]) for point in data["data_points"]) == 1
    data = await report(desk, "tickets_count", since="2013-02-12")
    assert [point["timestamp"] for point in data["data_points"]][:2] == ["1360627200", "1360713600"]
    assert len(data["data_points"]) == 31
    data = await report(desk, "tickets_count", until="2013-02-14")
    assert data["data_points"][-1]["timestamp"] == "1360800000"
    assert data["data_points"][0]["timestamp"] == str(int(dt.datetime(2013, 1, 15, tzinfo=UTC).timestamp()))


async def test_bad_windows_and_filters_are_400_or_404(desk: SBDesk) -> None:
    ids = await story(desk)
    for params, field in (
        ({"since": "2013-01-01", "until": "2013-02-14"}, "until"),
        ({"since": "2013-02-14", "until": "2013-02-12"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2013-13-45"}, "until"),
        ({"user": "me", **WINDOW}, "user"),
        ({"user": str(CUSTOMER_ID_OFFSET + ids["customer"]), **WINDOW}, "user"),
        ({"team": "billing", **WINDOW}, "team"),
    ):
        status, data = await desk.call("GET", "/reports/tickets_count", params=params)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (params, data)
    for params in ({"user": "999999"}, {"team": "999999"}, {"label": "no-such-label"}):
        status, data = await desk.call("GET", "/reports/replies_count", params={**params, **WINDOW})
        assert_sb_error(status, data, 404)


async def test_reports_are_for_admins_of_their_own_company(desk: SBDesk, other_desk: SBDesk) -> None:
    await story(desk)
    _, agent_token = await desk.agent("Plain Agent")
    for kind in ("avg_first_response_time", "tickets_count", "replies_count"):
        status, data = await desk.call("GET", f"/reports/{kind}", token=agent_token, params=WINDOW)
        assert_sb_error(status, data, 403)
    data = await report(other_desk, "tickets_count", **WINDOW)
    assert points(data) == [("1360627200", "0"), ("1360713600", "0"), ("1360800000", "0")]
    foreign_agent, _ = await other_desk.agent()
    status, data = await desk.call("GET", "/reports/tickets_count", params={"user": str(foreign_agent), **WINDOW})
    assert_sb_error(status, data, 404)
    status, data = await desk.call("GET", "/reports/tickets_count.json", host=True, params=WINDOW)
    assert status == 200
    assert points(data)[0] == ("1360627200", "2")
