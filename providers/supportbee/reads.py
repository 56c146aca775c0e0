"""Load Supportly rows as canonical records and render them as SupportBee sees them (through the mapping).

Every query here is scoped by the desk's account. Ids: a legacy id an import recorded wins; otherwise the
Supportly id (a ticket's is its display id; a customer's and a customer group's are offset into SupportBee's
one user id space, see ``mappings.supportbee.USER_ID_OFFSETS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.errors import BadRequest, NotFound
from bridge.models import (
    AccountUser,
    Attachment,
    Contact,
    Conversation,
    ConversationLabel,
    ExternalRef,
    Inbox,
    Label,
    Message,
    Team,
    TeamMember,
    User,
)
from bridge.schemas import (
    AgentRecord,
    AttachmentRecord,
    ContactRecord,
    ConversationRecord,
    InboxRecord,
    LabelRecord,
    MessageRecord,
    TeamRecord,
)
from bridge.store import Writer
from mappings import supportbee as sb
from providers.supportbee.auth import Desk
from providers.supportbee.wire import MAX_ID

PROVIDER = "supportbee"


# -- URLs ------------------------------------------------------------------------------------------
def surface_base(request: web.Request, desk: Desk) -> str:
    """The base URL this client reached the desk at (path prefix or Host name)."""
    base = f"{request.scheme}://{request.host}"
    if request.match_info.get("company"):
        return f"{base}/supportbee/{request.match_info['company']}"
    return base


def attachment_url(request: web.Request, desk: Desk, legacy_id: int) -> str:
    return f"{surface_base(request, desk)}/attachments/{legacy_id}"


# -- records ---------------------------------------------------------------------------------------
def contact_record(row: Contact) -> ContactRecord:
    return ContactRecord(
        id=row.id,
        name=row.name,
        email=row.email,
        phone_number=row.phone_number,
        avatar_url=row.avatar_url,
        identifier=row.identifier,
        blocked=row.blocked,
        custom_attributes=row.custom_attributes,
        additional_attributes=row.additional_attributes,
        company_id=row.company_id,
        last_activity_at=row.last_activity_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def agent_record(user: User, membership: AccountUser) -> AgentRecord:
    return AgentRecord.model_construct(
        id=user.id,
        name=user.name,
        display_name=user.display_name,
        email=user.email,
        role=membership.role,  # type: ignore[arg-type]
        availability=membership.availability,  # type: ignore[arg-type]
        auto_offline=membership.auto_offline,
        avatar_url=user.avatar_url,
        active=membership.active,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def team_record(row: Team, member_ids: Iterable[int] = ()) -> TeamRecord:
    return TeamRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        allow_auto_assign=row.allow_auto_assign,
        member_ids=sorted(member_ids),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def label_record(row: Label) -> LabelRecord:
    return LabelRecord.model_construct(
        id=row.id,
        title=row.title,
        description=row.description,
        color=row.color,
        show_on_sidebar=row.show_on_sidebar,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def inbox_record(row: Inbox) -> InboxRecord:
    return InboxRecord.model_construct(
        id=row.id,
        name=row.name,
        channel_type=row.channel_type,  # type: ignore[arg-type]
        email=row.email,
        website_url=row.website_url,
        channel_config=row.channel_config,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def attachment_record(row: Attachment, url: str) -> AttachmentRecord:
    return AttachmentRecord(
        id=row.id,
        message_id=row.message_id or 0,
        file_name=row.file_name,
        content_type=row.content_type,
        size=row.size,
        checksum=row.checksum,
        url=url,
        created_at=row.created_at,
    )


def message_record(row: Message, attachments: Sequence[AttachmentRecord] = ()) -> MessageRecord:
    return MessageRecord.model_construct(
        id=row.id,
        conversation_id=row.conversation_id,
        content=row.content,
        message_type=row.message_type,  # type: ignore[arg-type]
        private=row.private,
        content_type=row.content_type,
        content_attributes=row.content_attributes,
        additional_attributes=row.additional_attributes,
        sender_type=row.sender_type,  # type: ignore[arg-type]
        sender_id=row.sender_id,
        source_id=row.source_id,
        status=row.status,  # type: ignore[arg-type]
        attachments=[],
        stored_attachments=list(attachments),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def conversation_record(row: Conversation, labels: Sequence[str] = ()) -> ConversationRecord:
    return ConversationRecord.model_construct(
        id=row.id,
        display_id=row.display_id,
        inbox_id=row.inbox_id,
        contact_id=row.contact_id,
        assignee_id=row.assignee_id,
        team_id=row.team_id,
        status=row.status,  # type: ignore[arg-type]
        priority=row.priority,  # type: ignore[arg-type]
        snoozed_until=row.snoozed_until,
        muted=row.muted,
        spam=row.spam,
        labels=list(labels),
        custom_attributes=row.custom_attributes,
        additional_attributes=row.additional_attributes,
        last_activity_at=row.last_activity_at,
        first_reply_created_at=row.first_reply_created_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# -- identity across systems -----------------------------------------------------------------------
COMMENT_PREFIX = "comment:"


async def legacy_refs(session: AsyncSession, account_id: int, wanted: dict[str, set[int]]) -> sb.LegacyRefs:
    """Load the legacy ids, label names and kept fields an import recorded for these Supportly objects."""
    ids: dict[tuple[Any, int], int] = {}
    label_names: dict[int, str] = {}
    kept: dict[tuple[Any, int], dict[str, Any]] = {}
    for kind, internal_ids in wanted.items():
        if not internal_ids:
            continue
        rows = await session.execute(
            select(ExternalRef.internal_id, ExternalRef.external_id, ExternalRef.kept).where(
                ExternalRef.account_id == account_id,
                ExternalRef.provider == PROVIDER,
                ExternalRef.kind == kind,
                ExternalRef.internal_id.in_(internal_ids),
            )
        )
        for internal_id, external_id, kept_fields in rows:
            if kind == "label":
                label_names[int(internal_id)] = external_id
            elif (shown := external_id.removeprefix(COMMENT_PREFIX)).isdigit():
                # A comment's reference is ``comment:<id>`` (SupportBee numbers replies and comments apart).
                ids[(kind, int(internal_id))] = int(shown)
            if kept_fields:
                kept[(kind, int(internal_id))] = kept_fields
    return sb.LegacyRefs(ids=ids, label_names=label_names, kept=kept, offsets=sb.USER_ID_OFFSETS)


async def internal_id(session: AsyncSession, account_id: int, kind: str, legacy_id: int | str) -> int | None:
    """Map an id an old client sent to the Supportly id, when an import recorded one."""
    return (
        await session.execute(
            select(ExternalRef.internal_id).where(
                ExternalRef.account_id == account_id,
                ExternalRef.provider == PROVIDER,
                ExternalRef.kind == kind,
                ExternalRef.external_id == str(legacy_id),
            )
        )
    ).scalar_one_or_none()


async def find_ticket(session: AsyncSession, desk: Desk, ticket_id: str) -> Conversation:
    """Find the conversation a client's ticket id names: an imported legacy id first, then a display id."""
    if not (ticket_id.isascii() and ticket_id.isdigit()) or len(ticket_id) > 10 or int(ticket_id) > 2**31 - 1:
        raise NotFound("Ticket not found")
    mapped = await internal_id(session, desk.account_id, "conversation", ticket_id)
    condition = Conversation.id == mapped if mapped is not None else Conversation.display_id == int(ticket_id)
    row = (
        await session.execute(select(Conversation).where(Conversation.account_id == desk.account_id, condition))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Ticket not found")
    return row


# -- tickets ---------------------------------------------------------------------------------------
async def agents_by_id(session: AsyncSession, account_id: int, user_ids: set[int]) -> dict[int, AgentRecord]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User, AccountUser)
        .join(AccountUser, AccountUser.user_id == User.id)
        .where(AccountUser.account_id == account_id, User.id.in_(user_ids))
    )
    return {user.id: agent_record(user, membership) for user, membership in rows}


async def messages_of(
    session: AsyncSession, request: web.Request, desk: Desk, conversation_ids: Sequence[int]
) -> dict[int, list[MessageRecord]]:
    """All messages of these conversations (oldest first), with their attachments."""
    if not conversation_ids:
        return {}
    messages = (
        (
            await session.execute(
                select(Message)
                .where(Message.account_id == desk.account_id, Message.conversation_id.in_(conversation_ids))
                .order_by(Message.created_at, Message.id)
            )
        )
        .scalars()
        .all()
    )
    files: dict[int, list[Attachment]] = defaultdict(list)
    if messages:
        for item in (
            await session.execute(
                select(Attachment).where(Attachment.message_id.in_([m.id for m in messages])).order_by(Attachment.id)
            )
        ).scalars():
            files[item.message_id or 0].append(item)
    refs = await legacy_refs(
        session, desk.account_id, {"attachment": {a.id for items in files.values() for a in items}}
    )
    result: dict[int, list[MessageRecord]] = defaultdict(list)
    for message in messages:
        attachments = [
            attachment_record(a, attachment_url(request, desk, refs.legacy_id("attachment", a.id)))
            for a in files.get(message.id, [])
        ]
        result[message.conversation_id].append(message_record(message, attachments))
    return result


async def render_tickets(
    session: AsyncSession, request: web.Request, desk: Desk, rows: Sequence[Conversation]
) -> list[dict[str, Any]]:
    """Render conversations as SupportBee tickets (every key of the spec's example)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    labels: dict[int, list[str]] = defaultdict(list)
    for conversation_id, title in await session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.title)
        .where(ConversationLabel.conversation_id.in_(ids))
        .order_by(ConversationLabel.title)
    ):
        labels[conversation_id].append(title)
    titles = {title for items in labels.values() for title in items}
    label_rows = (
        (await session.execute(select(Label).where(Label.account_id == desk.account_id, Label.title.in_(titles))))
        .scalars()
        .all()
        if titles
        else []
    )
    contacts = {
        row.id: row
        for row in (
            await session.execute(
                select(Contact).where(
                    Contact.account_id == desk.account_id, Contact.id.in_({r.contact_id for r in rows})
                )
            )
        ).scalars()
    }
    agents = await agents_by_id(session, desk.account_id, {r.assignee_id for r in rows if r.assignee_id})
    team_ids = {r.team_id for r in rows if r.team_id}
    teams = {
        row.id: team_record(row)
        for row in (
            (await session.execute(select(Team).where(Team.account_id == desk.account_id, Team.id.in_(team_ids))))
            .scalars()
            .all()
            if team_ids
            else []
        )
    }
    inboxes = {
        row.id: inbox_record(row)
        for row in (
            await session.execute(
                select(Inbox).where(Inbox.account_id == desk.account_id, Inbox.id.in_({r.inbox_id for r in rows}))
            )
        ).scalars()
    }
    messages = await messages_of(session, request, desk, ids)
    senders = {m.sender_id for items in messages.values() for m in items if m.sender_type == "agent" and m.sender_id}
    refs = await legacy_refs(
        session,
        desk.account_id,
        {
            "conversation": set(ids),
            "contact": set(contacts),
            "agent": set(agents) | {s for s in senders if s},
            "team": set(teams),
            "label": {row.id for row in label_rows},
            "attachment": {a.id for items in messages.values() for m in items for a in m.stored_attachments},
        },
    )
    label_records = [label_record(row) for row in label_rows]
    viewer = desk.user_id or 0
    return [
        sb.conversation_to_ticket(
            conversation=conversation_record(row, labels.get(row.id, ())),
            requester=contact_record(contacts[row.contact_id]),
            messages=messages.get(row.id, []),
            labels=label_records,
            assignee=agents.get(row.assignee_id) if row.assignee_id else None,
            team=teams.get(row.team_id) if row.team_id else None,
            current_user_id=viewer,
            legacy=refs,
            inbox=inboxes.get(row.inbox_id),
        ).to_wire()
        for row in rows
    ]


async def team_member_ids(session: AsyncSession, team_ids: set[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    if team_ids:
        for team_id, user_id in await session.execute(
            select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))
        ):
            members[team_id].append(user_id)
    return members


# -- ids and people a client sends -----------------------------------------------------------------
async def shown_to_internal(session: AsyncSession, desk: Desk, kind: str, shown: str | int) -> int | None:
    """The Supportly id of an id a client was shown (a legacy id an import kept, else ours), if it can be one."""
    mapped = await internal_id(session, desk.account_id, kind, shown)
    if mapped is not None:
        return mapped
    text = str(shown)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


async def addressees(writer: Writer, desk: Desk, pairs: Sequence[tuple[str, str]]) -> list[sb.SBUser]:
    """Resolve cc/bcc ``(name, email)`` pairs to contacts (created when new) as SupportBee shows them."""
    rows = [await writer.find_or_create_contact(email=email, name=name or None) for name, email in pairs]
    if not rows:
        return []
    legacy = await legacy_refs(writer.session, desk.account_id, {"contact": {row.id for row in rows}})
    return [sb.contact_to_customer(contact=contact_record(row), legacy=legacy, shape="embedded") for row in rows]


async def pending_uploads(writer: Writer, desk: Desk, shown_ids: Sequence[int]) -> list[int]:
    """Map the attachment ids a client was shown to Supportly ids; one that cannot exist is refused."""
    ids = []
    for shown in shown_ids:
        mapped = await shown_to_internal(writer.session, desk, "attachment", shown)
        if mapped is None:
            raise BadRequest(f"unknown or already used attachment ids [{shown}]", field="attachment_ids")
        ids.append(mapped)
    return ids
