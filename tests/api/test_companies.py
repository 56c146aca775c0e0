"""Native API: companies (CRUD, list, sort, search, unlinking contacts on delete)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bridge.models import WebhookDelivery
from bridge.schemas import WebhookData
from tests.conftest import Tenant, assert_error

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# The spec's "Create Company" request and response.
SPEC_REQUEST = {
    "name": "Acme Inc",
    "domain": "acme.com",
    "description": "Leading technology company",
    "industry": "Technology",
    "employee_count": 150,
    "annual_revenue": 5000000,
    "phone": "+1-555-0100",
    "address": "123 Main St, San Francisco, CA 94102",
    "social_links": {"twitter": "https://twitter.com/acmeinc", "linkedin": "https://linkedin.com/company/acme"},
}
SPEC_RESPONSE = {
    "name": "Acme Inc",
    "domain": "acme.com",
    "description": "Leading technology company",
    "industry": "Technology",
    "employee_count": 150,
    "annual_revenue": "5000000.0",
    "phone": "+1-555-0100",
    "address": "123 Main St, San Francisco, CA 94102",
    "social_links": {"twitter": "https://twitter.com/acmeinc", "linkedin": "https://linkedin.com/company/acme"},
    "contacts_count": 0,
    "avatar_url": None,
}


async def create(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    _, data = await tenant.call("POST", "/companies", json=fields, expect=200)
    return dict(data)


async def names(tenant: Tenant, query: str) -> list[str]:
    _, data = await tenant.call("GET", f"/companies?{query}", expect=200)
    return [c["name"] for c in data["payload"]]


async def test_create_company_answers_the_spec_example(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/companies", json=SPEC_REQUEST)
    assert status == 200, data
    assert set(data) >= {*SPEC_RESPONSE, "id", "created_at", "updated_at"}
    assert {k: data[k] for k in SPEC_RESPONSE} == SPEC_RESPONSE
    assert isinstance(data["id"], int)
    assert ISO_MS.match(data["created_at"])
    assert ISO_MS.match(data["updated_at"])
    _, shown = await tenant.call("GET", f"/companies/{data['id']}", expect=200)
    assert {k: shown[k] for k in data} == data
    assert shown["contacts"] == []


@pytest.mark.parametrize(
    ("revenue", "shown"),
    [(1234.5, "1234.5"), ("1234.56", "1234.56"), (0, "0.0"), ("99999999999999999.99", "99999999999999999.99")],
)
async def test_annual_revenue_is_an_exact_decimal_string(tenant: Tenant, revenue: Any, shown: str) -> None:
    data = await create(tenant, name="Money", annual_revenue=revenue)
    assert data["annual_revenue"] == shown
    _, again = await tenant.call("GET", f"/companies/{data['id']}")
    assert again["annual_revenue"] == shown


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "A", "employee_count": -1}, "employee_count"),
        ({"name": "A", "employee_count": "many"}, "employee_count"),
        ({"name": "A", "annual_revenue": "lots"}, "annual_revenue"),
        ({"name": "A", "annual_revenue": -5}, "annual_revenue"),
        ({"name": "A", "annual_revenue": 1.234}, "annual_revenue"),
        ({"name": "A", "annual_revenue": "Infinity"}, "annual_revenue"),
        ({"name": "A", "social_links": "https://twitter.com/acme"}, "social_links"),
        ({"name": "A", "social_links": None}, "social_links"),
        ({"name": "A", "custom_attributes": []}, "custom_attributes"),
    ],
)
async def test_create_company_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    status, data = await tenant.call("POST", "/companies", json=body)
    assert_error(status, data, 422, field)


async def test_create_company_rejects_malformed_json(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/companies", data=b"[1,", headers={"Content-Type": "application/json"})
    assert_error(status, data, 400)


async def test_patch_company_is_partial(tenant: Tenant) -> None:
    company = await create(tenant, **SPEC_REQUEST)
    status, data = await tenant.call(
        "PATCH",
        f"/companies/{company['id']}",
        json={"industry": "Retail", "annual_revenue": "7500000.50", "phone": None},
    )
    assert status == 200, data
    assert (data["industry"], data["annual_revenue"], data["phone"]) == ("Retail", "7500000.5", None)
    assert (data["name"], data["domain"], data["social_links"]) == (
        "Acme Inc",
        "acme.com",
        SPEC_REQUEST["social_links"],
    )
    _, shown = await tenant.call("GET", f"/companies/{company['id']}")
    assert (shown["industry"], shown["annual_revenue"], shown["employee_count"]) == ("Retail", "7500000.5", 150)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"employee_count": 1.5}, "employee_count"),
        ({"social_links": {"twitter": 1}}, "social_links.twitter"),
    ],
)
async def test_patch_company_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    company = await create(tenant, name="Acme")
    status, data = await tenant.call("PATCH", f"/companies/{company['id']}", json=body)
    assert_error(status, data, 422, field)
    _, shown = await tenant.call("GET", f"/companies/{company['id']}")
    assert shown["name"] == "Acme"


async def test_contacts_are_counted_and_listed(tenant: Tenant) -> None:
    acme = await create(tenant, name="Acme")
    empty = await create(tenant, name="Empty")
    for name in ("zoe", "Adam"):
        await tenant.contact(name=name, company_id=acme["id"])
    await tenant.contact(name="Unlinked")
    _, shown = await tenant.call("GET", f"/companies/{acme['id']}", expect=200)
    assert shown["contacts_count"] == 2
    assert [c["name"] for c in shown["contacts"]] == ["Adam", "zoe"]
    assert all(c["company_id"] == acme["id"] for c in shown["contacts"])
    _, listed = await tenant.call("GET", "/companies", expect=200)
    assert {c["name"]: c["contacts_count"] for c in listed["payload"]} == {"Acme": 2, "Empty": 0}
    _, patched = await tenant.call("PATCH", f"/companies/{empty['id']}", json={"domain": "empty.io"}, expect=200)
    assert patched["contacts_count"] == 0


async def test_list_companies_paginates_25_per_page(tenant: Tenant, other: Tenant) -> None:
    for i in range(27):
        await create(tenant, name=f"Company {i:02d}")
    await create(other, name="Not mine")
    _, first = await tenant.call("GET", "/companies", expect=200)
    assert (first["meta"]["count"], first["meta"]["current_page"]) == (27, 1)
    assert [c["name"] for c in first["payload"]] == [f"Company {i:02d}" for i in range(25)]
    assert set(first["payload"][0]) >= {*SPEC_RESPONSE, "id", "created_at", "updated_at"}
    _, second = await tenant.call("GET", "/companies?page=2", expect=200)
    assert (second["meta"]["count"], second["meta"]["current_page"]) == (27, 2)
    assert [c["name"] for c in second["payload"]] == ["Company 25", "Company 26"]


async def test_list_companies_sorts(tenant: Tenant) -> None:
    await create(tenant, name="beta", domain="Zeta.io")
    await create(tenant, name="Alpha", domain="alpha.io")
    await create(tenant, name="gamma")
    assert await names(tenant, "") == ["Alpha", "beta", "gamma"]
    assert await names(tenant, "sort=name") == ["Alpha", "beta", "gamma"]
    assert await names(tenant, "sort=-name") == ["gamma", "beta", "Alpha"]
    assert await names(tenant, "sort=domain") == ["Alpha", "beta", "gamma"]
    assert await names(tenant, "sort=-domain") == ["beta", "Alpha", "gamma"]
    assert await names(tenant, "sort=created_at") == ["beta", "Alpha", "gamma"]
    assert await names(tenant, "sort=-created_at") == ["gamma", "Alpha", "beta"]


@pytest.mark.parametrize(("query", "field"), [("sort=revenue", "sort"), ("page=0", "page"), ("page=x", "page")])
async def test_list_companies_rejects_bad_query(tenant: Tenant, query: str, field: str) -> None:
    status, data = await tenant.call("GET", f"/companies?{query}")
    assert_error(status, data, 422, field)


async def test_search_companies_by_name_or_domain(tenant: Tenant, other: Tenant) -> None:
    await create(tenant, name="Acme Inc", domain="acme.com")
    await create(tenant, name="Globex", domain="ACMEGLOBAL.net")
    await create(tenant, name="Initech", domain="initech.com")
    await create(tenant, name="100% Pure")
    await create(other, name="Acme Elsewhere")

    async def found(q: str) -> list[str]:
        _, data = await tenant.call("GET", "/companies/search", params={"q": q}, expect=200)
        assert data["meta"]["count"] == len(data["payload"])
        return [c["name"] for c in data["payload"]]

    assert await found("acme") == ["Acme Inc", "Globex"]
    assert await found(".COM") == ["Acme Inc", "Initech"]
    assert await found("%") == ["100% Pure"]
    assert await found("_") == []
    assert await found("umbrella") == []


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20", "?q=a&sort=size"])
async def test_search_companies_rejects_missing_query(tenant: Tenant, query: str) -> None:
    status, data = await tenant.call("GET", f"/companies/search{query}")
    assert_error(status, data, 422, "sort" if "sort" in query else "q")


async def test_delete_company_unlinks_but_keeps_contacts(tenant: Tenant) -> None:
    async with tenant.store.writer(tenant.account_id) as w:
        await w.create_webhook(WebhookData(url=str(tenant.client.make_url("/hook")), subscriptions=["contact_updated"]))
    acme = await create(tenant, name="Acme")
    other_company = await create(tenant, name="Other")
    linked = await tenant.contact(name="Linked", company_id=acme["id"])
    elsewhere = await tenant.contact(name="Elsewhere", company_id=other_company["id"])

    status, _ = await tenant.call("DELETE", f"/companies/{acme['id']}")
    assert status == 204
    status, data = await tenant.call("GET", f"/companies/{acme['id']}")
    assert_error(status, data, 404)
    _, contact = await tenant.call("GET", f"/contacts/{linked}", expect=200)
    assert contact["payload"]["company_id"] is None
    _, contact = await tenant.call("GET", f"/contacts/{elsewhere}", expect=200)
    assert contact["payload"]["company_id"] == other_company["id"]
    async with tenant.store.reader() as session:
        events = (
            await session.execute(
                select(WebhookDelivery.event, WebhookDelivery.payload).where(
                    WebhookDelivery.account_id == tenant.account_id
                )
            )
        ).all()
    assert [(event, payload["id"], payload["company_id"]) for event, payload in events] == [
        ("contact_updated", linked, None)
    ]
    status, data = await tenant.call("DELETE", f"/companies/{acme['id']}")
    assert_error(status, data, 404)


async def test_delete_company_needs_an_administrator(tenant: Tenant) -> None:
    company = await create(tenant, name="Acme")
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("DELETE", f"/companies/{company['id']}", token=agent_token)
    assert_error(status, data, 403)
    await tenant.call("GET", f"/companies/{company['id']}", token=agent_token, expect=200)


async def test_another_accounts_company_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await create(other, name="Theirs")
    for method, body in [("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)]:
        status, data = await tenant.call(method, f"/companies/{theirs['id']}", json=body)
        assert_error(status, data, 404)
    _, still = await other.call("GET", f"/companies/{theirs['id']}", expect=200)
    assert still["name"] == "Theirs"


@pytest.mark.parametrize("company_id", ["abc", "0", "99999999999", "999999999999999999"])
async def test_unknown_company_ids_are_not_found(tenant: Tenant, company_id: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, data = await tenant.call(method, f"/companies/{company_id}", json={} if method == "PATCH" else None)
        assert_error(status, data, 404)
