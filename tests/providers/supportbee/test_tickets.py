"""SupportBee "Create Ticket", "Get Ticket", "Delete Trashed Ticket" and "Search Tickets", with the wire variants
old clients use (form bodies, ``.json`` paths, ``auth_token`` in the body, Host-routed desks) and the create limits."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from bridge.app import create_app
from bridge.settings import Settings
from mappings import supportbee as sb
from tests.conftest import make_tenant
from tests.providers.supportbee import tickets_support as t
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error, bind


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Room for the many creates these tests make; the limits have their own tests below."""
    return settings.model_copy(
        update={"supportbee_create_per_minute": 10_000, "supportbee_public_create_per_hour": 10_000}
    )


# -- create --------------------------------------------------------------------------------------------
async def test_create_answers_201_with_every_key_of_the_example(desk: SBDesk) -> None:
    inbox_id = await t.email_inbox(desk, "Support", "support@acme.example")
    logo = await t.upload(desk, "logo.jpg", b"\xff\xd8jpeg", "image/jpeg")
    status, data = await desk.call(
        "POST",
        "/tickets",
        json={
            "ticket": {
                "subject": "Subject",
                "requester_name": "John Doe",
                "requester_email": "John@Example.com",
                "cc": ["Test1 <test1@example.com>", "Test2 <test2@example.com>"],
                "bcc": ["Test3 <test3@example.com>", "test4@example.com"],
                "content": {"text": "Creating a ticket", "html": "<p>Creating a ticket</p>", "attachment_ids": [logo]},
                "forwarding_address_id": inbox_id,
            }
        },
    )
    assert status == 201, data
    assert set(data) == {"ticket"}
    created = data["ticket"]
    t.assert_ticket_shape(created, t.example("ticket_create")["ticket"])
    assert (created["subject"], created["summary"], created["source"]) == (
        "Subject",
        "Creating a ticket",
        {"email": "support@acme.example"},
    )
    assert (created["unanswered"], created["archived"], created["spam"], created["trash"], created["starred"]) == (
        True,
        False,
        False,
        False,
        False,
    )
    assert (created["replies_count"], created["comments_count"], created["labels"]) == (0, 0, [])
    assert (created["current_user_assignee"], created["current_team_assignee"]) == (None, None)
    assert (created["requester"]["email"], created["requester"]["name"], created["requester"]["agent"]) == (
        "john@example.com",
        "John Doe",
        False,
    )
    assert [(u["name"], u["email"]) for u in created["cc"]] == [
        ("Test1", "test1@example.com"),
        ("Test2", "test2@example.com"),
    ]
    assert [u["email"] for u in created["bcc"]] == ["test3@example.com", "test4@example.com"]
    assert created["content"]["text"] == "Creating a ticket"
    assert created["content"]["html"] == "<p>Creating a ticket</p>"
    [attachment] = created["content"]["attachments"]
    assert (attachment["id"], attachment["filename"]) == (logo, "logo.jpg")
    assert attachment["url"]["original"].endswith(f"/supportbee/{desk.company}/attachments/{logo}")


async def test_anonymous_create_reads_back_what_was_sent(desk: SBDesk) -> None:
    upload = await t.upload(desk, "notes.txt", b"plain notes", "text/plain")
    sent = {
        "subject": "  Spaces kept  ",
        "requester_name": "Ann Lee",
        "requester_email": "ann@customer.example",
        "cc": "Bob Roe <bob@customer.example>, carl@customer.example",
        "bcc": ["Dee <dee@customer.example>"],
        "content": {"text": "Line one\n\nLine two ", "html": "<p>Line one</p><p>Line two</p>"},
        "attachment_ids": [upload],
    }
    status, data = await desk.call("POST", "/tickets", json={"ticket": sent}, token=None)
    assert status == 201, data
    back = await t.ticket(desk, data["ticket"]["id"])
    assert back == data["ticket"]
    assert back["subject"] == "  Spaces kept  "
    assert (back["requester"]["name"], back["requester"]["email"]) == ("Ann Lee", "ann@customer.example")
    assert [(u["name"], u["email"]) for u in back["cc"]] == [
        ("Bob Roe", "bob@customer.example"),
        ("carl", "carl@customer.example"),
    ]
    assert [(u["name"], u["email"]) for u in back["bcc"]] == [("Dee", "dee@customer.example")]
    assert (back["content"]["text"], back["content"]["html"]) == (
        "Line one\n\nLine two ",
        "<p>Line one</p><p>Line two</p>",
    )
    assert [(a["id"], a["filename"], a["content_type"]) for a in back["content"]["attachments"]] == [
        (upload, "notes.txt", "text/plain")
    ]
    # The ticket is the customer's message in the desk's email inbox, seen natively too.
    _, native = await desk.tenant.call("GET", f"/conversations/{back['id']}/messages", expect=200)
    first = native["payload"][0]
    assert (first["content"], first["message_type"], first["sender_type"]) == (
        "Line one\n\nLine two",
        "incoming",
        "contact",
    )
    assert sb.user_id_owner(back["requester"]["id"]) == ("contact", first["sender_id"])


async def test_create_from_a_rails_form(desk: SBDesk) -> None:
    upload = await t.upload(desk, "a.txt", b"a", "text/plain")
    form = [
        ("ticket[subject]", "From a form"),
        ("ticket[requester_name]", "Form Person"),
        ("ticket[requester_email]", "form@customer.example"),
        ("ticket[cc][]", "One <one@customer.example>"),
        ("ticket[cc][]", "two@customer.example"),
        ("ticket[content][text]", "Typed in a form"),
        ("ticket[content][html]", "<b>Typed</b> in a form"),
        ("ticket[content][attachment_ids][]", str(upload)),
        ("ticket[notify_requester]", "1"),
    ]
    status, data = await desk.call("POST", "/tickets", data=form)
    assert status == 201, data
    created = data["ticket"]
    assert (created["subject"], created["requester"]["email"]) == ("From a form", "form@customer.example")
    assert [u["email"] for u in created["cc"]] == ["one@customer.example", "two@customer.example"]
    assert (created["content"]["text"], created["content"]["html"]) == ("Typed in a form", "<b>Typed</b> in a form")
    assert [a["id"] for a in created["content"]["attachments"]] == [upload]


async def test_create_with_content_attributes_and_copied_emails(desk: SBDesk) -> None:
    created = await t.create(
        desk,
        content=None,
        content_attributes={"body": "Old client body", "body_html": "<p>Old client body</p>"},
        copied_emails="x@customer.example,y@customer.example",
    )
    assert (created["content"]["text"], created["content"]["html"]) == (
        "Old client body",
        "<p>Old client body</p>",
    )
    assert [u["email"] for u in created["cc"]] == ["x@customer.example", "y@customer.example"]
    only_html = await t.create(desk, subject="", content={"html": "<p>Only <i>html</i></p>"})
    assert (only_html["subject"], only_html["content"]["html"], only_html["summary"]) == (
        "No Subject",
        "<p>Only <i>html</i></p>",
        "Only html",
    )


async def test_create_uses_the_first_email_inbox_or_makes_one(desk: SBDesk) -> None:
    first = await t.create(desk)
    assert first["source"] == {"email": None}  # a "SupportBee" email inbox was made for the desk
    await t.email_inbox(desk, "Second", "second@acme.example")
    again = await t.create(desk)
    assert again["source"] == {"email": None}
    _, inboxes = await desk.tenant.call("GET", "/inboxes", expect=200)
    assert [(i["name"], i["channel_type"]) for i in inboxes["payload"]] == [
        ("SupportBee", "email"),
        ("Second", "email"),
    ]


@pytest.mark.parametrize(
    ("ticket", "field"),
    [
        ({"subject": "x", "content": {"text": "x"}}, "requester_email"),
        ({"requester_email": "  ", "content": {"text": "x"}}, "requester_email"),
        ({"requester_email": "not-an-email", "content": {"text": "x"}}, "requester_email"),
        ({"requester_email": "a@customer.example"}, "content"),
        ({"requester_email": "a@customer.example", "content": {"text": "  ", "html": ""}}, "content"),
        ({"requester_email": "a@customer.example", "content": "x", "cc": ["nobody"]}, "cc"),
        (
            {"requester_email": "a@customer.example", "content": "x", "bcc": [f"p{i}@c.example" for i in range(26)]},
            "bcc",
        ),
        ({"requester_email": "a@customer.example", "content": "x", "attachment_ids": [999999]}, "attachment_ids"),
        ({"requester_email": "a@customer.example", "content": "x", "attachment_ids": ["x"]}, "attachment_ids"),
        (
            {"requester_email": "a@customer.example", "content": "x", "forwarding_address_id": 424242},
            "forwarding_address_id",
        ),
        ({"requester_email": "a@customer.example", "content": {"text": 5}}, "content.text"),
        ({"requester_email": "a@customer.example", "content": "x", "subject": 12}, "ticket.subject"),
    ],
)
async def test_create_refuses_bad_input_and_writes_nothing(desk: SBDesk, ticket: dict[str, Any], field: str) -> None:
    status, data = await desk.call("POST", "/tickets", json={"ticket": ticket})
    assert_sb_error(status, data, 400)
    assert field in data["errors"], data
    assert await t.listed(desk, archived="any") == []
    _, contacts = await desk.tenant.call("GET", "/contacts", expect=200)
    assert contacts["payload"] == []


async def test_create_refuses_a_body_without_a_ticket(desk: SBDesk) -> None:
    for body in ({"subject": "no envelope"}, {"ticket": "text"}):
        status, data = await desk.call("POST", "/tickets", json=body)
        assert_sb_error(status, data, 400)
        assert "ticket" in data["errors"]
    status, data = await desk.call("POST", "/tickets", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_sb_error(status, data, 400)


async def test_create_with_another_company_token_is_refused(desk: SBDesk, other_desk: SBDesk) -> None:
    status, data = await desk.call(
        "POST",
        "/tickets",
        json={"ticket": {"requester_email": "a@customer.example", "content": "x"}},
        token=other_desk.token,
    )
    assert_sb_error(status, data, 401)
    other_inbox = await t.email_inbox(other_desk, "Theirs", "theirs@globex.example")
    status, data = await desk.call(
        "POST",
        "/tickets",
        json={
            "ticket": {"requester_email": "a@customer.example", "content": "x", "forwarding_address_id": other_inbox}
        },
    )
    assert_sb_error(status, data, 400)
    assert "forwarding_address_id" in data["errors"]


# -- create limits -------------------------------------------------------------------------------------
@pytest.fixture
async def limited(settings: Settings, aiohttp_client: Any) -> SBDesk:
    """A desk on an app allowing 2 anonymous creates an hour per IP and 3 authenticated a minute per token."""
    app: web.Application = create_app(
        settings.model_copy(update={"supportbee_public_create_per_hour": 2, "supportbee_create_per_minute": 3})
    )
    return await bind(await make_tenant(await aiohttp_client(app)))


async def test_anonymous_creates_are_limited_per_ip(limited: SBDesk) -> None:
    for _ in range(2):
        await t.create(limited, token=None)
    status, data = await limited.call(
        "POST", "/tickets", json={"ticket": {"requester_email": "a@c.example", "content": "x"}}, token=None
    )
    assert_sb_error(status, data, 429)
    async with limited.client.post(
        limited.path("/tickets"), json={"ticket": {"requester_email": "a@c.example", "content": "x"}}
    ) as response:
        assert response.status == 429
        assert 3000 < int(response.headers["Retry-After"]) <= 3600
    # An authenticated client is counted on its own token, not on the IP.
    await t.create(limited)
    assert len(await t.listed(limited)) == 3


async def test_authenticated_creates_are_limited_per_token(limited: SBDesk) -> None:
    for _ in range(3):
        await t.create(limited)
    status, data = await limited.call(
        "POST", "/tickets", json={"ticket": {"requester_email": "a@c.example", "content": "x"}}
    )
    assert_sb_error(status, data, 429)
    _, agent_token = await limited.agent()
    await t.create(limited, token=agent_token)
    await t.create(limited, token=None)
    assert len(await t.listed(limited)) == 5


# -- get -----------------------------------------------------------------------------------------------
async def test_get_answers_every_key_with_a_json_suffix(desk: SBDesk) -> None:
    created = await t.create(desk, requester_name="Requester")
    status, data = await desk.call("GET", f"/tickets/{created['id']}.json")
    assert status == 200
    assert set(data) == {"ticket"}
    t.assert_ticket_shape(data["ticket"], t.example("ticket_show")["ticket"])
    assert data["ticket"] == created
    for variant in (f"/tickets/{created['id']}/", f"/tickets/{created['id']}"):
        assert (await desk.call("GET", variant, expect=200))[1] == data


async def test_get_another_company_ticket_is_not_found(desk: SBDesk, other_desk: SBDesk) -> None:
    await t.create(desk)
    theirs = [await t.create(other_desk) for _ in range(2)][-1]
    assert theirs["id"] == 2
    status, data = await desk.call("GET", "/tickets/2")
    assert_sb_error(status, data, 404)
    status, data = await desk.call("GET", "/tickets/1", token=other_desk.token)
    assert_sb_error(status, data, 401)
    for missing in ("/tickets/99", "/tickets/99999999999999999999"):
        assert_sb_error(*(await desk.call("GET", missing)), 404)
    assert_sb_error(*(await desk.call("GET", "/tickets/1", token=None)), 401)


# -- delete --------------------------------------------------------------------------------------------
async def test_delete_removes_a_trashed_ticket(desk: SBDesk) -> None:
    created = await t.create(desk)
    await desk.call("POST", f"/tickets/{created['id']}/trash", expect=204)
    status, data = await desk.call("DELETE", f"/tickets/{created['id']}")
    assert (status, data) == (204, None)
    assert_sb_error(*(await desk.call("GET", f"/tickets/{created['id']}")), 404)
    assert await t.listed(desk, archived="any", trash="true") == []


async def test_delete_refuses_an_untrashed_ticket_and_non_admins(desk: SBDesk, other_desk: SBDesk) -> None:
    created = await t.create(desk)
    status, data = await desk.call("DELETE", f"/tickets/{created['id']}")
    assert_sb_error(status, data, 404)
    assert "trash" in data["error"]
    await desk.call("POST", f"/tickets/{created['id']}/trash", expect=204)
    _, agent_token = await desk.agent()
    assert_sb_error(*(await desk.call("DELETE", f"/tickets/{created['id']}", token=agent_token)), 403)
    theirs = await t.create(other_desk)
    await other_desk.call("POST", f"/tickets/{theirs['id']}/trash", expect=204)
    await t.create(desk)
    assert_sb_error(*(await desk.call("DELETE", "/tickets/3")), 404)
    assert (await t.ticket(desk, created["id"]))["trash"] is True
    assert (await t.ticket(other_desk, theirs["id"]))["trash"] is True


# -- search --------------------------------------------------------------------------------------------
async def test_search_matches_subject_content_and_requester(desk: SBDesk, other_desk: SBDesk) -> None:
    by_subject = await t.create(desk, subject="Invoice 100% wrong")
    by_content = await t.create(desk, subject="Hello", content={"html": "<p>my INVOICE is late</p>"})
    by_requester = await t.create(desk, subject="Other", requester_name="Ivy Invoicer")
    await t.create(desk, subject="Unrelated", content={"text": "nothing here"})
    await t.create(other_desk, subject="Invoice elsewhere")
    status, data = await desk.call("GET", "/tickets/search", params={"query": "invoice", "per_page": "2"})
    assert status == 200
    assert set(data) == t.ENVELOPE_KEYS
    assert (data["total"], data["current_page"], data["per_page"], data["total_pages"]) == (3, 1, 2, 2)
    t.assert_ticket_shape(data["tickets"][0], t.example("tickets_search")["tickets"][0])
    _, page2 = await desk.call("GET", "/tickets/search.json", params={"query": "invoice", "per_page": "2", "page": "2"})
    found = [item["id"] for item in data["tickets"] + page2["tickets"]]
    assert sorted(found) == sorted([by_subject["id"], by_content["id"], by_requester["id"]])
    _, both = await desk.call("GET", "/tickets/search", params={"query": "invoice wrong"})
    assert [item["id"] for item in both["tickets"]] == [by_subject["id"]]
    _, literal = await desk.call("GET", "/tickets/search", params={"query": "100%"})
    assert [item["id"] for item in literal["tickets"]] == [by_subject["id"]]


async def test_search_spans_archived_and_honours_spam_and_trash(desk: SBDesk) -> None:
    archived, spam, trashed = [await t.create(desk, subject=f"Refund {n}") for n in range(3)]
    await desk.call("POST", f"/tickets/{archived['id']}/archive", expect=204)
    await desk.call("POST", f"/tickets/{spam['id']}/spam", expect=204)
    await desk.call("POST", f"/tickets/{trashed['id']}/trash", expect=204)

    async def search(**params: str) -> set[int]:
        _, data = await desk.call("GET", "/tickets/search", params={"query": "refund", **params}, expect=200)
        return {item["id"] for item in data["tickets"]}

    assert await search() == {archived["id"]}
    assert await search(spam="true") == {archived["id"], spam["id"]}
    assert await search(trash="true", spam="true") == {archived["id"], spam["id"], trashed["id"]}


@pytest.mark.parametrize("params", [{}, {"query": ""}, {"query": "   "}, {"query": "x", "per_page": "100"}])
async def test_search_without_a_query_is_400(desk: SBDesk, params: dict[str, str]) -> None:
    status, data = await desk.call("GET", "/tickets/search", params=params)
    assert_sb_error(status, data, 400)
    assert set(data["errors"]) <= {"query", "per_page"}


# -- wire variants -------------------------------------------------------------------------------------
async def test_host_routed_desk_lists_and_creates(desk: SBDesk, other_desk: SBDesk) -> None:
    created = await t.create(desk)
    await t.create(other_desk)
    status, data = await desk.call("GET", "/tickets", host=True)
    assert status == 200
    assert [item["id"] for item in data["tickets"]] == [created["id"]]
    status, data = await desk.call(
        "POST", "/tickets.json", json={"ticket": {"requester_email": "h@c.example", "content": "x"}}, host=True
    )
    assert status == 201
    attachment_url = data["ticket"]["requester"]["picture"]["thumb20"]
    assert attachment_url.startswith("https://secure.gravatar.com/")
    assert_sb_error(*(await other_desk.call("GET", f"/tickets/{data['ticket']['id']}", host=True)), 404)


async def test_auth_token_in_the_json_body(desk: SBDesk) -> None:
    created = await t.create(desk)
    status, data = await desk.call(
        "POST", f"/tickets/{created['id']}/archive", json={"auth_token": desk.token}, token=None
    )
    assert (status, data) == (204, None)
    assert (await t.ticket(desk, created["id"]))["archived"] is True
    status, data = await desk.call(
        "POST",
        "/tickets",
        json={"auth_token": desk.token, "ticket": {"requester_email": "b@c.example", "content": "x"}},
        token=None,
    )
    assert status == 201


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "attachment_ids": [2**70]}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "forwarding_address_id": 2**63}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "forwarding_address_id": "9" * 19}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "a\x00b"}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "requester_name": "N\x00"}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "cc": ["N\x00 <n@c.example>"]}}),
        ("/tickets", {"ticket": {"requester_email": "a@c.example", "content": "x", "requester_name": "n" * 300}}),
        ("/tickets/1/user_assignment", {"user_assignment": {"user_id": 2**63}}),
        ("/tickets/1/user_assignment", {"user_assignment": {"user_id": -5}}),
        ("/tickets/1/team_assignment", {"team_assignment": {"team_id": 2**40}}),
        ("/tickets/1/team_assignment", {"team_assignment": {"team_id": "1\x00"}}),
    ],
)
async def test_hostile_bodies_are_400_never_500(desk: SBDesk, path: str, body: dict[str, Any]) -> None:
    await t.create(desk)
    status, data = await desk.call("POST", path, json=body)
    assert_sb_error(status, data, 400)
    assert len(await t.listed(desk, archived="any")) == 1
