"""Native API: custom attribute definitions (spec "Custom Attributes"); writes are for administrators."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant, assert_error

ATTRIBUTE_KEYS = {
    "id",
    "attribute_display_name",
    "attribute_display_type",
    "attribute_description",
    "attribute_key",
    "regex_pattern",
    "regex_cue",
    "attribute_values",
    "attribute_model",
    "default_value",
    "created_at",
    "updated_at",
}


async def _attribute(tenant: Tenant, **body: Any) -> dict[str, Any]:
    body.setdefault("attribute_display_name", "Subscription Plan")
    body.setdefault("attribute_display_type", "list")
    body.setdefault("attribute_model", "contact_attribute")
    _, data = await tenant.call("POST", "/custom_attribute_definitions", json=body, expect=200)
    assert isinstance(data, dict)
    return data


async def test_create_custom_attribute_derives_its_key(tenant: Tenant) -> None:
    created = await _attribute(
        tenant, attribute_values=["free", "pro"], attribute_description="Billing plan", default_value="free"
    )
    assert set(created) == ATTRIBUTE_KEYS
    assert created["attribute_key"] == "subscription_plan"
    assert (created["attribute_display_name"], created["attribute_display_type"], created["attribute_model"]) == (
        "Subscription Plan",
        "list",
        "contact_attribute",
    )
    assert (created["attribute_values"], created["attribute_description"], created["default_value"]) == (
        ["free", "pro"],
        "Billing plan",
        "free",
    )
    _, shown = await tenant.call("GET", f"/custom_attribute_definitions/{created['id']}", expect=200)
    assert shown == created


async def test_create_custom_attribute_with_chatwoot_integer_enums_and_own_key(tenant: Tenant) -> None:
    created = await _attribute(
        tenant,
        attribute_display_name="Order ID",
        attribute_key="order_ref",
        attribute_display_type=0,
        attribute_model=0,
        regex_pattern="^[0-9]+$",
        regex_cue="Digits only",
    )
    assert (created["attribute_key"], created["attribute_display_type"], created["attribute_model"]) == (
        "order_ref",
        "text",
        "conversation_attribute",
    )
    assert (created["regex_pattern"], created["regex_cue"]) == ("^[0-9]+$", "Digits only")


async def test_list_filters_by_attribute_model(tenant: Tenant) -> None:
    plan = await _attribute(tenant)
    order = await _attribute(
        tenant,
        attribute_display_name="Order",
        attribute_display_type="number",
        attribute_model="conversation_attribute",
    )
    path = "/custom_attribute_definitions"
    _, everything = await tenant.call("GET", path, expect=200)
    assert everything == [plan, order]
    _, contacts = await tenant.call("GET", path, params={"attribute_model": "contact_attribute"}, expect=200)
    assert contacts == [plan]
    _, conversations = await tenant.call("GET", path, params={"attribute_model": "0"}, expect=200)
    assert conversations == [order]
    status, data = await tenant.call("GET", path, params={"attribute_model": "ticket_attribute"})
    assert_error(status, data, 422, "attribute_model")


async def test_create_custom_attribute_rejects_bad_input(tenant: Tenant) -> None:
    base = {"attribute_display_name": "Plan", "attribute_display_type": "text", "attribute_model": "contact_attribute"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in base.items() if k != "attribute_display_name"}, "attribute_display_name"),
        ({k: v for k, v in base.items() if k != "attribute_display_type"}, "attribute_display_type"),
        ({k: v for k, v in base.items() if k != "attribute_model"}, "attribute_model"),
        ({**base, "attribute_display_type": "colour"}, "attribute_display_type"),
        ({**base, "attribute_display_type": 12}, "attribute_display_type"),
        ({**base, "attribute_model": 5}, "attribute_model"),
        ({**base, "attribute_key": "Bad Key"}, "attribute_key"),
        ({**base, "attribute_values": "a,b"}, "attribute_values"),
    ]
    for body, field in cases:
        status, data = await tenant.call("POST", "/custom_attribute_definitions", json=body)
        assert_error(status, data, 422, field)
    _, listed = await tenant.call("GET", "/custom_attribute_definitions", expect=200)
    assert listed == []


async def test_attribute_key_is_unique_per_model(tenant: Tenant, other: Tenant) -> None:
    await _attribute(tenant)
    status, data = await tenant.call(
        "POST",
        "/custom_attribute_definitions",
        json={"attribute_display_name": "Subscription plan", "attribute_display_type": "text", "attribute_model": 1},
    )
    assert_error(status, data, 422, "attribute_key")
    assert data["errors"][0]["code"] == "taken"
    on_conversations = await _attribute(tenant, attribute_model="conversation_attribute")
    assert on_conversations["attribute_key"] == "subscription_plan"
    await _attribute(other)


async def test_update_custom_attribute_keeps_its_model(tenant: Tenant) -> None:
    created = await _attribute(tenant)
    _, updated = await tenant.call(
        "PATCH",
        f"/custom_attribute_definitions/{created['id']}",
        json={
            "attribute_display_name": "Plan",
            "attribute_values": ["free", "pro", "enterprise"],
            "attribute_model": "conversation_attribute",
        },
        expect=200,
    )
    assert set(updated) == ATTRIBUTE_KEYS
    assert (updated["attribute_display_name"], updated["attribute_values"]) == ("Plan", ["free", "pro", "enterprise"])
    assert (updated["attribute_key"], updated["attribute_model"]) == ("subscription_plan", "contact_attribute")
    _, shown = await tenant.call("GET", f"/custom_attribute_definitions/{created['id']}", expect=200)
    assert shown == updated


async def test_update_custom_attribute_rejects_bad_input(tenant: Tenant) -> None:
    created = await _attribute(tenant)
    await _attribute(tenant, attribute_display_name="Tier")
    path = f"/custom_attribute_definitions/{created['id']}"
    for body, field in (
        ({"attribute_display_name": None}, "attribute_display_name"),
        ({"attribute_display_type": "colour"}, "attribute_display_type"),
        ({"attribute_key": "tier"}, "attribute_key"),
        ({"attribute_key": "no spaces please"}, "attribute_key"),
    ):
        status, data = await tenant.call("PATCH", path, json=body)
        assert_error(status, data, 422, field)
    _, shown = await tenant.call("GET", path, expect=200)
    assert shown == created


async def test_delete_custom_attribute(tenant: Tenant) -> None:
    created = await _attribute(tenant)
    status, data = await tenant.call("DELETE", f"/custom_attribute_definitions/{created['id']}")
    assert (status, data) == (204, None)
    status, data = await tenant.call("GET", f"/custom_attribute_definitions/{created['id']}")
    assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/custom_attribute_definitions", expect=200)
    assert listed == []


async def test_another_accounts_custom_attribute_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _attribute(other)
    path = f"/custom_attribute_definitions/{theirs['id']}"
    for method, body in (("GET", None), ("PATCH", {"attribute_display_name": "Mine"}), ("DELETE", None)):
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/custom_attribute_definitions", expect=200)
    assert listed == []
    _, shown = await other.call("GET", path, expect=200)
    assert shown == theirs


async def test_custom_attribute_writes_need_an_administrator(tenant: Tenant) -> None:
    created = await _attribute(tenant)
    path = f"/custom_attribute_definitions/{created['id']}"
    _, agent_token = await tenant.agent()
    for method, target, body in (
        ("POST", "/custom_attribute_definitions", {**created, "attribute_key": "mine"}),
        ("PATCH", path, {"attribute_display_name": "Mine"}),
        ("DELETE", path, None),
    ):
        status, data = await tenant.call(method, target, json=body, token=agent_token)
        assert_error(status, data, 403)
    _, listed = await tenant.call("GET", "/custom_attribute_definitions", token=agent_token, expect=200)
    assert listed == [created]
    _, shown = await tenant.call("GET", path, token=agent_token, expect=200)
    assert shown == created
