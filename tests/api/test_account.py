"""Native API: account GET/PATCH, auth and tenancy."""

from __future__ import annotations

from tests.conftest import Tenant, assert_error


async def test_get_account_returns_name_and_role(tenant: Tenant) -> None:
    status, data = await tenant.call("GET", "")
    assert status == 200
    assert data["id"] == tenant.account_id
    assert data["name"] == "Acme"
    assert data["role"] == "administrator"


async def test_patch_account_updates_settings(tenant: Tenant) -> None:
    await tenant.call("PATCH", "", json={"name": "Acme Ltd", "locale": "de", "auto_resolve_duration": 7}, expect=200)
    _, data = await tenant.call("GET", "")
    assert (data["name"], data["locale"], data["auto_resolve_duration"]) == ("Acme Ltd", "de", 7)


async def test_patch_account_rejects_bad_input(tenant: Tenant) -> None:
    status, data = await tenant.call("PATCH", "", json={"auto_resolve_duration": "soon"})
    assert_error(status, data, 422, "auto_resolve_duration")
    status, data = await tenant.call("PATCH", "", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(status, data, 400)


async def test_patch_account_needs_an_administrator(tenant: Tenant) -> None:
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("PATCH", "", json={"name": "Mine"}, token=agent_token)
    assert_error(status, data, 403)


async def test_another_account_is_not_found(tenant: Tenant, other: Tenant) -> None:
    async with tenant.client.get(other.url(), headers=tenant.headers) as response:
        assert_error(response.status, await response.json(), 404)
    async with tenant.client.get("/api/v1/accounts/999999999", headers=tenant.headers) as response:
        assert_error(response.status, await response.json(), 404)


async def test_missing_or_wrong_token_is_401(tenant: Tenant) -> None:
    async with tenant.client.get(tenant.url()) as response:
        assert_error(response.status, await response.json(), 401)
    status, data = await tenant.call("GET", "", token="not-a-token")
    assert_error(status, data, 401)


async def test_bearer_token_is_accepted(tenant: Tenant) -> None:
    async with tenant.client.get(tenant.url(), headers={"Authorization": f"Bearer {tenant.token}"}) as response:
        assert response.status == 200


async def test_platform_app_token_administers_only_its_accounts(tenant: Tenant, other: Tenant) -> None:
    _, token = await tenant.store.create_platform_app("crm-sync", [tenant.account_id])
    status, data = await tenant.call("GET", "", token=token)
    assert status == 200
    assert data["role"] == "administrator"
    await tenant.call("PATCH", "", json={"locale": "fr"}, token=token, expect=200)
    async with tenant.client.get(other.url(), headers={"api_access_token": token}) as response:
        assert_error(response.status, await response.json(), 404)
