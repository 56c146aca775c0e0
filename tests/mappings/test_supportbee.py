"""SupportBee mapping: the spec's examples parse and dump back unchanged, the story desk survives a round trip
through the Supportly model, and every lossy step is reported."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from structlog.testing import capture_logs

from bridge.schemas import (
    AgentRecord,
    AttachmentRecord,
    AutomationRuleRecord,
    CannedResponseRecord,
    CompanyRecord,
    ContactRecord,
    ConversationRecord,
    InboxRecord,
    LabelRecord,
    MessageRecord,
    TeamRecord,
)
from mappings import supportbee as sb
from tests.mappings.supportbee_desk import STORE_NOW, SimulatedDesk

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "supportbee"
STORY = FIXTURES / "story"


class _AssigneeFragment(sb.SBModel):
    """The "…"-elided ticket fragments of "Fetch Tickets" that show an assignee."""

    current_user_assignee: sb.SBUserAssignee | None = None
    current_team_assignee: sb.SBTeamAssignee | None = None


SPEC_FIXTURES: dict[str, type[sb.SBModel]] = {
    "tickets_list": sb.SBTicketList,
    "ticket_fragment_user_assignee": _AssigneeFragment,
    "ticket_fragment_team_assignee": _AssigneeFragment,
    "tickets_search": sb.SBTicketList,
    "ticket_create_request": sb.SBTicketWriteEnvelope,
    "ticket_create": sb.SBTicketEnvelope,
    "ticket_show": sb.SBTicketEnvelope,
    "user_assignment_create_request": sb.SBUserAssignmentWriteEnvelope,
    "user_assignment_create": sb.SBUserAssignmentEnvelope,
    "team_assignment_create_request": sb.SBTeamAssignmentWriteEnvelope,
    "team_assignment_create": sb.SBTeamAssignmentEnvelope,
    "replies_list": sb.SBReplyList,
    "reply_create_request": sb.SBReplyWriteEnvelope,
    "reply_create": sb.SBReplyEnvelope,
    "reply_on_behalf_request": sb.SBReplyWriteEnvelope,
    "comments_list": sb.SBCommentList,
    "comment_create_request": sb.SBCommentWriteEnvelope,
    "comment_create": sb.SBCommentEnvelope,
    "users_with_roles": sb.SBUserList,
    "users_customer_groups": sb.SBUserList,
    "user_show": sb.SBUserEnvelope,
    "user_create_request": sb.SBUserWriteEnvelope,
    "customer_group_create_request": sb.SBUserWriteEnvelope,
    "user_update_request": sb.SBUserWriteEnvelope,
    "customer_group_members_list": sb.SBUserList,
    "customer_group_member_add_request": sb.SBMemberWriteEnvelope,
    "customer_group_member_add": sb.SBMemberEnvelope,
    "labels_list": sb.SBLabelList,
    "label_add": sb.SBLabelAssignmentEnvelope,
    "teams_list": sb.SBTeamList,
    "attachment_create": sb.SBAttachmentEnvelope,
    "snippets_list": sb.SBSnippetList,
    "snippet_create_request": sb.SBSnippetWriteEnvelope,
    "snippet_create": sb.SBSnippetEnvelope,
    "rule_create_request": sb.SBRuleEnvelope,
    "rule_create": sb.SBRuleEnvelope,
    "consequence_create_request": sb.SBConsequenceEnvelope,
    "consequence_create": sb.SBConsequenceEnvelope,
    "filter_create_request": sb.SBFilterEnvelope,
    "emails_list": sb.SBEmailList,
    "email_create_request": sb.SBEmailWriteEnvelope,
    "email_create": sb.SBEmailEnvelope,
    "report_avg_first_response_time": sb.SBReport,
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def spec(name: str) -> Any:
    return load(FIXTURES / f"{name}.json")


def lossy_events(logs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["kind"], entry["field"]) for entry in logs if entry["event"] == sb.LOSSY_EVENT]


# -- the spec's examples -----------------------------------------------------------------------------
def test_every_spec_fixture_has_a_model() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.json")}
    assert on_disk == set(SPEC_FIXTURES)


@pytest.mark.parametrize("name", sorted(SPEC_FIXTURES))
def test_spec_example_parses_and_dumps_back_key_for_key(name: str) -> None:
    data = spec(name)
    parsed = SPEC_FIXTURES[name].model_validate(data)
    assert parsed.to_wire() == data


def test_ticket_values_keep_their_wire_formats() -> None:
    ticket = sb.SBTicketList.model_validate(spec("tickets_list")).tickets[0]
    assert ticket.last_activity_at == dt.datetime(2012, 1, 18, 15, 17, 33, tzinfo=dt.UTC)
    wire = ticket.to_wire()
    assert wire["last_activity_at"] == "2012-01-18T15:17:33Z"
    assert wire["content"]["attachments"][0]["created_at"] == "2012-01-18T15:17:33Z"
    assert isinstance(wire["id"], int)
    assert isinstance(wire["requester"]["id"], int)
    assert wire["content"]["attachments"][0]["url"] == {
        "original": "http://company.example.com/attachments/2",
        "thumb": "http://company.example.com/attachments/2?version=thumb",
    }


def test_unknown_keys_from_a_real_desk_are_kept() -> None:
    data = {**spec("tickets_list")["tickets"][0], "priority_score": 7, "requester": {"id": 3, "locale": "fr"}}
    assert sb.SBTicket.model_validate(data).to_wire() == data


def test_role_codes_of_create_users() -> None:
    assert [sb.role_from_code(code) for code in (20, 10, 9, None, "10")] == [
        "admin",
        "agent",
        "collaborator",
        "customer",
        "agent",
    ]
    with pytest.raises(ValueError, match="unknown SupportBee role code"):
        sb.role_from_code(15)


def test_spec_users_show_their_roles_and_types() -> None:
    agent = sb.SBUserList.model_validate(spec("users_with_roles")).users[0]
    group = sb.SBUserList.model_validate(spec("users_customer_groups")).users[0]
    assert (agent.role, agent.type, agent.agent) == ("agent", "user", True)
    assert (group.role, group.type, group.can_members_access_group_tickets) == ("customer", "customer_group", True)


@pytest.mark.parametrize("name", ["tickets_list", "tickets_search"])
def test_spec_tickets_map_to_conversations(name: str) -> None:
    ticket = sb.SBTicketList.model_validate(spec(name)).tickets[0]
    with capture_logs() as logs:
        item = sb.ticket_to_canonical(ticket=ticket)
    assert item.conversation.status == "open"
    assert item.conversation.display_id == 1
    assert item.message.data.content == "test\n\n-- \nRegards,\nAgent"
    assert item.message.data.message_type == "incoming"
    assert item.message.data.attachments[0].external_url == "http://company.example.com/attachments/2"
    assert item.message.data.attachments[0].data is None
    assert item.requester.external_id == "21"
    # the spec's addresses are the doc site's "[email protected]" placeholders: kept, and reported
    assert item.requester.data.email is None
    assert ("contact", "email") in lossy_events(logs)


def test_spec_ticket_with_an_assignee_names_the_user_to_resolve() -> None:
    ticket = sb.SBTicketList.model_validate(spec("tickets_search")).tickets[0]
    item = sb.ticket_to_canonical(ticket=ticket)
    assert item.assignee_external_id == "19"
    assert item.team_external_id is None


def test_spec_replies_comments_and_users_map() -> None:
    reply = sb.SBReplyList.model_validate(spec("replies_list")).replies[0]
    comment = sb.SBCommentList.model_validate(spec("comments_list")).comments[0]
    group = sb.SBUserList.model_validate(spec("users_customer_groups")).users[0]
    assert sb.reply_to_message(reply=reply).data.message_type == "outgoing"
    assert sb.comment_to_note(comment=comment).data.private is True
    company = sb.customer_group_to_company(group=group).data
    assert company.name == "Test Group"
    assert company.custom_attributes is not None
    assert company.custom_attributes["supportbee"]["set"]["can_members_access_group_tickets"] is True


# -- the story desk: SupportBee → Supportly → SupportBee is the identity -----------------------------
def import_story() -> tuple[SimulatedDesk, dict[int, int]]:
    """Import the story desk the way the loader will, returning the desk and SupportBee → conversation ids."""
    meta = load(STORY / "meta.json")
    desk = SimulatedDesk(viewer_external_id=str(meta["current_user_id"]))
    for team in sb.SBTeamList.model_validate(load(STORY / "teams.json")).teams:
        desk.add_team(sb.team_to_canonical(team=team))
    users = sb.SBUserList.model_validate(load(STORY / "users.json")).users
    for user in users:
        if user.role != "customer":
            desk.add_agent(sb.user_to_agent(user=user))
    members: dict[int, int] = {}
    for group in sb.SBUserList.model_validate(load(STORY / "customer_groups.json")).users:
        item = sb.customer_group_to_company(group=group)
        desk.add_company(item)
        company_id = desk.internal("company", item.external_id)
        assert company_id is not None
        for member in sb.SBUserList.model_validate(load(STORY / f"customer_group_{group.id}_members.json")).users:
            members[member.id] = company_id
    for user in users:
        if user.role == "customer":
            desk.add_contact(sb.customer_to_contact(customer=user, company_id=members.get(user.id)))
    for label in sb.SBLabelList.model_validate(load(STORY / "labels.json")).labels:
        desk.add_label(sb.label_to_canonical(label=label))
    for snippet in sb.SBSnippetList.model_validate(load(STORY / "snippets.json")).snippets:
        desk.add_canned_response(sb.snippet_to_canned_response(snippet=snippet))
    for address in sb.SBEmailList.model_validate(load(STORY / "emails.json")).forwarding_addresses:
        desk.add_inbox(sb.email_to_inbox(email=address))
    conversations: dict[int, int] = {}
    for ticket in sb.SBTicketList.model_validate(load(STORY / "tickets.json")).tickets:
        conversation_id = desk.add_ticket(ticket)
        conversations[ticket.id] = conversation_id
        replies = sb.SBReplyList.model_validate(load(STORY / f"ticket_{ticket.id}_replies.json")).replies
        comments = sb.SBCommentList.model_validate(load(STORY / f"ticket_{ticket.id}_comments.json")).comments
        desk.add_replies(conversation_id, replies)
        desk.add_comments(conversation_id, comments)
    return desk, conversations


@pytest.fixture(scope="module")
def story() -> tuple[SimulatedDesk, dict[int, int]]:
    return import_story()


def test_story_generator_output_is_committed(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(FIXTURES / "make_story.py"), str(tmp_path)], check=True)
    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    committed = {path.name: path.read_text(encoding="utf-8") for path in STORY.iterdir()}
    assert written == committed


def test_story_covers_what_the_issue_asks_for() -> None:
    tickets = load(STORY / "tickets.json")["tickets"]
    roles = {user["role"] for user in load(STORY / "users.json")["users"]}
    assert {"admin", "agent", "collaborator", "customer"} <= roles
    assert any(ticket["archived"] for ticket in tickets)
    assert any(ticket["spam"] for ticket in tickets)
    assert any(ticket["trash"] for ticket in tickets)
    assert any(ticket["starred"] for ticket in tickets)
    assert any(ticket["cc"] and ticket["bcc"] and ticket["labels"] for ticket in tickets)
    assert any(ticket["content"]["attachments"] for ticket in tickets)
    assert all(label["color"] for label in load(STORY / "labels.json")["labels"])
    assert load(STORY / "customer_groups.json")["users"][0]["email_domains"]


def test_story_tickets_come_back_unchanged(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, conversations = story
    wire = load(STORY / "tickets.json")["tickets"]
    assert [desk.ticket(conversations[ticket["id"]]).to_wire() for ticket in wire] == wire


def test_story_replies_and_comments_come_back_unchanged(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, conversations = story
    for ticket_id, conversation_id in conversations.items():
        replies = load(STORY / f"ticket_{ticket_id}_replies.json")["replies"]
        comments = load(STORY / f"ticket_{ticket_id}_comments.json")["comments"]
        assert [reply.to_wire() for reply in desk.replies(conversation_id)] == replies
        assert [comment.to_wire() for comment in desk.comments(conversation_id)] == comments


def test_story_users_and_groups_come_back_unchanged(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, _ = story
    legacy = desk.legacy
    for wire in load(STORY / "users.json")["users"]:
        if wire["role"] == "customer":
            contact_id = desk.internal("contact", str(wire["id"]))
            assert contact_id is not None
            back = sb.contact_to_customer(contact=desk.contacts[contact_id], legacy=legacy)
        else:
            agent_id = desk.internal("agent", str(wire["id"]))
            assert agent_id is not None
            back = sb.agent_to_user(agent=desk.agents[agent_id], legacy=legacy)
        assert back.to_wire() == wire
    for wire in load(STORY / "customer_groups.json")["users"]:
        company_id = desk.internal("company", str(wire["id"]))
        assert company_id is not None
        assert sb.company_to_customer_group(company=desk.companies[company_id], legacy=legacy).to_wire() == wire


def test_story_catalog_comes_back_unchanged(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, _ = story
    legacy = desk.legacy
    teams = [sb.team_to_legacy(team=team, legacy=legacy).to_wire() for team in desk.teams.values()]
    labels = [sb.label_to_legacy(label=label, legacy=legacy).to_wire() for label in desk.labels.values()]
    snippets = [
        sb.canned_response_to_snippet(canned_response=item, legacy=legacy).to_wire() for item in desk.canned.values()
    ]
    emails = [sb.inbox_to_email(inbox=inbox, legacy=legacy).to_wire() for inbox in desk.inboxes.values()]
    assert teams == load(STORY / "teams.json")["teams"]
    assert labels == load(STORY / "labels.json")["labels"]
    assert snippets == load(STORY / "snippets.json")["snippets"]
    assert emails == load(STORY / "emails.json")["forwarding_addresses"]


def test_story_lands_in_supportly_terms(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, conversations = story
    by_ticket = {ticket_id: desk.conversations[cid] for ticket_id, cid in conversations.items()}
    assert by_ticket[1002].status == "resolved"
    assert by_ticket[1003].spam is True
    assert by_ticket[1004].additional_attributes is not None
    assert by_ticket[1004].additional_attributes["supportbee"]["trash"] is True
    assert by_ticket[1002].labels == ["billing", "follow_up"]
    assert {agent.email: agent.role for agent in desk.agents.values()} == {
        "ada@story.example.com": "administrator",
        "bob@story.example.com": "agent",
        "cleo@story.example.com": "agent",
        "dev@story.example.com": "agent",
    }
    messages = desk.messages[conversations[1001]]
    assert [(m.message_type, m.private, m.sender_type) for m in messages] == [
        ("incoming", False, "contact"),
        ("outgoing", False, "agent"),
        ("incoming", False, "contact"),
        ("outgoing", True, "agent"),
    ]
    assert messages[0].additional_attributes is not None
    assert messages[0].additional_attributes["supportbee"]["shadow"]["html"]["wire"].startswith("<p>Hi,</p>")
    carol = next(contact for contact in desk.contacts.values() if contact.email == "carol@acme.example.com")
    assert carol.company_id is not None
    assert desk.companies[carol.company_id].domain == "acme.example.com"
    frank = next(contact for contact in desk.contacts.values() if contact.name == "Frank Field")
    assert frank.email == "frank.field@acme.example.com"


# -- behaviour a SupportBee client notices -----------------------------------------------------------
def test_star_is_per_agent(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, conversations = story
    conversation = desk.conversations[conversations[1001]]
    assert conversation.contact_id is not None
    requester = desk.contacts[conversation.contact_id]
    other_agent = next(agent_id for agent_id in desk.agents if agent_id != desk.viewer_id)

    def starred(current_user_id: int, attributes: dict[str, Any] | None) -> bool | None:
        return sb.conversation_to_ticket(
            conversation=conversation.model_copy(update={"additional_attributes": attributes}),
            requester=requester,
            messages=desk.messages[conversation.id],
            labels=[],
            assignee=None,
            team=None,
            current_user_id=current_user_id,
        ).starred

    attributes = conversation.additional_attributes
    assert starred(desk.viewer_id, attributes) is True
    assert starred(other_agent, attributes) is False
    both = sb.set_starred(attributes=attributes, agent_id=other_agent, starred=True)
    assert starred(other_agent, both) is True
    unstarred = sb.set_starred(attributes=both, agent_id=desk.viewer_id, starred=False)
    assert starred(desk.viewer_id, unstarred) is False
    assert starred(other_agent, unstarred) is True


def _message(
    message_id: int, message_type: Literal["incoming", "outgoing"], minute: int, *, private: bool = False
) -> MessageRecord:
    return MessageRecord(
        id=message_id,
        conversation_id=1,
        content=f"message {message_id}",
        message_type=message_type,
        private=private,
        created_at=dt.datetime(2024, 1, 1, 10, minute, tzinfo=dt.UTC),
        updated_at=dt.datetime(2024, 1, 1, 10, minute, tzinfo=dt.UTC),
    )


def test_unanswered_follows_the_last_public_message() -> None:
    incoming = _message(1, "incoming", 0)
    reply = _message(2, "outgoing", 5)
    note = _message(3, "outgoing", 6, private=True)
    follow_up = _message(4, "incoming", 7)
    assert sb.derive_unanswered(attributes={}, messages=[incoming]) is True
    assert sb.derive_unanswered(attributes={}, messages=[incoming, reply, note]) is False
    assert sb.derive_unanswered(attributes={}, messages=[incoming, reply, note, follow_up]) is True


def test_answered_override_holds_until_a_newer_public_message() -> None:
    incoming = _message(1, "incoming", 0)
    marked = sb.set_unanswered(
        attributes={"other": 1}, unanswered=False, now=dt.datetime(2024, 1, 1, 10, 1, tzinfo=dt.UTC)
    )
    assert marked["other"] == 1
    assert sb.derive_unanswered(attributes=marked, messages=[incoming]) is False
    assert (
        sb.derive_unanswered(attributes=marked, messages=[incoming, _message(3, "outgoing", 2, private=True)]) is False
    )
    assert sb.derive_unanswered(attributes=marked, messages=[incoming, _message(4, "incoming", 9)]) is True


def test_reply_direction_follows_who_replied() -> None:
    agent = sb.SBUser(id=1, email="agent@example.com", name="Agent One", agent=True)
    customer = sb.SBUser(id=2, email="customer@example.com", name="Cus Tomer", agent=False, role="customer")
    by_agent = sb.reply_to_message(reply=sb.SBReply(id=10, replier=agent, content=sb.SBContent(text="hi")))
    by_customer = sb.reply_to_message(reply=sb.SBReply(id=11, replier=customer, content=sb.SBContent(text="yo")))
    assert (by_agent.data.message_type, by_agent.sender_kind, by_agent.sender) == ("outgoing", "agent", None)
    assert (by_customer.data.message_type, by_customer.sender_kind) == ("incoming", "contact")
    assert by_customer.sender is not None
    assert by_customer.sender.data.email == "customer@example.com"


def test_a_ticket_not_imported_shows_its_display_id_and_supportly_ids() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    requester = ContactRecord(id=9, name="Native Contact", email="native@example.com", created_at=now, updated_at=now)
    conversation = ConversationRecord(
        id=55, display_id=12, labels=["vip"], status="open", created_at=now, updated_at=now, contact_id=9
    )
    message = MessageRecord(
        id=70,
        conversation_id=55,
        content="Hello there",
        message_type="incoming",
        private=False,
        sender_type="contact",
        sender_id=9,
        created_at=now,
        updated_at=now,
        stored_attachments=[
            AttachmentRecord(
                id=3,
                message_id=70,
                file_name="a.txt",
                content_type="text/plain",
                size=1,
                checksum="x",
                url="https://bridge.example/supportbee/acme/attachments/3",
                created_at=now,
            )
        ],
    )
    ticket = sb.conversation_to_ticket(
        conversation=conversation,
        requester=requester,
        messages=[message],
        labels=[LabelRecord(id=4, title="vip", color="#123456")],
        assignee=AgentRecord(id=6, name="Native Agent", email="agent@example.com", role="administrator"),
        team=None,
        current_user_id=6,
    ).to_wire()
    assert ticket["id"] == 12
    assert ticket["requester"]["id"] == 9
    assert ticket["requester"]["role"] == "customer"
    assert ticket["current_user_assignee"]["user"] == {
        "id": 6,
        "email": "agent@example.com",
        "first_name": "Native",
        "last_name": "Agent",
        "name": "Native Agent",
        "role": "admin",
        "agent": True,
        "picture": sb.user_picture(sb.gravatar_url("agent@example.com")).to_wire(),
    }
    assert ticket["current_team_assignee"] is None
    assert ticket["labels"] == [{"name": "vip", "color": "#123456"}]
    assert ticket["subject"] == "No Subject"
    assert ticket["summary"] == "Hello there"
    assert (ticket["unanswered"], ticket["archived"], ticket["trash"], ticket["starred"]) == (True, False, False, False)
    assert ticket["content"] == {
        "text": "Hello there",
        "html": None,
        "attachments": [
            {
                "id": 3,
                "created_at": "2024-05-01T12:00:00Z",
                "filename": "a.txt",
                "content_type": "text/plain",
                "url": {
                    "original": "https://bridge.example/supportbee/acme/attachments/3",
                    "thumb": "https://bridge.example/supportbee/acme/attachments/3?version=thumb",
                },
            }
        ],
    }
    assert list(ticket) == [
        "id",
        "subject",
        "replies_count",
        "comments_count",
        "last_activity_at",
        "created_at",
        "unanswered",
        "archived",
        "spam",
        "trash",
        "starred",
        "summary",
        "source",
        "cc",
        "bcc",
        "labels",
        "current_user_assignee",
        "current_team_assignee",
        "requester",
        "content",
    ]


def test_an_edit_in_supportly_wins_over_what_the_import_kept(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, conversations = story
    first = desk.messages[conversations[1001]][0]
    edited = first.model_copy(update={"content": "Rewritten in Supportly"})
    content = sb.message_to_reply(message=edited, sender=desk.sender(first), replies_count=0, comments_count=0)
    assert content.content is not None
    assert (content.content.text, content.content.html) == ("Rewritten in Supportly", None)
    company = next(iter(desk.companies.values()))
    moved = sb.company_to_customer_group(company=company.model_copy(update={"domain": "acme.example.org"}))
    assert moved.email_domains == ["acme.example.org"]
    assert sb.company_to_customer_group(company=company).email_domains == ["acme.example.com", "acme.example.net"]


def test_compat_writes_build_the_same_layout() -> None:
    requester = sb.SBUser(id=5, email="r@example.com", name="Req Uester", role="customer", agent=False)
    conversation = sb.new_conversation(subject=None, cc=[requester], source_email="support@example.com")
    assert conversation.additional_attributes is not None
    block = conversation.additional_attributes["supportbee"]
    assert (block["subject"], block["source"], block["cc"][0]["email"]) == (
        "No Subject",
        {"email": "support@example.com"},
        "r@example.com",
    )
    message = sb.new_message(
        part="reply",
        content=sb.SBContent(text=" Reply content ", html="<p>Reply content</p>", attachment_ids=[1]),
        sender_kind="agent",
        sender_id=3,
    )
    assert (message.content, message.message_type, message.private, message.sender_id) == (
        "Reply content",
        "outgoing",
        False,
        3,
    )
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    stored = MessageRecord(**message.changes(), id=1, conversation_id=1, created_at=now, updated_at=now)
    reply = sb.message_to_reply(
        message=stored,
        sender=AgentRecord(id=3, name="A B", email="a@example.com", role="agent"),
        replies_count=1,
        comments_count=0,
    )
    assert reply.to_wire()["content"] == {"text": " Reply content ", "html": "<p>Reply content</p>", "attachments": []}
    note = sb.new_message(part="comment", content=sb.SBContent(text="internal"), sender_kind="agent", sender_id=3)
    assert (note.message_type, note.private) == ("outgoing", True)


def test_trash_flag_is_kept_and_cleared() -> None:
    trashed = sb.set_trashed(attributes=None, trashed=True)
    assert trashed == {"supportbee": {"trash": True}}
    assert sb.set_trashed(attributes=trashed, trashed=False)["supportbee"]["trash"] is False
    assert (sb.is_trashed(attributes=trashed), sb.is_trashed(attributes=None)) == (True, False)
    assert sb.is_trashed(attributes=sb.set_trashed(attributes=trashed, trashed=False)) is False


def test_collaborator_becomes_an_agent_and_comes_back_a_collaborator() -> None:
    user = sb.SBUser(id=9, type="user", email="c@example.com", name="Col Lab", role="collaborator", agent=True)
    with capture_logs() as logs:
        item = sb.user_to_agent(user=user, shape="embedded")
    assert item.data.role == "agent"
    assert lossy_events(logs) == [("agent", "role")]
    assert item.lossy[0].field == "role"
    record = AgentRecord(**item.data.changes(), id=1)
    legacy = sb.LegacyRefs(ids={("agent", 1): 9}, kept={("agent", 1): item.kept})
    back = sb.agent_to_user(agent=record, legacy=legacy, shape="embedded")
    assert (back.id, back.role) == (9, "collaborator")
    promoted = sb.agent_to_user(agent=record.model_copy(update={"role": "administrator"}), legacy=legacy)
    assert promoted.role == "admin"


def test_a_customer_is_not_an_agent() -> None:
    with pytest.raises(sb.UnmappableRecord):
        sb.user_to_agent(user=sb.SBUser(id=1, role="customer", agent=False))


def test_spec_filter_maps_to_an_automation_and_back() -> None:
    rule = sb.SBRuleEnvelope.model_validate(spec("rule_create_request")).rule.model_copy(update={"id": "5_1"})
    consequence = sb.SBConsequenceEnvelope.model_validate(spec("consequence_create_request")).consequence
    item = sb.rule_to_automation(rule=rule, consequence=consequence, agent_id=4)
    assert item.data is not None
    assert item.data.event_name == "conversation_created"
    assert item.data.active is True
    assert item.data.conditions == [
        {"attribute_key": "email", "filter_operator": "equal_to", "values": ["[email\u00a0protected]"]}
    ]
    assert item.data.actions == [
        {"action_name": "add_label", "action_params": ["desktop_uploader"]},
        {"action_name": "assign_an_agent", "action_params": [4]},
    ]
    assert item.assign_user_external_id == "22102"
    record = AutomationRuleRecord(**item.data.changes(), id=3)
    legacy = sb.LegacyRefs(ids={("agent", 4): 22102}, kept={("automation_rule", 3): item.kept})
    parts = sb.automation_to_rule(automation=record, legacy=legacy)
    assert parts.rule.to_wire() == rule.to_wire()
    assert parts.consequence.to_wire() == consequence.to_wire()
    edited = record.model_copy(update={"actions": [{"action_name": "assign_an_agent", "action_params": [4]}]})
    changed = sb.automation_to_rule(automation=edited, legacy=legacy)
    assert changed.consequence.to_wire() == {"id": "3", "assign_user": "22102"}
    assert changed.rule.requester_email == "[email\u00a0protected]"


def test_spec_forwarding_address_maps_to_an_email_inbox() -> None:
    created = sb.SBEmailEnvelope.model_validate(spec("email_create")).forwarding_address
    item = sb.email_to_inbox(email=created)
    assert (item.data.channel_type, item.data.name) == ("email", "Company Inc")
    record_fields = item.data.changes()
    inbox = sb.inbox_to_email(
        inbox=InboxRecord(**record_fields, id=40),
        legacy=sb.LegacyRefs(ids={("inbox", 40): 1}),
        shape="full",
    )
    assert inbox.to_wire() == created.to_wire()


def test_spec_snippet_maps_to_a_canned_response_and_back() -> None:
    snippet = sb.SBSnippetList.model_validate(spec("snippets_list")).snippets[0]
    item = sb.snippet_to_canned_response(snippet=snippet)
    assert (item.data.short_code, item.data.content) == ("Facebook Link", "Facebook")
    record = CannedResponseRecord(**item.data.changes(), id=2)
    legacy = sb.LegacyRefs(ids={("canned_response", 2): 4}, kept={("canned_response", 2): item.kept})
    assert sb.canned_response_to_snippet(canned_response=record, legacy=legacy).to_wire() == snippet.to_wire()


def test_spec_upload_answer_maps_to_an_attachment_and_back() -> None:
    uploaded = sb.SBAttachmentEnvelope.model_validate(spec("attachment_create")).attachment
    item = sb.attachment_to_canonical(attachment=uploaded)
    assert (item.data.file_name, item.data.content_type, item.data.external_url) == ("wow.jpeg", "image/jpeg", None)
    download = "https://bridge.example/supportbee/acme/attachments/8"
    record = AttachmentRecord(
        id=8,
        message_id=1,
        file_name=item.data.file_name,
        content_type=item.data.content_type,
        size=0,
        checksum="",
        url=download,
        created_at=item.data.created_at or STORE_NOW,
    )
    legacy = sb.LegacyRefs(ids={("attachment", 8): 1364}, kept={("attachment", 8): item.kept})
    assert sb.attachment_to_legacy(attachment=record, legacy=legacy).to_wire() == {
        **uploaded.to_wire(),
        "url": {"original": download, "thumb": f"{download}?version=thumb"},
    }


# -- every lossy step is reported with the constant event --------------------------------------------
def test_lossy_starred_without_a_viewer() -> None:
    ticket = sb.SBTicket.model_validate({**spec("tickets_list")["tickets"][0], "starred": True})
    with capture_logs() as logs:
        item = sb.ticket_to_canonical(ticket=ticket)
    assert ("conversation", "starred") in lossy_events(logs)
    assert any(entry.field == "starred" for entry in item.lossy)
    assert item.conversation.additional_attributes is not None
    assert item.conversation.additional_attributes["supportbee"]["starred_by"] == []


def test_lossy_label_colour() -> None:
    with capture_logs() as logs:
        item = sb.label_to_canonical(label=sb.SBLabel(name="Needs Review", color="orange"))
    assert item.data.title == "needs_review"
    assert item.data.color is None
    assert lossy_events(logs) == [("label", "color")]
    assert logs[0]["external_id"] == "Needs Review"


def test_lossy_email_address() -> None:
    with capture_logs() as logs:
        item = sb.customer_to_contact(customer=sb.SBUser(id=4, email="not an address", name="X"))
    assert item.data.email is None
    assert lossy_events(logs) == [("contact", "email")]
    back = sb.contact_to_customer(
        contact=ContactRecord(**item.data.changes(), id=1, created_at=STORE_NOW, updated_at=STORE_NOW),
        legacy=sb.LegacyRefs(ids={("contact", 1): 4}),
        shape="embedded",
    )
    assert back.email == "not an address"


def test_lossy_filter_parts() -> None:
    rule = sb.SBRule(id="1_1", subject="invoice", delivered_to="billing@example.com")
    with capture_logs() as logs:
        item = sb.rule_to_automation(rule=rule, consequence=sb.SBConsequence(id="1_2", archive=True, assign_team=5))
    assert item.data is not None
    assert item.data.active is False
    assert lossy_events(logs) == [
        ("automation_rule", "rule.delivered_to"),
        ("automation_rule", "consequence.assign_team"),
    ]
    with capture_logs() as logs:
        spam_only = sb.rule_to_automation(rule=rule, consequence=sb.SBConsequence(id="1_3", spam=True))
    assert spam_only.data is None
    assert ("automation_rule", "consequence.spam") in lossy_events(logs)
    assert ("automation_rule", "consequence") in lossy_events(logs)
    assert spam_only.kept["consequence"] == {"id": "1_3", "spam": True}


def test_lossy_records_carry_the_same_report(story: tuple[SimulatedDesk, dict[int, int]]) -> None:
    desk, _ = story
    assert [(entry.kind, entry.field, entry.external_id) for entry in desk.lossy] == [("agent", "role", "103")]


def test_company_record_shape_is_what_the_store_gives() -> None:
    item = sb.customer_group_to_company(group=sb.SBUser(id=2, type="customer_group", name="G", email_domains=["g.io"]))
    record = CompanyRecord(**item.data.changes(), id=5, created_at=STORE_NOW, updated_at=STORE_NOW)
    group = sb.company_to_customer_group(company=record, members_count=3)
    assert (group.id, group.type, group.email_domains, group.members_count) == (5, "customer_group", ["g.io"], 3)


def test_a_reply_stays_a_reply_on_a_ticket_without_content() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    reply = sb.new_message(part="reply", content=sb.SBContent(text="First answer"), sender_kind="agent", sender_id=3)
    plain = MessageRecord(
        id=2, conversation_id=1, content="Plain", message_type="incoming", created_at=now, updated_at=now
    )
    stored = MessageRecord(**reply.changes(), id=1, conversation_id=1, created_at=now, updated_at=now)
    assert sb.ticket_parts(messages=[stored]) == sb.TicketParts(initial=None, replies=[stored], comments=[])
    parts = sb.ticket_parts(messages=[stored, plain])
    assert (parts.initial, parts.replies) == (plain, [stored])


def test_assignment_answers_have_the_spec_shape_and_the_ids_clients_know() -> None:
    now = dt.datetime(2012, 1, 19, 16, 53, 40, tzinfo=dt.UTC)
    conversation = ConversationRecord(id=55, display_id=12, contact_id=9, created_at=now, updated_at=now)
    agent = AgentRecord(id=3, name="Agent Two", email="agent2@example.com", role="agent")
    team = TeamRecord(id=4, name="Team 1", member_ids=[3], created_at=now, updated_at=now)
    legacy = sb.LegacyRefs(ids={("conversation", 55): 1, ("agent", 3): 30})
    user = sb.user_assignment_to_legacy(
        assignment_id=2, created_at=now, conversation=conversation, agent=agent, legacy=legacy
    )
    wire = sb.SBUserAssignmentEnvelope(user_assignment=user).to_wire()
    assert _key_paths(wire) >= _key_paths(load(FIXTURES / "user_assignment_create.json"))
    assert (wire["user_assignment"]["created_at"], wire["user_assignment"]["ticket"]) == (
        "2012-01-19T16:53:40Z",
        {"id": 1},
    )
    assert wire["user_assignment"]["assignee"]["user"]["id"] == 30
    by_team = sb.team_assignment_to_legacy(assignment_id=7, created_at=now, conversation=conversation, team=team)
    team_wire = sb.SBTeamAssignmentEnvelope(team_assignment=by_team).to_wire()
    assert _key_paths(team_wire) == _key_paths(load(FIXTURES / "team_assignment_create.json"))
    assert (team_wire["team_assignment"]["ticket"], team_wire["team_assignment"]["assignee"]["team"]["name"]) == (
        {"id": 12},
        "Team 1",
    )
    label = LabelRecord(id=2, title="imp", created_at=now, updated_at=now)
    added = sb.label_assignment_to_legacy(label=label, conversation=conversation, legacy=legacy)
    assert sb.SBLabelAssignmentEnvelope(label=added).to_wire() == load(FIXTURES / "label_add.json")
    renamed = sb.LegacyRefs(label_names={2: "Important"})
    assert sb.label_assignment_to_legacy(label=label, conversation=conversation, legacy=renamed).label == "Important"


def _key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value (list items share their parent's path)."""
    if isinstance(value, Mapping):
        paths = set()
        for key, item in value.items():
            paths |= {f"{prefix}{key}"} | _key_paths(item, f"{prefix}{key}.")
        return paths
    if isinstance(value, list):
        return set().union(*(_key_paths(item, prefix) for item in value)) if value else set()
    return set()


def test_user_ids_share_one_space_through_offsets() -> None:
    now = STORE_NOW
    compat = sb.LegacyRefs(ids={("contact", 8): 4}, offsets=sb.USER_ID_OFFSETS)
    contact = ContactRecord(id=7, name="Casey", email="casey@example.com", created_at=now, updated_at=now)
    company = CompanyRecord(id=7, name="Acme", created_at=now, updated_at=now)
    agent = AgentRecord(id=7, name="Agent Seven", email="seven@example.com", role="agent")
    shown = {
        sb.agent_to_user(agent=agent, legacy=compat).id,
        sb.contact_to_customer(contact=contact, legacy=compat).id,
        sb.company_to_customer_group(company=company, legacy=compat).id,
    }
    assert shown == {7, sb.CUSTOMER_ID_OFFSET + 7, sb.CUSTOMER_GROUP_ID_OFFSET + 7}
    assert [sb.user_id_owner(user_id) for user_id in sorted(shown)] == [("agent", 7), ("contact", 7), ("company", 7)]
    assert compat.legacy_id("contact", 8) == 4  # a recorded SupportBee id wins over the offset
    assert sb.NO_LEGACY.legacy_id("contact", 7) == 7


def test_a_snippet_without_created_at_sets_no_null_time() -> None:
    item = sb.snippet_to_canned_response(snippet=sb.SBSnippet(id=1, name="Hello", content=sb.SBContent(text="Hi")))
    assert item.data.changes() == {"short_code": "Hello", "content": "Hi"}
