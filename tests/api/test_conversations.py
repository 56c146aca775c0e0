"""Native API: conversations — list filters and counts, create, get, update, assignment, labels, spam, mute."""

from __future__ import annotations

import time

from tests.conftest import Tenant, assert_error


async def test_create_and_get_conversation_with_initial_message(tenant: Tenant) -> None:
    inbox_id = await tenant.inbox()
    contact_id = await tenant.contact(email="jane@example.com")
    status, created = await tenant.call(
        "POST",
        "/conversations",
        json={"inbox_id": inbox_id, "contact_id": contact_id, "message": {"content": "Hello, I need help!"}},
    )
    assert status == 200
    assert created["id"] == 1  # display ids start at 1 per account
    assert created["status"] == "open"
    assert created["inbox_id"] == inbox_id
    assert created["meta"]["sender"]["email"] == "jane@example.com"
    assert created["meta"]["channel"] == "api"
    _, fetched = await tenant.call("GET", "/conversations/1", expect=200)
    assert fetched["uuid"] == created["uuid"]
    _, messages = await tenant.call("GET", "/conversations/1/messages", expect=200)
    assert [m["content"] for m in messages["payload"]] == ["Hello, I need help!"]
    assert messages["payload"][0]["message_type"] == "outgoing"
    assert messages["payload"][0]["sender_type"] == "agent"
    assert messages["payload"][0]["sender_id"] == tenant.user_id


async def test_display_ids_are_per_account(tenant: Tenant, other: Tenant) -> None:
    assert await tenant.conversation() == 1
    assert await tenant.conversation() == 2
    assert await other.conversation() == 1


async def test_create_conversation_bad_input(tenant: Tenant, other: Tenant) -> None:
    status, data = await tenant.call("POST", "/conversations", json={"contact_id": 1})
    assert_error(status, data, 422, "inbox_id")
    foreign_inbox = await other.inbox()
    contact_id = await tenant.contact(email="a@example.com")
    status, data = await tenant.call(
        "POST", "/conversations", json={"inbox_id": foreign_inbox, "contact_id": contact_id}
    )
    assert_error(status, data, 422, "inbox_id")
    inbox_id = await tenant.inbox()
    status, data = await tenant.call(
        "POST", "/conversations", json={"inbox_id": inbox_id, "contact_id": contact_id, "status": "resolved"}
    )
    assert_error(status, data, 422, "status")
    status, data = await tenant.call(
        "POST", "/conversations", json={"inbox_id": inbox_id, "contact_id": contact_id, "assignee_id": 999999}
    )
    assert_error(status, data, 422, "assignee_id")
    status, data = await tenant.call("POST", "/conversations", data=b"{", headers={"Content-Type": "application/json"})
    assert_error(status, data, 400)


async def test_another_accounts_conversation_is_not_found(tenant: Tenant, other: Tenant) -> None:
    await other.conversation()
    for method, path, body in [
        ("GET", "/conversations/1", None),
        ("PATCH", "/conversations/1", {"status": "resolved"}),
        ("POST", "/conversations/1/toggle_status", {"status": "resolved"}),
        ("POST", "/conversations/1/toggle_priority", {"priority": "high"}),
        ("POST", "/conversations/1/assignments", {"assignee_id": tenant.user_id}),
        ("GET", "/conversations/1/labels", None),
        ("POST", "/conversations/1/labels", {"labels": ["x"]}),
        ("POST", "/conversations/1/spam", None),
        ("DELETE", "/conversations/1/spam", None),
        ("GET", "/conversations/1/messages", None),
        ("POST", "/conversations/1/messages", {"content": "hi"}),
        ("DELETE", "/conversations/1/messages/1", None),
        ("GET", "/conversations/abc", None),
    ]:
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404)


async def test_update_status_priority_snooze_and_attributes(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    until = int(time.time()) + 3600
    _, data = await tenant.call(
        "PATCH",
        f"/conversations/{display_id}",
        json={"status": "snoozed", "snoozed_until": until, "priority": "urgent", "custom_attributes": {"plan": "pro"}},
        expect=200,
    )
    assert (data["status"], data["snoozed_until"], data["priority"]) == ("snoozed", until, "urgent")
    assert data["custom_attributes"] == {"plan": "pro"}
    _, data = await tenant.call("PATCH", f"/conversations/{display_id}", json={"status": "open"}, expect=200)
    assert data["snoozed_until"] is None


async def test_update_conversation_bad_input(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    for body, field in [
        ({"status": "closed"}, "status"),
        ({"priority": "critical"}, "priority"),
        ({"snoozed_until": "tomorrow"}, "snoozed_until"),
        ({"snoozed_until": 10**20}, "snoozed_until"),
        ({"status": "open", "snoozed_until": int(time.time()) + 60}, "snoozed_until"),
        ({"custom_attributes": "plan"}, "custom_attributes"),
    ]:
        status, data = await tenant.call("PATCH", f"/conversations/{display_id}", json=body)
        assert_error(status, data, 422, field)


async def test_toggle_status_and_priority(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    _, data = await tenant.call(
        "POST", f"/conversations/{display_id}/toggle_status", json={"status": "resolved"}, expect=200
    )
    assert data["payload"] == {
        "success": True,
        "conversation_id": display_id,
        "current_status": "resolved",
        "snoozed_until": None,
    }
    status, data = await tenant.call("POST", f"/conversations/{display_id}/toggle_status", json={"status": "x"})
    assert_error(status, data, 422, "status")
    _, data = await tenant.call(
        "POST", f"/conversations/{display_id}/toggle_priority", json={"priority": "low"}, expect=200
    )
    assert data["priority"] == "low"


async def test_assign_to_agent_and_team_and_unassign(tenant: Tenant, other: Tenant) -> None:
    display_id = await tenant.conversation()
    agent_id, _ = await tenant.agent("Ann")
    _, data = await tenant.call(
        "POST", f"/conversations/{display_id}/assignments", json={"assignee_id": agent_id}, expect=200
    )
    assert (data["id"], data["name"]) == (agent_id, "Ann")
    _, team = await tenant.call("POST", "/teams", json={"name": "Billing"}, expect=200)
    _, data = await tenant.call(
        "POST", f"/conversations/{display_id}/assignments", json={"team_id": team["id"]}, expect=200
    )
    assert data["name"] == "Billing"
    _, conversation = await tenant.call("GET", f"/conversations/{display_id}", expect=200)
    assert conversation["assignee_id"] == agent_id
    assert conversation["meta"]["assignee"]["name"] == "Ann"
    assert conversation["meta"]["team"] == {"id": team["id"], "name": "Billing"}
    await tenant.call("POST", f"/conversations/{display_id}/assignments", json={"assignee_id": None}, expect=200)
    _, conversation = await tenant.call("GET", f"/conversations/{display_id}", expect=200)
    assert conversation["assignee_id"] is None
    foreign_agent, _ = await other.agent()
    status, data = await tenant.call(
        "POST", f"/conversations/{display_id}/assignments", json={"assignee_id": foreign_agent}
    )
    assert_error(status, data, 422, "assignee_id")
    status, data = await tenant.call("POST", f"/conversations/{display_id}/assignments", json={})
    assert_error(status, data, 422, "assignee_id")


async def test_labels_get_and_set(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    _, data = await tenant.call(
        "POST", f"/conversations/{display_id}/labels", json={"labels": ["Billing", "vip"]}, expect=200
    )
    assert data["payload"] == ["billing", "vip"]
    _, data = await tenant.call("GET", f"/conversations/{display_id}/labels", expect=200)
    assert data["payload"] == ["billing", "vip"]
    _, labels = await tenant.call("GET", "/labels", expect=200)
    assert {"billing", "vip"} <= {label["title"] for label in labels["payload"]}
    status, data = await tenant.call("POST", f"/conversations/{display_id}/labels", json={"labels": "vip"})
    assert_error(status, data, 422, "labels")
    status, data = await tenant.call("POST", f"/conversations/{display_id}/labels", json={"labels": ["two words"]})
    assert_error(status, data, 422, "labels")


async def test_spam_mark_and_unmark_and_mute(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    _, data = await tenant.call("POST", f"/conversations/{display_id}/spam", expect=200)
    assert data["spam"] is True
    _, data = await tenant.call("DELETE", f"/conversations/{display_id}/spam", expect=200)
    assert data["spam"] is False
    _, data = await tenant.call("POST", f"/conversations/{display_id}/mute", expect=200)
    assert data["muted"] is True
    _, data = await tenant.call("POST", f"/conversations/{display_id}/unmute", expect=200)
    assert data["muted"] is False


async def test_list_filters_and_meta_counts(tenant: Tenant) -> None:
    agent_id, agent_token = await tenant.agent()
    inbox_a = await tenant.inbox("A")
    inbox_b = await tenant.inbox("B")
    _, team = await tenant.call("POST", "/teams", json={"name": "Support"}, expect=200)
    mine = await tenant.conversation(inbox_id=inbox_a, assignee_id=agent_id, labels=["vip"])
    theirs = await tenant.conversation(inbox_id=inbox_a, assignee_id=tenant.user_id, team_id=team["id"])
    loose = await tenant.conversation(inbox_id=inbox_b)
    resolved = await tenant.conversation(inbox_id=inbox_b)
    await tenant.call("PATCH", f"/conversations/{resolved}", json={"status": "resolved"}, expect=200)

    async def ids(query: str, token: str | None = None) -> tuple[list[int], dict[str, int]]:
        _, data = await tenant.call("GET", f"/conversations{query}", token=token, expect=200)
        return sorted(c["id"] for c in data["data"]["payload"]), data["data"]["meta"]

    found, meta = await ids("")
    assert found == sorted([mine, theirs, loose])
    assert (meta["all_count"], meta["unassigned_count"], meta["assigned_count"]) == (3, 1, 2)
    assert meta["mine_count"] == 1
    assert (await ids("?status=resolved"))[0] == [resolved]
    assert (await ids("?status=all"))[0] == sorted([mine, theirs, loose, resolved])
    assert (await ids("?assignee_type=unassigned"))[0] == [loose]
    assert (await ids("?assignee_type=assigned"))[0] == sorted([mine, theirs])
    assert (await ids("?assignee_type=me"))[0] == [theirs]
    assert (await ids("?assignee_type=me", token=agent_token))[0] == [mine]
    assert (await ids(f"?inbox_id={inbox_b}&status=all"))[0] == sorted([loose, resolved])
    assert (await ids(f"?team_id={team['id']}"))[0] == [theirs]
    assert (await ids("?labels[]=vip"))[0] == [mine]
    assert (await ids("?labels[]=vip&labels[]=other"))[0] == []


async def test_list_paginates_25_per_page(tenant: Tenant) -> None:
    inbox_id = await tenant.inbox()
    contact_id = await tenant.contact(email="p@example.com")
    for _ in range(27):
        await tenant.conversation(inbox_id=inbox_id, contact_id=contact_id)
    _, page1 = await tenant.call("GET", "/conversations?page=1", expect=200)
    _, page2 = await tenant.call("GET", "/conversations?page=2", expect=200)
    assert len(page1["data"]["payload"]) == 25
    assert len(page2["data"]["payload"]) == 2
    assert not {c["id"] for c in page1["data"]["payload"]} & {c["id"] for c in page2["data"]["payload"]}


async def test_list_bad_filters(tenant: Tenant) -> None:
    for query, field in [
        ("?status=closed", "status"),
        ("?assignee_type=everyone", "assignee_type"),
        ("?inbox_id=abc", "inbox_id"),
        ("?page=0", "page"),
        ("?page=x", "page"),
    ]:
        status, data = await tenant.call("GET", f"/conversations{query}")
        assert_error(status, data, 422, field)


async def test_list_never_shows_another_accounts_conversations(tenant: Tenant, other: Tenant) -> None:
    await other.conversation()
    _, data = await tenant.call("GET", "/conversations?status=all", expect=200)
    assert data["data"]["payload"] == []
    assert data["data"]["meta"]["all_count"] == 0
