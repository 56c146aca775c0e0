"""Native API: conversations, their assignment, labels, spam flag, and messages (spec "Conversations", "Messages")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import render
from bridge.api.common import MAX_ID, Page, base_url, native_router, path_id, principal, store
from bridge.errors import BadRequest, NotFound, Unprocessable
from bridge.models import (
    Attachment,
    Contact,
    Conversation,
    ConversationLabel,
    Inbox,
    Message,
    Team,
    User,
)
from bridge.routing import json_response, parse_body, parse_query, validate
from bridge.schemas import AttachmentData, ConversationData, ConversationStatus, MessageData, Priority

router = native_router("Conversations")
PER_PAGE = 25


def _from_unix(value: Any) -> dt.datetime | None:
    """Accept a Unix timestamp (the spec's form) or an ISO 8601 time."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise ValueError("must be a Unix timestamp or an ISO 8601 time") from err
    raise ValueError("must be a Unix timestamp or an ISO 8601 time")


class ConversationQuery(Page):
    status: Literal["open", "resolved", "pending", "snoozed", "all"] = "open"
    assignee_type: Literal["me", "unassigned", "assigned", "all"] = "all"
    inbox_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    labels: list[str] | None = None


class InitialMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str = Field(min_length=1)


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    inbox_id: int
    contact_id: int
    message: InitialMessage | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    status: Literal["open", "pending"] | None = None
    priority: Priority | None = None
    labels: list[str] | None = None
    custom_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: ConversationStatus | None = None
    priority: Priority | None = None
    snoozed_until: dt.datetime | None = None
    custom_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    muted: bool | None = None

    @field_validator("snoozed_until", mode="before")
    @classmethod
    def _unix(cls, value: Any) -> dt.datetime | None:
        return _from_unix(value)

    def canonical(self) -> ConversationData:
        data = ConversationData.model_validate(self.model_dump(exclude_unset=True))
        if self.status == "snoozed" and self.snoozed_until is None and "snoozed_until" in self.model_fields_set:
            raise Unprocessable("is required when status is snoozed", field="snoozed_until", code="blank")
        if self.snoozed_until is not None and self.status not in (None, "snoozed"):
            raise Unprocessable("only applies to status snoozed", field="snoozed_until", code="invalid")
        if self.snoozed_until is not None and self.status is None:
            data.status = "snoozed"
        return data


class StatusToggle(BaseModel):
    status: ConversationStatus
    snoozed_until: dt.datetime | None = None

    @field_validator("snoozed_until", mode="before")
    @classmethod
    def _unix(cls, value: Any) -> dt.datetime | None:
        return _from_unix(value)


class PriorityToggle(BaseModel):
    priority: Priority


class Assignment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    assignee_id: int | None = None
    team_id: int | None = None


class LabelsIn(BaseModel):
    labels: list[str]


class CustomAttributesIn(BaseModel):
    custom_attributes: dict[str, Any]


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    content: str | None = None
    message_type: Literal["outgoing", "incoming", "activity", "template"] = "outgoing"
    private: bool = False
    content_type: Literal["text", "input_select", "cards", "form", "input_email", "article"] = "text"
    content_attributes: dict[str, Any] | None = None
    source_id: str | None = None


class MessageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    before: int | None = None
    after: int | None = None


# -- reads ---------------------------------------------------------------------------------------
def _joined() -> Select[Conversation, Contact, str, User, Team]:
    """Conversations with their contact, channel, assignee and team in one query."""
    return (
        select(Conversation, Contact, Inbox.channel_type, User, Team)
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .outerjoin(User, User.id == Conversation.assignee_id)
        .outerjoin(Team, Team.id == Conversation.team_id)
    )


async def _render(session: AsyncSession, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Render joined rows (see :func:`_joined`), adding each conversation's labels (one more query)."""
    if not rows:
        return []
    labels: dict[int, list[str]] = {}
    for conversation_id, title in await session.execute(
        select(ConversationLabel.conversation_id, ConversationLabel.title)
        .where(ConversationLabel.conversation_id.in_([row[0].id for row in rows]))
        .order_by(ConversationLabel.title)
    ):
        labels.setdefault(conversation_id, []).append(title)
    return [
        render.conversation(
            conversation,
            labels=labels.get(conversation.id, ()),
            contact_row=contact,
            assignee=assignee,
            team_row=team,
            channel=channel,
        )
        for conversation, contact, channel, assignee, team in rows
    ]


async def conversation_payloads(
    session: AsyncSession, account_id: int, rows: Sequence[Conversation]
) -> list[dict[str, Any]]:
    """Render conversations (in the given order) with their labels, contact, assignee, team and channel."""
    if not rows:
        return []
    joined = (
        await session.execute(
            _joined().where(Conversation.account_id == account_id, Conversation.id.in_([row.id for row in rows]))
        )
    ).all()
    position = {row.id: index for index, row in enumerate(rows)}
    return await _render(session, sorted(joined, key=lambda row: position[row[0].id]))


async def _load(session: AsyncSession, account_id: int, display_id: int) -> Conversation:
    row = (
        await session.execute(
            select(Conversation).where(Conversation.account_id == account_id, Conversation.display_id == display_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Conversation not found", field="id")
    return row


async def _payload(request: web.Request, display_id: int) -> dict[str, Any]:
    account_id = principal(request).account_id
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                _joined().where(Conversation.account_id == account_id, Conversation.display_id == display_id)
            )
        ).all()
        if not rows:
            raise NotFound("Conversation not found", field="id")
        return (await _render(session, rows))[0]


@router.get("/conversations", summary="List conversations with filters and counts", query=ConversationQuery)
async def list_conversations(request: web.Request) -> web.Response:
    query = parse_query(request, ConversationQuery)
    me = principal(request)
    conditions: list[Any] = [Conversation.account_id == me.account_id]
    if query.status != "all":
        conditions.append(Conversation.status == query.status)
    if query.inbox_id is not None:
        conditions.append(Conversation.inbox_id == query.inbox_id)
    if query.team_id is not None:
        conditions.append(Conversation.team_id == query.team_id)
    for title in query.labels or []:
        conditions.append(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id, ConversationLabel.title == title.lower()
            )
        )
    mine = Conversation.assignee_id == me.user_id if me.user_id is not None else Conversation.id.is_(None)
    by_assignee = {
        "me": mine,
        "unassigned": Conversation.assignee_id.is_(None),
        "assigned": Conversation.assignee_id.is_not(None),
        "all": None,
    }
    counts_query = select(
        func.count(),
        func.coalesce(func.sum(case((mine, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Conversation.assignee_id.is_(None), 1), else_=0)), 0),
    ).where(and_(*conditions))
    assignee_filter = by_assignee[query.assignee_type]
    page_conditions = conditions if assignee_filter is None else [*conditions, assignee_filter]
    async with store(request).reader() as session:
        total, mine_count, unassigned = (await session.execute(counts_query)).one()
        rows = (
            (
                await session.execute(
                    select(Conversation)
                    .where(and_(*page_conditions))
                    .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                    .limit(PER_PAGE)
                    .offset((query.page - 1) * PER_PAGE)
                )
            )
            .scalars()
            .all()
        )
        payload = await conversation_payloads(session, me.account_id, rows)
    meta = {
        "mine_count": int(mine_count),
        "unassigned_count": int(unassigned),
        "assigned_count": int(total) - int(unassigned),
        "all_count": int(total),
        "current_page": query.page,
        "per_page": PER_PAGE,
    }
    return json_response({"data": {"meta": meta, "payload": payload}})


@router.post("/conversations", summary="Create a conversation", body=ConversationCreate)
async def create_conversation(request: web.Request) -> web.Response:
    body = await parse_body(request, ConversationCreate)
    me = principal(request)
    data = ConversationData.model_validate(body.model_dump(exclude_unset=True, exclude={"message"}))
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.create_conversation(data)
        if body.message is not None:
            await w.create_message(row, MessageData(content=body.message.content, message_type="outgoing"))
    return json_response(await _payload(request, row.display_id))


@router.get("/conversations/{id}", summary="Get a conversation by display id")
async def get_conversation(request: web.Request) -> web.Response:
    return json_response(await _payload(request, path_id(request, what="Conversation")))


@router.patch("/conversations/{id}", summary="Update status, priority, snooze or attributes", body=ConversationUpdate)
async def update_conversation(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, ConversationUpdate)
    data = body.canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.update_conversation(await w.conversation(display_id), data)
    return json_response(await _payload(request, display_id))


@router.post("/conversations/{id}/toggle_status", summary="Change a conversation's status", body=StatusToggle)
async def toggle_status(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, StatusToggle)
    data = ConversationData(status=body.status)
    if body.status == "snoozed":
        data.snoozed_until = body.snoozed_until
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.update_conversation(await w.conversation(display_id), data)
    return json_response(
        {
            "meta": {},
            "payload": {
                "success": True,
                "conversation_id": row.display_id,
                "current_status": row.status,
                "snoozed_until": render.unix(row.snoozed_until),
            },
        }
    )


@router.post("/conversations/{id}/toggle_priority", summary="Change a conversation's priority", body=PriorityToggle)
async def toggle_priority(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, PriorityToggle)
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.update_conversation(await w.conversation(display_id), ConversationData(priority=body.priority))
    return json_response(await _payload(request, display_id))


@router.post(
    "/conversations/{id}/assignments", summary="Assign to an agent or a team (null or 0 unassigns)", body=Assignment
)
async def assign(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, Assignment)
    if not ({"assignee_id", "team_id"} & body.model_fields_set):
        raise Unprocessable("give assignee_id or team_id", field="assignee_id", code="blank")
    changes: dict[str, Any] = {}
    if "assignee_id" in body.model_fields_set:
        changes["assignee_id"] = body.assignee_id or None
    if "team_id" in body.model_fields_set:
        changes["team_id"] = body.team_id or None
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.assign(await w.conversation(display_id), **changes)
        if "assignee_id" in changes:
            if row.assignee_id is None:
                return json_response(None)
            user, membership = await w.membership(row.assignee_id)
            return json_response(render.agent(user, membership))
        if row.team_id is None:
            return json_response(None)
        team = await w.get_row(Team, row.team_id)
        return json_response(render.team(team))


@router.get("/conversations/{id}/labels", summary="List a conversation's labels")
async def get_labels(request: web.Request) -> web.Response:
    payload = await _payload(request, path_id(request, what="Conversation"))
    return json_response({"payload": payload["labels"]})


@router.post("/conversations/{id}/labels", summary="Replace a conversation's labels", body=LabelsIn)
async def set_labels(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, LabelsIn)
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        labels = await w.set_labels(await w.conversation(display_id), body.labels)
    return json_response({"payload": labels})


@router.post(
    "/conversations/{id}/custom_attributes", summary="Set a conversation's custom attributes", body=CustomAttributesIn
)
async def set_custom_attributes(request: web.Request) -> web.Response:
    display_id = path_id(request, what="Conversation")
    body = await parse_body(request, CustomAttributesIn)
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.update_conversation(
            await w.conversation(display_id), ConversationData(custom_attributes=body.custom_attributes)
        )
    return json_response({"custom_attributes": row.custom_attributes})


async def _flag(request: web.Request, **flags: bool) -> web.Response:
    display_id = path_id(request, what="Conversation")
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.update_conversation(await w.conversation(display_id), ConversationData(**flags))
    return json_response(await _payload(request, display_id))


@router.post("/conversations/{id}/spam", summary="Mark a conversation as spam")
async def mark_spam(request: web.Request) -> web.Response:
    return await _flag(request, spam=True)


@router.delete("/conversations/{id}/spam", summary="Remove the spam flag")
async def unmark_spam(request: web.Request) -> web.Response:
    return await _flag(request, spam=False)


@router.post("/conversations/{id}/mute", summary="Mute a conversation")
async def mute(request: web.Request) -> web.Response:
    return await _flag(request, muted=True)


@router.post("/conversations/{id}/unmute", summary="Unmute a conversation")
async def unmute(request: web.Request) -> web.Response:
    return await _flag(request, muted=False)


# -- messages ------------------------------------------------------------------------------------
@router.get(
    "/conversations/{conversation_id}/messages",
    summary="List a conversation's messages, oldest first",
    query=MessageQuery,
    tag="Messages",
)
async def list_messages(request: web.Request) -> web.Response:
    display_id = path_id(request, "conversation_id", what="Conversation")
    query = parse_query(request, MessageQuery)
    me = principal(request)
    async with store(request).reader() as session:
        conversation = await _load(session, me.account_id, display_id)
        conditions = [Message.conversation_id == conversation.id]
        if query.before is not None:
            conditions.append(Message.id < query.before)
        if query.after is not None:
            conditions.append(Message.id > query.after)
        messages = (
            (await session.execute(select(Message).where(*conditions).order_by(Message.created_at, Message.id)))
            .scalars()
            .all()
        )
        attachments: dict[int, list[Attachment]] = {}
        if messages:
            for item in (
                await session.execute(
                    select(Attachment)
                    .where(Attachment.message_id.in_([m.id for m in messages]))
                    .order_by(Attachment.id)
                )
            ).scalars():
                attachments.setdefault(item.message_id or 0, []).append(item)
        meta = (await conversation_payloads(session, me.account_id, [conversation]))[0]
    url = base_url(request)
    return json_response(
        {
            "meta": {
                "labels": meta["labels"],
                "additional_attributes": meta["additional_attributes"],
                "contact": meta["meta"]["sender"],
                "assignee": meta["meta"]["assignee"],
                "agent_last_seen_at": meta["agent_last_seen_at"],
            },
            "payload": [
                render.message(
                    m, conversation_display_id=display_id, attachments=attachments.get(m.id, ()), base_url=url
                )
                for m in messages
            ],
        }
    )


async def _message_body(request: web.Request) -> tuple[MessageCreate, list[AttachmentData]]:
    """Read a message from JSON, or from multipart form fields with ``attachments[]`` files."""
    if request.content_type != "multipart/form-data":
        return await parse_body(request, MessageCreate), []
    fields: dict[str, Any] = {}
    files: list[AttachmentData] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest("nested multipart bodies are not supported", field="body")
        name = part.name or ""
        if part.filename:
            content = await part.read(decode=True)
            files.append(
                AttachmentData(
                    file_name=part.filename,
                    content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    data=bytes(content),
                )
            )
        else:
            fields[name.removesuffix("[]")] = await part.text()
    if "private" in fields:
        fields["private"] = str(fields["private"]).lower() in {"1", "true", "yes", "on"}
    return validate(MessageCreate, fields), files


@router.post(
    "/conversations/{conversation_id}/messages",
    summary="Send a message or private note (JSON, or multipart with attachments[])",
    body=MessageCreate,
    multipart=True,
    tag="Messages",
)
async def create_message(request: web.Request) -> web.Response:
    display_id = path_id(request, "conversation_id", what="Conversation")
    body, files = await _message_body(request)
    if not (body.content or "").strip() and not files:
        raise Unprocessable("can't be blank", field="content", code="blank")
    me = principal(request)
    private = body.private
    data = MessageData(
        content=body.content,
        message_type=body.message_type,
        private=private,
        content_type=body.content_type,
        content_attributes=body.content_attributes or {},
        source_id=body.source_id,
        attachments=files,
    )
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        conversation = await w.conversation(display_id)
        row = await w.create_message(conversation, data)
        attachments = (
            (await w.session.execute(select(Attachment).where(Attachment.message_id == row.id).order_by(Attachment.id)))
            .scalars()
            .all()
        )
    return json_response(
        render.message(row, conversation_display_id=display_id, attachments=attachments, base_url=base_url(request))
    )


@router.delete("/conversations/{conversation_id}/messages/{id}", summary="Delete a message", tag="Messages")
async def delete_message(request: web.Request) -> web.Response:
    display_id = path_id(request, "conversation_id", what="Conversation")
    message_id = path_id(request, what="Message")
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        conversation = await w.conversation(display_id)
        row = await w.delete_message(conversation, message_id)
    return json_response(render.message(row, conversation_display_id=display_id))
