"""Native API: binding legacy tenants to an account and registering legacy token aliases."""

from __future__ import annotations

from tests.conftest import Tenant, assert_error


async def test_bind_list_and_unbind_a_supportbee_company(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/legacy_tenants", json={"provider": "supportbee", "name": "Acme"})
    assert status == 201
    assert (data["provider"], data["name"]) == ("supportbee", "acme")
    _, listed = await tenant.call("GET", "/legacy_tenants", expect=200)
    assert [t["name"] for t in listed["payload"]] == ["acme"]
    await tenant.call("DELETE", f"/legacy_tenants/{data['id']}", expect=204)
    _, listed = await tenant.call("GET", "/legacy_tenants", expect=200)
    assert listed["payload"] == []


async def test_a_company_binds_to_one_account_only(tenant: Tenant, other: Tenant) -> None:
    await tenant.call("POST", "/legacy_tenants", json={"provider": "supportbee", "name": "acme"}, expect=201)
    status, data = await other.call("POST", "/legacy_tenants", json={"provider": "supportbee", "name": "ACME"})
    assert_error(status, data, 422, "name")
    _, bound = await tenant.call("GET", "/legacy_tenants", expect=200)
    status, data = await other.call("DELETE", f"/legacy_tenants/{bound['payload'][0]['id']}")
    assert_error(status, data, 404)


async def test_bind_bad_input_and_agents_cannot_bind(tenant: Tenant) -> None:
    for body, field in [
        ({"provider": "zendesk", "name": "acme"}, "provider"),
        ({"provider": "supportbee", "name": "not a subdomain"}, "name"),
        ({"provider": "supportbee"}, "name"),
    ]:
        status, data = await tenant.call("POST", "/legacy_tenants", json=body)
        assert_error(status, data, 422, field)
    _, agent_token = await tenant.agent()
    status, data = await tenant.call(
        "POST", "/legacy_tenants", json={"provider": "supportbee", "name": "x"}, token=agent_token
    )
    assert_error(status, data, 403)


async def test_register_token_alias(tenant: Tenant, other: Tenant) -> None:
    agent_id, _ = await tenant.agent()
    body = {"provider": "supportbee", "token": "old-supportbee-token-123"}
    status, data = await tenant.call("POST", f"/agents/{agent_id}/legacy_tokens", json=body)
    assert status == 201
    assert data == {"agent_id": agent_id, "provider": "supportbee"}
    # the same alias again is a no-op; for someone else it is taken
    await tenant.call("POST", f"/agents/{agent_id}/legacy_tokens", json=body, expect=201)
    other_agent, _ = await tenant.agent("B")
    status, data = await tenant.call("POST", f"/agents/{other_agent}/legacy_tokens", json=body)
    assert_error(status, data, 422, "token")
    # an alias is not a native API token
    status, data = await tenant.call("GET", "", token="old-supportbee-token-123")
    assert_error(status, data, 401)
    foreign_agent, _ = await other.agent()
    status, data = await tenant.call(
        "POST", f"/agents/{foreign_agent}/legacy_tokens", json={"provider": "supportbee", "token": "another-token-1"}
    )
    assert_error(status, data, 404)
    status, data = await tenant.call("POST", f"/agents/{agent_id}/legacy_tokens", json={"provider": "supportbee"})
    assert_error(status, data, 422, "token")
