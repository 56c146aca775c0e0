"""Native API: canned responses (spec "Canned Responses")."""

from __future__ import annotations

import re

from tests.conftest import Tenant, assert_error

CANNED_KEYS = {"id", "account_id", "short_code", "content", "created_at", "updated_at"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def _canned(tenant: Tenant, short_code: str, content: str) -> dict[str, object]:
    _, data = await tenant.call(
        "POST", "/canned_responses", json={"short_code": short_code, "content": content}, expect=200
    )
    assert isinstance(data, dict)
    return data


async def test_create_canned_response_and_read_it_back(tenant: Tenant) -> None:
    created = await _canned(tenant, "greeting", "Hello! How can I help you today?")
    assert set(created) == CANNED_KEYS
    assert created["account_id"] == tenant.account_id
    assert (created["short_code"], created["content"]) == ("greeting", "Hello! How can I help you today?")
    assert ISO.match(str(created["created_at"]))
    assert ISO.match(str(created["updated_at"]))

    _, shown = await tenant.call("GET", f"/canned_responses/{created['id']}", expect=200)
    assert shown == created
    _, listed = await tenant.call("GET", "/canned_responses", expect=200)
    assert listed == [created]


async def test_search_matches_short_code_or_content_case_insensitively(tenant: Tenant) -> None:
    greeting = await _canned(tenant, "greeting", "Hello there, thanks for writing")
    refund = await _canned(tenant, "refund", "We have issued a REFUND for 100 items")
    sure = await _canned(tenant, "sure", "I am 100% sure about the refund")

    async def search(term: str) -> list[object]:
        _, data = await tenant.call("GET", "/canned_responses", params={"search": term}, expect=200)
        return [item["id"] for item in data]

    assert await search("HELLO") == [greeting["id"]]
    # Short-code matches come first, then content matches.
    assert await search("Refund") == [refund["id"], sure["id"]]
    # ``%`` is a literal character, not a wildcard.
    assert await search("100%") == [sure["id"]]
    assert await search("nothing like this") == []
    assert await search("") == [greeting["id"], refund["id"], sure["id"]]


async def test_create_canned_response_rejects_bad_input(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/canned_responses", json={"short_code": "hi"})
    assert_error(status, data, 422, "content")
    status, data = await tenant.call("POST", "/canned_responses", json={"short_code": "", "content": "x"})
    assert_error(status, data, 422, "short_code")
    status, data = await tenant.call("POST", "/canned_responses", json=["short_code", "content"])
    assert_error(status, data, 400, "body")
    status, data = await tenant.call("GET", "/canned_responses", params={"search": "x" * 300})
    assert_error(status, data, 422, "search")
    _, listed = await tenant.call("GET", "/canned_responses", expect=200)
    assert listed == []


async def test_short_code_is_unique_per_account(tenant: Tenant, other: Tenant) -> None:
    await _canned(tenant, "greeting", "Hello")
    status, data = await tenant.call("POST", "/canned_responses", json={"short_code": "greeting", "content": "Hi"})
    assert_error(status, data, 422, "short_code")
    assert data["errors"][0]["code"] == "taken"
    await _canned(other, "greeting", "Hello from elsewhere")


async def test_update_canned_response(tenant: Tenant) -> None:
    created = await _canned(tenant, "greeting", "Hello")
    _, updated = await tenant.call(
        "PATCH", f"/canned_responses/{created['id']}", json={"content": "Hello, {{contact.name}}!"}, expect=200
    )
    assert set(updated) == CANNED_KEYS
    assert (updated["short_code"], updated["content"]) == ("greeting", "Hello, {{contact.name}}!")
    assert updated["created_at"] == created["created_at"]
    _, shown = await tenant.call("GET", f"/canned_responses/{created['id']}", expect=200)
    assert shown == updated


async def test_update_canned_response_rejects_bad_input(tenant: Tenant) -> None:
    created = await _canned(tenant, "greeting", "Hello")
    await _canned(tenant, "bye", "Goodbye")
    path = f"/canned_responses/{created['id']}"
    status, data = await tenant.call("PATCH", path, json={"content": None})
    assert_error(status, data, 422, "content")
    status, data = await tenant.call("PATCH", path, json={"content": ""})
    assert_error(status, data, 422, "content")
    status, data = await tenant.call("PATCH", path, json={"short_code": "bye"})
    assert_error(status, data, 422, "short_code")
    _, shown = await tenant.call("GET", path, expect=200)
    assert (shown["short_code"], shown["content"]) == ("greeting", "Hello")


async def test_delete_canned_response(tenant: Tenant) -> None:
    created = await _canned(tenant, "greeting", "Hello")
    status, data = await tenant.call("DELETE", f"/canned_responses/{created['id']}")
    assert (status, data) == (204, None)
    status, data = await tenant.call("GET", f"/canned_responses/{created['id']}")
    assert_error(status, data, 404, "id")
    status, data = await tenant.call("DELETE", f"/canned_responses/{created['id']}")
    assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/canned_responses", expect=200)
    assert listed == []


async def test_another_accounts_canned_response_is_not_found(tenant: Tenant, other: Tenant) -> None:
    theirs = await _canned(other, "secret", "Their words")
    path = f"/canned_responses/{theirs['id']}"
    for method, body in (("GET", None), ("PATCH", {"content": "mine"}), ("DELETE", None)):
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    _, listed = await tenant.call("GET", "/canned_responses", params={"search": "secret"}, expect=200)
    assert listed == []
    _, shown = await other.call("GET", path, expect=200)
    assert shown["content"] == "Their words"


async def test_agents_may_manage_canned_responses(tenant: Tenant) -> None:
    _, agent_token = await tenant.agent()
    _, created = await tenant.call(
        "POST", "/canned_responses", json={"short_code": "mine", "content": "x"}, token=agent_token, expect=200
    )
    await tenant.call(
        "PATCH", f"/canned_responses/{created['id']}", json={"content": "y"}, token=agent_token, expect=200
    )
    _, listed = await tenant.call("GET", "/canned_responses", token=agent_token, expect=200)
    assert [item["content"] for item in listed] == ["y"]
    await tenant.call("DELETE", f"/canned_responses/{created['id']}", token=agent_token, expect=204)
