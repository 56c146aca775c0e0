"""Native API: labels (spec "Labels")."""

from __future__ import annotations

from tests.conftest import Tenant, assert_error

LABEL_KEYS = {"id", "title", "description", "color", "show_on_sidebar"}


async def test_create_label_lowercases_title_and_reads_back(tenant: Tenant) -> None:
    body = {"title": "Priority-Customer", "description": "High-priority", "color": "#FF5733", "show_on_sidebar": False}
    _, created = await tenant.call("POST", "/labels", json=body, expect=200)
    assert set(created) == LABEL_KEYS
    assert created["title"] == "priority-customer"
    assert (created["description"], created["color"], created["show_on_sidebar"]) == ("High-priority", "#FF5733", False)

    _, shown = await tenant.call("GET", f"/labels/{created['id']}", expect=200)
    assert shown == created
    _, listed = await tenant.call("GET", "/labels", expect=200)
    assert listed == {"payload": [created]}


async def test_create_label_defaults(tenant: Tenant) -> None:
    _, created = await tenant.call("POST", "/labels", json={"title": "vip"}, expect=200)
    assert (created["color"], created["show_on_sidebar"], created["description"]) == ("#1f93ff", True, None)


async def test_labels_are_listed_by_title(tenant: Tenant) -> None:
    for title in ("zeta", "alpha", "mid"):
        await tenant.call("POST", "/labels", json={"title": title}, expect=200)
    _, listed = await tenant.call("GET", "/labels", expect=200)
    assert [label["title"] for label in listed["payload"]] == ["alpha", "mid", "zeta"]


async def test_create_label_rejects_bad_input(tenant: Tenant) -> None:
    status, data = await tenant.call("POST", "/labels", json={"title": "two words"})
    assert_error(status, data, 422, "title")
    status, data = await tenant.call("POST", "/labels", json={"description": "no title"})
    assert_error(status, data, 422, "title")
    status, data = await tenant.call("POST", "/labels", json={"title": "ok", "color": "red"})
    assert_error(status, data, 422, "color")
    status, data = await tenant.call("POST", "/labels", data=b"{oops", headers={"Content-Type": "application/json"})
    assert_error(status, data, 400)
    _, listed = await tenant.call("GET", "/labels", expect=200)
    assert listed == {"payload": []}


async def test_label_title_is_unique_per_account(tenant: Tenant, other: Tenant) -> None:
    await tenant.call("POST", "/labels", json={"title": "billing"}, expect=200)
    status, data = await tenant.call("POST", "/labels", json={"title": "BILLING"})
    assert_error(status, data, 422, "title")
    assert data["errors"][0]["code"] == "taken"
    await other.call("POST", "/labels", json={"title": "billing"}, expect=200)


async def test_update_label(tenant: Tenant) -> None:
    _, created = await tenant.call("POST", "/labels", json={"title": "vip"}, expect=200)
    _, updated = await tenant.call(
        "PATCH", f"/labels/{created['id']}", json={"color": "#000", "description": "Big spenders"}, expect=200
    )
    assert set(updated) == LABEL_KEYS
    assert (updated["title"], updated["color"], updated["description"]) == ("vip", "#000", "Big spenders")
    _, shown = await tenant.call("GET", f"/labels/{created['id']}", expect=200)
    assert shown == updated


async def test_update_label_rejects_bad_input(tenant: Tenant) -> None:
    _, vip = await tenant.call("POST", "/labels", json={"title": "vip"}, expect=200)
    await tenant.call("POST", "/labels", json={"title": "billing"}, expect=200)
    status, data = await tenant.call("PATCH", f"/labels/{vip['id']}", json={"title": None})
    assert_error(status, data, 422, "title")
    status, data = await tenant.call("PATCH", f"/labels/{vip['id']}", json={"color": "#12345G"})
    assert_error(status, data, 422, "color")
    status, data = await tenant.call("PATCH", f"/labels/{vip['id']}", json={"title": "billing"})
    assert_error(status, data, 422, "title")
    assert data["errors"][0]["code"] == "taken"
    _, shown = await tenant.call("GET", f"/labels/{vip['id']}", expect=200)
    assert shown["title"] == "vip"


async def test_renaming_a_label_renames_it_on_conversations(tenant: Tenant) -> None:
    _, billing = await tenant.call("POST", "/labels", json={"title": "billing"}, expect=200)
    tagged = await tenant.conversation(labels=["billing", "vip"])
    untouched = await tenant.conversation(labels=["vip"])

    await tenant.call("PATCH", f"/labels/{billing['id']}", json={"title": "invoices"}, expect=200)

    _, conversation = await tenant.call("GET", f"/conversations/{tagged}", expect=200)
    assert sorted(conversation["labels"]) == ["invoices", "vip"]
    _, conversation = await tenant.call("GET", f"/conversations/{untouched}", expect=200)
    assert conversation["labels"] == ["vip"]


async def test_renaming_a_label_leaves_other_accounts_alone(tenant: Tenant, other: Tenant) -> None:
    _, billing = await tenant.call("POST", "/labels", json={"title": "billing"}, expect=200)
    theirs = await other.conversation(labels=["billing"])
    await tenant.call("PATCH", f"/labels/{billing['id']}", json={"title": "invoices"}, expect=200)
    _, conversation = await other.call("GET", f"/conversations/{theirs}", expect=200)
    assert conversation["labels"] == ["billing"]


async def test_delete_label_removes_it_from_conversations(tenant: Tenant) -> None:
    _, billing = await tenant.call("POST", "/labels", json={"title": "billing"}, expect=200)
    tagged = await tenant.conversation(labels=["billing", "vip"])

    status, data = await tenant.call("DELETE", f"/labels/{billing['id']}")
    assert (status, data) == (204, None)

    status, data = await tenant.call("GET", f"/labels/{billing['id']}")
    assert_error(status, data, 404, "id")
    _, conversation = await tenant.call("GET", f"/conversations/{tagged}", expect=200)
    assert conversation["labels"] == ["vip"]
    _, listed = await tenant.call("GET", "/labels", expect=200)
    assert [label["title"] for label in listed["payload"]] == ["vip"]


async def test_another_accounts_label_is_not_found(tenant: Tenant, other: Tenant) -> None:
    _, theirs = await other.call("POST", "/labels", json={"title": "secret"}, expect=200)
    path = f"/labels/{theirs['id']}"
    for method, body in (("GET", None), ("PATCH", {"title": "mine"}), ("DELETE", None)):
        status, data = await tenant.call(method, path, json=body)
        assert_error(status, data, 404, "id")
    status, data = await tenant.call("GET", "/labels/not-a-number")
    assert_error(status, data, 404)
    _, listed = await tenant.call("GET", "/labels", expect=200)
    assert listed == {"payload": []}
    _, shown = await other.call("GET", path, expect=200)
    assert shown["title"] == "secret"


async def test_label_writes_need_an_administrator(tenant: Tenant) -> None:
    _, label = await tenant.call("POST", "/labels", json={"title": "vip"}, expect=200)
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("POST", "/labels", json={"title": "mine"}, token=agent_token)
    assert_error(status, data, 403)
    status, data = await tenant.call("PATCH", f"/labels/{label['id']}", json={"title": "mine"}, token=agent_token)
    assert_error(status, data, 403)
    status, data = await tenant.call("DELETE", f"/labels/{label['id']}", token=agent_token)
    assert_error(status, data, 403)

    _, listed = await tenant.call("GET", "/labels", token=agent_token, expect=200)
    assert listed == {"payload": [label]}
    await tenant.call("GET", f"/labels/{label['id']}", token=agent_token, expect=200)
