"""Native API: contacts (CRUD, list, sort, search, conversations) and contact activities."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bridge import appkeys
from bridge.models import Activity, Conversation, Message, WebhookDelivery
from bridge.schemas import WebhookData
from tests.conftest import Tenant, assert_error

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CONTACT_KEYS = {
    "id",
    "name",
    "email",
    "phone_number",
    "avatar_url",
    "thumbnail",
    "identifier",
    "lifecycle_stage",
    "source",
    "blocked",
    "custom_attributes",
    "additional_attributes",
    "company_id",
    "availability_status",
    "last_activity_at",
    "created_at",
    "updated_at",
}
ACTIVITY_KEYS = {
    "id",
    "activity_type",
    "title",
    "description",
    "due_date",
    "completed_at",
    "user_id",
    "metadata",
    "created_at",
    "updated_at",
}


def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


async def create(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    _, data = await tenant.call("POST", "/contacts", json=fields, expect=200)
    return dict(data["payload"]["contact"])


async def company(tenant: Tenant, name: str = "Acme Inc") -> int:
    _, data = await tenant.call("POST", "/companies", json={"name": name}, expect=200)
    return int(data["id"])


async def names(tenant: Tenant, query: str) -> list[str | None]:
    _, data = await tenant.call("GET", f"/contacts?{query}", expect=200)
    return [c["name"] for c in data["payload"]]


# -- create / read -----------------------------------------------------------------------------------
async def test_create_contact_accepts_every_spec_field(tenant: Tenant) -> None:
    company_id = await company(tenant)
    body = {
        "name": "Jane Smith",
        "email": "Jane@Example.com",
        "phone_number": "+1234567890",
        "avatar_url": "https://example.com/jane.png",
        "identifier": "crm-42",
        "lifecycle_stage": "customer",
        "source": "referral",
        "custom_attributes": {"plan": "enterprise"},
        "additional_attributes": {"city": "Berlin"},
        "company_id": company_id,
        "blocked": True,
        "inbox_id": 1,
    }
    status, data = await tenant.call("POST", "/contacts", json=body)
    assert status == 200, data
    assert data["payload"]["contact_inbox"] is None
    contact = data["payload"]["contact"]
    assert set(contact) == CONTACT_KEYS
    expected = {**body, "email": "jane@example.com"}
    expected.pop("inbox_id")
    assert {k: contact[k] for k in expected} == expected
    assert contact["thumbnail"] == "https://example.com/jane.png"
    assert isinstance(contact["created_at"], int)
    assert contact["last_activity_at"] == contact["created_at"]

    _, shown = await tenant.call("GET", f"/contacts/{contact['id']}", expect=200)
    assert shown["payload"] == contact


async def test_create_contact_with_nothing_but_a_name_has_defaults(tenant: Tenant) -> None:
    contact = await create(tenant, name="Only Name")
    assert (contact["email"], contact["blocked"], contact["custom_attributes"]) == (None, False, {})
    assert (contact["lifecycle_stage"], contact["source"], contact["company_id"]) == (None, None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone_number": "12345"}, "phone_number"),
        ({"phone_number": "+1 (555) 010-0100"}, "phone_number"),
        ({"lifecycle_stage": "vip"}, "lifecycle_stage"),
        ({"source": "tv"}, "source"),
        ({"custom_attributes": "plan"}, "custom_attributes"),
        ({"custom_attributes": None}, "custom_attributes"),
        ({"blocked": None}, "blocked"),
        ({"company_id": "acme"}, "company_id"),
        ({"name": "x" * 256}, "name"),
    ],
)
async def test_create_contact_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    status, data = await tenant.call("POST", "/contacts", json={"name": "Jane", **body})
    assert_error(status, data, 422, field)


async def test_create_contact_rejects_malformed_json(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/contacts", data=b"{oops", headers={"Content-Type": "application/json"})
    assert_error(status, data, 400)


async def test_company_must_belong_to_the_account(tenant: Tenant, other: Tenant) -> None:
    foreign = await company(other)
    status, data = await tenant.call("POST", "/contacts", json={"name": "Jane", "company_id": foreign})
    assert_error(status, data, 422, "company_id")
    contact = await create(tenant, name="Jane")
    status, data = await tenant.call("PATCH", f"/contacts/{contact['id']}", json={"company_id": foreign})
    assert_error(status, data, 422, "company_id")
    mine = await company(tenant)
    _, data = await tenant.call("PATCH", f"/contacts/{contact['id']}", json={"company_id": mine}, expect=200)
    assert data["payload"]["company_id"] == mine


async def test_duplicate_email_or_identifier_is_taken(tenant: Tenant, other: Tenant) -> None:
    await create(tenant, name="First", email="dup@example.com", identifier="ext-1")
    status, data = await tenant.call("POST", "/contacts", json={"name": "Second", "email": "DUP@example.com"})
    assert_error(status, data, 422, "email")
    assert data["errors"][0]["code"] == "taken"
    status, data = await tenant.call(
        "POST", "/contacts", json={"name": "Third", "email": email(), "identifier": "ext-1"}
    )
    assert_error(status, data, 422, "identifier")
    assert data["errors"][0]["code"] == "taken"
    # Another account may hold the same email and identifier.
    await create(other, name="Elsewhere", email="dup@example.com", identifier="ext-1")


# -- update --------------------------------------------------------------------------------------------
async def test_patch_contact_is_partial_and_merges_attributes(tenant: Tenant) -> None:
    contact = await create(
        tenant, name="Jane", email="jane@example.com", custom_attributes={"plan": "free", "seats": 3}
    )
    status, data = await tenant.call(
        "PATCH",
        f"/contacts/{contact['id']}",
        json={"name": "Jane Doe", "lifecycle_stage": "lead", "custom_attributes": {"plan": "pro", "seats": None}},
    )
    assert status == 200, data
    updated = data["payload"]
    assert set(updated) == CONTACT_KEYS
    assert (updated["name"], updated["email"], updated["lifecycle_stage"]) == ("Jane Doe", "jane@example.com", "lead")
    assert updated["custom_attributes"] == {"plan": "pro"}
    _, shown = await tenant.call("GET", f"/contacts/{contact['id']}", expect=200)
    assert shown["payload"]["name"] == "Jane Doe"
    assert shown["payload"]["custom_attributes"] == {"plan": "pro"}


async def test_put_updates_like_patch_and_blank_email_clears_it(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane", email=email(), phone_number="+4930123456")
    _, data = await tenant.call(
        "PUT", f"/contacts/{contact['id']}", json={"email": "", "phone_number": None}, expect=200
    )
    assert (data["payload"]["email"], data["payload"]["phone_number"], data["payload"]["name"]) == (None, None, "Jane")


async def test_patch_contact_keeps_its_own_email_but_not_anothers(tenant: Tenant) -> None:
    first = await create(tenant, name="First", email="first@example.com")
    second = await create(tenant, name="Second", email="second@example.com")
    await tenant.call("PATCH", f"/contacts/{first['id']}", json={"email": "first@example.com"}, expect=200)
    status, data = await tenant.call("PATCH", f"/contacts/{second['id']}", json={"email": "FIRST@example.com"})
    assert_error(status, data, 422, "email")
    _, shown = await tenant.call("GET", f"/contacts/{second['id']}")
    assert shown["payload"]["email"] == "second@example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_number": "call me"}, "phone_number"),
        ({"source": "billboard"}, "source"),
        ({"blocked": "maybe"}, "blocked"),
        ({"additional_attributes": None}, "additional_attributes"),
        ({"email": "@@"}, "email"),
    ],
)
async def test_patch_contact_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    contact = await create(tenant, name="Jane")
    status, data = await tenant.call("PATCH", f"/contacts/{contact['id']}", json=body)
    assert_error(status, data, 422, field)


async def test_contact_webhook_events_are_queued(tenant: Tenant) -> None:
    async with tenant.store.writer(tenant.account_id) as w:
        await w.create_webhook(
            WebhookData(url=str(tenant.client.make_url("/hook")), subscriptions=["contact_created", "contact_updated"])
        )
    contact = await create(tenant, name="Jane")
    await tenant.call("PATCH", f"/contacts/{contact['id']}", json={"name": "Janet"}, expect=200)
    async with tenant.store.reader() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery.event, WebhookDelivery.payload)
                .where(WebhookDelivery.account_id == tenant.account_id)
                .order_by(WebhookDelivery.id)
            )
        ).all()
    assert [(event, payload["id"], payload["name"]) for event, payload in rows] == [
        ("contact_created", contact["id"], "Jane"),
        ("contact_updated", contact["id"], "Janet"),
    ]


# -- delete --------------------------------------------------------------------------------------------
async def test_delete_contact_takes_its_conversations_and_activities(tenant: Tenant) -> None:
    contact = await create(tenant, name="Leaving", email=email())
    keeper = await create(tenant, name="Staying", email=email())
    gone = await tenant.conversation(contact_id=contact["id"], message={"content": "hello"})
    kept = await tenant.conversation(contact_id=keeper["id"])
    for who in (contact, keeper):
        await tenant.call(
            "POST", f"/contacts/{who['id']}/activities", json={"activity_type": "note", "title": "n"}, expect=200
        )

    status, _ = await tenant.call("DELETE", f"/contacts/{contact['id']}")
    assert status == 204
    status, data = await tenant.call("GET", f"/contacts/{contact['id']}")
    assert_error(status, data, 404)
    status, data = await tenant.call("GET", f"/conversations/{gone}")
    assert_error(status, data, 404)
    await tenant.call("GET", f"/conversations/{kept}", expect=200)
    async with tenant.store.reader() as session:
        activities = (
            (await session.execute(select(Activity.contact_id).where(Activity.account_id == tenant.account_id)))
            .scalars()
            .all()
        )
        conversations = (
            (await session.execute(select(Conversation.contact_id).where(Conversation.account_id == tenant.account_id)))
            .scalars()
            .all()
        )
        messages = (
            await session.execute(
                select(func.count()).select_from(Message).where(Message.account_id == tenant.account_id)
            )
        ).scalar_one()
    assert activities == [keeper["id"]]
    assert conversations == [keeper["id"]]
    assert messages == 0
    status, data = await tenant.call("DELETE", f"/contacts/{contact['id']}")
    assert_error(status, data, 404)


async def test_delete_contact_removes_attachment_files_no_other_message_uses(tenant: Tenant) -> None:
    leaving = await create(tenant, name="Leaving", email=email())
    staying = await create(tenant, name="Staying", email=email())

    async def attach(contact_id: int, *contents: bytes) -> list[dict[str, Any]]:
        form = aiohttp.FormData()
        for i, content in enumerate(contents):
            form.add_field("attachments[]", content, filename=f"f{i}.txt", content_type="text/plain")
        conversation = await tenant.conversation(contact_id=contact_id)
        _, message = await tenant.call("POST", f"/conversations/{conversation}/messages", data=form, expect=200)
        return list(message["attachments"])

    await attach(leaving["id"], b"only the leaving contact's", b"shared bytes")
    kept = await attach(staying["id"], b"shared bytes")
    folder = tenant.client.app[appkeys.SETTINGS].attachments_dir / str(tenant.account_id)
    own = hashlib.sha256(b"only the leaving contact's").hexdigest()
    shared = hashlib.sha256(b"shared bytes").hexdigest()
    assert (folder / own[:2] / own).exists()

    await tenant.call("DELETE", f"/contacts/{leaving['id']}", expect=204)
    assert not (folder / own[:2] / own).exists()
    assert (folder / shared[:2] / shared).exists()
    status, data = await tenant.call("GET", f"/attachments/{kept[0]['id']}/file")
    assert status == 200, data


async def test_delete_contact_needs_an_administrator(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("DELETE", f"/contacts/{contact['id']}", token=agent_token)
    assert_error(status, data, 403)
    await tenant.call("GET", f"/contacts/{contact['id']}", token=agent_token, expect=200)


# -- tenancy and ids ----------------------------------------------------------------------------------
async def test_another_accounts_contact_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await create(other, name="Theirs", email=email())
    activity_id = (
        await other.call(
            "POST", f"/contacts/{theirs['id']}/activities", json={"activity_type": "call", "title": "c"}, expect=200
        )
    )[1]["id"]
    base = f"/contacts/{theirs['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"name": "Mine now"}),
        ("PUT", base, {"name": "Mine now"}),
        ("DELETE", base, None),
        ("GET", f"{base}/conversations", None),
        ("GET", f"{base}/activities", None),
        ("POST", f"{base}/activities", {"activity_type": "call", "title": "c"}),
        ("PATCH", f"{base}/activities/{activity_id}", {"title": "x"}),
        ("DELETE", f"{base}/activities/{activity_id}", None),
    ]:
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404)
    _, still = await other.call("GET", base, expect=200)
    assert still["payload"]["name"] == "Theirs"


@pytest.mark.parametrize("contact_id", ["abc", "0", "99999999999", "999999999999999999", "-1"])
async def test_unknown_contact_ids_are_not_found(tenant: Tenant, contact_id: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        status, data = await tenant.call(method, f"/contacts/{contact_id}", json={} if method == "PATCH" else None)
        assert_error(status, data, 404)
    status, data = await tenant.call("GET", f"/contacts/{contact_id}/activities")
    assert_error(status, data, 404)


# -- list, pagination, sort ----------------------------------------------------------------------------
async def test_list_contacts_paginates_fifteen_per_page(tenant: Tenant, other: Tenant) -> None:
    for i in range(17):
        await tenant.contact(name=f"Person {i:02d}", email=email())
    await other.contact(name="Not mine", email=email())
    _, first = await tenant.call("GET", "/contacts?sort=name", expect=200)
    assert first["meta"]["count"] == 17
    assert first["meta"]["current_page"] == 1
    assert [c["name"] for c in first["payload"]] == [f"Person {i:02d}" for i in range(15)]
    assert set(first["payload"][0]) == CONTACT_KEYS
    _, second = await tenant.call("GET", "/contacts?sort=name&page=2", expect=200)
    assert (second["meta"]["count"], second["meta"]["current_page"]) == (17, 2)
    assert [c["name"] for c in second["payload"]] == ["Person 15", "Person 16"]
    _, beyond = await tenant.call("GET", "/contacts?page=3", expect=200)
    assert beyond["payload"] == []
    assert beyond["meta"]["count"] == 17


async def test_list_contacts_sorts_by_each_field(tenant: Tenant) -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    await tenant.contact(name="bob", email="b@example.com", phone_number="+300", last_activity_at=t0)
    await tenant.contact(
        name="Alice", email="c@example.com", phone_number="+100", last_activity_at=t0 + dt.timedelta(days=2)
    )
    await tenant.contact(name="carol", email="a@example.com", phone_number="+200", last_activity_at=None)
    await tenant.contact(name="Dave", last_activity_at=t0 + dt.timedelta(days=1))

    assert await names(tenant, "sort=name") == ["Alice", "bob", "carol", "Dave"]
    assert await names(tenant, "sort=-name") == ["Dave", "carol", "bob", "Alice"]
    assert await names(tenant, "sort=name&order_by=desc") == ["Dave", "carol", "bob", "Alice"]
    assert await names(tenant, "sort=name&order_by=ASC") == ["Alice", "bob", "carol", "Dave"]
    # Contacts without the value come last either way.
    assert await names(tenant, "sort=email") == ["carol", "bob", "Alice", "Dave"]
    assert await names(tenant, "sort=-email") == ["Alice", "bob", "carol", "Dave"]
    assert await names(tenant, "sort=phone_number") == ["Alice", "carol", "bob", "Dave"]
    assert await names(tenant, "sort=last_activity_at") == ["bob", "Dave", "Alice", "carol"]
    assert await names(tenant, "sort=-last_activity_at") == ["Alice", "Dave", "bob", "carol"]
    # Default: most recently active first.
    assert await names(tenant, "") == ["Alice", "Dave", "bob", "carol"]
    assert await names(tenant, "sort=created_at") == ["bob", "Alice", "carol", "Dave"]
    assert await names(tenant, "sort=created_at&order_by=desc") == ["Dave", "carol", "Alice", "bob"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=age", "sort"),
        ("sort=--name", "sort"),
        ("order_by=sideways", "order_by"),
        ("page=0", "page"),
        ("page=two", "page"),
    ],
)
async def test_list_contacts_rejects_bad_query(tenant: Tenant, query: str, field: str) -> None:
    status, data = await tenant.call("GET", f"/contacts?{query}")
    assert_error(status, data, 422, field)


# -- search --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/search", "/contacts/search"])
async def test_search_matches_name_email_phone_and_identifier(tenant: Tenant, other: Tenant, path: str) -> None:
    await tenant.contact(name="Jane Smith", email="jane@example.com", phone_number="+4930111")
    await tenant.contact(name="John Doe", email="jd@smithsonian.org")
    await tenant.contact(name="Ann Other", identifier="CRM-SMITH-7", phone_number="+4930222")
    await tenant.contact(name="Zed", email="zed@example.com")
    await other.contact(name="Agent Smith", email=email())

    async def found(q: str) -> list[str]:
        _, data = await tenant.call("GET", path, params={"q": q, "sort": "name"}, expect=200)
        assert data["meta"]["count"] == len(data["payload"])
        return [c["name"] for c in data["payload"]]

    assert await found("SMITH") == ["Ann Other", "Jane Smith", "John Doe"]
    assert await found("jane@") == ["Jane Smith"]
    assert await found("+4930") == ["Ann Other", "Jane Smith"]
    assert await found("crm-smith") == ["Ann Other"]
    assert await found("nobody") == []


async def test_search_treats_wildcards_literally(tenant: Tenant) -> None:
    await tenant.contact(name="100% Coffee")
    await tenant.contact(name="1000 Coffees")
    await tenant.contact(name="snake_case")
    await tenant.contact(name="snakeXcase")
    await tenant.contact(name=r"back\slash")

    async def found(q: str) -> list[str]:
        _, data = await tenant.call("GET", "/search", params={"q": q}, expect=200)
        return sorted(c["name"] for c in data["payload"])

    assert await found("0%") == ["100% Coffee"]
    assert await found("%") == ["100% Coffee"]
    assert await found("e_c") == ["snake_case"]
    assert await found("_") == ["snake_case"]
    assert await found("k\\s") == [r"back\slash"]


async def test_search_paginates(tenant: Tenant) -> None:
    for i in range(16):
        await tenant.contact(name=f"Match {i:02d}")
    await tenant.contact(name="Other")
    _, first = await tenant.call("GET", "/search?q=match&sort=name", expect=200)
    assert (first["meta"]["count"], len(first["payload"])) == (16, 15)
    _, second = await tenant.call("GET", "/search?q=match&sort=name&page=2", expect=200)
    assert [c["name"] for c in second["payload"]] == ["Match 15"]


@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20", "?q=x&sort=age"])
async def test_search_rejects_missing_or_bad_query(tenant: Tenant, query: str) -> None:
    status, data = await tenant.call("GET", f"/search{query}")
    assert_error(status, data, 422, "sort" if "sort" in query else "q")
    status, data = await tenant.call("GET", f"/contacts/search{query}")
    assert_error(status, data, 422, "sort" if "sort" in query else "q")


# -- conversations of a contact ----------------------------------------------------------------------
async def test_contact_conversations_lists_only_theirs(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane", email=email())
    first = await tenant.conversation(contact_id=contact["id"])
    second = await tenant.conversation(contact_id=contact["id"])
    await tenant.conversation()
    _, data = await tenant.call("GET", f"/contacts/{contact['id']}/conversations", expect=200)
    assert sorted(c["id"] for c in data["payload"]) == sorted([first, second])
    for conversation in data["payload"]:
        assert conversation["contact_id"] == contact["id"]
        assert conversation["meta"]["sender"]["id"] == contact["id"]
        assert {"status", "inbox_id", "labels", "meta"} <= set(conversation)
    lonely = await create(tenant, name="No threads")
    _, data = await tenant.call("GET", f"/contacts/{lonely['id']}/conversations", expect=200)
    assert data == {"payload": []}


# -- activities ----------------------------------------------------------------------------------------
async def test_create_activity_returns_the_spec_shape(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    agent_id, _ = await tenant.agent()
    body = {
        "activity_type": "task",
        "title": "Send proposal",
        "description": "Pricing for 20 seats",
        "due_date": "2026-03-09T12:00:00Z",
        "user_id": agent_id,
        "metadata": {"priority": "high"},
    }
    status, data = await tenant.call("POST", f"/contacts/{contact['id']}/activities", json=body)
    assert status == 200, data
    assert set(data) >= ACTIVITY_KEYS
    assert {k: data[k] for k in body} == {**body, "due_date": "2026-03-09T12:00:00.000Z"}
    assert data["completed_at"] is None
    assert ISO_MS.match(data["created_at"])
    assert ISO_MS.match(data["updated_at"])


async def test_minimal_activity_matches_the_spec_example(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    _, data = await tenant.call(
        "POST",
        f"/contacts/{contact['id']}/activities",
        json={"activity_type": "call", "title": "Discovery call", "description": "Discussed requirements and timeline"},
        expect=200,
    )
    example: dict[str, Any] = {
        "activity_type": "call",
        "title": "Discovery call",
        "description": "Discussed requirements and timeline",
        "due_date": None,
        "completed_at": None,
        "user_id": None,
        "metadata": {},
    }
    assert {k: data[k] for k in example} == example


async def test_activities_are_listed_most_recent_first(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    other_contact = await create(tenant, name="John")
    for title in ("first", "second", "third"):
        await tenant.call(
            "POST", f"/contacts/{contact['id']}/activities", json={"activity_type": "note", "title": title}, expect=200
        )
    await tenant.call(
        "POST", f"/contacts/{other_contact['id']}/activities", json={"activity_type": "note", "title": "x"}, expect=200
    )
    _, data = await tenant.call("GET", f"/contacts/{contact['id']}/activities", expect=200)
    assert [a["title"] for a in data["payload"]] == ["third", "second", "first"]
    assert set(data["payload"][0]) >= ACTIVITY_KEYS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "No type"}, "activity_type"),
        ({"activity_type": "lunch", "title": "x"}, "activity_type"),
        ({"activity_type": "call"}, "title"),
        ({"activity_type": "call", "title": "   "}, "title"),
        ({"activity_type": "call", "title": "x", "due_date": "next week"}, "due_date"),
        ({"activity_type": "call", "title": "x", "due_date": "0001-01-01T00:00:00+01:00"}, "due_date"),
        ({"activity_type": "call", "title": "x", "completed_at": "9999-12-31T23:59:59-05:00"}, "completed_at"),
        ({"activity_type": "call", "title": "x", "due_date": "0999-12-31T00:00:00Z"}, "due_date"),
        ({"activity_type": "call", "title": "x", "metadata": ["a"]}, "metadata"),
        ({"activity_type": "call", "title": "x", "user_id": "me"}, "user_id"),
    ],
)
async def test_create_activity_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    contact = await create(tenant, name="Jane")
    status, data = await tenant.call("POST", f"/contacts/{contact['id']}/activities", json=body)
    assert_error(status, data, 422, field)


async def test_activity_user_must_be_an_agent_of_the_account(tenant: Tenant, other: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    status, data = await tenant.call(
        "POST",
        f"/contacts/{contact['id']}/activities",
        json={"activity_type": "call", "title": "x", "user_id": other.user_id},
    )
    assert_error(status, data, 422, "user_id")


async def test_patch_activity_is_partial(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    _, created = await tenant.call(
        "POST",
        f"/contacts/{contact['id']}/activities",
        json={"activity_type": "task", "title": "Follow up", "metadata": {"a": 1}},
        expect=200,
    )
    path = f"/contacts/{contact['id']}/activities/{created['id']}"
    _, data = await tenant.call(
        "PATCH", path, json={"completed_at": "2026-03-10T08:30:00.250+01:00", "metadata": {"b": 2}}, expect=200
    )
    assert (data["title"], data["activity_type"]) == ("Follow up", "task")
    assert data["completed_at"] == "2026-03-10T07:30:00.250Z"
    assert data["metadata"] == {"b": 2}
    _, listed = await tenant.call("GET", f"/contacts/{contact['id']}/activities")
    assert listed["payload"][0]["completed_at"] == "2026-03-10T07:30:00.250Z"
    _, data = await tenant.call("PATCH", path, json={"completed_at": None, "user_id": tenant.user_id}, expect=200)
    assert (data["completed_at"], data["user_id"]) == (None, tenant.user_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"activity_type": None}, "activity_type"),
        ({"activity_type": "party"}, "activity_type"),
        ({"user_id": 2_000_000_000}, "user_id"),
    ],
)
async def test_patch_activity_rejects_bad_input(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    contact = await create(tenant, name="Jane")
    _, created = await tenant.call(
        "POST", f"/contacts/{contact['id']}/activities", json={"activity_type": "note", "title": "n"}, expect=200
    )
    status, data = await tenant.call("PATCH", f"/contacts/{contact['id']}/activities/{created['id']}", json=body)
    assert_error(status, data, 422, field)


async def test_activity_of_another_contact_is_not_found(tenant: Tenant) -> None:
    jane = await create(tenant, name="Jane")
    john = await create(tenant, name="John")
    _, created = await tenant.call(
        "POST", f"/contacts/{jane['id']}/activities", json={"activity_type": "note", "title": "n"}, expect=200
    )
    status, data = await tenant.call("PATCH", f"/contacts/{john['id']}/activities/{created['id']}", json={"title": "x"})
    assert_error(status, data, 404)
    status, data = await tenant.call("DELETE", f"/contacts/{john['id']}/activities/{created['id']}")
    assert_error(status, data, 404)
    status, data = await tenant.call("PATCH", f"/contacts/{jane['id']}/activities/abc", json={"title": "x"})
    assert_error(status, data, 404)
    _, listed = await tenant.call("GET", f"/contacts/{jane['id']}/activities")
    assert [a["title"] for a in listed["payload"]] == ["n"]


async def test_delete_activity(tenant: Tenant) -> None:
    contact = await create(tenant, name="Jane")
    _, created = await tenant.call(
        "POST", f"/contacts/{contact['id']}/activities", json={"activity_type": "email", "title": "Sent"}, expect=200
    )
    status, _ = await tenant.call("DELETE", f"/contacts/{contact['id']}/activities/{created['id']}")
    assert status == 204
    _, listed = await tenant.call("GET", f"/contacts/{contact['id']}/activities", expect=200)
    assert listed == {"payload": []}
    status, data = await tenant.call("DELETE", f"/contacts/{contact['id']}/activities/{created['id']}")
    assert_error(status, data, 404)
