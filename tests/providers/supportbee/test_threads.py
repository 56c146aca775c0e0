"""SupportBee replies and comments ("Fetching Replies", "Create Reply", "Replying on behalf of an agent", "Show
Reply", "Fetching Comments", "Create Comment"): shapes against the spec's examples, bad input, tenancy."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bridge.models import Message
from mappings import supportbee as sb
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "supportbee"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def spec(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def assert_spec_keys(actual: Any, example: Any, path: str = "") -> None:
    """Every key of the spec's example is in ``actual`` (recursively; lists by their first item)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), (path, actual)
        missing = set(example) - set(actual)
        assert not missing, (path, missing)
        for key, value in example.items():
            assert_spec_keys(actual[key], value, f"{path}.{key}")
    elif isinstance(example, list) and example:
        assert isinstance(actual, list), (path, actual)
        assert actual, (path, "empty list where the example has items")
        assert_spec_keys(actual[0], example[0], f"{path}[0]")


async def make_ticket(desk: SBDesk, text: str = "My printer is on fire", *, email: str | None = None) -> int:
    """Write a ticket the way "Create Ticket" stores it (through the store) and return its SupportBee id."""
    tenant = desk.tenant
    inbox_id = await tenant.inbox()
    async with tenant.store.writer(tenant.account_id) as w:
        contact = await w.find_or_create_contact(email=email or f"{uuid.uuid4().hex[:8]}@example.com", name="Carol")
        data = sb.new_conversation(subject="Printer").model_copy(
            update={"inbox_id": inbox_id, "contact_id": contact.id}
        )
        conversation = await w.create_conversation(data)
        content = sb.SBContent(text=text)
        await w.create_message(
            conversation, sb.new_message(part="ticket", content=content, sender_kind="contact", sender_id=contact.id)
        )
        return conversation.display_id


async def reply(desk: SBDesk, ticket_id: int, text: str = "On it", **kwargs: Any) -> dict[str, Any]:
    body = {"reply": {"content": {"text": text}, **kwargs}}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, expect=201)
    return dict(data["reply"])


async def comment(desk: SBDesk, ticket_id: int, text: str = "Internal note", token: str = "admin") -> dict[str, Any]:
    body = {"comment": {"content": {"text": text}}}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/comments", json=body, token=token, expect=201)
    return dict(data["comment"])


async def unanswered(desk: SBDesk, ticket_id: int) -> bool:
    """What a client reads as the ticket's ``unanswered`` flag."""
    _, data = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
    return bool(data["ticket"]["unanswered"])


# -- replies -----------------------------------------------------------------------------------------
async def test_create_reply_answers_the_spec_shape(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=spec("reply_create_request"))
    assert status == 201, data
    assert set(data) == {"reply"}
    assert_spec_keys(data, spec("reply_create"))
    created = data["reply"]
    assert isinstance(created["id"], int)
    assert TIME.match(created["created_at"])
    assert created["summary"] == "Reply content"
    assert (created["cc"], created["bcc"]) == ([], [])
    assert created["ticket"] == {"replies_count": 1, "comments_count": 0}
    replier = created["replier"]
    assert (replier["id"], replier["name"], replier["agent"]) == (desk.tenant.user_id, "Admin", True)
    assert set(replier["picture"]) == set(spec("reply_create")["reply"]["replier"]["picture"])
    assert created["content"] == {"text": "Reply content", "html": "<p>Reply content</p>", "attachments": []}


async def test_replies_list_the_public_messages_after_the_content_oldest_first(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    first = await reply(desk, ticket_id, "First answer")
    await comment(desk, ticket_id)
    second = await reply(desk, ticket_id, "Second answer")
    _, data = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    assert set(data) == {"replies"}
    example = spec("replies_list")
    # "Fetching Replies" shows the text as ``content.body`` while "Create Reply" shows ``content.text``; the
    # bridge answers ``text`` in both (what it was written with), so compare the list on the create shape.
    example["replies"][0]["content"]["text"] = example["replies"][0]["content"].pop("body")
    assert_spec_keys(data, example)
    assert [item["id"] for item in data["replies"]] == [first["id"], second["id"]]
    assert [item["content"]["text"] for item in data["replies"]] == ["First answer", "Second answer"]
    assert {item["ticket"]["replies_count"] for item in data["replies"]} == {2}
    assert {item["ticket"]["comments_count"] for item in data["replies"]} == {1}


async def test_an_empty_ticket_lists_no_replies(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    assert await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200) == (200, {"replies": []})


async def test_show_reply_is_the_created_reply(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    created = await reply(desk, ticket_id, "Have you tried water?", cc=["Dan <dan@example.com>"])
    _, data = await desk.call("GET", f"/tickets/{ticket_id}/replies/{created['id']}", expect=200)
    assert data == {"reply": created}
    assert_spec_keys(data, spec("reply_create"))
    assert [(user["email"], user["name"], user["agent"]) for user in created["cc"]] == [
        ("dan@example.com", "Dan", False)
    ]


async def test_show_reply_of_another_ticket_a_comment_or_the_content_is_not_found(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    other_ticket = await make_ticket(desk)
    elsewhere = await reply(desk, other_ticket)
    note = await comment(desk, ticket_id)
    async with desk.tenant.store.reader() as session:
        content_id = (
            (await session.execute(select(Message.id).where(Message.account_id == desk.tenant.account_id)))
            .scalars()
            .first()
        )
    for reply_id in (elsewhere["id"], note["id"], content_id, 2**31, 10**20):
        status, data = await desk.call("GET", f"/tickets/{ticket_id}/replies/{reply_id}")
        assert_sb_error(status, data, 404)


async def test_another_companys_ticket_is_not_found(desk: SBDesk, other_desk: SBDesk) -> None:
    theirs = await make_ticket(other_desk)
    their_reply = await reply(other_desk, theirs)
    for method, path, body in [
        ("GET", f"/tickets/{theirs}/replies", None),
        ("GET", f"/tickets/{theirs}/replies/{their_reply['id']}", None),
        ("POST", f"/tickets/{theirs}/replies", {"reply": {"content": {"text": "hi"}}}),
        ("GET", f"/tickets/{theirs}/comments", None),
        ("POST", f"/tickets/{theirs}/comments", {"comment": {"content": {"text": "hi"}}}),
    ]:
        status, data = await desk.call(method, path, json=body)
        assert_sb_error(status, data, 404)
    _, data = await other_desk.call("GET", f"/tickets/{theirs}/replies", expect=200)
    assert [item["id"] for item in data["replies"]] == [their_reply["id"]]


async def test_an_agents_reply_answers_the_ticket(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    assert await unanswered(desk, ticket_id) is True
    agent_id, agent_token = await desk.agent("Bob Agent")
    body = {"reply": {"content": {"text": "Fixed"}}}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, token=agent_token, expect=201)
    assert (data["reply"]["replier"]["id"], data["reply"]["replier"]["name"]) == (agent_id, "Bob Agent")
    assert await unanswered(desk, ticket_id) is False
    _, ticket = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
    assert (ticket["ticket"]["replies_count"], ticket["ticket"]["comments_count"]) == (1, 0)


async def test_bad_replies_are_rejected(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    path = f"/tickets/{ticket_id}/replies"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"reply": {"content": {"text": "  ", "html": ""}}}, "content"),
        ({"reply": {"cc": []}}, "content"),
        ({"content": {"text": "no envelope"}}, "reply"),
        ({"reply": "text"}, "reply"),
        ({"reply": {"content": {"text": 5}}}, "content.text"),
        ({"reply": {"content": ["text"]}}, "content"),
        ({"reply": {"content": {"text": "x", "attachment_ids": ["a"]}}}, "attachment_ids"),
        ({"reply": {"content": {"text": "x", "attachment_ids": [987654]}}}, "attachment_ids"),
        ({"reply": {"content": {"text": "x", "attachment_ids": [2**40]}}}, "attachment_ids"),
        ({"reply": {"content": {"text": "x", "attachment_ids": "9" * 5000}}}, "attachment_ids"),
        ({"reply": {"content": {"text": "x"}, "cc": "not an address"}}, "cc"),
        ({"reply": {"content": {"text": "x"}, "bcc": [f"u{i}@example.com" for i in range(26)]}}, "bcc"),
    ]
    for body, field in cases:
        status, data = await desk.call("POST", path, json=body)
        assert_sb_error(status, data, 400)
        assert field in data.get("errors", {}), (body, data)
    status, data = await desk.call("POST", path, data=b"{not json", headers={"Content-Type": "application/json"})
    assert_sb_error(status, data, 400)
    _, listed = await desk.call("GET", path, expect=200)
    assert listed == {"replies": []}


async def test_replies_need_a_token(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    for method, path in [("GET", f"/tickets/{ticket_id}/replies"), ("POST", f"/tickets/{ticket_id}/comments")]:
        status, data = await desk.call(method, path, token=None, json={"comment": {"content": {"text": "x"}}})
        assert_sb_error(status, data, 401)


# -- on behalf of an agent ---------------------------------------------------------------------------
async def test_admin_replies_on_behalf_of_an_agent(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    agent_id, _ = await desk.agent("Bob Agent")
    body = spec("reply_on_behalf_request")
    body["reply"]["on_behalf_of"]["id"] = agent_id  # the spec's shape: id wins over the (obfuscated) email
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body)
    assert status == 201, data
    assert_spec_keys(data, spec("reply_create"))
    assert (data["reply"]["replier"]["id"], data["reply"]["replier"]["name"]) == (agent_id, "Bob Agent")
    _, shown = await desk.call("GET", f"/tickets/{ticket_id}/replies/{data['reply']['id']}", expect=200)
    assert shown["reply"]["replier"]["id"] == agent_id
    assert await unanswered(desk, ticket_id) is False


async def test_on_behalf_of_by_email(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    agent_id, _ = await desk.agent("Eve Agent")
    _, users = await desk.tenant.call("GET", "/agents", expect=200)
    email = next(user["email"] for user in users if user["id"] == agent_id)
    created = await reply(desk, ticket_id, on_behalf_of={"email": email.upper()})
    assert created["replier"]["id"] == agent_id


async def test_only_admins_reply_on_behalf_of_an_agent(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    _, agent_token = await desk.agent("Bob Agent")
    body = {"reply": {"on_behalf_of": {"id": desk.tenant.user_id}, "content": {"text": "as the admin"}}}
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, token=agent_token)
    assert_sb_error(status, data, 403)
    _, listed = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    assert listed == {"replies": []}


async def test_on_behalf_of_someone_who_is_not_an_agent_of_the_desk(desk: SBDesk, other_desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    path = f"/tickets/{ticket_id}/replies"
    for who in [{"id": other_desk.tenant.user_id}, {"id": 99999999}, {"email": "nobody@example.com"}, {"id": 2**40}]:
        status, data = await desk.call("POST", path, json={"reply": {"on_behalf_of": who, "content": {"text": "x"}}})
        assert_sb_error(status, data, 400)
        assert "on_behalf_of" in data["errors"], data
    status, data = await desk.call("POST", path, json={"reply": {"on_behalf_of": {}, "content": {"text": "x"}}})
    assert_sb_error(status, data, 400)
    status, data = await desk.call(
        "POST", path, json={"reply": {"on_behalf_of": {"id": "x"}, "content": {"text": "x"}}}
    )
    assert_sb_error(status, data, 400)


# -- wire variants -----------------------------------------------------------------------------------
async def test_form_encoded_reply(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    form = {
        "reply[content][text]": "Form reply",
        "reply[content][html]": "<b>Form reply</b>",
        "reply[cc][]": "Dan <dan@example.com>",
    }
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", data=form)
    assert status == 201, data
    assert data["reply"]["content"] == {"text": "Form reply", "html": "<b>Form reply</b>", "attachments": []}
    assert [user["email"] for user in data["reply"]["cc"]] == ["dan@example.com"]


async def test_content_attributes_as_supportbees_own_clients_send_them(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    body = {"reply": {"content_attributes": {"body": "Plain", "body_html": "<p>Plain</p>"}}}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, expect=201)
    assert data["reply"]["content"] == {"text": "Plain", "html": "<p>Plain</p>", "attachments": []}
    form = {"comment[content_attributes][body_html]": "<p>Only <i>html</i></p>"}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/comments", data=form, expect=201)
    assert data["comment"]["content"]["html"] == "<p>Only <i>html</i></p>"
    assert data["comment"]["content"]["text"] is None  # read back as written: html only
    async with desk.tenant.store.reader() as session:
        query = select(Message.content).where(Message.account_id == desk.tenant.account_id)
        stored = (await session.execute(query.order_by(Message.id.desc()).limit(1))).scalar_one()
    assert stored == "Only html"  # Supportly agents read it as text


async def test_json_suffix_body_token_and_host_routing(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    body = {"auth_token": desk.token, "reply": {"content": {"text": "Suffixed"}}}
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies.json", json=body, token=None)
    assert status == 201, data
    reply_id = data["reply"]["id"]
    _, shown = await desk.call("GET", f"/tickets/{ticket_id}/replies/{reply_id}.json", expect=200)
    assert shown == data
    _, listed = await desk.call("GET", f"/tickets/{ticket_id}/replies/", host=True, expect=200)
    assert listed == {"replies": [data["reply"]]}
    form = {"auth_token": desk.token, "comment[content][text]": "Host note"}
    _, noted = await desk.call("POST", f"/tickets/{ticket_id}/comments.json", data=form, token=None, host=True)
    assert noted["comment"]["content"]["text"] == "Host note"
    _, comments = await desk.call("GET", f"/tickets/{ticket_id}/comments.json", host=True, expect=200)
    assert comments == {"comments": [noted["comment"]]}


# -- comments ----------------------------------------------------------------------------------------
async def test_create_comment_answers_the_spec_shape(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    agent_id, agent_token = await desk.agent("Bob Agent")
    status, data = await desk.call(
        "POST", f"/tickets/{ticket_id}/comments", json=spec("comment_create_request"), token=agent_token
    )
    assert status == 201, data
    assert set(data) == {"comment"}
    assert_spec_keys(data, spec("comment_create"))
    created = data["comment"]
    assert TIME.match(created["created_at"])
    assert created["ticket"] == {"replies_count": 0, "comments_count": 1}
    assert (created["commenter"]["id"], created["commenter"]["name"]) == (agent_id, "Bob Agent")
    assert created["content"] == {"text": "Comment content", "html": "<p>Comment content</p>", "attachments": []}


async def test_comments_list_the_private_notes_oldest_first(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    first = await comment(desk, ticket_id, "First note")
    await reply(desk, ticket_id)
    second = await comment(desk, ticket_id, "Second note")
    _, data = await desk.call("GET", f"/tickets/{ticket_id}/comments", expect=200)
    assert set(data) == {"comments"}
    assert_spec_keys(data, spec("comments_list"))
    assert [item["id"] for item in data["comments"]] == [first["id"], second["id"]]
    assert {(item["ticket"]["replies_count"], item["ticket"]["comments_count"]) for item in data["comments"]} == {
        (1, 2)
    }
    _, replies = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    assert [item["content"]["text"] for item in replies["replies"]] == ["On it"]


async def test_a_comment_leaves_the_ticket_unanswered(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    await comment(desk, ticket_id)
    assert await unanswered(desk, ticket_id) is True


async def test_bad_comments_are_rejected(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    path = f"/tickets/{ticket_id}/comments"
    for body, field in [
        ({"comment": {"content": {"text": ""}}}, "content"),
        ({"comment": {}}, "content"),
        ({"reply": {"content": {"text": "wrong envelope"}}}, "comment"),
        ({"comment": {"content_attributes": "text"}}, "content_attributes"),
    ]:
        status, data = await desk.call("POST", path, json=body)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (body, data)
    assert await desk.call("GET", path, expect=200) == (200, {"comments": []})


async def test_a_removed_author_still_shows(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    agent_id, agent_token = await desk.agent("Leaving Agent")
    body = {"reply": {"content": {"text": "Bye"}}}
    await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, token=agent_token, expect=201)
    await desk.tenant.call("DELETE", f"/agents/{agent_id}", expect=204)
    _, data = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    assert data["replies"][0]["replier"]["id"] == agent_id
    assert data["replies"][0]["replier"]["agent"] is True


async def test_replies_written_natively_show_too(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    await desk.tenant.call(
        "POST", f"/conversations/{ticket_id}/messages", json={"content": "Native answer"}, expect=200
    )
    _, data = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    assert [(item["content"]["text"], item["replier"]["id"]) for item in data["replies"]] == [
        ("Native answer", desk.tenant.user_id)
    ]
