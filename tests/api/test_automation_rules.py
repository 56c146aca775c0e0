"""Native API: automation rules (spec "Automation Rules"); administrators only."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant, assert_error

RULE_KEYS = {
    "id",
    "account_id",
    "name",
    "description",
    "event_name",
    "conditions",
    "actions",
    "active",
    "created_on",
    "created_at",
    "updated_at",
}
CONDITIONS = [
    {
        "attribute_key": "content",
        "filter_operator": "contains",
        "values": ["billing", "invoice"],
        "query_operator": "and",
    },
    {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"]},
]
ACTIONS = [
    {"action_name": "add_label", "action_params": ["billing"]},
    {"action_name": "assign_a_team", "action_params": [2]},
]


def _rule(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Escalate billing urgency",
        "description": "Billing mail goes to the billing team",
        "event_name": "message_created",
        "conditions": CONDITIONS,
        "actions": ACTIONS,
        "active": True,
    }
    body.update(overrides)
    return body


async def test_create_automation_rule_and_read_it_back(tenant: Tenant) -> None:
    _, data = await tenant.call("POST", "/automation_rules", json=_rule(), expect=200)
    created = data["payload"]
    assert set(created) == RULE_KEYS
    assert created["account_id"] == tenant.account_id
    assert (created["name"], created["event_name"], created["active"]) == (
        "Escalate billing urgency",
        "message_created",
        True,
    )
    assert created["conditions"] == CONDITIONS
    assert created["actions"] == ACTIONS
    assert isinstance(created["created_on"], int)
    assert created["created_on"] > 0

    _, shown = await tenant.call("GET", f"/automation_rules/{created['id']}", expect=200)
    assert shown == {"payload": created}
    _, listed = await tenant.call("GET", "/automation_rules", expect=200)
    assert listed == {"payload": [created]}


async def test_create_automation_rule_defaults(tenant: Tenant) -> None:
    body = {
        "name": "Resolve",
        "event_name": "conversation_created",
        "actions": [{"action_name": "resolve_conversation"}],
    }
    _, data = await tenant.call("POST", "/automation_rules", json=body, expect=200)
    rule = data["payload"]
    assert (rule["conditions"], rule["active"], rule["description"]) == ([], True, None)
    assert rule["actions"] == [{"action_name": "resolve_conversation"}]


async def test_create_automation_rule_rejects_bad_input(tenant: Tenant) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (_rule(actions=None), "actions"),
        ({k: v for k, v in _rule().items() if k != "actions"}, "actions"),
        (_rule(actions=[]), "actions"),
        (_rule(actions=[{"action_name": "delete_everything"}]), "actions.0"),
        (_rule(actions=[ACTIONS[0], {"action_params": ["x"]}]), "actions.1"),
        (_rule(actions=["add_label"]), "actions.0"),
        (_rule(actions=[{"action_name": "add_label", "action_params": "billing"}]), "actions.0"),
        (_rule(conditions=[{"attribute_key": "content", "values": ["x"]}]), "conditions.0"),
        (
            _rule(conditions=[{"attribute_key": "content", "filter_operator": "contains", "values": "x"}]),
            "conditions.0",
        ),
        (_rule(conditions={"attribute_key": "content"}), "conditions"),
        (_rule(event_name="conversation_resolved"), "event_name"),
        ({k: v for k, v in _rule().items() if k != "event_name"}, "event_name"),
        (_rule(name=""), "name"),
        (_rule(active="sometimes"), "active"),
    ]
    for body, field in cases:
        status, data = await tenant.call("POST", "/automation_rules", json=body)
        assert_error(status, data, 422, field)
    status, data = await tenant.call(
        "POST", "/automation_rules", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert_error(status, data, 400)
    _, listed = await tenant.call("GET", "/automation_rules", expect=200)
    assert listed == {"payload": []}


async def test_update_automation_rule(tenant: Tenant) -> None:
    _, data = await tenant.call("POST", "/automation_rules", json=_rule(), expect=200)
    rule_id = data["payload"]["id"]
    new_actions = [{"action_name": "snooze_conversation"}, {"action_name": "send_message", "action_params": ["Hi"]}]
    _, data = await tenant.call(
        "PATCH", f"/automation_rules/{rule_id}", json={"active": False, "actions": new_actions}, expect=200
    )
    updated = data["payload"]
    assert set(updated) == RULE_KEYS
    assert (updated["active"], updated["actions"], updated["name"]) == (False, new_actions, "Escalate billing urgency")
    assert updated["conditions"] == CONDITIONS
    _, shown = await tenant.call("GET", f"/automation_rules/{rule_id}", expect=200)
    assert shown == {"payload": updated}


async def test_update_automation_rule_rejects_bad_input(tenant: Tenant) -> None:
    _, data = await tenant.call("POST", "/automation_rules", json=_rule(), expect=200)
    path = f"/automation_rules/{data['payload']['id']}"
    for body, field in (
        ({"actions": []}, "actions"),
        ({"actions": [{"action_name": "explode"}]}, "actions.0"),
        ({"event_name": None}, "event_name"),
        ({"name": None}, "name"),
        ({"conditions": [{"values": []}]}, "conditions.0"),
    ):
        status, data = await tenant.call("PATCH", path, json=body)
        assert_error(status, data, 422, field)
    _, shown = await tenant.call("GET", path, expect=200)
    assert shown["payload"]["actions"] == ACTIONS


async def test_delete_automation_rule(tenant: Tenant) -> None:
    _, data = await tenant.call("POST", "/automation_rules", json=_rule(), expect=200)
    path = f"/automation_rules/{data['payload']['id']}"
    status, body = await tenant.call("DELETE", path)
    assert (status, body) == (204, None)
    status, body = await tenant.call("GET", path)
    assert_error(status, body, 404, "id")
    _, listed = await tenant.call("GET", "/automation_rules", expect=200)
    assert listed == {"payload": []}


async def test_another_accounts_automation_rule_is_not_found(tenant: Tenant, other: Tenant) -> None:
    _, data = await other.call("POST", "/automation_rules", json=_rule(name="Theirs"), expect=200)
    path = f"/automation_rules/{data['payload']['id']}"
    for method, body in (("GET", None), ("PATCH", {"active": False}), ("DELETE", None)):
        status, error = await tenant.call(method, path, json=body)
        assert_error(status, error, 404, "id")
    _, listed = await tenant.call("GET", "/automation_rules", expect=200)
    assert listed == {"payload": []}
    _, shown = await other.call("GET", path, expect=200)
    assert shown["payload"]["active"] is True


async def test_automation_rules_need_an_administrator(tenant: Tenant) -> None:
    _, data = await tenant.call("POST", "/automation_rules", json=_rule(), expect=200)
    path = f"/automation_rules/{data['payload']['id']}"
    _, agent_token = await tenant.agent()
    for method, target, body in (
        ("GET", "/automation_rules", None),
        ("POST", "/automation_rules", _rule(name="Mine")),
        ("GET", path, None),
        ("PATCH", path, {"active": False}),
        ("DELETE", path, None),
    ):
        status, error = await tenant.call(method, target, json=body, token=agent_token)
        assert_error(status, error, 403)
    _, listed = await tenant.call("GET", "/automation_rules", expect=200)
    assert [(rule["name"], rule["active"]) for rule in listed["payload"]] == [("Escalate billing urgency", True)]
