"""Helpers for the SupportBee tickets tests: the spec's example shapes, and tickets, replies, labels and teams
set up through the compat routes or the store."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from bridge.models import Conversation
from bridge.schemas import AttachmentData, ConversationData, InboxData, LabelData, TeamData
from mappings import supportbee as sb
from tests.providers.supportbee.conftest import SBDesk

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "supportbee"

# Every key the issue lists for a ticket object (the examples show subsets of it).
TICKET_KEYS = {
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
    "requester",
    "content",
    "current_user_assignee",
    "current_team_assignee",
}
ENVELOPE_KEYS = {"total", "current_page", "per_page", "total_pages", "tickets"}


def example(name: str) -> Any:
    """One of the spec's example bodies (``fixtures/supportbee/<name>.json``)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def missing_keys(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Key paths of ``expected`` (a spec example) that ``actual`` lacks; a null or empty value in ``actual``
    stands for its whole subtree (an unassigned ticket has no assignee object to look into)."""
    if isinstance(expected, dict):
        if actual is None:
            return []
        if not isinstance(actual, dict):
            return [path or "."]
        gaps: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                gaps.append(f"{path}{key}")
            else:
                gaps += missing_keys(actual[key], value, f"{path}{key}.")
        return gaps
    if isinstance(expected, list) and expected and isinstance(actual, list) and actual:
        return missing_keys(actual[0], expected[0], path)
    return []


def assert_ticket_shape(ticket: dict[str, Any], example_ticket: dict[str, Any]) -> None:
    """Every key of the issue's list, and every key path of the spec's example, with integer ids."""
    assert set(ticket) >= TICKET_KEYS, TICKET_KEYS - set(ticket)
    assert missing_keys(ticket, example_ticket) == []
    assert isinstance(ticket["id"], int)
    assert isinstance(ticket["requester"]["id"], int)
    assert ticket["created_at"].endswith("Z")
    assert len(ticket["created_at"]) == len("2012-01-18T15:17:32Z")


async def create(desk: SBDesk, *, token: str | None = "admin", expect: int = 201, **fields: Any) -> dict[str, Any]:
    """Create a ticket through ``POST /tickets`` and return the ticket the answer carries."""
    body = {
        "subject": fields.pop("subject", "Printer on fire"),
        "requester_email": fields.pop("requester_email", f"{uuid.uuid4().hex[:8]}@customer.example"),
        "content": fields.pop("content", {"text": "It is on fire."}),
        **fields,
    }
    status, data = await desk.call("POST", "/tickets", json={"ticket": body}, token=token)
    assert status == expect, (status, data)
    return dict(data["ticket"]) if status == 201 else data


async def ticket(desk: SBDesk, ticket_id: int, *, token: str = "admin") -> dict[str, Any]:
    _, data = await desk.call("GET", f"/tickets/{ticket_id}", token=token, expect=200)
    return dict(data["ticket"])


async def listed(desk: SBDesk, *, token: str = "admin", **params: Any) -> list[int]:
    """The ids ``GET /tickets`` answers for these parameters (one page of up to 99)."""
    params.setdefault("per_page", "99")
    _, data = await desk.call("GET", "/tickets", params={k: str(v) for k, v in params.items()}, token=token, expect=200)
    assert set(data) == ENVELOPE_KEYS
    return [item["id"] for item in data["tickets"]]


async def conversation(desk: SBDesk, ticket_id: int) -> Conversation:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        return await w.conversation(ticket_id)


async def add_message(desk: SBDesk, ticket_id: int, *, by: str, text: str = "More", private: bool = False) -> None:
    """Add a reply by an agent (the admin) or by the customer, or a comment, through the store."""
    tenant = desk.tenant
    async with tenant.store.writer(tenant.account_id, actor_user_id=tenant.user_id) as w:
        row = await w.conversation(ticket_id)
        data = sb.new_message(
            part="comment" if private else "reply",
            content=sb.SBContent(text=text),
            sender_kind="agent" if by == "agent" else "contact",
            sender_id=tenant.user_id if by == "agent" else row.contact_id,
        )
        await w.create_message(row, data)


async def update(desk: SBDesk, ticket_id: int, **fields: Any) -> None:
    tenant = desk.tenant
    async with tenant.store.writer(tenant.account_id) as w:
        row = await w.conversation(ticket_id)
        await w.update_conversation(row, ConversationData(**fields))


async def upload(desk: SBDesk, file_name: str, data: bytes, content_type: str) -> int:
    """A pending upload (what ``POST /attachments`` makes), by its id."""
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.add_attachment(None, AttachmentData(file_name=file_name, content_type=content_type, data=data))
    return row.id


async def label(desk: SBDesk, title: str, color: str = "#ff0000") -> int:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.create_label(LabelData(title=title, color=color))
    return row.id


async def team(desk: SBDesk, name: str, member_ids: list[int]) -> int:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.create_team(TeamData(name=name))
        await w.set_team_members(row.id, member_ids, mode="add")
    return row.id


async def email_inbox(desk: SBDesk, name: str, email: str) -> int:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.create_inbox(InboxData(name=name, channel_type="email", email=email))
    return row.id
