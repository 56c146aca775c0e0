"""SupportBee filters: a rule and a consequence joined by a filter become an automation rule (spec "Creating
Filters")."""

from __future__ import annotations

import re
from typing import Any

from structlog.testing import capture_logs

from tests.providers.supportbee import desk_helpers as h
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error

PART_ID = re.compile(r"^\d+_\d{14}$")


async def automations(desk: SBDesk) -> list[dict[str, Any]]:
    _, data = await desk.tenant.call("GET", "/automation_rules", expect=200)
    return list(data["payload"] if isinstance(data, dict) else data)


async def make_filter(desk: SBDesk, rule: dict[str, Any], consequence: dict[str, Any]) -> dict[str, Any]:
    _, made_rule = await desk.call("POST", "/rules", json={"rule": rule}, expect=201)
    _, made_consequence = await desk.call("POST", "/consequences", json={"consequence": consequence}, expect=201)
    _, made = await desk.call(
        "POST",
        "/filters",
        json={"filter": {"rule_id": made_rule["rule"]["id"], "consequence_id": made_consequence["consequence"]["id"]}},
        expect=201,
    )
    return dict(made["filter"])


async def test_rule_consequence_and_filter_from_the_spec_examples(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent("Uploader Agent")
    await h.legacy_ref(desk, "agent", "22102", agent_id)
    rule_request = h.spec("rule_create_request")
    rule_request["rule"]["requester_email"] = "uploads@customer.example"
    _, rule = await desk.call("POST", "/rules", json=rule_request, expect=201)
    assert h.keys(rule) == h.keys(h.spec("rule_create"))
    assert h.keys(rule["rule"]) == h.keys(h.spec("rule_create")["rule"])
    assert PART_ID.match(rule["rule"]["id"])
    assert rule["rule"]["id"].startswith(f"{desk.tenant.account_id}_")
    _, consequence = await desk.call("POST", "/consequences", json=h.spec("consequence_create_request"), expect=201)
    assert h.keys(consequence) == h.keys(h.spec("consequence_create"))
    assert h.keys(consequence["consequence"]) == h.keys(h.spec("consequence_create")["consequence"])
    assert PART_ID.match(consequence["consequence"]["id"])
    request = h.spec("filter_create_request")
    request["filter"] = {"rule_id": rule["rule"]["id"], "consequence_id": consequence["consequence"]["id"]}
    _, made = await desk.call("POST", "/filters", json=request, expect=201)
    assert h.keys(made) == {"filter"}
    assert h.keys(made["filter"]) == {"id", "rule_id", "consequence_id"}
    assert (made["filter"]["rule_id"], made["filter"]["consequence_id"]) == (
        rule["rule"]["id"],
        consequence["consequence"]["id"],
    )
    [automation] = await automations(desk)
    assert automation["event_name"] == "conversation_created"
    assert automation["active"] is True
    assert automation["conditions"] == [
        {"attribute_key": "email", "filter_operator": "equal_to", "values": ["uploads@customer.example"]}
    ]
    assert automation["actions"] == [
        {"action_name": "add_label", "action_params": ["desktop_uploader"]},
        {"action_name": "assign_an_agent", "action_params": [agent_id]},
    ]
    kept = await h.kept_of(desk, "automation_rule", automation["id"])
    assert kept is not None
    assert kept["rule"]["requester_email"] == "uploads@customer.example"
    assert kept["consequence"]["assign_user"] == "22102"
    assert kept["filter"]["id"] == made["filter"]["id"]


async def test_what_an_automation_cannot_do_is_kept_and_reported(desk: SBDesk) -> None:
    with capture_logs() as logs:
        made = await make_filter(desk, {"delivered_to": "billing@company.example"}, {"archive": True, "spam": True})
    lossy = [(log["kind"], log["field"]) for log in logs if log["event"] == "supportbee_mapping_lossy"]
    assert lossy == [("automation_rule", "rule.delivered_to"), ("automation_rule", "consequence.spam")]
    [automation] = await automations(desk)
    assert (automation["active"], automation["actions"]) == (False, [{"action_name": "resolve_conversation"}])
    kept = await h.kept_of(desk, "automation_rule", automation["id"])
    assert kept is not None
    assert kept["consequence"]["spam"] is True
    assert kept["filter"]["id"] == made["id"]


async def test_a_filter_nothing_can_run_is_only_kept(desk: SBDesk) -> None:
    with capture_logs() as logs:
        made = await make_filter(desk, {"subject": "viagra"}, {"trash": True})
    assert ("automation_rule", "consequence") in [
        (log["kind"], log["field"]) for log in logs if log["event"] == "supportbee_mapping_lossy"
    ]
    assert await automations(desk) == []
    assert PART_ID.match(made["id"])


async def test_form_encoded_rule_and_team_consequence(desk: SBDesk) -> None:
    team_id = await h.team(desk, "Billing")
    _, rule = await desk.call("POST", "/rules", data={"rule[subject]": "invoice", "rule[body]": "refund"}, expect=201)
    _, consequence = await desk.call(
        "POST",
        "/consequences",
        data={"consequence[assign_team]": str(team_id), "consequence[archive]": "1"},
        expect=201,
    )
    await desk.call(
        "POST",
        "/filters.json",
        data={"filter[rule_id]": rule["rule"]["id"], "filter[consequence_id]": consequence["consequence"]["id"]},
        host=True,
        expect=201,
    )
    [automation] = await automations(desk)
    assert automation["conditions"][0]["attribute_key"] == "mail_subject"
    assert automation["conditions"][1]["attribute_key"] == "content"
    assert {"action_name": "assign_a_team", "action_params": [team_id]} in automation["actions"]


async def test_ids_are_unique_within_the_same_second(desk: SBDesk) -> None:
    ids = set()
    for _ in range(3):
        _, rule = await desk.call("POST", "/rules", json={"rule": {"subject": "same second"}}, expect=201)
        ids.add(rule["rule"]["id"])
    assert len(ids) == 3


async def test_bad_input_is_400(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    team_id = await h.team(desk, "Billing")
    for path, body, field in (
        ("/rules", {"rule": {"requester_email": "", "subject": ""}}, "rule"),
        ("/rules", {"rule": {"subject": ["not", "text"]}}, "rule.subject"),
        ("/rules", {"subject": "unwrapped"}, "rule"),
        ("/consequences", {"consequence": {}}, "consequence"),
        (
            "/consequences",
            {"consequence": {"assign_user": agent_id, "assign_team": team_id}},
            "consequence.assign_team",
        ),
        ("/consequences", {"consequence": {"assign_user": "999999"}}, "consequence.assign_user"),
        ("/consequences", {"consequence": {"assign_user": "me"}}, "consequence.assign_user"),
        ("/consequences", {"consequence": {"assign_team": 999999}}, "consequence.assign_team"),
        ("/consequences", {"consequence": {"archive": "perhaps"}}, "consequence.archive"),
        ("/filters", {"filter": {"rule_id": "1_20130430051601"}}, "filter.consequence_id"),
    ):
        status, data = await desk.call("POST", path, json=body)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (path, body, data)
    _, consequence = await desk.call("POST", "/consequences", json={"consequence": {"archive": True}}, expect=201)
    status, data = await desk.call(
        "POST",
        "/filters",
        json={"filter": {"rule_id": "1_20130430051601", "consequence_id": consequence["consequence"]["id"]}},
    )
    assert_sb_error(status, data, 404)
    assert await automations(desk) == []


async def test_filters_need_an_admin_and_stay_in_their_company(desk: SBDesk, other_desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    for path, body in (
        ("/rules", {"rule": {"subject": "x"}}),
        ("/consequences", {"consequence": {"archive": True}}),
        ("/filters", {"filter": {"rule_id": "1", "consequence_id": "2"}}),
    ):
        status, data = await desk.call("POST", path, token=agent_token, json=body)
        assert_sb_error(status, data, 403)
    _, rule = await other_desk.call("POST", "/rules", json={"rule": {"subject": "x"}}, expect=201)
    _, consequence = await other_desk.call("POST", "/consequences", json={"consequence": {"archive": True}}, expect=201)
    status, data = await desk.call(
        "POST",
        "/filters",
        json={"filter": {"rule_id": rule["rule"]["id"], "consequence_id": consequence["consequence"]["id"]}},
    )
    assert_sb_error(status, data, 404)
    foreign_agent, _ = await other_desk.agent()
    status, data = await desk.call("POST", "/consequences", json={"consequence": {"assign_user": foreign_agent}})
    assert_sb_error(status, data, 400)
